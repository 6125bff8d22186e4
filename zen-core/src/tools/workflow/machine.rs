//! The step machine every workflow tool shares.
//!
//! One call is one step: the arguments are checked against the tool's type,
//! the earlier steps of this workflow are read back from the conversation, the
//! step is recorded there as a user turn (the step as JSON, its relevant files
//! in the turn's `files`), and the answer is either a pause (more steps to
//! come, no model call) or the end (the expert model, or a local finish).
//! See [`super::state`] for how the earlier steps are found.

use std::fmt;
use std::marker::PhantomData;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::answer::pause;
use super::expert;
use super::local;
use super::schema;
use super::state::{Progress, Step, StepRecord, earlier_steps, in_order};
use crate::conversation::{ContinuationId, Turn};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::ToolCategory;
use crate::prompt;
use crate::providers::ThinkingMode;
use crate::tools::args::parse_args;
use crate::tools::{Tool, ToolOutput};

/// Arguments every workflow shares; anything else a tool takes is one of its
/// settings, kept as JSON.
const COMMON_FIELDS: [&str; 17] = [
    "step",
    "step_number",
    "total_steps",
    "next_step_required",
    "findings",
    "files_checked",
    "relevant_files",
    "relevant_context",
    "issues_found",
    "confidence",
    "hypothesis",
    "use_assistant_model",
    "continuation_id",
    "images",
    "model",
    "temperature",
    "thinking_mode",
];

/// What sets one workflow tool apart.
pub(super) struct Spec {
    /// The tool's name.
    pub name: &'static str,
    /// One sentence for clients.
    pub description: &'static str,
    /// Status of an intermediate step (`pause_for_…`).
    pub pause_status: &'static str,
    /// Status of the last step when the work is done.
    pub complete_status: &'static str,
    /// Key of the progress summary in every answer (`…_status`).
    pub status_key: &'static str,
    /// Key of the summary of all steps in the final answer (`complete_…`).
    pub summary_key: &'static str,
    /// What the client should do next: at the start, in the middle, and when
    /// the work is nearly done.
    pub actions: [&'static [&'static str]; 3],
    /// `next_steps` once the work is complete.
    pub finish_note: &'static str,
    /// Fields listed without a description (their names say enough).
    pub unlisted: &'static [&'static str],
    /// Expert model or model-free.
    pub kind: Kind,
}

/// How a workflow ends.
pub(super) enum Kind {
    /// With an expert model, unless a skip rule applies.
    Expert(expert::Expert),
    /// The tracer: model-free, with a trace mode.
    Tracer,
    /// Docgen: model-free, counting the files documented.
    Docgen,
}

/// A workflow tool: its [`Spec`] and its argument type `A`.
pub(super) struct Workflow<A> {
    spec: &'static Spec,
    args: PhantomData<fn() -> A>,
}

impl<A> Workflow<A> {
    /// The tool for `spec`.
    pub(super) fn new(spec: &'static Spec) -> Self {
        Workflow {
            spec,
            args: PhantomData,
        }
    }
}

impl<A> fmt::Debug for Workflow<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workflow")
            .field("name", &self.spec.name)
            .finish()
    }
}

#[async_trait]
impl<A: DeserializeOwned + JsonSchema + 'static> Tool for Workflow<A> {
    fn name(&self) -> &'static str {
        self.spec.name
    }
    fn description(&self) -> &'static str {
        self.spec.description
    }
    fn schema(&self) -> Value {
        schema::advertised::<A>(self.spec.unlisted)
    }
    fn uses_model(&self) -> bool {
        matches!(self.spec.kind, Kind::Expert(_))
    }
    fn category(&self) -> ToolCategory {
        ToolCategory::ExtendedReasoning
    }
    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        parse_args::<A>(args.clone())?;
        run_step(self.spec, engine, args).await
    }
}

/// The shared arguments of a step, read after the tool's own type checked them.
#[derive(Debug, Deserialize)]
pub(super) struct StepInput {
    pub step: String,
    pub step_number: u32,
    pub total_steps: u32,
    pub next_step_required: bool,
    pub findings: String,
    #[serde(default)]
    pub files_checked: Option<Vec<String>>,
    #[serde(default)]
    pub relevant_files: Option<Vec<String>>,
    #[serde(default)]
    pub relevant_context: Option<Vec<String>>,
    #[serde(default)]
    pub issues_found: Option<Vec<Value>>,
    #[serde(default)]
    pub confidence: Option<String>,
    #[serde(default)]
    pub hypothesis: Option<String>,
    #[serde(default)]
    pub use_assistant_model: Option<bool>,
    #[serde(default)]
    pub continuation_id: Option<String>,
    #[serde(default)]
    pub images: Option<Vec<String>>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub thinking_mode: Option<ThinkingMode>,
}

/// The call being answered: its input, the id to continue with, the turns left.
pub(super) struct Call<'a> {
    pub spec: &'static Spec,
    pub input: StepInput,
    pub raw: &'a Value,
    pub continuation_id: ContinuationId,
    pub remaining_turns: u32,
    pub progress: Progress,
    /// Relevant paths of this step that could not be used, with the reason.
    pub refused: Vec<crate::files::Refusal>,
    /// Said when a later step arrived without a `continuation_id`.
    pub note: Option<String>,
}

async fn run_step(spec: &'static Spec, engine: &Engine, raw: Value) -> Result<ToolOutput> {
    let input: StepInput = serde_json::from_value(raw.clone())
        .map_err(|err| Error::invalid("arguments", err.to_string()))?;
    if input.step_number == 0 {
        return Err(Error::invalid("step_number", "steps are numbered from 1"));
    }
    if input.total_steps == 0 {
        return Err(Error::invalid("total_steps", "there is at least one step"));
    }
    if input.step.trim().is_empty() {
        return Err(Error::invalid("step", "say what you do in this step"));
    }
    let limit = prompt::inline_prompt_limit(engine.config().max_mcp_output_tokens);
    let chars = input.step.chars().count();
    if chars > limit {
        let mut output = ToolOutput::new(
            "resend_prompt",
            format!(
                "`step` is {chars} characters, more than the {limit} a request may carry here. \
                 Keep the step short and pass the details as files in relevant_files."
            ),
            "text",
        );
        output.set_metadata("tool_name", json!(spec.name));
        return Ok(output);
    }
    if let Kind::Expert(_) = spec.kind
        && input.use_assistant_model != Some(false)
        && let Some(model) = input
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("auto"))
    {
        // An unusable model fails the first step, not the last.
        engine.resolve_model(model).await?;
    }

    let continuation = input
        .continuation_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let (earlier, turns_so_far) = match &continuation {
        Some(id) => earlier_steps(engine, spec.name, id).await?,
        None => (Vec::new(), 0),
    };
    let note = (continuation.is_none() && input.step_number > 1).then(|| {
        format!(
            "Step {} arrived without a continuation_id, so it starts a new conversation with no \
             earlier steps. Pass the continuation_id from the previous answer to keep them.",
            input.step_number
        )
    });
    let settings: Map<String, Value> = raw
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(k, v)| !COMMON_FIELDS.contains(&k.as_str()) && !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Kind::Tracer = spec.kind {
        local::check_tracer_step(&input, &settings)?;
    }

    let relevant_files = input.relevant_files.clone().unwrap_or_default();
    let expanded = engine
        .file_cache()
        .expand_paths(&relevant_files, "relevant_files")?;
    let record = StepRecord {
        workflow: spec.name.to_owned(),
        step_number: input.step_number,
        total_steps: input.total_steps.max(input.step_number),
        next_step_required: input.next_step_required,
        step: input.step.clone(),
        findings: input.findings.clone(),
        files_checked: input.files_checked.clone().unwrap_or_default(),
        relevant_files,
        relevant_context: input.relevant_context.clone().unwrap_or_default(),
        issues_found: input.issues_found.clone().unwrap_or_default(),
        confidence: input.confidence.clone(),
        hypothesis: input.hypothesis.clone(),
        settings,
    };
    let step = Step {
        files: expanded
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        images: input.images.clone().unwrap_or_default(),
        record,
    };
    // A step sent again unchanged (a retry after a failed expert call, say)
    // is not recorded twice, so the expert sees each step once.
    let repeated = earlier.last().is_some_and(|last| {
        last.record == step.record && last.files == step.files && last.images == step.images
    });
    let (continuation_id, remaining_turns) = match continuation.as_deref() {
        Some(id) if repeated => {
            let max_turns = engine.config().max_conversation_turns;
            let used = u32::try_from(turns_so_far).unwrap_or(u32::MAX);
            (ContinuationId::parse(id)?, max_turns.saturating_sub(used))
        }
        _ => {
            let mut turn = Turn::user(json!(step.record).to_string(), spec.name);
            turn.files.clone_from(&step.files);
            turn.images.clone_from(&step.images);
            engine
                .record_turns(continuation.as_deref(), spec.name, &raw, vec![turn])
                .await?
        }
    };

    let progress = Progress::from_steps(in_order(earlier, step));
    let call = Call {
        spec,
        input,
        raw: &raw,
        continuation_id,
        remaining_turns,
        progress,
        refused: expanded.refused.clone(),
        note,
    };
    match &spec.kind {
        Kind::Expert(expert) => {
            if call.input.next_step_required {
                Ok(pause(&call))
            } else {
                expert::finish(engine, expert, &call).await
            }
        }
        Kind::Tracer => Ok(local::tracer_answer(&call)),
        Kind::Docgen => Ok(local::docgen_answer(&call)),
    }
}
