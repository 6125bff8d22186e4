//! A tool's answer: the JSON object PAL's clients already know
//! (`status`, `content`, `content_type`, `metadata`, `continuation_offer`).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::consult::ConsultReply;
use crate::conversation::ContinuationId;

/// An offer to carry on the conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContinuationOffer {
    /// The id to pass as `continuation_id`.
    pub continuation_id: String,
    /// A note for the client.
    pub note: String,
    /// Turns left.
    pub remaining_turns: u32,
}

impl ContinuationOffer {
    /// Turns another ask-and-answer with a model takes.
    pub const TURNS_PER_EXCHANGE: u32 = 2;

    /// Whether an offer is worth making with `remaining_turns` left: another
    /// exchange must fit.
    pub fn fits(remaining_turns: u32) -> bool {
        remaining_turns >= Self::TURNS_PER_EXCHANGE
    }

    /// The offer as JSON.
    pub fn value(id: ContinuationId, remaining_turns: u32, note: String) -> Value {
        json!(ContinuationOffer {
            continuation_id: id.to_string(),
            note,
            remaining_turns,
        })
    }
}

/// A tool's answer, as a JSON object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ToolOutput(pub Value);

impl ToolOutput {
    /// The standard shape: `status`, `content`, `content_type` and `metadata`.
    pub fn new(status: &str, content: impl Into<String>, content_type: &str) -> Self {
        ToolOutput(json!({
            "status": status,
            "content": content.into(),
            "content_type": content_type,
            "metadata": {},
        }))
    }

    /// Any JSON object (tools whose answer is instructions for the client).
    pub fn object(value: Value) -> Self {
        ToolOutput(value)
    }

    /// The answer of a model consultation: `continuation_available` with an
    /// offer while turns remain, else `success`; metadata names the tool,
    /// model, provider and tokens.
    pub fn from_reply(tool: &str, reply: &ConsultReply, content: String) -> Self {
        let can_continue = ContinuationOffer::fits(reply.remaining_turns);
        let status = if can_continue {
            "continuation_available"
        } else {
            "success"
        };
        let mut output = Self::new(status, content, "text");
        output.set_metadata("tool_name", json!(tool));
        output.set_metadata("model_used", json!(reply.model.api_name));
        output.set_metadata("provider_used", json!(reply.model.provider.id()));
        output.set_metadata("input_tokens", json!(reply.usage.input_tokens));
        output.set_metadata("output_tokens", json!(reply.usage.output_tokens));
        if !reply.refused_files.is_empty() {
            output.set_metadata("refused_files", json!(reply.refused_files));
        }
        if !reply.left_out.is_empty() {
            output.set_metadata("left_out", json!(reply.left_out));
        }
        if let Some(first) = &reply.fallback_from {
            output.set_metadata("fallback_from", json!(first));
        }
        if can_continue {
            output.set(
                "continuation_offer",
                ContinuationOffer::value(
                    reply.continuation_id,
                    reply.remaining_turns,
                    offer_note(reply.continuation_id, reply.remaining_turns),
                ),
            );
        }
        output
    }

    /// Sets a top-level field.
    pub fn set(&mut self, key: &str, value: Value) {
        if let Value::Object(map) = &mut self.0 {
            map.insert(key.to_owned(), value);
        }
    }

    /// Sets a `metadata` field.
    pub fn set_metadata(&mut self, key: &str, value: Value) {
        if let Value::Object(map) = &mut self.0 {
            let metadata = map
                .entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(metadata) = metadata {
                metadata.insert(key.to_owned(), value);
            }
        }
    }

    /// The `status` field.
    pub fn status(&self) -> &str {
        self.0
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("success")
    }

    /// Whether the status is `error`.
    pub fn is_error(&self) -> bool {
        self.status() == "error"
    }

    /// Keeps the output within `max_tokens` (the client's limit, from
    /// `MAX_MCP_OUTPUT_TOKENS`): the longest texts in it (`content`, an
    /// expert's analysis, a model's verdict…) are cut to one common length,
    /// the shorter ones kept whole, so no field is cut to nothing while
    /// another keeps thousands of tokens; the output says so in
    /// `metadata.truncated`.
    pub fn capped(mut self, max_tokens: u64) -> Self {
        let mut cut_any = false;
        // JSON escaping makes the first estimate inexact; a second pass
        // settles what remains.
        for _ in 0..4 {
            let total = crate::tokens::estimate_tokens(&self.0.to_string());
            if total <= max_tokens {
                break;
            }
            let mut texts = Vec::new();
            collect_texts(&mut self.0, &mut texts);
            let sizes: Vec<u64> = texts
                .iter()
                .map(|t| crate::tokens::estimate_tokens(t))
                .collect();
            let overhead = total.saturating_sub(sizes.iter().sum());
            let Some(level) = water_level(&sizes, max_tokens.saturating_sub(overhead)) else {
                break;
            };
            for (text, &own) in texts.into_iter().zip(&sizes) {
                if own > level {
                    *text = cut_to(text, level, max_tokens, own);
                    cut_any = true;
                }
            }
        }
        if cut_any {
            self.set_metadata("truncated", json!(true));
        }
        self
    }

    /// The JSON object.
    pub fn into_value(self) -> Value {
        self.0
    }
}

/// Tokens a cut text's note takes.
const CUT_NOTE_TOKENS: u64 = 64;

/// Fields never cut: what a client reads to know what the answer is and how
/// to go on.
const NEVER_CUT: [&str; 5] = [
    "metadata",
    "status",
    "content_type",
    "continuation_offer",
    "continuation_id",
];

/// Every string in `value` that may be cut: outside [`NEVER_CUT`] and
/// longer than a cut's note would make it.
fn collect_texts<'a>(value: &'a mut Value, out: &mut Vec<&'a mut String>) {
    match value {
        Value::String(text) if crate::tokens::estimate_tokens(text) > 2 * CUT_NOTE_TOKENS => {
            out.push(text);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| collect_texts(v, out)),
        Value::Object(map) => map
            .iter_mut()
            .filter(|(key, _)| !NEVER_CUT.contains(&key.as_str()))
            .for_each(|(_, v)| collect_texts(v, out)),
        _ => {}
    }
}

/// The length (in tokens) to cut the texts of `sizes` to so that they fit
/// in `budget` with a note on each cut one: texts at most that long stay
/// whole. `None` when nothing needs cutting.
fn water_level(sizes: &[u64], budget: u64) -> Option<u64> {
    let mut sorted = sizes.to_vec();
    sorted.sort_unstable();
    let mut kept = 0u64;
    for (index, &size) in sorted.iter().enumerate() {
        let cut = (sorted.len() - index) as u64;
        let per_text = budget
            .saturating_sub(kept)
            .saturating_sub(CUT_NOTE_TOKENS * cut)
            / cut;
        if per_text < size {
            return Some(per_text);
        }
        kept += size;
    }
    None
}

/// The start of `text` that fits in `room` tokens (counted as
/// `tokens::estimate_tokens` does), with a note saying it was cut.
fn cut_to(text: &str, room: u64, max_tokens: u64, had: u64) -> String {
    let (mut ascii, mut other) = (0u64, 0u64);
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if ascii.div_ceil(4) + other >= room {
            break;
        }
        if c.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
        end = i + c.len_utf8();
    }
    format!(
        "{}\n\n[zen cut this at about {max_tokens} tokens, the client's limit \
         (MAX_MCP_OUTPUT_TOKENS); about {had} tokens were produced]",
        &text[..end]
    )
}

/// The note of a continuation offer.
pub(crate) fn offer_note(id: ContinuationId, remaining_turns: u32) -> String {
    let plural = if remaining_turns == 1 { "" } else { "s" };
    format!(
        "To continue this conversation with any tool and model, pass continuation_id {id} \
         ({remaining_turns} turn{plural} left)."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_text_is_cut_wherever_it_is() {
        let long = "analysis ".repeat(4000);
        let output = ToolOutput::object(json!({
            "status": "debug_complete",
            "expert_analysis": {"raw_analysis": long},
            "summary": "short",
            "metadata": {"tool_name": "debug"},
        }))
        .capped(1000);
        assert!(crate::tokens::estimate_tokens(&output.0.to_string()) <= 1000);
        assert_eq!(output.0["summary"], "short");
        assert_eq!(output.0["metadata"]["truncated"], true);
        let cut = output.0["expert_analysis"]["raw_analysis"]
            .as_str()
            .unwrap();
        assert!(cut.starts_with("analysis analysis") && cut.contains("MAX_MCP_OUTPUT_TOKENS"));

        let small = ToolOutput::new("success", "fine", "text").capped(1000);
        // Two long fields share the room; a short one stays whole.
        let both = ToolOutput::object(json!({
            "status": "challenge_accepted",
            "original_statement": "s".repeat(40_000),
            "challenge_prompt": format!("INSTRUCTIONS {}", "s".repeat(40_000)),
            "instructions": "short and whole",
        }))
        .capped(2000);
        let text = |key: &str| both.0[key].as_str().unwrap().to_owned();
        assert!(crate::tokens::estimate_tokens(&both.0.to_string()) <= 2000);
        assert!(text("challenge_prompt").starts_with("INSTRUCTIONS"));
        assert!(text("challenge_prompt").len() > 2000 && text("original_statement").len() > 2000);
        assert_eq!(text("instructions"), "short and whole");
        assert!(small.0["metadata"].get("truncated").is_none());
    }
}
