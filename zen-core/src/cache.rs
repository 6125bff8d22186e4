//! The engine's caches: file contents ([`FileCache`], always on unless
//! `ZEN_FILE_CACHE_MB=0`) and model responses ([`ResponseCache`], opt-in with
//! `ZEN_RESPONSE_CACHE=1`).
//!
//! The response cache answers a request identical to an earlier one — same
//! provider, model, prompt, system prompt, images, thinking mode, output
//! limit and temperature — without asking the provider again, and only when
//! the temperature actually sent is 0. A request at any other temperature, or
//! with none (the provider's default), is never cached; neither are failures.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    inner: Option<Arc<Counted<ResponseKey, Arc<GenerateResponse>>>>,
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
            inner: Some(Arc::new(Counted::new(max_bytes, ttl, weigh))),
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
        let on = settings
            .choice(
                "ZEN_RESPONSE_CACHE",
                &["1", "0", "on", "off", "true", "false", "yes", "no"],
            )?
            .is_some_and(|v| matches!(v.as_str(), "1" | "on" | "true" | "yes"));
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

    /// The cached reply for `key`, counting a hit or a miss.
    pub fn get(&self, key: &ResponseKey) -> Option<GenerateResponse> {
        let reply = self.inner.as_ref()?.get(key)?;
        Some(GenerateResponse::clone(&reply))
    }

    /// Keeps `reply` as the answer to `key`.
    pub fn insert(&self, key: ResponseKey, reply: &GenerateResponse) {
        if let Some(inner) = &self.inner {
            inner.insert(key, Arc::new(reply.clone()));
        }
    }

    /// Hits, misses and what is held now.
    pub fn stats(&self) -> CacheStats {
        self.inner.as_ref().map(|c| c.stats()).unwrap_or_default()
    }

    /// Forgets every cached reply.
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.clear();
        }
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
