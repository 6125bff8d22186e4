//! The answers the workflow tools share: the progress summary, the pause
//! between steps, and the record of all steps at the end.

use serde_json::{Map, Value, json};

use super::machine::{Call, Kind};
use crate::conversation::ContinuationId;
use crate::tools::ToolOutput;
use crate::tools::output::ContinuationOffer;

/// What every answer carries: the step's place, the id to continue with, and
/// the progress summary.
pub(super) fn base_answer(call: &Call<'_>, status: &str) -> Map<String, Value> {
    let progress = &call.progress;
    let mut summary = json!({
        "steps_recorded": progress.steps.len(),
        "files_checked": progress.files_checked.len(),
        "relevant_files": progress.relevant_files.len(),
        "relevant_context": progress.relevant_context.len(),
        "issues_found": progress.issues.len(),
        "issues_by_severity": progress.issues_by_severity(),
        "current_confidence": progress.confidence,
    });
    if !progress.hypotheses.is_empty() {
        summary["hypotheses_formed"] = json!(progress.hypotheses.len());
    }
    let mut map = Map::new();
    map.insert("status".into(), json!(status));
    map.insert("step_number".into(), json!(call.input.step_number));
    map.insert(
        "total_steps".into(),
        json!(call.input.total_steps.max(call.input.step_number)),
    );
    map.insert(
        "next_step_required".into(),
        json!(call.input.next_step_required),
    );
    map.insert(
        "continuation_id".into(),
        json!(call.continuation_id.to_string()),
    );
    map.insert(call.spec.status_key.into(), summary);
    if !call.refused.is_empty() {
        map.insert("refused_files".into(), json!(call.refused));
    }
    if let Some(note) = &call.note {
        map.insert("note".into(), json!(note));
    }
    map.insert("metadata".into(), json!({ "tool_name": call.spec.name }));
    map
}

/// The answer to an intermediate step: what to do before the next call.
pub(super) fn pause(call: &Call<'_>) -> ToolOutput {
    let spec = call.spec;
    let mut map = base_answer(call, spec.pause_status);
    let actions = required_actions(call);
    let next = call.input.step_number.saturating_add(1);
    let steps_text = actions
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}. {a}", i + 1))
        .collect::<Vec<_>>()
        .join("\n");
    let report = match spec.kind {
        Kind::Docgen => {
            "the file you documented in relevant_files and num_files_documented updated"
        }
        _ => "files you read in files_checked, the ones that matter in relevant_files",
    };
    let ending = match spec.kind {
        Kind::Expert(_) => {
            " On the last step set next_step_required to false; your record then goes to an \
             expert model (unless use_assistant_model is false)."
        }
        _ => " On the last step set next_step_required to false.",
    };
    map.insert("required_actions".into(), json!(actions));
    map.insert(
        "next_steps".into(),
        json!(format!(
            "Do not call {name} again yet. First do this yourself:\n{steps_text}\n\nThen call \
             {name} with step_number {next}, continuation_id {id}, and what you found in \
             findings ({report}).{ending}",
            name = spec.name,
            id = call.continuation_id,
        )),
    );
    ToolOutput::object(Value::Object(map))
}

/// The actions for the client's next step: begin, go deeper, or conclude.
fn required_actions(call: &Call<'_>) -> Vec<String> {
    let [begin, deepen, conclude] = call.spec.actions;
    let input = &call.input;
    let sure = matches!(
        input.confidence.as_deref(),
        Some("high" | "very_high" | "almost_certain" | "certain" | "partial" | "complete")
    );
    let list = if input.step_number == 1 {
        begin
    } else if sure || input.step_number.saturating_add(1) >= input.total_steps {
        conclude
    } else {
        deepen
    };
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The summary of all steps for the final answer.
pub(super) fn work_record(call: &Call<'_>) -> Value {
    let progress = &call.progress;
    let mut record = json!({
        "initial_request": progress.steps.first().map(|s| s.record.step.clone()),
        "steps_taken": progress.steps.len(),
        "files_examined": progress.files_checked,
        "relevant_files": progress.relevant_files,
        "relevant_context": progress.relevant_context,
        "issues_found": progress.issues,
        "work_summary": progress.work_summary(),
    });
    if progress.confidence.is_some() {
        record["confidence_level"] = json!(progress.confidence);
    }
    if !progress.hypotheses.is_empty() {
        record["hypotheses"] = progress
            .hypotheses
            .iter()
            .map(|(step, confidence, hypothesis)| {
                json!({"step": step, "confidence": confidence, "hypothesis": hypothesis})
            })
            .collect();
    }
    if !progress.settings.is_empty() {
        record["settings"] = Value::Object(progress.settings.clone());
    }
    record
}

/// An offer to continue the conversation, while another exchange fits.
pub(super) fn continuation_offer(id: ContinuationId, remaining_turns: u32) -> Option<Value> {
    ContinuationOffer::fits(remaining_turns).then(|| {
        ContinuationOffer::value(
            id,
            remaining_turns,
            crate::tools::output::offer_note(id, remaining_turns),
        )
    })
}
