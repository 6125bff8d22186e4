//! The workflow tools: the client works through a task in steps (`step`,
//! `step_number`, `findings`, files, issues, confidence) and zen keeps the
//! record. Eight of them (thinkdeep, debug, codereview, precommit, analyze,
//! refactor, testgen, secaudit) hand everything gathered to an expert model at
//! the last step; tracer and docgen never call a model.
//!
//! Every step is recorded in the conversation as a user turn holding the step
//! as JSON, with its relevant files in the turn's `files`. The state of a
//! workflow is rebuilt from those turns on each call (see [`state`]), so two
//! investigations in two conversations never see each other's steps, and
//! nothing is kept in the tool itself.

mod answer;
mod expert;
mod investigate;
mod local;
mod machine;
mod schema;
mod state;

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::Tool;

/// Every workflow tool.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    let mut tools = investigate::tools();
    tools.extend(local::tools());
    tools
}

// How sure the client is (every workflow tool but refactor).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Confidence {
    Exploring,
    Low,
    Medium,
    High,
    VeryHigh,
    AlmostCertain,
    Certain,
}

// How complete refactor's picture of the code is.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum RefactorConfidence {
    Exploring,
    Incomplete,
    Partial,
    Complete,
}

// How bad an issue is.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

// One issue the client found. Other keys (a location, say) are kept.
#[derive(Debug, Deserialize, JsonSchema)]
struct Issue {
    #[allow(dead_code)] // checked here, read from the raw arguments
    severity: Severity,
    #[allow(dead_code)] // checked here, read from the raw arguments
    description: String,
}

/// Declares a workflow tool's argument type: the fields every workflow takes
/// (`step` … `relevant_context`), then the tool's own. The type checks the
/// arguments and gives the schema; the machine reads them as
/// [`machine::StepInput`] and the tool's own fields as raw JSON, so the
/// fields are never read from this type.
macro_rules! workflow_args {
    ($(#[$meta:meta])* struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[allow(dead_code)] // see the macro's documentation
        struct $name {
            /// This step's work.
            step: String,
            #[schemars(range(min = 1))]
            step_number: u32,
            #[schemars(range(min = 1))]
            total_steps: u32,
            next_step_required: bool,
            findings: String,
            /// Absolute paths.
            #[serde(default)]
            relevant_files: Option<Vec<String>>,
            #[serde(default)]
            relevant_context: Option<Vec<String>>,
            $($body)*
        }
    };
}
use workflow_args;

/// [`workflow_args!`] for the tools that end with an expert model: adds the
/// files examined, issues, images, `use_assistant_model`, and the model
/// fields (`model`, `temperature`, `thinking_mode`, `continuation_id`).
macro_rules! expert_args {
    ($(#[$meta:meta])* struct $name:ident { $($body:tt)* }) => {
        super::super::args::with_model_fields! {
            $(#[$meta])*
            #[allow(dead_code)] // see `workflow_args!`
            struct $name {
                /// This step's work.
                step: String,
                #[schemars(range(min = 1))]
                step_number: u32,
                #[schemars(range(min = 1))]
                total_steps: u32,
                next_step_required: bool,
                findings: String,
                #[serde(default)]
                files_checked: Option<Vec<String>>,
                /// Absolute paths.
                #[serde(default)]
                relevant_files: Option<Vec<String>>,
                #[serde(default)]
                relevant_context: Option<Vec<String>>,
                /// {severity, description} items.
                #[serde(default)]
                issues_found: Option<Vec<super::Issue>>,
                #[serde(default)]
                images: Option<Vec<String>>,
                /// false: skip the expert.
                #[serde(default)]
                use_assistant_model: Option<bool>,
                $($body)*
            }
        }
    };
}
use expert_args;
