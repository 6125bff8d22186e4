//! Several endpoints for one provider (its address setting, such as
//! `CUSTOM_API_URL` or `AZURE_OPENAI_ENDPOINT`, as a comma list), balanced by
//! health and recent latency.
//!
//! Each endpoint has its own circuit breaker, which opens at its first
//! transient failure (429, 5xx, timeout, connection error): an open endpoint
//! gets no calls while another is closed, and one trial call once its
//! cool-down (`ZEN_BREAKER_COOLDOWN_SECS`) is over. Among closed endpoints a
//! call goes to the lowest score — recent latency (an exponentially weighted
//! moving average) times calls in flight plus one — except that every
//! [`EXPLORE_EVERY`]th call goes to the one used least recently, so a slow
//! endpoint's figure stays current. When every endpoint is open, the call
//! goes to the one whose cool-down ends first: the provider's own breaker,
//! which counts each attempt, decides when to stop calling at all, so it
//! opens only when every endpoint is failing.
//!
//! There is no retry here: the resilience layer's retry of a transient
//! failure makes a new pick, which avoids the endpoint that just failed, and
//! goes at once, without backoff, while another endpoint is healthy.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::resilience::{Admission, Breaker, BreakerState};

/// One call in this many goes to the least recently used healthy endpoint.
pub const EXPLORE_EVERY: u64 = 10;

/// Weight of the newest latency in the moving average.
const ALPHA: f64 = 0.3;

#[derive(Debug, Default)]
struct Figures {
    /// Moving average of successful calls' latency, in microseconds.
    latency_us: Option<f64>,
    last_picked: Option<Instant>,
    calls: u64,
    failures: u64,
}

#[derive(Debug)]
struct Endpoint {
    base: String,
    breaker: Breaker,
    in_flight: AtomicUsize,
    figures: Mutex<Figures>,
}

impl Endpoint {
    fn figures(&self) -> std::sync::MutexGuard<'_, Figures> {
        self.figures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn score(&self) -> f64 {
        let in_flight = self.in_flight.load(Ordering::Relaxed) as f64;
        self.figures().latency_us.unwrap_or(0.0) * (in_flight + 1.0)
    }
}

/// The endpoints of one provider.
#[derive(Debug)]
pub(crate) struct EndpointPool {
    endpoints: Vec<Endpoint>,
    picks: AtomicU64,
}

/// One endpoint's state, for the stats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointState {
    /// Its base address (any user name and password removed).
    pub url: String,
    /// `closed` (used), `open` (avoided) or `half_open` (a trial is running).
    pub breaker: &'static str,
    /// Recent latency of successful calls, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Calls in flight.
    pub in_flight: usize,
    /// Calls made.
    pub calls: u64,
    /// Calls that failed transiently.
    pub failures: u64,
}

/// One call's hold on an endpoint: report how it went with [`Lease::finish`].
#[derive(Debug)]
pub(crate) struct Lease<'a> {
    endpoint: &'a Endpoint,
    /// Whether the pool has other endpoints (errors then say which one).
    several: bool,
    started: Instant,
    trial: bool,
    finished: bool,
}

impl EndpointPool {
    /// A pool of `bases` (at least one), each avoided for `cooldown` after a
    /// transient failure.
    pub(crate) fn new(bases: Vec<String>, cooldown: Duration) -> Self {
        EndpointPool {
            endpoints: bases
                .into_iter()
                .map(|base| Endpoint {
                    base,
                    breaker: Breaker::new(1, cooldown),
                    in_flight: AtomicUsize::new(0),
                    figures: Mutex::new(Figures::default()),
                })
                .collect(),
            picks: AtomicU64::new(0),
        }
    }

    /// Each endpoint's state when there are several to balance; empty for
    /// one (what [`Provider::endpoints`](super::Provider::endpoints) reports).
    pub(crate) fn balanced_states(&self) -> Vec<EndpointState> {
        if self.len() > 1 {
            self.states()
        } else {
            Vec::new()
        }
    }

    /// How many endpoints there are.
    pub(crate) fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// The endpoint for the next call (see the module documentation).
    pub(crate) fn pick(&self) -> Lease<'_> {
        let index = self.choose();
        let endpoint = &self.endpoints[index.0];
        endpoint.in_flight.fetch_add(1, Ordering::Relaxed);
        {
            let mut figures = endpoint.figures();
            figures.calls += 1;
            figures.last_picked = Some(Instant::now());
        }
        Lease {
            endpoint,
            several: self.endpoints.len() > 1,
            started: Instant::now(),
            trial: index.1,
            finished: false,
        }
    }

    /// (index, whether the call is its breaker's trial).
    fn choose(&self) -> (usize, bool) {
        if self.endpoints.len() == 1 {
            return (0, false);
        }
        // An open endpoint whose cool-down is over gets its trial first;
        // otherwise remember whose cool-down ends soonest.
        let mut soonest: Option<(usize, Duration)> = None;
        let mut closed = Vec::with_capacity(self.endpoints.len());
        for (index, endpoint) in self.endpoints.iter().enumerate() {
            if endpoint.breaker.state() == BreakerState::Closed {
                closed.push(index);
                continue;
            }
            match endpoint.breaker.admit() {
                Admission::Trial => return (index, true),
                Admission::Refused(wait) => {
                    if soonest.is_none_or(|(_, best)| wait < best) {
                        soonest = Some((index, wait));
                    }
                }
                Admission::Allowed => closed.push(index),
            }
        }
        let least_recent = |candidates: &[usize]| {
            candidates
                .iter()
                .copied()
                .min_by_key(|&i| self.endpoints[i].figures().last_picked)
        };
        if !closed.is_empty() {
            let turn = self.picks.fetch_add(1, Ordering::Relaxed);
            if closed.len() > 1
                && turn % EXPLORE_EVERY == EXPLORE_EVERY - 1
                && let Some(index) = least_recent(&closed)
            {
                return (index, false);
            }
            let scores: Vec<(usize, f64)> = closed
                .iter()
                .map(|&i| (i, self.endpoints[i].score()))
                .collect();
            let lowest = scores.iter().map(|&(_, s)| s).fold(f64::INFINITY, f64::min);
            // A tie (two endpoints not yet timed, say) goes to the one used least recently.
            let tied: Vec<usize> = scores
                .iter()
                .filter(|&&(_, s)| s <= lowest)
                .map(|&(i, _)| i)
                .collect();
            if let Some(index) = least_recent(&tied) {
                return (index, false);
            }
        }
        (soonest.map_or(0, |(index, _)| index), false)
    }

    /// Whether there are several endpoints and one is healthy (its breaker
    /// closed): right after a transient failure, that one is another.
    pub(crate) fn any_healthy(&self) -> bool {
        self.endpoints.len() > 1
            && self
                .endpoints
                .iter()
                .any(|e| e.breaker.state() == BreakerState::Closed)
    }

    /// Each endpoint's state.
    pub(crate) fn states(&self) -> Vec<EndpointState> {
        self.endpoints
            .iter()
            .map(|e| {
                let figures = e.figures();
                EndpointState {
                    url: without_credentials(&e.base),
                    breaker: e.breaker.state().as_str(),
                    latency_ms: figures.latency_us.map(|us| (us / 10.0).round() / 100.0),
                    in_flight: e.in_flight.load(Ordering::Relaxed),
                    calls: figures.calls,
                    failures: figures.failures,
                }
            })
            .collect()
    }
}

impl Lease<'_> {
    /// The endpoint's base address.
    pub(crate) fn base(&self) -> &str {
        &self.endpoint.base
    }

    /// Records how the call went and, when there are
    /// several endpoints, names this one in a provider's error message.
    pub(crate) fn settle<T>(mut self, result: Result<T>) -> Result<T> {
        self.finish(&result);
        if !self.several {
            return result;
        }
        let at = format!(" (endpoint {})", without_credentials(&self.endpoint.base));
        result.map_err(|err| match err {
            Error::Provider {
                provider,
                status: Some(status),
                message,
                retryable,
            } => Error::Provider {
                provider,
                status: Some(status),
                message: message + &at,
                retryable,
            },
            Error::RateLimited {
                provider,
                retry_after,
                message,
            } => Error::RateLimited {
                provider,
                retry_after,
                message: message + &at,
            },
            other => other,
        })
    }

    /// Records how the call went: a success closes the endpoint's breaker and
    /// updates its latency; a transient failure opens it; any other failure
    /// says nothing about the endpoint's health.
    fn finish<T>(&mut self, result: &Result<T>) {
        self.finished = true;
        let endpoint = self.endpoint;
        match result {
            Ok(_) => {
                let took = self.started.elapsed().as_secs_f64() * 1e6;
                let mut figures = endpoint.figures();
                figures.latency_us = Some(match figures.latency_us {
                    Some(average) => average + ALPHA * (took - average),
                    None => took,
                });
                drop(figures);
                endpoint.breaker.on_success();
            }
            Err(err) if err.is_retryable() => {
                endpoint.figures().failures += 1;
                endpoint.breaker.on_failure();
            }
            Err(_) => endpoint.breaker.on_neutral(),
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.endpoint.in_flight.fetch_sub(1, Ordering::Relaxed);
        // A call dropped unfinished (cancelled) ends a trial without a verdict.
        if !self.finished && self.trial {
            self.endpoint.breaker.on_neutral();
        }
    }
}

/// `url` without any user name or password in it.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string().trim_end_matches('/').to_owned()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::providers::ProviderKind;

    fn pool(n: usize) -> EndpointPool {
        let bases = (0..n)
            .map(|i| format!("http://127.0.0.1:{}", 9000 + i))
            .collect();
        EndpointPool::new(bases, Duration::from_millis(40))
    }

    fn transient() -> Result<()> {
        Err(Error::Provider {
            provider: ProviderKind::Custom,
            status: Some(503),
            message: "down".into(),
            retryable: true,
        })
    }

    #[test]
    fn a_failed_endpoint_is_avoided_then_tried_again() {
        let pool = pool(2);
        let first = pool.pick();
        let failed = first.base().to_owned();
        let _ = first.settle(transient());
        for _ in 0..25 {
            let lease = pool.pick();
            assert_ne!(lease.base(), failed);
            let _ = lease.settle(Ok(()));
        }
        std::thread::sleep(Duration::from_millis(50));
        let trial = pool.pick();
        assert_eq!(trial.base(), failed, "the cool-down is over: a trial");
        let _ = trial.settle(Ok(()));
        assert!(pool.states().iter().all(|s| s.breaker == "closed"));
    }

    #[test]
    fn when_all_fail_the_soonest_to_recover_is_used() {
        let pool = pool(2);
        let a = pool.pick();
        let a_base = a.base().to_owned();
        let _ = a.settle(transient());
        let b = pool.pick();
        assert_ne!(b.base(), a_base);
        let _ = b.settle(transient());
        assert_eq!(pool.pick().base(), a_base);
    }

    #[test]
    fn credentials_are_not_shown() {
        assert_eq!(
            without_credentials("http://user:secret@host:8000/v1"),
            "http://host:8000/v1"
        );
        assert_eq!(without_credentials("http://host/v1"), "http://host/v1");
    }
}
