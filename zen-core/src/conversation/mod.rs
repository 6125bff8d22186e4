//! Conversations that carry on across tools and models: threads of turns keyed
//! by a UUID `continuation_id`, kept in a [`ConversationStore`].

mod memory;
mod thread;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use memory::MemoryStore;
pub use thread::{Role, Thread, Turn};

use crate::error::{Error, Result};

/// The entries of `lists` (one list per turn, oldest turn first), each once,
/// newest turn first: the files or images a conversation used, in the order
/// they are worth re-sending.
pub fn newest_first<'a>(lists: impl DoubleEndedIterator<Item = &'a Vec<String>>) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    lists
        .rev()
        .flatten()
        .map(String::as_str)
        .filter(|item| seen.insert(*item))
        .collect()
}

/// How far a chain of parent threads is followed.
pub const MAX_CHAIN_DEPTH: usize = 20;

/// A conversation's id, as handed to and back from clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContinuationId(pub Uuid);

impl ContinuationId {
    /// A fresh random id.
    pub fn new() -> Self {
        ContinuationId(Uuid::new_v4())
    }

    /// Parses a client's `continuation_id`; anything but a UUID is refused
    /// without being looked up.
    pub fn parse(raw: &str) -> Result<Self> {
        Uuid::parse_str(raw.trim())
            .map(ContinuationId)
            .map_err(|_| {
                Error::invalid(
                    "continuation_id",
                    format!(
                        "`{raw}` is not a conversation id; pass the UUID a previous answer gave as \
                     continuation_id, or leave it out to start a new conversation"
                    ),
                )
            })
    }
}

impl Default for ContinuationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ContinuationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How much a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreUsage {
    /// Threads held.
    pub threads: u64,
    /// Approximate bytes held.
    pub bytes: u64,
}

/// Where threads live. Implementations must make [`ConversationStore::append`]
/// atomic: two calls adding turns to one thread at once both land.
#[async_trait]
pub trait ConversationStore: Send + Sync + fmt::Debug {
    /// Stores a new thread.
    async fn insert(&self, thread: Thread) -> Result<()>;

    /// The thread with `id`, if it is held and not expired; reading it counts
    /// as use (the idle timer restarts).
    async fn get(&self, id: ContinuationId) -> Result<Option<Thread>>;

    /// Appends `turns` to thread `id` in one step and returns the updated
    /// thread. Fails with [`Error::ConversationNotFound`] when the thread is
    /// gone and [`Error::ConversationFull`] when the turns would pass `max_turns`.
    async fn append(&self, id: ContinuationId, turns: Vec<Turn>, max_turns: u32) -> Result<Thread>;

    /// How much the store holds now.
    async fn usage(&self) -> StoreUsage;

    /// Up to `limit` threads, most recently updated first, without counting
    /// as use (so listing never keeps a thread alive).
    async fn recent(&self, limit: usize) -> Result<Vec<Thread>>;
}

/// Loads thread `id` and its ancestors, oldest first. A cycle or a chain deeper
/// than [`MAX_CHAIN_DEPTH`] stops the walk; a missing ancestor ends it quietly
/// (it expired), but a missing `id` is an error.
pub async fn load_chain(
    store: &Arc<dyn ConversationStore>,
    id: ContinuationId,
    idle_hours: f64,
) -> Result<Vec<Thread>> {
    let chain = load_ancestors(store, id, MAX_CHAIN_DEPTH).await?;
    if chain.is_empty() {
        return Err(Error::ConversationNotFound {
            id: id.to_string(),
            idle_hours,
        });
    }
    Ok(chain)
}

/// Thread `id` and its ancestors, oldest first, at most `max_depth` of them;
/// a cycle or a missing thread ends the walk (empty when `id` itself is gone).
pub async fn load_ancestors(
    store: &Arc<dyn ConversationStore>,
    id: ContinuationId,
    max_depth: usize,
) -> Result<Vec<Thread>> {
    let mut chain: Vec<Thread> = Vec::new();
    let mut next = Some(id);
    while let Some(id) = next {
        if chain.len() >= max_depth || chain.iter().any(|t| t.id == id) {
            break;
        }
        let Some(thread) = store.get(id).await? else {
            break;
        };
        next = thread.parent_id;
        chain.push(thread);
    }
    chain.reverse();
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_are_continuation_ids() {
        let id = ContinuationId::new();
        assert_eq!(ContinuationId::parse(&id.to_string()).unwrap(), id);
        for bad in ["", "abc", "../../etc/passwd", "12345678-1234-1234-1234"] {
            let err = ContinuationId::parse(bad).unwrap_err().to_string();
            assert!(err.contains("continuation_id"), "{err}");
        }
    }
}
