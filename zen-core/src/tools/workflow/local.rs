//! The model-free workflows: `tracer` (a call path or a component's
//! dependencies) and `docgen` (documentation, one file per step).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::answer::{base_answer, continuation_offer, pause, work_record};
use super::machine::{Call, Kind, Spec, StepInput, Workflow};
use super::{Confidence, Issue, workflow_args};
use crate::error::{Error, Result};
use crate::tools::{Tool, ToolOutput};

/// The model-free workflow tools.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(Workflow::<TracerArgs>::new(&TRACER)),
        Arc::new(Workflow::<DocgenArgs>::new(&DOCGEN)),
    ]
}

// How the tracer works.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum TraceMode {
    Precision,
    Dependencies,
    Ask,
}

workflow_args! {
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct TracerArgs {
        #[serde(default)]
        files_checked: Option<Vec<String>>,
        #[serde(default)]
        confidence: Option<Confidence>,
        /// Step 1: precision (call flow), dependencies, or ask the user.
        #[serde(default)]
        trace_mode: Option<TraceMode>,
        /// Step 1: what to trace and why.
        #[serde(default)]
        target_description: Option<String>,
        #[serde(default)]
        images: Option<Vec<String>>,
        #[serde(default)]
        continuation_id: Option<String>,
    }
}

workflow_args! {
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct DocgenArgs {
        /// Bugs found, not fixed.
        #[serde(default)]
        issues_found: Option<Vec<Issue>>,
        /// Files fully documented.
        #[serde(default)]
        num_files_documented: Option<u32>,
        /// Files to document.
        #[serde(default)]
        total_files_to_document: Option<u32>,
        #[serde(default)]
        document_complexity: Option<bool>,
        #[serde(default)]
        document_flow: Option<bool>,
        #[serde(default)]
        update_existing: Option<bool>,
        #[serde(default)]
        comments_on_complex_logic: Option<bool>,
        #[serde(default)]
        continuation_id: Option<String>,
    }
}

static TRACER: Spec = Spec {
    name: "tracer",
    description: "Trace a call flow or a component's dependencies in steps. No model call.",
    pause_status: "pause_for_tracing",
    complete_status: "tracing_complete",
    status_key: "tracer_status",
    summary_key: "complete_tracing",
    actions: [
        &[
            "Find the target's definition and read its implementation",
            "Note where it is called from and what it calls (precision), or what it uses and what uses it (dependencies)",
            "Record the files and the methods involved",
        ],
        &[
            "Follow each call or dependency one level further, reading the code rather than guessing",
            "Note branches, conditions and side effects (writes, I/O, state changes) with file and line",
            "Mark any path you could not confirm",
        ],
        &[
            "Check the trace for gaps: callers, callees or dependents not yet read",
            "Confirm file paths and line numbers for every entry",
            "Finish with next_step_required false",
        ],
    ],
    finish_note: "Tracing is complete. Present the trace to the user in the format given in output, with file paths and line numbers, and mark anything uncertain.",
    unlisted: &["confidence", "images"],
    kind: Kind::Tracer,
};

static DOCGEN: Spec = Spec {
    name: "docgen",
    description: "Document code file by file in steps. No model call.",
    pause_status: "pause_for_documentation_analysis",
    complete_status: "documentation_analysis_complete",
    status_key: "documentation_analysis_status",
    summary_key: "complete_documentation_analysis",
    actions: [
        &[
            "List every file that needs documentation and count them; do not write any yet",
            "Send the count as total_files_to_document and num_files_documented 0 in step 2",
        ],
        &[
            "Document one file completely: every function, class and method",
            "Follow the file's documentation style; add complexity and call-flow notes if asked",
            "Never change code logic; report any bug you find in issues_found and ask the user about it",
            "Raise num_files_documented when the file is done",
        ],
        &[
            "Finish the file in hand, then check no file in the count is left",
            "Set next_step_required false only when num_files_documented equals total_files_to_document",
        ],
    ],
    finish_note: "Documentation is complete. Re-read each documented file to confirm nothing was missed, then summarise for the user: the files and functions documented, and any bugs found but not fixed (ask what to do about them).",
    unlisted: &[
        "document_complexity",
        "document_flow",
        "update_existing",
        "comments_on_complex_logic",
    ],
    kind: Kind::Docgen,
};

/// Step 1 of a trace must say what to trace and how.
pub(super) fn check_tracer_step(input: &StepInput, settings: &Map<String, Value>) -> Result<()> {
    if input.step_number != 1 {
        return Ok(());
    }
    if !settings.contains_key("trace_mode") {
        return Err(Error::invalid(
            "trace_mode",
            "step 1 needs a trace_mode: precision, dependencies, or ask",
        ));
    }
    if !settings.contains_key("target_description") {
        return Err(Error::invalid(
            "target_description",
            "step 1 needs a target_description: what to trace and why",
        ));
    }
    Ok(())
}

/// The tracer's answer to a step.
pub(super) fn tracer_answer(call: &Call<'_>) -> ToolOutput {
    let mode = call.progress.setting("trace_mode").unwrap_or("precision");
    if call.input.step_number == 1 && mode == "ask" {
        let mut map = base_answer(call, "mode_selection_required");
        map.insert("mode_selection_required".into(), json!(true));
        map.insert(
            "next_steps".into(),
            json!(format!(
                "Ask the user to choose how to trace, then call tracer again with step_number 1, \
                 continuation_id {}, and the chosen trace_mode.\n\
                 - precision: follow one method's execution — what it calls, in order, with \
                 branches and side effects.\n\
                 - dependencies: map a class or module's relationships — what it uses and what \
                 uses it.",
                call.continuation_id
            )),
        );
        return ToolOutput::object(Value::Object(map));
    }
    if call.input.next_step_required {
        return pause(call);
    }
    let mode = if mode == "dependencies" {
        "dependencies"
    } else {
        "precision"
    };
    let mut output = complete(call);
    output.set(
        "output",
        json!({
            "format": format!("{mode}_trace_analysis"),
            "rendering_instructions": if mode == "dependencies" {
                DEPENDENCIES_RENDERING
            } else {
                PRECISION_RENDERING
            },
        }),
    );
    output
}

const PRECISION_RENDERING: &str = "Show the call flow as a vertical, indented list: one line per \
call, `[Type::method] (file: /path, line: N)`, a `↓` line between consecutive calls, two more spaces \
of indent per nesting level, `→` before an alternative branch, `? if <condition>` after a \
conditional call, and `(uncertain)` where the path could not be confirmed. Then a table of \
branches (location, condition, paths taken) and a list of side effects (database, network, \
files, state). Use the project's own names and real line numbers.";

const DEPENDENCIES_RENDERING: &str = "Centre the diagram on the target: incoming dependencies \
(what uses it) above, outgoing (what it uses) below, one `[Type::member] (file: /path, line: N)` \
per line with `←`/`→` for direction. Then a table of each dependency (kind: call, import, \
inheritance, data; direction; file and line) and a note of cycles or tight coupling found. Use \
the project's own names and real line numbers.";

/// Docgen's answer to a step: the counters decide when it is done.
pub(super) fn docgen_answer(call: &Call<'_>) -> ToolOutput {
    let counter = |key: &str| {
        call.progress
            .settings
            .get(key)
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let (done, total) = (
        counter("num_files_documented"),
        counter("total_files_to_document"),
    );
    if call.input.next_step_required {
        let mut output = pause(call);
        if total > 0 {
            output.set("total_steps", json!(total.saturating_add(1)));
        }
        output.set("files_documented", json!(format!("{done} of {total}")));
        return output;
    }
    if done < total {
        let mut map = base_answer(call, "documentation_analysis_required");
        map.insert(
            "next_steps".into(),
            json!(format!(
                "Only {done} of {total} files are documented. Document the remaining {} before \
                 finishing: call docgen again with step_number {}, continuation_id {}, one file \
                 per step, and set next_step_required false only when num_files_documented \
                 equals total_files_to_document.",
                total - done,
                call.input.step_number.saturating_add(1),
                call.continuation_id
            )),
        );
        return ToolOutput::object(Value::Object(map));
    }
    let mut output = complete(call);
    output.set("files_documented", json!(format!("{done} of {total}")));
    output
}

/// The completed answer of a model-free workflow.
fn complete(call: &Call<'_>) -> ToolOutput {
    let mut map = base_answer(call, call.spec.complete_status);
    map.insert(call.spec.summary_key.into(), work_record(call));
    map.insert("next_steps".into(), json!(call.spec.finish_note));
    let mut output = ToolOutput::object(Value::Object(map));
    if let Some(offer) = continuation_offer(call.continuation_id, call.remaining_turns) {
        output.set("continuation_offer", offer);
    }
    output
}
