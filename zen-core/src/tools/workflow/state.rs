//! A workflow's state, rebuilt from the conversation on every call.
//!
//! Which earlier steps belong to the workflow: the user turns of this tool
//! that hold a step record, from the last `step_number` 1 on. A step whose
//! number was already recorded replaces that step and every later one, so a
//! client may revise a step or retry a final step that failed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::conversation::Role;
use crate::engine::Engine;
use crate::error::Result;

/// One step as recorded in the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct StepRecord {
    /// The tool whose step this is.
    pub workflow: String,
    pub step_number: u32,
    pub total_steps: u32,
    pub next_step_required: bool,
    pub step: String,
    pub findings: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files_checked: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relevant_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relevant_context: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues_found: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypothesis: Option<String>,
    /// The tool's own arguments (review type, trace mode, counters…).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub settings: Map<String, Value>,
}

/// A recorded step with what its turn carried.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub record: StepRecord,
    /// The relevant files as resolved text files (the turn's `files`).
    pub files: Vec<String>,
    /// The images (the turn's `images`).
    pub images: Vec<String>,
}

/// Everything the workflow's steps add up to.
#[derive(Debug, Clone, Default)]
pub(super) struct Progress {
    /// The steps, in order.
    pub steps: Vec<Step>,
    pub files_checked: Vec<String>,
    pub relevant_files: Vec<String>,
    pub relevant_context: Vec<String>,
    /// Issues, each once.
    pub issues: Vec<Value>,
    /// `(step_number, confidence, hypothesis)` of every step with a hypothesis.
    pub hypotheses: Vec<(u32, Option<String>, String)>,
    /// The latest step's confidence.
    pub confidence: Option<String>,
    /// The tool's settings, later steps overriding earlier ones.
    pub settings: Map<String, Value>,
}

impl Progress {
    /// Adds up `steps` (already in workflow order).
    pub(super) fn from_steps(steps: Vec<Step>) -> Self {
        let mut progress = Progress::default();
        for step in &steps {
            let record = &step.record;
            extend_unique(&mut progress.files_checked, &record.files_checked);
            extend_unique(&mut progress.relevant_files, &record.relevant_files);
            extend_unique(&mut progress.relevant_context, &record.relevant_context);
            for issue in &record.issues_found {
                let same = |other: &Value| {
                    other.get("severity") == issue.get("severity")
                        && other.get("description") == issue.get("description")
                };
                if !progress.issues.iter().any(same) {
                    progress.issues.push(issue.clone());
                }
            }
            if let Some(hypothesis) = record.hypothesis.as_ref().filter(|h| !h.trim().is_empty()) {
                progress.hypotheses.push((
                    record.step_number,
                    record.confidence.clone(),
                    hypothesis.clone(),
                ));
            }
            if record.confidence.is_some() {
                progress.confidence.clone_from(&record.confidence);
            }
            for (key, value) in &record.settings {
                progress.settings.insert(key.clone(), value.clone());
            }
        }
        progress.steps = steps;
        progress
    }

    /// The resolved relevant files of every step, newest first, each once.
    pub fn files_newest_first(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for step in self.steps.iter().rev() {
            extend_unique(&mut out, &step.files);
        }
        out
    }

    /// Issues counted by severity.
    pub fn issues_by_severity(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for issue in &self.issues {
            let severity = issue
                .get("severity")
                .and_then(Value::as_str)
                .unwrap_or("unspecified");
            *counts.entry(severity.to_owned()).or_insert(0) += 1;
        }
        counts
    }

    /// A setting as text, if set.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str)
    }

    /// The findings of every step, one line each.
    pub fn work_summary(&self) -> String {
        self.steps
            .iter()
            .map(|s| format!("Step {}: {}", s.record.step_number, s.record.findings))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn extend_unique(into: &mut Vec<String>, items: &[String]) {
    for item in items {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

/// The steps of `tool` recorded in conversation `id`, oldest first, from the
/// last step 1 on; and the number of turns in the conversation's own thread.
pub(super) async fn earlier_steps(
    engine: &Engine,
    tool: &str,
    id: &str,
) -> Result<(Vec<Step>, usize)> {
    let chain = engine.conversation(id).await?;
    let turns = chain.last().map_or(0, |thread| thread.turns.len());
    let steps = chain
        .iter()
        .flat_map(|thread| thread.turns.iter())
        .filter(|turn| turn.role == Role::User && turn.tool_name.as_deref() == Some(tool))
        .filter_map(|turn| {
            let record: StepRecord = serde_json::from_str(&turn.content).ok()?;
            (record.workflow == tool).then(|| Step {
                record,
                files: turn.files.clone(),
                images: turn.images.clone(),
            })
        });
    let mut out: Vec<Step> = Vec::new();
    for step in steps {
        if step.record.step_number == 1 {
            out.clear();
        }
        out.push(step);
    }
    Ok((out, turns))
}

/// `earlier` with `current` added: a step number seen before replaces that
/// step and the ones after it; step 1 starts afresh.
pub(super) fn in_order(earlier: Vec<Step>, current: Step) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for step in earlier.into_iter().chain(std::iter::once(current)) {
        let number = step.record.step_number;
        steps.retain(|s| s.record.step_number < number);
        steps.push(step);
    }
    steps
}
