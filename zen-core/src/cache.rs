//! The engine's caches: file contents ([`FileCache`], always on unless
//! `ZEN_FILE_CACHE_MB=0`) and model responses ([`ResponseCache`], opt-in with
//! `ZEN_RESPONSE_CACHE=1`).
//!
//! The response cache answers a request identical to an earlier one — same
//! provider, model, prompt, system prompt, images, thinking mode, output
//! limit and temperature — without asking the provider again, and only when
//! the temperature actually sent is 0. A request at any other temperature, or
//! with none (the provider's default), is never cached; neither are failures.
//! Identical requests that arrive while the first is still with the provider
//! wait for its reply instead of asking again; if it fails, the waiting
//! requests ask the provider themselves, all at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use moka::sync::Cache;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::files::{DEFAULT_FILE_CACHE_MB, FileCache};

use crate::config::Settings;
use crate::error::Result;
use crate::models::ResolvedModel;
use crate::providers::{GenerateRequest, GenerateResponse};

/// Default bound of the response cache: 32 MiB (`ZEN_RESPONSE_CACHE_MB`).
pub const DEFAULT_RESPONSE_CACHE_MB: u64 = 32;

/// Bytes counted per entry on top of the reply text.
const ENTRY_OVERHEAD: usize = 256;

/// A request's identity: SHA-256 of everything that shapes the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseKey([u8; 32]);

/// A cache bounded in bytes that counts how often it answered: what both
/// caches are built on.
pub(crate) struct Counted<K, V> {
    cache: Cache<K, V>,
    max_bytes: u64,
    ttl: Option<Duration>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K, V> std::fmt::Debug for Counted<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counted")
            .field("max_bytes", &self.max_bytes)
            .field("ttl", &self.ttl)
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish_non_exhaustive()
    }
}

impl<K, V> Counted<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `max_bytes` as `weigh` counts them, each entry kept for `ttl`
    /// (or until evicted, least recently used first).
    pub(crate) fn new(
        max_bytes: u64,
        ttl: Option<Duration>,
        weigh: impl Fn(&K, &V) -> usize + Send + Sync + 'static,
    ) -> Self {
        let mut builder =
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(move |key: &K, value: &V| {
                    u32::try_from(weigh(key, value)).unwrap_or(u32::MAX)
                });
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        Counted {
            cache: builder.build(),
            max_bytes,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value for `key`, counting a hit or a miss.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let found = self.cache.get(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The value for `key`, without counting a hit or a miss.
    pub(crate) fn peek(&self, key: &K) -> Option<V> {
        self.cache.get(key)
    }

    /// Counts a miss for a lookup that could not be made.
    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps `value` for `key`.
    pub(crate) fn insert(&self, key: K, value: V) {
        self.cache.insert(key, value);
    }

    /// Hits, misses and what is held now.
    pub(crate) fn stats(&self) -> CacheStats {
        self.cache.run_pending_tasks();
        CacheStats {
            enabled: true,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
            bytes: self.cache.weighted_size(),
            max_bytes: self.max_bytes,
            ttl_seconds: self.ttl.map(|t| t.as_secs()),
        }
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
    }
}

/// What a cache holds and how often it answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Whether the cache is on.
    pub enabled: bool,
    /// Lookups answered from the cache (no disk read, no provider call).
    pub hits: u64,
    /// Lookups that had to go to the disk or the provider.
    pub misses: u64,
    /// Entries held.
    pub entries: u64,
    /// Bytes held (contents plus a small overhead per entry).
    pub bytes: u64,
    /// The most bytes it holds before evicting the least recently used.
    pub max_bytes: u64,
    /// How long an entry is kept, in seconds, when that is limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// Replies to identical temperature-0 requests. Cheap to clone; clones
/// share the cache. Off unless `ZEN_RESPONSE_CACHE` is on.
#[derive(Debug, Clone, Default)]
pub struct ResponseCache {
    inner: Option<Arc<Responses>>,
}

#[derive(Debug)]
struct Responses {
    replies: Counted<ResponseKey, Arc<GenerateResponse>>,
    /// One entry per key whose request is with the provider now; identical
    /// requests queue on its lock.
    asking: Mutex<HashMap<ResponseKey, Arc<Asking>>>,
}

/// A request with the provider, and the identical ones waiting for it.
#[derive(Debug, Default)]
struct Asking {
    lock: Arc<tokio::sync::Mutex<()>>,
    /// The request brought no reply to share (it failed, or the reply was
    /// too large to keep): the waiting ones ask for themselves, at once.
    failed: std::sync::atomic::AtomicBool,
}

/// What [`ResponseCache::lookup`] found.
#[derive(Debug)]
pub enum Lookup {
    /// The reply, from the cache (perhaps after waiting for an identical
    /// request to bring it).
    Hit(GenerateResponse),
    /// Not cached: ask the provider while holding this turn, then
    /// [`ResponseCache::insert`] the reply. Identical requests wait until the
    /// turn is dropped.
    Ask(AskTurn),
    /// The cache is off or the request may not be cached.
    Uncached,
}

/// The right to ask the provider for one key; see [`Lookup::Ask`]. Also
/// held, without the lock, by a request waiting for its turn, so that a
/// waiter that gives up (its call cancelled) still tidies the map.
#[derive(Debug)]
pub struct AskTurn {
    key: ResponseKey,
    responses: Arc<Responses>,
    entry: Arc<Asking>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// This turn asks the provider (rather than waiting or reading a hit).
    asking: bool,
}

impl Drop for AskTurn {
    fn drop(&mut self) {
        if self.asking {
            // Dropped without a reply kept: the others must not wait in turn.
            self.entry.failed.store(true, Ordering::Release);
        }
        let mut asking = self
            .responses
            .asking
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.held = None;
        // The map's reference and this one: nobody else is on this key.
        if asking
            .get(&self.key)
            .is_some_and(|entry| Arc::ptr_eq(entry, &self.entry) && Arc::strong_count(entry) == 2)
        {
            asking.remove(&self.key);
        }
    }
}

impl ResponseCache {
    /// A cache of at most `max_bytes`, keeping each reply for `ttl` (or
    /// until evicted, when `None`). `max_bytes == 0` gives a disabled cache.
    pub fn new(max_bytes: u64, ttl: Option<Duration>) -> Self {
        if max_bytes == 0 {
            return Self::disabled();
        }
        let weigh = |_: &ResponseKey, reply: &Arc<GenerateResponse>| {
            reply.content.len()
                + reply.model_name.len()
                + reply.finish_reason.as_ref().map_or(0, String::len)
                + ENTRY_OVERHEAD
        };
        ResponseCache {
            inner: Some(Arc::new(Responses {
                replies: Counted::new(max_bytes, ttl, weigh),
                asking: Mutex::default(),
            })),
        }
    }

    /// A cache that never answers.
    pub fn disabled() -> Self {
        ResponseCache { inner: None }
    }

    /// The cache the settings ask for: `ZEN_RESPONSE_CACHE` (`1`/`on`/`true`
    /// turns it on; default off), `ZEN_RESPONSE_CACHE_MB` (default
    /// [`DEFAULT_RESPONSE_CACHE_MB`]) and `ZEN_RESPONSE_CACHE_TTL_SECS`
    /// (default: kept until evicted).
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let on = settings.flag("ZEN_RESPONSE_CACHE", false)?;
        let mb = settings.u64_at_least("ZEN_RESPONSE_CACHE_MB", 1, DEFAULT_RESPONSE_CACHE_MB)?;
        let ttl = if settings.is_set("ZEN_RESPONSE_CACHE_TTL_SECS") {
            Some(settings.seconds("ZEN_RESPONSE_CACHE_TTL_SECS", Duration::ZERO)?)
        } else {
            None
        };
        if !on {
            return Ok(Self::disabled());
        }
        Ok(Self::new(mb.saturating_mul(1024 * 1024), ttl))
    }

    /// Whether the cache is on.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The key of `request` to `model`, when the cache is on and the request
    /// may be cached: the temperature sent to the provider is exactly 0.
    pub fn key(&self, model: &ResolvedModel, request: &GenerateRequest) -> Option<ResponseKey> {
        self.inner.as_ref()?;
        let sent = request
            .temperature
            .and_then(|t| model.spec.effective_temperature(t))?;
        if sent != 0.0 {
            return None;
        }
        let mut hash = Sha256::new();
        // Every field is length-prefixed, so no two requests share an encoding.
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(b"zen response cache v1");
        field(model.provider.id().as_bytes());
        field(model.api_name.as_bytes());
        field(request.prompt.as_bytes());
        match &request.system_prompt {
            Some(system) => {
                field(b"system");
                field(system.as_bytes());
            }
            None => field(b"no system"),
        }
        field(&sent.to_le_bytes());
        field(request.thinking_mode.map_or("", |m| m.as_str()).as_bytes());
        field(
            &request
                .max_output_tokens
                .map_or(u64::MAX, |m| m)
                .to_le_bytes(),
        );
        field(&(request.images.len() as u64).to_le_bytes());
        for image in &request.images {
            field(image.mime_type.as_bytes());
            field(image.base64.as_bytes());
        }
        Some(ResponseKey(hash.finalize().into()))
    }

    /// The cached reply to `request` for `model`, or the turn to ask the
    /// provider for it. While an identical request is with the provider this
    /// waits for it: its reply is then a hit; after its failure this call
    /// asks for itself ([`Lookup::Uncached`]), as the other waiting ones do.
    /// Counts a hit or a miss.
    pub async fn lookup(&self, model: &ResolvedModel, request: &GenerateRequest) -> Lookup {
        let (Some(responses), Some(key)) = (&self.inner, self.key(model, request)) else {
            return Lookup::Uncached;
        };
        if let Some(reply) = responses.replies.peek(&key) {
            return responses.hit(&reply);
        }
        let entry = {
            let mut asking = responses
                .asking
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(asking.entry(key).or_default())
        };
        let mut turn = AskTurn {
            key,
            responses: Arc::clone(responses),
            entry: Arc::clone(&entry),
            held: None,
            asking: false,
        };
        turn.held = Some(Arc::clone(&entry.lock).lock_owned().await);
        if let Some(reply) = responses.replies.peek(&key) {
            return responses.hit(&reply);
        }
        responses.replies.miss();
        if entry.failed.load(Ordering::Acquire) {
            // The one before failed: ask without making the rest wait.
            return Lookup::Uncached;
        }
        turn.asking = true;
        Lookup::Ask(turn)
    }

    /// Keeps `reply` as the answer to the request `turn` asked for, and
    /// hands it to the identical requests waiting on the turn.
    pub fn insert(&self, mut turn: AskTurn, reply: &GenerateResponse) {
        let replies = &turn.responses.replies;
        replies.insert(turn.key, Arc::new(reply.clone()));
        // Kept (not refused as too large for the cache): the waiting ones
        // read it.
        turn.asking = replies.peek(&turn.key).is_none();
    }

    /// Hits, misses and what is held now.
    pub fn stats(&self) -> CacheStats {
        self.inner
            .as_ref()
            .map(|c| c.replies.stats())
            .unwrap_or_default()
    }

    /// Forgets every cached reply.
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.replies.clear();
        }
    }
}

impl Responses {
    fn hit(&self, reply: &GenerateResponse) -> Lookup {
        self.replies.hits.fetch_add(1, Ordering::Relaxed);
        Lookup::Hit(reply.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        let off = ResponseCache::from_settings(&Settings::new()).unwrap();
        assert!(!off.is_enabled());
        let on: Settings = [
            ("ZEN_RESPONSE_CACHE", "1"),
            ("ZEN_RESPONSE_CACHE_TTL_SECS", "60"),
        ]
        .into_iter()
        .collect();
        let cache = ResponseCache::from_settings(&on).unwrap();
        assert!(cache.is_enabled());
        assert_eq!(cache.stats().ttl_seconds, Some(60));
        assert_eq!(
            cache.stats().max_bytes,
            DEFAULT_RESPONSE_CACHE_MB * 1024 * 1024
        );
        for (name, value) in [
            ("ZEN_RESPONSE_CACHE", "sometimes"),
            ("ZEN_RESPONSE_CACHE_MB", "0"),
            ("ZEN_RESPONSE_CACHE_TTL_SECS", "-1"),
        ] {
            let bad: Settings = [("ZEN_RESPONSE_CACHE", "on"), (name, value)]
                .into_iter()
                .collect();
            let err = ResponseCache::from_settings(&bad).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
