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
#[derive(Debug, Clone)]
pub struct MemoryStore {
    cache: Cache<ContinuationId, Arc<Thread>>,
    idle: Duration,
}

impl MemoryStore {
    /// A store holding at most `limit_bytes` (approximately) and forgetting a
    /// thread `idle` after it was last used.
    pub fn new(limit_bytes: u64, idle: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(limit_bytes)
            .weigher(|_: &ContinuationId, thread: &Arc<Thread>| {
                u32::try_from(thread.weight()).unwrap_or(u32::MAX)
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

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn insert(&self, thread: Thread) -> Result<()> {
        self.cache.insert(thread.id, Arc::new(thread)).await;
        Ok(())
    }

    async fn get(&self, id: ContinuationId) -> Result<Option<Thread>> {
        Ok(self.cache.get(&id).await.map(|t| (*t).clone()))
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
                let thread = current.into_value();
                if thread.turns.len() + added > max_turns as usize {
                    return Op::Nop;
                }
                let mut updated = (*thread).clone();
                updated.turns.extend(turns);
                updated.updated_at = SystemTime::now();
                Op::Put(Arc::new(updated))
            })
            .await;
        match result {
            CompResult::ReplacedWith(entry) | CompResult::Inserted(entry) => {
                Ok((*entry.into_value()).clone())
            }
            CompResult::Unchanged(_) => Err(Error::ConversationFull {
                id: id.to_string(),
                max_turns,
            }),
            CompResult::StillNone(_) | CompResult::Removed(_) => Err(self.not_found(id)),
        }
    }

    async fn recent(&self, limit: usize) -> Result<Vec<Thread>> {
        let mut threads: Vec<Arc<Thread>> = self.cache.iter().map(|(_, thread)| thread).collect();
        threads.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        Ok(threads
            .into_iter()
            .take(limit)
            .map(|t| (*t).clone())
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
