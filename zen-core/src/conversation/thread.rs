//! The data of a conversation: a thread and its turns.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ContinuationId;
use crate::providers::Usage;

/// Who spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The AI client (the agent) that called the tool.
    User,
    /// The consulted model.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// Who spoke.
    pub role: Role,
    /// What was said: the request as the client wrote it, or the model's reply.
    pub content: String,
    /// When.
    pub timestamp: SystemTime,
    /// Absolute paths of files attached to this turn.
    #[serde(default)]
    pub files: Vec<String>,
    /// Images attached to this turn (absolute paths or data URLs).
    #[serde(default)]
    pub images: Vec<String>,
    /// The tool that handled the turn.
    pub tool_name: Option<String>,
    /// The provider that answered (assistant turns).
    pub provider: Option<String>,
    /// The model that answered (assistant turns).
    pub model_name: Option<String>,
    /// Tokens used (assistant turns).
    pub usage: Option<Usage>,
    /// Anything else a host recorded with the turn (the Python PAL server's
    /// `model_metadata`, for one), kept as it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl Turn {
    /// A turn by the client.
    pub fn user(content: impl Into<String>, tool_name: &str) -> Self {
        Turn {
            role: Role::User,
            content: content.into(),
            timestamp: SystemTime::now(),
            files: Vec::new(),
            images: Vec::new(),
            tool_name: Some(tool_name.to_owned()),
            provider: None,
            model_name: None,
            usage: None,
            metadata: None,
        }
    }

    /// A reply by a model.
    pub fn assistant(content: impl Into<String>, tool_name: &str) -> Self {
        Turn {
            role: Role::Assistant,
            ..Turn::user(content, tool_name)
        }
    }

    /// Approximate bytes the turn takes in memory: the struct, every string's
    /// heap buffer and its allocation overhead.
    pub fn weight(&self) -> u64 {
        // Each heap allocation costs its size rounded up, plus about 16 bytes.
        let heap = |s: &String| {
            if s.capacity() == 0 {
                0
            } else {
                s.capacity() + 16
            }
        };
        let list = |v: &Vec<String>| {
            v.iter().map(heap).sum::<usize>() + v.capacity() * std::mem::size_of::<String>()
        };
        let strings = heap(&self.content)
            + list(&self.files)
            + list(&self.images)
            + self.tool_name.as_ref().map_or(0, heap)
            + self.provider.as_ref().map_or(0, heap)
            + self.model_name.as_ref().map_or(0, heap);
        let metadata = self
            .metadata
            .as_ref()
            .map_or(0, |m| m.to_string().len() + 64);
        (std::mem::size_of::<Turn>() + strings + metadata) as u64
    }
}

/// A conversation: who started it, with what, and every turn since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Its id.
    pub id: ContinuationId,
    /// The conversation this one continues from, if any.
    pub parent_id: Option<ContinuationId>,
    /// When it started.
    pub created_at: SystemTime,
    /// When a turn was last added.
    pub updated_at: SystemTime,
    /// The tool that started it.
    pub tool_name: String,
    /// The arguments of the call that started it.
    pub initial_request: Value,
    /// Its turns, oldest first.
    pub turns: Vec<Turn>,
}

impl Thread {
    /// A new, empty thread started by `tool_name` with `initial_request`.
    pub fn new(tool_name: &str, initial_request: Value, parent_id: Option<ContinuationId>) -> Self {
        let now = SystemTime::now();
        Thread {
            id: ContinuationId::new(),
            parent_id,
            created_at: now,
            updated_at: now,
            tool_name: tool_name.to_owned(),
            initial_request,
            turns: Vec::new(),
        }
    }

    /// Approximate bytes the thread takes in memory.
    pub fn weight(&self) -> u64 {
        let request = self.initial_request.to_string().len() as u64;
        256 + request
            + self.tool_name.len() as u64
            + self.turns.iter().map(Turn::weight).sum::<u64>()
    }

    /// A short title: the tool and the opening of the first request.
    pub fn title(&self) -> String {
        let opening: String = self
            .turns
            .first()
            .map(|t| t.content.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect();
        format!("{}: {opening}", self.tool_name)
    }

    /// The conversation as readable Markdown: each turn with who spoke, when,
    /// and the files it attached.
    pub fn transcript(&self) -> String {
        let stamp = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
        let mut text = format!(
            "# Conversation {}\n\nStarted with `{}` at {}; last turn {}; {} turns.\n",
            self.id,
            self.tool_name,
            stamp(self.created_at),
            stamp(self.updated_at),
            self.turns.len()
        );
        if let Some(parent) = self.parent_id {
            text.push_str(&format!("Continues conversation {parent}.\n"));
        }
        for (i, turn) in self.turns.iter().enumerate() {
            let who = match turn.role {
                Role::User => "Agent".to_owned(),
                Role::Assistant => turn.model_name.clone().unwrap_or_else(|| "Model".into()),
            };
            let tool = turn.tool_name.as_deref().unwrap_or("?");
            text.push_str(&format!(
                "\n## Turn {} — {who} via {tool} ({})\n\n{}\n",
                i + 1,
                stamp(turn.timestamp),
                turn.content
            ));
            if !turn.files.is_empty() {
                text.push_str(&format!("\nFiles: {}\n", turn.files.join(", ")));
            }
        }
        text
    }

    /// The last turn a model answered, if any.
    pub fn last_assistant_turn(&self) -> Option<&Turn> {
        self.turns.iter().rev().find(|t| t.role == Role::Assistant)
    }
}

impl serde::Serialize for super::ContinuationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for super::ContinuationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        uuid::Uuid::deserialize(deserializer).map(super::ContinuationId)
    }
}
