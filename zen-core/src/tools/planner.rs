//! `planner`: builds a plan one step at a time, with revisions and branches,
//! without calling a model.
//!
//! Every step is recorded as a turn of the conversation, so the plan lives in
//! the thread its `continuation_id` names: two plans in two conversations never
//! see each other's steps. A `step_number` of 1 starts a new plan (in a new
//! conversation, or in the one `continuation_id` names); later steps need the
//! `continuation_id` step 1 answered with.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::args::{parse_args, schema_for};
use super::{ContinuationOffer, Tool, ToolOutput};
use crate::conversation::{ContinuationId, Role, Turn};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::ToolCategory;

/// The tools of this module.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(Planner)]
}

/// A turn's text holding a readable `header` and, on its last line, `record`
/// as JSON, so a later call can read the record back with [`read_record`].
pub(super) fn record_text(header: &str, tool: &str, record: &impl Serialize) -> String {
    // Serialising plain structs of strings, numbers and flags can't fail.
    let json = serde_json::to_string(record).unwrap_or_default();
    format!("{header}\n{}{json}", record_prefix(tool))
}

/// The record a turn written by [`record_text`] for `tool` carries, if any.
pub(super) fn read_record<T: DeserializeOwned>(turn: &Turn, tool: &str) -> Option<T> {
    if turn.role != Role::User || turn.tool_name.as_deref() != Some(tool) {
        return None;
    }
    let last = turn.content.rsplit('\n').next()?;
    serde_json::from_str(last.strip_prefix(&record_prefix(tool))?).ok()
}

fn record_prefix(tool: &str) -> String {
    format!("zen-{tool}-record: ")
}

/// A continuation offer for `id` with `remaining` turns left.
pub(super) fn offer(tool: &str, id: ContinuationId, remaining: u32) -> Value {
    json!(ContinuationOffer {
        continuation_id: id.to_string(),
        note: if remaining > 0 {
            format!(
                "Pass continuation_id {id} to carry on this {tool} conversation with any tool \
                 ({remaining} turns left)."
            )
        } else {
            format!("Conversation {id} has no turns left; start a new one without continuation_id.")
        },
        remaining_turns: remaining,
    })
}

#[derive(Debug)]
struct Planner;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PlannerArgs {
    /// Step 1: task and scope; later: the next part.
    step: String,
    #[schemars(range(min = 1))]
    step_number: u32,
    /// Estimated steps.
    #[schemars(range(min = 1))]
    total_steps: u32,
    /// More steps follow.
    next_step_required: bool,
    /// Replaces an earlier step.
    is_step_revision: Option<bool>,
    /// Step replaced.
    revises_step_number: Option<u32>,
    /// Starts a branch.
    is_branch_point: Option<bool>,
    /// Step the branch starts from.
    branch_from_step: Option<u32>,
    /// Branch name; repeat to continue it.
    branch_id: Option<String>,
    /// More steps than estimated.
    more_steps_needed: Option<bool>,
    /// Needed after step 1.
    continuation_id: Option<String>,
}

/// One step as recorded in the conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepRecord {
    step_number: u32,
    total_steps: u32,
    next_step_required: bool,
    step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revises: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    branch_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    branch_from: Option<u32>,
    #[serde(default)]
    more_steps_needed: bool,
}

/// One step of the assembled plan.
#[derive(Debug, Clone, Serialize)]
struct PlanItem {
    step_number: u32,
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revised_in_step: Option<u32>,
}

/// A branch of the assembled plan.
#[derive(Debug, Clone, Serialize)]
struct Branch {
    branch_id: String,
    from_step: Option<u32>,
    steps: Vec<PlanItem>,
}

/// The plan with revisions applied and branches apart.
#[derive(Debug, Default, Serialize)]
struct Plan {
    steps: Vec<PlanItem>,
    branches: Vec<Branch>,
    /// Where each step number (revisions included) ended up.
    #[serde(skip)]
    places: HashMap<u32, Place>,
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Main(usize),
    Branch(usize, usize),
}

impl Plan {
    /// Assembles `records`, oldest first. A revision rewrites the step it
    /// names, wherever that is. A step number sent again in the same place
    /// (the main line, or the same branch) replaces the earlier step there;
    /// a step elsewhere is never dropped.
    fn assemble(records: &[StepRecord]) -> Plan {
        let mut plan = Plan::default();
        for r in records {
            let target = r.revises.and_then(|n| plan.places.get(&n).copied());
            if let Some(place) = target {
                if let Some(item) = plan.item_mut(place) {
                    item.content.clone_from(&r.step);
                    item.revised_in_step = Some(r.step_number);
                }
                plan.places.insert(r.step_number, place);
                continue;
            }
            let lane = match &r.branch_id {
                Some(id) => Some(
                    match plan.branches.iter().position(|b| &b.branch_id == id) {
                        Some(b) => b,
                        None => {
                            plan.branches.push(Branch {
                                branch_id: id.clone(),
                                from_step: r.branch_from,
                                steps: Vec::new(),
                            });
                            plan.branches.len() - 1
                        }
                    },
                ),
                None => None,
            };
            let steps = match lane {
                Some(b) => &mut plan.branches[b].steps,
                None => &mut plan.steps,
            };
            let at = match steps.iter().position(|i| i.step_number == r.step_number) {
                // Sent again in the same place: the newer text wins.
                Some(at) => {
                    steps[at].content.clone_from(&r.step);
                    at
                }
                None => {
                    steps.push(PlanItem {
                        step_number: r.step_number,
                        content: r.step.clone(),
                        revised_in_step: None,
                    });
                    steps.len() - 1
                }
            };
            let place = match lane {
                Some(b) => Place::Branch(b, at),
                None => Place::Main(at),
            };
            plan.places.insert(r.step_number, place);
        }
        plan
    }

    fn item_mut(&mut self, place: Place) -> Option<&mut PlanItem> {
        match place {
            Place::Main(at) => self.steps.get_mut(at),
            Place::Branch(b, at) => self
                .branches
                .get_mut(b)
                .and_then(|branch| branch.steps.get_mut(at)),
        }
    }

    /// How many steps the plan shows.
    fn len(&self) -> usize {
        self.steps.len() + self.branches.iter().map(|b| b.steps.len()).sum::<usize>()
    }

    fn branch_ids(&self) -> Vec<&str> {
        self.branches.iter().map(|b| b.branch_id.as_str()).collect()
    }

    /// The plan as readable text.
    fn summary(&self) -> String {
        let total = self.len();
        let line = |item: &PlanItem| {
            let revised = item
                .revised_in_step
                .map(|n| format!(" [revised in step {n}]"))
                .unwrap_or_default();
            format!("{}. {}{revised}\n", item.step_number, item.content.trim())
        };
        let mut text = format!("Plan ({total} steps recorded)\n");
        self.steps.iter().for_each(|i| text.push_str(&line(i)));
        for branch in &self.branches {
            let from = branch
                .from_step
                .map(|n| format!(" (from step {n})"))
                .unwrap_or_default();
            text.push_str(&format!("\nBranch {}{from}:\n", branch.branch_id));
            branch.steps.iter().for_each(|i| text.push_str(&line(i)));
        }
        text
    }
}

/// The steps of the newest plan in the conversation, oldest first.
async fn current_plan(engine: &Engine, continuation_id: &str) -> Result<Vec<StepRecord>> {
    let chain = engine.conversation(continuation_id).await?;
    let records: Vec<StepRecord> = chain
        .iter()
        .flat_map(|t| t.turns.iter())
        .filter_map(|turn| read_record::<StepRecord>(turn, "planner"))
        .collect();
    let start = records
        .iter()
        .rposition(|r| r.step_number == 1)
        .unwrap_or(records.len());
    Ok(records[start..].to_vec())
}

/// Checks a step against itself and the plan so far; returns its record.
fn check_step(args: &PlannerArgs, plan: &Plan) -> Result<StepRecord> {
    let n = args.step_number;
    if n == 0 {
        return Err(Error::invalid("step_number", "step_number starts at 1"));
    }
    if args.total_steps == 0 {
        return Err(Error::invalid(
            "total_steps",
            "total_steps must be at least 1",
        ));
    }
    if args.step.trim().is_empty() {
        return Err(Error::invalid(
            "step",
            "the step is empty; describe this part of the plan",
        ));
    }
    let known = |field: &str, target: u32| -> Result<()> {
        if target == 0 || target >= n {
            return Err(Error::invalid(
                field,
                format!(
                    "{field} must name an earlier step (1 to {}), not {target}",
                    n - 1
                ),
            ));
        }
        if !plan.places.contains_key(&target) {
            return Err(Error::invalid(
                field,
                format!("step {target} is not part of this plan"),
            ));
        }
        Ok(())
    };
    let revision = args.is_step_revision.unwrap_or(false);
    let branching = args.is_branch_point.unwrap_or(false);
    let branch_id = args.branch_id.as_deref().map(str::trim);
    if revision {
        let Some(target) = args.revises_step_number else {
            return Err(Error::invalid(
                "revises_step_number",
                "is_step_revision is true, so revises_step_number must name the step replaced",
            ));
        };
        known("revises_step_number", target)?;
        if branching || branch_id.is_some() {
            return Err(Error::invalid(
                "is_branch_point",
                "a revision replaces its step wherever it is; leave is_branch_point and \
                 branch_id out of a revision",
            ));
        }
    } else if args.revises_step_number.is_some() {
        return Err(Error::invalid(
            "is_step_revision",
            "revises_step_number is given, so set is_step_revision to true (or leave \
             revises_step_number out)",
        ));
    }
    if branch_id == Some("") {
        return Err(Error::invalid(
            "branch_id",
            "branch_id is empty; name the branch",
        ));
    }
    let exists = |id: &str| plan.branches.iter().any(|b| b.branch_id == id);
    if branching {
        let Some(from) = args.branch_from_step else {
            return Err(Error::invalid(
                "branch_from_step",
                "is_branch_point is true, so branch_from_step must name the step the branch \
                 starts from",
            ));
        };
        known("branch_from_step", from)?;
        if branch_id.is_none() {
            return Err(Error::invalid(
                "branch_id",
                "is_branch_point is true, so branch_id must name the branch (e.g. approach-b)",
            ));
        }
    } else if args.branch_from_step.is_some() {
        return Err(Error::invalid(
            "is_branch_point",
            "branch_from_step is given, so set is_branch_point to true (or leave \
             branch_from_step out)",
        ));
    } else if let Some(id) = branch_id
        && !exists(id)
    {
        return Err(Error::invalid(
            "branch_id",
            format!(
                "there is no branch `{id}` yet; start it with is_branch_point and \
                 branch_from_step"
            ),
        ));
    }
    Ok(StepRecord {
        step_number: n,
        total_steps: args.total_steps.max(n),
        next_step_required: args.next_step_required,
        step: args.step.clone(),
        revises: args.revises_step_number.filter(|_| revision),
        branch_id: branch_id.map(str::to_owned),
        branch_from: args.branch_from_step.filter(|_| branching),
        more_steps_needed: args.more_steps_needed.unwrap_or(false),
    })
}

/// What to think about after step `n` of `total`.
fn required_actions(n: u32, total: u32) -> Vec<&'static str> {
    match n {
        1 => vec![
            "Work out the full scope: what has to be true when the plan is done",
            "Compare two or three ways to get there and their trade-offs",
            "List the constraints, dependencies and risks that shape the choice",
        ],
        2 if total >= 5 => vec![
            "Check that the approach from step 1 is still the best one",
            "Split the work into its main phases and the decisions between them",
            "Note what each phase needs and where it could stall",
        ],
        3 if total >= 5 => vec![
            "Check the plan so far against the original goal; look for gaps",
            "Decide how progress will be measured and when to change course",
            "Pick the first concrete actions",
        ],
        _ => vec![
            "Add concrete, actionable detail to the next part of the plan",
            "Order the work and note what depends on what",
            "Revise or branch if an earlier step no longer holds",
        ],
    }
}

#[async_trait]
impl Tool for Planner {
    fn name(&self) -> &'static str {
        "planner"
    }
    fn description(&self) -> &'static str {
        "Plan step by step, with revisions and branches; no model call."
    }
    fn schema(&self) -> Value {
        schema_for::<PlannerArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }
    fn category(&self) -> ToolCategory {
        ToolCategory::ExtendedReasoning
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let raw = args.clone();
        let args: PlannerArgs = parse_args(args)?;
        let continuation = args
            .continuation_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let mut records = match continuation {
            Some(id) if args.step_number > 1 => current_plan(engine, id).await?,
            // A new plan in an existing conversation.
            Some(_) => Vec::new(),
            None if args.step_number > 1 => {
                return Err(Error::invalid(
                    "continuation_id",
                    format!(
                        "step {} continues a plan: pass the continuation_id that step 1 \
                         answered with, or start a new plan with step_number 1",
                        args.step_number
                    ),
                ));
            }
            None => Vec::new(),
        };
        if args.step_number > 1 && records.is_empty() {
            return Err(Error::invalid(
                "step_number",
                "this conversation holds no plan yet; start one with step_number 1",
            ));
        }
        let record = check_step(&args, &Plan::assemble(&records))?;
        let mut header = format!(
            "Planning step {} of {}",
            record.step_number, record.total_steps
        );
        if let Some(n) = record.revises {
            header.push_str(&format!(", revising step {n}"));
        }
        if record.branch_id.is_some() {
            header.push_str(", in a branch");
        }
        let turn = Turn::user(record_text(&header, "planner", &record), self.name());
        let (id, remaining) = engine
            .record_turns(continuation, self.name(), &raw, vec![turn])
            .await?;
        records.push(record.clone());
        let plan = Plan::assemble(&records);
        let (n, total) = (record.step_number, record.total_steps);

        let mut output = ToolOutput::object(json!({
            "step_number": n,
            "total_steps": total,
            "next_step_required": record.next_step_required,
            "step_content": record.step,
            "continuation_id": id.to_string(),
            "planner_status": {"step_history_length": records.len()},
            "metadata": {
                "tool_name": self.name(),
                "branches": plan.branch_ids(),
                "step_history_length": records.len(),
                "is_step_revision": record.revises.is_some(),
                "revises_step_number": record.revises,
                "is_branch_point": record.branch_from.is_some(),
                "branch_from_step": record.branch_from,
                "branch_id": record.branch_id,
                "more_steps_needed": record.more_steps_needed,
            },
        }));
        if record.next_step_required {
            let actions = required_actions(n, total);
            let deep = total >= 5 && n <= 3;
            output.set(
                "status",
                json!(if deep {
                    "pause_for_deep_thinking"
                } else {
                    "pause_for_planning"
                }),
            );
            output.set("planning_required", json!(true));
            output.set("required_actions", json!(actions));
            let next = if deep {
                output.set("thinking_required", json!(true));
                output.set("required_thinking", json!(actions));
                format!(
                    "This plan is large ({total} steps). Before calling planner again, think \
                     through the required_actions yourself; then send step_number {} with \
                     continuation_id {id}.",
                    n.saturating_add(1)
                )
            } else {
                format!(
                    "Continue with step_number {} (about {} left) and continuation_id {id}. \
                     Revise an earlier step or branch when your thinking changes.",
                    n.saturating_add(1),
                    total.saturating_sub(n)
                )
            };
            output.set("next_steps", json!(next));
        } else {
            output.set("status", json!("planning_complete"));
            output.set("planning_complete", json!(true));
            output.set("plan", json!(plan));
            output.set("plan_summary", json!(plan.summary()));
            output.set(
                "next_steps",
                json!(
                    "Planning is complete. Present the plan to the user clearly: numbered \
                     steps, phases and dependencies (plain-text diagrams where they help), each \
                     branch as an alternative. No emojis; no time or cost estimates unless \
                     asked. Then offer to help carry out parts of it."
                ),
            );
            output.set("continuation_offer", offer(self.name(), id, remaining));
        }
        Ok(output)
    }
}
