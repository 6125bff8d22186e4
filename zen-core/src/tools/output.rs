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
        // Continuing with a model takes two turns (the ask and the answer).
        let can_continue = reply.remaining_turns >= 2;
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
                json!(ContinuationOffer {
                    continuation_id: reply.continuation_id.to_string(),
                    note: offer_note(reply.continuation_id, reply.remaining_turns),
                    remaining_turns: reply.remaining_turns,
                }),
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
    /// `MAX_MCP_OUTPUT_TOKENS`): the longest text in it (`content`, an
    /// expert's analysis, a model's verdict…) is cut, as often as needed, and
    /// the output says so in `metadata.truncated`.
    pub fn capped(mut self, max_tokens: u64) -> Self {
        let mut cut_any = false;
        for _ in 0..8 {
            let total = crate::tokens::estimate_tokens(&self.0.to_string());
            if total <= max_tokens {
                break;
            }
            let Some(longest) = longest_text(&mut self.0) else {
                break;
            };
            let own = crate::tokens::estimate_tokens(longest);
            // Room for this text once everything else is counted, less the note.
            let room = max_tokens
                .saturating_sub(total.saturating_sub(own))
                .saturating_sub(64);
            *longest = cut_to(longest, room, max_tokens, own);
            cut_any = true;
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

/// The longest string anywhere in `value`.
fn longest_text(value: &mut Value) -> Option<&mut String> {
    match value {
        Value::String(text) => Some(text),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(longest_text)
            .max_by_key(|t| t.len()),
        Value::Object(map) => map
            .iter_mut()
            .filter(|(key, _)| key.as_str() != "metadata")
            .filter_map(|(_, v)| longest_text(v))
            .max_by_key(|t| t.len()),
        _ => None,
    }
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
        assert!(small.0["metadata"].get("truncated").is_none());
    }
}
