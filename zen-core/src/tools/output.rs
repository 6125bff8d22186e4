//! A tool's answer: the JSON object PAL's clients already know
//! (`status`, `content`, `content_type`, `metadata`, `continuation_offer`).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::consult::ConsultReply;

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
        let status = if reply.remaining_turns > 0 {
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
        if reply.remaining_turns > 0 {
            output.set(
                "continuation_offer",
                json!(ContinuationOffer {
                    continuation_id: reply.continuation_id.to_string(),
                    note: format!(
                        "To continue this conversation with any tool and model, pass \
                         continuation_id {} ({} turns left).",
                        reply.continuation_id, reply.remaining_turns
                    ),
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

    /// The JSON object.
    pub fn into_value(self) -> Value {
        self.0
    }
}
