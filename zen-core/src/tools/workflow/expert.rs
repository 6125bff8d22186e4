//! The end of a workflow with an expert model: the skip rules, the request
//! (every step once, through the conversation history; every relevant file
//! once), and the answer.

use serde_json::{Value, json};

use super::answer::{base_answer, continuation_offer, work_record};
use super::machine::Call;
use crate::consult::{ConsultOutcome, ConsultRequest};
use crate::engine::Engine;
use crate::error::Result;
use crate::models::ToolCategory;
use crate::providers::ThinkingMode;
use crate::tools::ToolOutput;
use crate::tools::simple::consult_output;

/// Statuses an expert may answer with that stop the workflow for the client.
const EXPERT_STOPS: [&str; 3] = [
    "files_required_to_continue",
    "investigation_paused",
    "refactoring_paused",
];

/// How a tool's workflow ends with an expert model.
pub(super) struct Expert {
    /// The expert's instructions.
    pub system_prompt: &'static str,
    /// What the expert is asked to do with the record, after the summary.
    pub task: &'static str,
    /// When the tool finishes without the expert.
    pub skip: Skip,
    /// Status when the skip rule applies.
    pub local_status: &'static str,
    /// `expert_analysis.status` when the skip rule applies.
    pub skipped_as: &'static str,
    /// Whether the default thinking mode is `DEFAULT_THINKING_MODE_THINKDEEP`
    /// (else `high`).
    pub thinkdeep_default: bool,
}

/// A tool's own rule for finishing without the expert.
pub(super) enum Skip {
    /// The client states this confidence on the last step.
    Confidence(&'static str),
    /// This setting is `internal`.
    Internal(&'static str),
    /// Never (only `use_assistant_model: false` skips).
    Never,
}

/// Finishes the workflow: locally when a skip rule applies, else with the expert.
pub(super) async fn finish(
    engine: &Engine,
    expert: &Expert,
    call: &Call<'_>,
) -> Result<ToolOutput> {
    if call.input.use_assistant_model == Some(false) {
        return Ok(local_finish(
            call,
            "local_work_complete",
            "skipped_by_request",
            "use_assistant_model was false, so no expert model was consulted",
        ));
    }
    match expert.skip {
        Skip::Confidence(level) if call.input.confidence.as_deref() == Some(level) => {
            return Ok(local_finish(
                call,
                expert.local_status,
                expert.skipped_as,
                &format!(
                    "the final step's confidence is `{level}`, so no expert model was consulted"
                ),
            ));
        }
        Skip::Internal(field) if call.progress.setting(field) == Some("internal") => {
            return Ok(local_finish(
                call,
                expert.local_status,
                expert.skipped_as,
                &format!("{field} is `internal`, so no expert model was consulted"),
            ));
        }
        _ => {}
    }

    let thinking_mode = call
        .input
        .thinking_mode
        .or(Some(if expert.thinkdeep_default {
            engine.config().default_thinking_mode_thinkdeep
        } else {
            ThinkingMode::High
        }));
    let request = ConsultRequest {
        tool_name: call.spec.name.to_owned(),
        prompt: expert_prompt(call, expert),
        system_prompt: Some(expert.system_prompt.to_owned()),
        code_generation_prompt: None,
        files: call.progress.files_newest_first(),
        images: call.input.images.clone().unwrap_or_default(),
        continuation_id: Some(call.continuation_id.to_string()),
        model: call.input.model.clone(),
        category: Some(ToolCategory::ExtendedReasoning),
        temperature: call.input.temperature,
        thinking_mode,
        arguments: call.raw.clone(),
    };
    let reply = match engine.consult(request).await? {
        ConsultOutcome::Reply(reply) => reply,
        other => return Ok(consult_output(call.spec.name, other, |_| String::new())),
    };

    let analysis = parse_reply(&reply.content);
    let stop = analysis
        .get("status")
        .and_then(Value::as_str)
        .filter(|s| EXPERT_STOPS.contains(s))
        .map(str::to_owned);
    let status = stop.as_deref().unwrap_or(call.spec.complete_status);
    let mut map = base_answer(call, status);
    map.insert("expert_analysis".into(), analysis);
    map.insert(call.spec.summary_key.into(), work_record(call));
    let next_steps = match stop.as_deref() {
        Some("files_required_to_continue") => format!(
            "The expert model needs more files (see expert_analysis). Add them to relevant_files \
             and call {} again with next_step_required false and continuation_id {}.",
            call.spec.name, reply.continuation_id
        ),
        Some(_) => format!(
            "The expert model paused the work (see expert_analysis). Follow its instructions, \
             then call {} again with continuation_id {}.",
            call.spec.name, reply.continuation_id
        ),
        None => format!(
            "{} Weigh the expert analysis against your own findings: verify each point in the \
             code before acting on it, and say where you disagree.",
            call.spec.finish_note
        ),
    };
    map.insert("next_steps".into(), json!(next_steps));
    map.insert(
        "continuation_id".into(),
        json!(reply.continuation_id.to_string()),
    );
    map.insert(
        "metadata".into(),
        json!({
            "tool_name": call.spec.name,
            "model_used": reply.model.api_name,
            "provider_used": reply.model.provider.id(),
            "input_tokens": reply.usage.input_tokens,
            "output_tokens": reply.usage.output_tokens,
        }),
    );
    let mut output = ToolOutput::object(Value::Object(map));
    if !reply.refused_files.is_empty() {
        output.set_metadata("refused_files", json!(reply.refused_files));
    }
    if !reply.left_out.is_empty() {
        output.set_metadata("left_out", json!(reply.left_out));
    }
    if let Some(offer) = continuation_offer(reply.continuation_id, reply.remaining_turns) {
        output.set("continuation_offer", offer);
    }
    Ok(output)
}

/// The completed answer without an expert: the summary and why it was skipped.
fn local_finish(call: &Call<'_>, status: &str, skipped_as: &str, reason: &str) -> ToolOutput {
    let mut map = base_answer(call, status);
    map.insert(call.spec.summary_key.into(), work_record(call));
    map.insert("skip_expert_analysis".into(), json!(true));
    map.insert(
        "expert_analysis".into(),
        json!({"status": skipped_as, "reason": reason}),
    );
    map.insert("next_steps".into(), json!(call.spec.finish_note));
    let mut output = ToolOutput::object(Value::Object(map));
    if let Some(offer) = continuation_offer(call.continuation_id, call.remaining_turns) {
        output.set("continuation_offer", offer);
    }
    output
}

/// The request to the expert. The steps themselves reach the model once,
/// through the conversation history (each is a recorded turn), and the
/// relevant files once, attached; this adds only where the work ended and
/// what to do with it.
fn expert_prompt(call: &Call<'_>, expert: &Expert) -> String {
    let progress = &call.progress;
    let numbers: Vec<String> = progress
        .steps
        .iter()
        .map(|s| s.record.step_number.to_string())
        .collect();
    let severity: Vec<String> = progress
        .issues_by_severity()
        .iter()
        .map(|(level, n)| format!("{level} {n}"))
        .collect();
    let mut text = format!(
        "An AI coding agent has finished a `{tool}` workflow. Its steps ({steps}) are the \
         `{tool}` turns of the conversation history above, one JSON record per step, oldest \
         first; the files it marked relevant are attached once.\n\nWhere it ended:\n\
         - steps recorded: {count}\n\
         - files examined: {checked}; relevant files: {relevant}\n\
         - issues recorded: {issues}{by}\n",
        tool = call.spec.name,
        steps = numbers.join(", "),
        count = progress.steps.len(),
        checked = progress.files_checked.len(),
        relevant = progress.relevant_files.len(),
        issues = progress.issues.len(),
        by = if severity.is_empty() {
            String::new()
        } else {
            format!(" ({})", severity.join(", "))
        },
    );
    if let Some(confidence) = &progress.confidence {
        text.push_str(&format!("- the agent's confidence: {confidence}\n"));
    }
    if !progress.hypotheses.is_empty() {
        text.push_str(&format!(
            "- hypotheses stated: {} (the latest in step {})\n",
            progress.hypotheses.len(),
            progress.hypotheses.last().map_or(0, |h| h.0)
        ));
    }
    if !progress.settings.is_empty() {
        let settings: Vec<String> = progress
            .settings
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect();
        text.push_str(&format!("- settings: {}\n", settings.join("; ")));
    }
    text.push('\n');
    text.push_str(expert.task);
    text
}

/// The expert's reply: parsed JSON when it is a JSON object or array (bare or
/// in a code fence), else the text.
fn parse_reply(text: &str) -> Value {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    match serde_json::from_str::<Value>(body) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => value,
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed_when_they_are_json() {
        assert_eq!(parse_reply(" {\"a\": 1} "), json!({"a": 1}));
        assert_eq!(parse_reply("```json\n{\"a\": 1}\n```"), json!({"a": 1}));
        assert_eq!(parse_reply("```\n[1]\n```"), json!([1]));
        assert_eq!(parse_reply("plain words"), json!("plain words"));
        assert_eq!(parse_reply("42"), json!("42"));
    }
}
