//! The path every model call takes: the provider's concurrency limit and rate
//! limit, its circuit breaker, and retries with backoff for transient
//! failures only. Exactly one retry layer: providers themselves never retry.

mod breaker;
mod limit;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use breaker::{Admission, Breaker, BreakerState};
pub use limit::{AdaptiveLimit, Permit};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::providers::ProviderKind;

/// Settings of the resilience layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `MAX_CONCURRENT_REQUESTS`: tool calls in flight (default 50).
    pub max_concurrent_requests: usize,
    /// `ZEN_MAX_CONCURRENT_<PROVIDER>`: model calls in flight per provider.
    pub provider_limits: BTreeMap<ProviderKind, usize>,
    /// `ZEN_RATE_LIMIT_<PROVIDER>`: requests per minute, when set.
    pub rate_limits: BTreeMap<ProviderKind, u64>,
    /// `ZEN_QUEUE_TIMEOUT_SECS`: the longest wait for a place (default 60 s).
    pub queue_timeout: Duration,
    /// `ZEN_MAX_RETRIES`: retries after the first try (default 3).
    pub max_retries: u32,
    /// First backoff (doubles each retry, with jitter); `ZEN_RETRY_BASE_MS`, default 500 ms.
    pub retry_base: Duration,
    /// The longest `Retry-After` honoured; longer ones are not waited for.
    pub max_retry_after: Duration,
    /// `ZEN_BREAKER_FAILURES`: consecutive transient failures that open a breaker (default 3).
    pub breaker_failures: u32,
    /// `ZEN_BREAKER_COOLDOWN_SECS`: how long a breaker stays open (default 30 s).
    pub breaker_cooldown: Duration,
    /// `ZEN_FALLBACK=on`: named models may fall back to another provider too.
    pub fallback_named: bool,
}

impl Policy {
    /// Reads the policy from settings; a bad value names its variable.
    pub fn from_settings(s: &Settings) -> Result<Self> {
        let count = |name: &str, default: u64| -> Result<usize> {
            Ok(usize::try_from(s.u64_at_least(name, 1, default)?).unwrap_or(usize::MAX))
        };
        let mut provider_limits = BTreeMap::new();
        let mut rate_limits = BTreeMap::new();
        for kind in ProviderKind::PRIORITY {
            let default = match kind {
                ProviderKind::Gemini => 10,
                ProviderKind::OpenAi => 20,
                ProviderKind::OpenRouter => 15,
                ProviderKind::Custom => 5,
                _ => 10,
            };
            let upper = kind.id().to_ascii_uppercase();
            provider_limits.insert(
                kind,
                count(&format!("ZEN_MAX_CONCURRENT_{upper}"), default)?,
            );
            let rate_var = format!("ZEN_RATE_LIMIT_{upper}");
            if s.is_set(&rate_var) {
                rate_limits.insert(kind, s.u64_at_least(&rate_var, 1, 60)?);
            }
        }
        let fallback = s.flag("ZEN_FALLBACK", false)?;
        Ok(Policy {
            max_concurrent_requests: count("MAX_CONCURRENT_REQUESTS", 50)?,
            provider_limits,
            rate_limits,
            queue_timeout: s.seconds("ZEN_QUEUE_TIMEOUT_SECS", Duration::from_secs(60))?,
            max_retries: u32::try_from(s.u64_within("ZEN_MAX_RETRIES", 0, 10, 3)?).unwrap_or(3),
            retry_base: Duration::from_millis(s.u64_within("ZEN_RETRY_BASE_MS", 1, 60_000, 500)?),
            max_retry_after: Duration::from_secs(60),
            breaker_failures: u32::try_from(s.u64_at_least("ZEN_BREAKER_FAILURES", 1, 3)?)
                .unwrap_or(u32::MAX),
            breaker_cooldown: s.seconds("ZEN_BREAKER_COOLDOWN_SECS", Duration::from_secs(30))?,
            fallback_named: fallback,
        })
    }
}

/// One provider's guards.
#[derive(Debug)]
struct Guards {
    limit: AdaptiveLimit,
    breaker: Breaker,
    /// The earliest time the next request may start, under a rate limit.
    next_slot: Option<Mutex<Instant>>,
    slot_every: Duration,
}

/// How one guarded call went, for metrics and the audit log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Retries made (0 when the first try settled it).
    pub retries: u32,
}

/// The guards of every provider, and the global limit on tool calls.
#[derive(Debug)]
pub struct Resilience {
    policy: Policy,
    tool_calls: AdaptiveLimit,
    providers: BTreeMap<ProviderKind, Guards>,
}

impl Resilience {
    /// Guards for every provider, from `policy`.
    pub fn new(policy: Policy) -> Self {
        let providers = ProviderKind::PRIORITY
            .into_iter()
            .map(|kind| {
                let limit =
                    AdaptiveLimit::new(policy.provider_limits.get(&kind).copied().unwrap_or(10));
                let rate = policy.rate_limits.get(&kind).copied();
                let guards = Guards {
                    limit,
                    breaker: Breaker::new(policy.breaker_failures, policy.breaker_cooldown),
                    next_slot: rate.map(|_| Mutex::new(Instant::now())),
                    slot_every: rate.map_or(Duration::ZERO, |per_minute| {
                        Duration::from_secs_f64(60.0 / per_minute.max(1) as f64)
                    }),
                };
                (kind, guards)
            })
            .collect();
        Resilience {
            tool_calls: AdaptiveLimit::new(policy.max_concurrent_requests),
            policy,
            providers,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A place for one tool call, or a "busy" error after the queue timeout.
    pub async fn tool_permit(&self) -> Result<Permit> {
        self.tool_calls
            .acquire(self.policy.queue_timeout)
            .await
            .ok_or_else(|| Error::Busy {
                what: "zen (MAX_CONCURRENT_REQUESTS)".into(),
                waited: self.policy.queue_timeout,
            })
    }

    /// Runs `call` for provider `kind` under its guards, retrying transient
    /// failures. `call` makes one attempt each time it is invoked.
    pub async fn run<T, F, Fut>(&self, kind: ProviderKind, call: F) -> (Result<T>, Attempts)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.run_with_failover(kind, call, || false).await
    }

    /// [`Resilience::run`] for a provider with several endpoints: when
    /// `elsewhere()` says another endpoint is healthy, a transient failure is
    /// retried there at once, without backoff (a `Retry-After` speaks only
    /// for the endpoint that sent it). Retries still count toward
    /// `ZEN_MAX_RETRIES`, and failures toward the provider's breaker.
    pub async fn run_with_failover<T, F, Fut, H>(
        &self,
        kind: ProviderKind,
        mut call: F,
        elsewhere: H,
    ) -> (Result<T>, Attempts)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
        H: Fn() -> bool,
    {
        let Some(guards) = self.providers.get(&kind) else {
            return (call().await, Attempts::default());
        };
        let mut attempts = Attempts::default();
        loop {
            let trial = match guards.breaker.admit() {
                Admission::Allowed => false,
                Admission::Trial => true,
                Admission::Refused(retry_in) => {
                    return (
                        Err(Error::CircuitOpen {
                            provider: kind,
                            retry_in,
                        }),
                        attempts,
                    );
                }
            };
            let permit = match guards.limit.acquire(self.policy.queue_timeout).await {
                Some(permit) => permit,
                None => {
                    if trial {
                        guards.breaker.on_neutral();
                    }
                    return (
                        Err(Error::Busy {
                            what: format!("{kind} (its concurrency limit)"),
                            waited: self.policy.queue_timeout,
                        }),
                        attempts,
                    );
                }
            };
            if let Err(err) = self.wait_for_rate_slot(kind, guards).await {
                if trial {
                    guards.breaker.on_neutral();
                }
                return (Err(err), attempts);
            }
            let outcome = call().await;
            drop(permit);
            let err = match outcome {
                Ok(value) => {
                    guards.breaker.on_success();
                    guards.limit.on_success();
                    return (Ok(value), attempts);
                }
                Err(err) => err,
            };
            if !err.is_retryable() {
                guards.breaker.on_neutral();
                return (Err(err), attempts);
            }
            if matches!(err, Error::RateLimited { .. }) {
                guards.limit.on_overload();
            }
            guards.breaker.on_failure();
            // A retry the breaker would refuse is no retry: the caller gets
            // the provider's own error rather than "circuit open".
            if attempts.retries >= self.policy.max_retries
                || guards.breaker.state() == BreakerState::Open
            {
                return (Err(err), attempts);
            }
            let failover = elsewhere();
            let wait = match &err {
                _ if failover => Duration::ZERO,
                Error::RateLimited {
                    retry_after: Some(after),
                    ..
                } => {
                    if *after > self.policy.max_retry_after {
                        return (Err(err), attempts);
                    }
                    *after
                }
                _ => backoff(self.policy.retry_base, attempts.retries),
            };
            tracing::info!(
                "{kind}: {err}; retry {} of {} in {} ms{}",
                attempts.retries + 1,
                self.policy.max_retries,
                wait.as_millis(),
                if failover { " at another endpoint" } else { "" }
            );
            tokio::time::sleep(wait).await;
            attempts.retries += 1;
        }
    }

    async fn wait_for_rate_slot(&self, kind: ProviderKind, guards: &Guards) -> Result<()> {
        let Some(next_slot) = &guards.next_slot else {
            return Ok(());
        };
        let start = {
            let mut next = next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let start = (*next).max(now);
            if start.duration_since(now) > self.policy.queue_timeout {
                return Err(Error::Busy {
                    what: format!("{kind} (ZEN_RATE_LIMIT_{})", kind.id().to_ascii_uppercase()),
                    waited: self.policy.queue_timeout,
                });
            }
            *next = start + guards.slot_every;
            start
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(start)).await;
        Ok(())
    }

    /// Each provider's breaker state, concurrency limit and queue.
    pub fn snapshot(&self) -> Vec<ProviderGuardState> {
        self.providers
            .iter()
            .map(|(kind, g)| {
                let (limit, ceiling, in_flight, waiting) = g.limit.snapshot();
                ProviderGuardState {
                    provider: *kind,
                    breaker: g.breaker.state(),
                    limit,
                    ceiling,
                    in_flight,
                    waiting,
                }
            })
            .collect()
    }

    /// Tool calls (in flight, waiting).
    pub fn tool_calls(&self) -> (usize, usize) {
        let (_, _, in_flight, waiting) = self.tool_calls.snapshot();
        (in_flight, waiting)
    }
}

/// One provider's guards, for metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderGuardState {
    /// Which provider.
    pub provider: ProviderKind,
    /// Its breaker.
    pub breaker: BreakerState,
    /// Its current (adaptive) concurrency limit.
    pub limit: f64,
    /// The configured limit.
    pub ceiling: usize,
    /// Calls in flight.
    pub in_flight: usize,
    /// Calls waiting.
    pub waiting: usize,
}

/// The longest single wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Exponential backoff with jitter: between half and all of `base × 2^retry`,
/// that product at most [`MAX_BACKOFF`].
fn backoff(base: Duration, retry: u32) -> Duration {
    let full = base
        .saturating_mul(2u32.saturating_pow(retry.min(16)))
        .min(MAX_BACKOFF);
    let jitter = jitter_fraction();
    full.mul_f64(0.5 + jitter / 2.0)
}

/// A number in [0, 1) that differs from call to call (not for security).
fn jitter_fraction() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut x = u64::from(nanos) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    #[allow(clippy::cast_precision_loss)]
    let fraction = (x % 10_000) as f64 / 10_000.0;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter() {
        let base = Duration::from_millis(100);
        for retry in 0..4 {
            let wait = backoff(base, retry);
            let full = base * 2u32.pow(retry);
            assert!(wait >= full / 2 && wait <= full, "{retry}: {wait:?}");
        }
    }

    #[test]
    fn policy_defaults_and_errors() {
        let p = Policy::from_settings(&Settings::new()).unwrap();
        assert_eq!(p.max_concurrent_requests, 50);
        assert_eq!(p.provider_limits[&ProviderKind::Gemini], 10);
        assert_eq!(p.provider_limits[&ProviderKind::OpenAi], 20);
        assert_eq!(p.provider_limits[&ProviderKind::OpenRouter], 15);
        assert_eq!(p.provider_limits[&ProviderKind::Custom], 5);
        assert_eq!(p.provider_limits[&ProviderKind::Xai], 10);
        assert_eq!(p.max_retries, 3);
        assert_eq!(p.breaker_failures, 3);
        assert_eq!(p.breaker_cooldown, Duration::from_secs(30));
        let bad: Settings = [("ZEN_MAX_CONCURRENT_OPENAI", "lots")]
            .into_iter()
            .collect();
        let err = Policy::from_settings(&bad).unwrap_err().to_string();
        assert!(err.contains("ZEN_MAX_CONCURRENT_OPENAI"), "{err}");
        // Out of range is an error, not a silent clamp.
        for (name, value) in [
            ("ZEN_MAX_RETRIES", "1000000"),
            ("ZEN_RETRY_BASE_MS", "600000"),
        ] {
            let bad: Settings = [(name, value)].into_iter().collect();
            let err = Policy::from_settings(&bad).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains("too large"), "{err}");
        }
        // Whatever the jitter, one wait is at most MAX_BACKOFF.
        for retry in 0..12 {
            let wait = backoff(Duration::from_secs(60), retry);
            assert!(wait <= MAX_BACKOFF && wait >= MAX_BACKOFF / 2, "{wait:?}");
        }
    }
}
