//! `consensus`: one proposal put to several models, each with a stance, one
//! model per step, so the client can weigh the answers.
//!
//! Step 1 carries the proposal (`step`), the client's own analysis
//! (`findings`) and the roster (`models`); it consults the first model. Step
//! `k` consults model `k`; the last step also returns a summary of every
//! position. The roster, the proposal and each answer are recorded in the
//! conversation, so the state lives in the thread. Every model is blind: it
//! sees the proposal and the step-1 files and images only, never the
//! conversation, the client's notes or another model's answer.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{parse_args, schema_for};
use super::planner::{offer, read_record, record_text};
use super::{Tool, ToolOutput};
use crate::conversation::{Role, Turn};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files;
use crate::models::ToolCategory;
use crate::prompt::Budget;
use crate::providers::{GenerateRequest, ThinkingMode};

const NAME: &str = "consensus";

/// The tools of this module.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(Consensus)]
}

#[derive(Debug)]
struct Consensus;

// The side a model argues (no doc comment: it would grow the schema).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
enum Stance {
    For,
    Against,
    #[default]
    Neutral,
}

impl Stance {
    fn as_str(self) -> &'static str {
        match self {
            Stance::For => "for",
            Stance::Against => "against",
            Stance::Neutral => "neutral",
        }
    }

    fn instructions(self) -> &'static str {
        match self {
            Stance::For => include_str!("../../prompts/consensus_for.txt"),
            Stance::Against => include_str!("../../prompts/consensus_against.txt"),
            Stance::Neutral => include_str!("../../prompts/consensus_neutral.txt"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ModelEntry {
    model: String,
    #[serde(default)]
    stance: Stance,
    /// Custom stance instructions.
    stance_prompt: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConsensusArgs {
    /// Step 1: the proposal every model sees; later: your notes.
    step: String,
    /// Step N consults model N.
    step_number: u32,
    // Accepted as PAL's clients send them; zen counts the steps itself.
    #[allow(dead_code)]
    total_steps: Option<u32>,
    #[allow(dead_code)]
    next_step_required: Option<bool>,
    /// Your analysis; never sent to models.
    findings: String,
    /// Step 1: 2+ models, unique (model, stance) pairs.
    models: Option<Vec<ModelEntry>>,
    /// Step 1: absolute paths.
    relevant_files: Option<Vec<String>>,
    /// Step 1: images.
    images: Option<Vec<String>>,
    /// Needed after step 1.
    continuation_id: Option<String>,
}

/// A model of the roster, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    /// The name as the client gave it.
    model: String,
    /// The name it resolved to.
    api_name: String,
    stance: Stance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stance_prompt: Option<String>,
}

impl Member {
    fn label(&self) -> String {
        format!("{}:{}", self.model, self.stance.as_str())
    }
}

/// What step 1 fixes for the whole consensus.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Setup {
    models: Vec<Member>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
}

/// How a consulted model fared (its answer is the turn after the record).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
}

/// One step as recorded in the conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepRecord {
    step_number: u32,
    step: String,
    findings: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setup: Option<Setup>,
    outcome: Outcome,
}

/// The newest consensus of a conversation: step 1's record and every step
/// since, each with the model's answer when it gave one.
#[derive(Debug)]
struct Run {
    proposal: String,
    setup: Setup,
    steps: Vec<(StepRecord, Option<String>)>,
}

impl Run {
    fn position(&self, index: usize) -> Option<Value> {
        let member = self.setup.models.get(index)?;
        let (record, verdict) = self.steps.get(index)?;
        let mut position = json!({
            "model": member.model,
            "stance": member.stance.as_str(),
            "status": if record.outcome.error.is_some() { "error" } else { "success" },
            "metadata": {"provider": record.outcome.provider, "model_name": member.api_name},
        });
        match (&record.outcome.error, verdict) {
            (Some(error), _) => position["error"] = json!(error),
            (None, Some(text)) => position["verdict"] = json!(text),
            (None, None) => {}
        }
        Some(position)
    }
}

/// Reads the newest consensus from a conversation's turns (oldest first).
fn newest_run(turns: &[&Turn]) -> Option<Run> {
    let mut run: Option<Run> = None;
    for turn in turns {
        if let Some(record) = read_record::<StepRecord>(turn, NAME) {
            match record.setup.clone() {
                Some(setup) => {
                    run = Some(Run {
                        proposal: record.step.clone(),
                        setup,
                        steps: vec![(record, None)],
                    });
                }
                None => {
                    if let Some(run) = run.as_mut() {
                        run.steps.push((record, None));
                    }
                }
            }
        } else if turn.role == Role::Assistant
            && turn.tool_name.as_deref() == Some(NAME)
            && let Some((_, verdict @ None)) = run.as_mut().and_then(|r| r.steps.last_mut())
        {
            *verdict = Some(turn.content.clone());
        }
    }
    run
}

/// Checks step 1's roster, files and images; returns the setup.
async fn check_setup(engine: &Engine, args: &ConsensusArgs) -> Result<Setup> {
    if args.step.trim().is_empty() {
        return Err(Error::invalid(
            "step",
            "step 1's step is the proposal every model evaluates; it is empty",
        ));
    }
    let Some(entries) = args.models.as_ref() else {
        return Err(Error::invalid(
            "models",
            "step 1 needs models: at least two entries like {\"model\": \"o3\", \"stance\": \"for\"}",
        ));
    };
    if entries.len() < 2 {
        return Err(Error::invalid(
            "models",
            format!(
                "{} model given; a consensus needs at least two entries (the same model may \
                 appear twice with different stances)",
                entries.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut members = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let name = entry.model.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "models",
                format!("models[{i}] has an empty model name"),
            ));
        }
        let resolved = engine
            .resolve_model(name)
            .await
            .map_err(|err| Error::invalid("models", format!("models[{i}]: {err}")))?;
        if !seen.insert((resolved.api_name.clone(), entry.stance)) {
            return Err(Error::invalid(
                "models",
                format!(
                    "models[{i}] repeats {} with stance {}; each (model, stance) pair may appear \
                     once",
                    resolved.api_name,
                    entry.stance.as_str()
                ),
            ));
        }
        members.push(Member {
            model: name.to_owned(),
            api_name: resolved.api_name,
            stance: entry.stance,
            stance_prompt: entry
                .stance_prompt
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        });
    }
    let relevant = args.relevant_files.clone().unwrap_or_default();
    let images = args.images.clone().unwrap_or_default();
    let expanded = engine
        .file_cache()
        .expand_paths(&relevant, "relevant_files")?;
    if let Some(refused) = expanded.refused.first() {
        return Err(Error::invalid(
            "relevant_files",
            format!("can't use {}: {}", refused.path, refused.reason),
        ));
    }
    for image in images.iter().filter(|i| !i.starts_with("data:")) {
        if let Err(refusal) = files::resolve_path(image, "images")? {
            return Err(Error::invalid(
                "images",
                format!("can't use {}: {}", refusal.path, refusal.reason),
            ));
        }
    }
    Ok(Setup {
        models: members,
        files: expanded
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        images,
    })
}

/// Asks `member` about `proposal`, blind to everything else. Returns how it
/// went, the answer, tokens used and notes on what was left out.
async fn ask(
    engine: &Engine,
    member: &Member,
    proposal: &str,
    setup: &Setup,
) -> (Outcome, Option<String>, Value) {
    let model = match engine.resolve_model(&member.api_name).await {
        Ok(model) => model,
        Err(err) => {
            let outcome = Outcome {
                error: Some(err.to_string()),
                provider: None,
            };
            return (outcome, None, Value::Null);
        }
    };
    let mut notes = Vec::new();
    let mut prompt = proposal.to_owned();
    let paths: Vec<std::path::PathBuf> = setup.files.iter().map(Into::into).collect();
    let budget = Budget::for_context(model.spec.context_window.max(4_096)).files;
    let files = engine.file_cache().read_section(&paths, budget, true);
    notes.extend(files.left_out);
    let section = files.text;
    if !section.is_empty() {
        prompt.push_str("\n\n=== CONTEXT FILES ===\n");
        prompt.push_str(&section);
        prompt.push_str("=== END CONTEXT FILES ===\n");
    }
    let images = if setup.images.is_empty() {
        Vec::new()
    } else if !model.spec.supports_images {
        notes.push(format!(
            "images ({} does not accept images)",
            model.api_name
        ));
        Vec::new()
    } else {
        engine
            .file_cache()
            .load_images(&setup.images, &model.spec)
            .unwrap_or_else(|err| {
                notes.push(format!("images ({err})"));
                Vec::new()
            })
    };
    let stance = member
        .stance_prompt
        .as_deref()
        .unwrap_or_else(|| member.stance.instructions().trim_end());
    let mut system = format!(
        "{}\nYOUR STANCE: {}\n{stance}",
        include_str!("../../prompts/consensus.txt"),
        member.stance.as_str()
    );
    if let Some(locale) = &engine.config().locale {
        system = format!("Always respond in {locale}.\n\n{system}");
    }
    let request = GenerateRequest {
        prompt,
        system_prompt: Some(system),
        temperature: None,
        thinking_mode: Some(ThinkingMode::Medium),
        max_output_tokens: None,
        images,
    };
    let provider = Some(model.provider.id().to_owned());
    match engine.generate(&model, &request).await {
        Ok(reply) => {
            let usage = json!({
                "input_tokens": reply.usage.input_tokens,
                "output_tokens": reply.usage.output_tokens,
                "left_out": notes,
            });
            let outcome = Outcome {
                error: None,
                provider,
            };
            (outcome, Some(reply.content), usage)
        }
        Err(err) => {
            let outcome = Outcome {
                error: Some(err.to_string()),
                provider,
            };
            (outcome, None, Value::Null)
        }
    }
}

/// The summary of a finished consensus, every position, and what to do next.
fn summary(run: &Run) -> (Value, Vec<Value>, String) {
    let positions: Vec<Value> = (0..run.steps.len())
        .filter_map(|i| run.position(i))
        .collect();
    let mut answered = Vec::new();
    let mut failed = Vec::new();
    let mut providers = BTreeSet::new();
    for (member, (record, _)) in run.setup.models.iter().zip(&run.steps) {
        match &record.outcome.error {
            None => {
                answered.push(member.label());
                providers.extend(record.outcome.provider.clone());
            }
            Some(error) => failed.push(json!({
                "model": member.model,
                "stance": member.stance.as_str(),
                "error": error,
            })),
        }
    }
    let findings: Vec<Value> = run
        .steps
        .iter()
        .map(|(r, _)| json!({"step_number": r.step_number, "findings": r.findings}))
        .collect();
    let requested = run.setup.models.len();
    let mut complete = json!({
        "initial_prompt": run.proposal,
        "models_consulted": answered,
        "total_responses": answered.len(),
        "models_requested": requested,
        "consensus_confidence": if failed.is_empty() { "high" } else { "degraded" },
        "agent_findings": findings,
    });
    let mut next = String::new();
    if !failed.is_empty() {
        next.push_str(&format!(
            "CONSENSUS DEGRADED: only {} of {requested} models answered. Say so in your \
             synthesis; the missing views weaken the result.\n\n",
            answered.len()
        ));
        complete["models_failed"] = json!(failed);
        complete["providers_represented"] = json!(providers);
    }
    next.push_str(
        "Every model has been consulted. Now synthesize the positions (accumulated_responses) \
         with your own analysis and present: where the models agree; where they disagree and \
         why; your recommendation; concrete next steps; the risks that must be handled.",
    );
    (complete, positions, next)
}

#[async_trait]
impl Tool for Consensus {
    fn name(&self) -> &'static str {
        NAME
    }
    fn description(&self) -> &'static str {
        "Ask several models, each with a stance, about one proposal, one model per step; you synthesize."
    }
    fn schema(&self) -> Value {
        schema_for::<ConsensusArgs>()
    }
    fn category(&self) -> ToolCategory {
        ToolCategory::ExtendedReasoning
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let raw = args.clone();
        let args: ConsensusArgs = parse_args(args)?;
        if args.step_number == 0 {
            return Err(Error::invalid("step_number", "step_number starts at 1"));
        }
        let continuation = args
            .continuation_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let chain = match continuation {
            Some(id) => engine.conversation(id).await?,
            None => Vec::new(),
        };
        let max_turns = engine.config().max_conversation_turns;
        if let Some(thread) = chain.last()
            && thread.turns.len() + 2 > max_turns as usize
        {
            return Err(Error::ConversationFull {
                id: thread.id.to_string(),
                max_turns,
            });
        }
        let turns: Vec<&Turn> = chain.iter().flat_map(|t| t.turns.iter()).collect();

        let (mut run, setup) = if args.step_number == 1 {
            let setup = check_setup(engine, &args).await?;
            let run = Run {
                proposal: args.step.clone(),
                setup: setup.clone(),
                steps: Vec::new(),
            };
            (run, Some(setup))
        } else {
            if continuation.is_none() {
                return Err(Error::invalid(
                    "continuation_id",
                    format!(
                        "step {} continues a consensus: pass the continuation_id step 1 \
                         answered with, or start with step_number 1",
                        args.step_number
                    ),
                ));
            }
            let Some(run) = newest_run(&turns) else {
                return Err(Error::invalid(
                    "step_number",
                    "this conversation holds no consensus; start one with step_number 1 and models",
                ));
            };
            let done = run.steps.len();
            let total = run.setup.models.len();
            if done >= total {
                return Err(Error::invalid(
                    "step_number",
                    format!(
                        "all {total} models of this consensus have answered; start a new one \
                         with step_number 1"
                    ),
                ));
            }
            if args.step_number as usize != done + 1 {
                return Err(Error::invalid(
                    "step_number",
                    format!(
                        "this consensus has had {done} step(s), so the next is step_number {}",
                        done + 1
                    ),
                ));
            }
            (run, None)
        };

        let index = run.steps.len();
        let total = run.setup.models.len();
        let Some(member) = run.setup.models.get(index).cloned() else {
            return Err(Error::invalid(
                "models",
                "the roster has no model for this step",
            ));
        };
        let (outcome, verdict, usage) = ask(engine, &member, &run.proposal, &run.setup).await;

        let record = StepRecord {
            step_number: args.step_number,
            step: args.step.clone(),
            findings: args.findings.clone(),
            setup,
            outcome,
        };
        let header = format!(
            "Consensus step {} of {total}: the agent's notes; {} was consulted.",
            args.step_number,
            member.label()
        );
        let mut user = Turn::user(record_text(&header, NAME, &record), NAME);
        if let Some(setup) = &record.setup {
            user.files.clone_from(&setup.files);
            user.images.clone_from(&setup.images);
        }
        let mut new_turns = vec![user];
        if let Some(text) = &verdict {
            let mut answer = Turn::assistant(text.clone(), NAME);
            answer.provider.clone_from(&record.outcome.provider);
            answer.model_name = Some(member.api_name.clone());
            new_turns.push(answer);
        }
        let (id, remaining) = engine
            .record_turns(continuation, NAME, &raw, new_turns)
            .await?;
        run.steps.push((record, verdict));

        let step = args.step_number;
        let last = index + 1 == total;
        let mut response = run.position(index).unwrap_or(Value::Null);
        if !usage.is_null() {
            response["metadata"]["usage"] = usage;
        }
        let labels: Vec<String> = run.setup.models.iter().map(Member::label).collect();
        let status = match (step, last) {
            (_, true) => "consensus_workflow_complete",
            (1, false) => "analysis_and_first_model_consulted",
            _ => "model_consulted",
        };
        let mut output = ToolOutput::object(json!({
            "status": status,
            "step_number": step,
            "total_steps": total,
            "next_step_required": !last,
            "model_consulted": member.model,
            "model_stance": member.stance.as_str(),
            "model_response": response,
            "current_model_index": index + 1,
            "continuation_id": id.to_string(),
            "metadata": {"tool_name": NAME, "workflow_type": "multi_model_consensus"},
        }));
        if step == 1 {
            output.set(
                "agent_analysis",
                json!({"initial_analysis": args.step, "findings": args.findings}),
            );
        }
        if last {
            let (complete, positions, next) = summary(&run);
            output.set("consensus_complete", json!(true));
            output.set("consensus_workflow_status", json!("ready_for_synthesis"));
            output.set("accumulated_responses", json!(positions));
            output.set("complete_consensus", complete);
            output.set("next_steps", json!(next));
            output.set_metadata("models_consulted", json!(labels));
            output.set_metadata("consensus_complete", json!(true));
            output.set_metadata("total_models", json!(total));
        } else {
            let next = &run.setup.models[index + 1];
            output.set(
                "consensus_workflow_status",
                json!(if step == 1 {
                    "initial_analysis_complete"
                } else {
                    "consulting_models"
                }),
            );
            output.set(
                "next_model",
                json!({"model": next.model, "stance": next.stance.as_str()}),
            );
            output.set("models_remaining", json!(total - index - 1));
            output.set(
                "next_steps",
                json!(format!(
                    "{} gave its {} view. Review it, then call consensus with step_number {}, \
                     continuation_id {id}, your notes as step and a summary of this answer as \
                     findings; {} ({}) answers next. The models never see your notes.",
                    member.model,
                    member.stance.as_str(),
                    step + 1,
                    next.model,
                    next.stance.as_str()
                )),
            );
            output.set_metadata("models_to_consult", json!(labels));
            output.set_metadata("consultation_step", json!(step));
            output.set_metadata("total_consultation_steps", json!(total));
        }
        output.set("continuation_offer", offer(NAME, id, remaining));
        Ok(output)
    }
}
