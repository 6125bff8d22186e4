//! The default store: threads in memory, bounded in bytes, expiring when idle,
//! evicting the least recently used when full.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;

use super::{ContinuationId, ConversationStore, StoreUsage, Thread, Turn};
use crate::error::{Error, Result};

/// Threads in this process's memory (the default store).
///
/// A held thread shares its turns (and its opening request) between versions:
/// adding turns allocates only the new turns, not a copy of the whole thread.
/// So what a conversation keeps is allocated once, by the call that made it,
/// rather than copied afresh by every later call amid that call's short-lived
/// data (where, after a burst of calls, it would keep otherwise free pages
/// resident).
#[derive(Debug, Clone)]
pub struct MemoryStore {
    cache: Cache<ContinuationId, Arc<Stored>>,
    idle: Duration,
}

/// A thread as held.
#[derive(Debug)]
struct Stored {
    /// The thread without its turns (and with a stale `updated_at`).
    head: Arc<Thread>,
    /// When a turn was last added.
    updated_at: SystemTime,
    /// Its turns, oldest first.
    turns: Vec<Arc<Turn>>,
    /// Approximate bytes held.
    weight: u64,
}

impl Stored {
    fn new(head: Arc<Thread>, updated_at: SystemTime, turns: Vec<Arc<Turn>>) -> Arc<Stored> {
        // Each turn also costs its `Arc` (two counters) and a slot in the list.
        let per_turn = (2 * std::mem::size_of::<usize>() + std::mem::size_of::<Arc<Turn>>()) as u64;
        let weight = head.weight() + turns.iter().map(|t| t.weight() + per_turn).sum::<u64>();
        Arc::new(Stored {
            head,
            updated_at,
            turns,
            weight,
        })
    }

    fn from_thread(mut thread: Thread) -> Arc<Stored> {
        let turns = std::mem::take(&mut thread.turns)
            .into_iter()
            .map(|t| Arc::new(shrunk(t)))
            .collect();
        thread.tool_name.shrink_to_fit();
        let updated_at = thread.updated_at;
        Stored::new(Arc::new(thread), updated_at, turns)
    }

    /// The thread, as an owned copy.
    fn thread(&self) -> Thread {
        Thread {
            updated_at: self.updated_at,
            turns: self.turns.iter().map(|t| (**t).clone()).collect(),
            ..(*self.head).clone()
        }
    }
}

impl MemoryStore {
    /// A store holding at most `limit_bytes` (approximately) and forgetting a
    /// thread `idle` after it was last used.
    pub fn new(limit_bytes: u64, idle: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(limit_bytes)
            .weigher(|_: &ContinuationId, stored: &Arc<Stored>| {
                u32::try_from(stored.weight).unwrap_or(u32::MAX)
            })
            .time_to_idle(idle)
            .eviction_policy(EvictionPolicy::lru())
            .build();
        MemoryStore { cache, idle }
    }

    /// Runs pending expiry and eviction work now (it otherwise runs as the
    /// store is used).
    pub async fn run_maintenance(&self) {
        self.cache.run_pending_tasks().await;
    }

    fn not_found(&self, id: ContinuationId) -> Error {
        Error::ConversationNotFound {
            id: id.to_string(),
            idle_hours: self.idle.as_secs_f64() / 3600.0,
        }
    }
}

/// `turn` without spare capacity: text built up piece by piece can hold up to
/// twice the memory it needs, for as long as the thread is kept.
fn shrunk(mut turn: Turn) -> Turn {
    turn.content.shrink_to_fit();
    turn.files.shrink_to_fit();
    turn.images.shrink_to_fit();
    for text in [
        &mut turn.tool_name,
        &mut turn.provider,
        &mut turn.model_name,
    ]
    .into_iter()
    .flatten()
    {
        text.shrink_to_fit();
    }
    turn
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn insert(&self, thread: Thread) -> Result<()> {
        let id = thread.id;
        self.cache.insert(id, Stored::from_thread(thread)).await;
        Ok(())
    }

    async fn get(&self, id: ContinuationId) -> Result<Option<Thread>> {
        Ok(self.cache.get(&id).await.map(|stored| stored.thread()))
    }

    async fn append(&self, id: ContinuationId, turns: Vec<Turn>, max_turns: u32) -> Result<Thread> {
        let added = turns.len();
        // Calls on one key run one at a time, so no turn is lost when two
        // calls append to the same thread at once.
        let result = self
            .cache
            .entry(id)
            .and_compute_with(|current| async move {
                let Some(current) = current else {
                    return Op::Nop;
                };
                let current = current.into_value();
                if current.turns.len() + added > max_turns as usize {
                    return Op::Nop;
                }
                let mut all = Vec::with_capacity(current.turns.len() + added);
                all.extend(current.turns.iter().cloned());
                all.extend(turns.into_iter().map(|t| Arc::new(shrunk(t))));
                Op::Put(Stored::new(
                    Arc::clone(&current.head),
                    SystemTime::now(),
                    all,
                ))
            })
            .await;
        match result {
            CompResult::ReplacedWith(entry) | CompResult::Inserted(entry) => {
                Ok(entry.into_value().thread())
            }
            CompResult::Unchanged(_) => Err(Error::ConversationFull {
                id: id.to_string(),
                max_turns,
            }),
            CompResult::StillNone(_) | CompResult::Removed(_) => Err(self.not_found(id)),
        }
    }

    async fn recent(&self, limit: usize) -> Result<Vec<Thread>> {
        let mut threads: Vec<Arc<Stored>> = self.cache.iter().map(|(_, stored)| stored).collect();
        threads.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        Ok(threads
            .into_iter()
            .take(limit)
            .map(|t| t.thread())
            .collect())
    }

    async fn usage(&self) -> StoreUsage {
        self.cache.run_pending_tasks().await;
        StoreUsage {
            threads: self.cache.entry_count(),
            bytes: self.cache.weighted_size(),
        }
    }
}
