//! A concurrency limit whose size can change: callers over the limit wait in
//! a queue (up to a timeout); the limit halves when a provider says "too many
//! requests" and grows back by about one per limit's worth of successes
//! (additive increase, multiplicative decrease), never above its ceiling.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug)]
struct State {
    ceiling: usize,
    limit: f64,
    in_flight: usize,
    waiting: usize,
}

/// A limit on how many things run at once.
#[derive(Debug, Clone)]
pub struct AdaptiveLimit {
    state: Arc<Mutex<State>>,
    freed: Arc<Notify>,
}

/// A place inside the limit; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    limit: AdaptiveLimit,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.limit.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.limit.freed.notify_waiters();
    }
}

impl AdaptiveLimit {
    /// A limit of `ceiling` (at least 1).
    pub fn new(ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        AdaptiveLimit {
            state: Arc::new(Mutex::new(State {
                ceiling,
                #[allow(clippy::cast_precision_loss)]
                limit: ceiling as f64,
                in_flight: 0,
                waiting: 0,
            })),
            freed: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Waits for a place, at most `timeout`; `None` when none came in time.
    pub async fn acquire(&self, timeout: Duration) -> Option<Permit> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut counted = false;
        loop {
            // Register interest before checking, so a release in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let allowed = (state.limit.floor() as usize).max(1);
                if state.in_flight < allowed {
                    state.in_flight += 1;
                    if counted {
                        state.waiting = state.waiting.saturating_sub(1);
                    }
                    return Some(Permit {
                        limit: self.clone(),
                    });
                }
                if !counted {
                    state.waiting += 1;
                    counted = true;
                }
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                let mut state = self.lock();
                state.waiting = state.waiting.saturating_sub(1);
                return None;
            }
        }
    }

    /// A success: the limit grows by about one per limit's worth of successes.
    pub fn on_success(&self) {
        let mut state = self.lock();
        #[allow(clippy::cast_precision_loss)]
        let ceiling = state.ceiling as f64;
        state.limit = (state.limit + 1.0 / state.limit.max(1.0)).min(ceiling);
        drop(state);
        self.freed.notify_waiters();
    }

    /// The provider pushed back (HTTP 429): the limit halves, down to 1.
    pub fn on_overload(&self) {
        let mut state = self.lock();
        state.limit = (state.limit / 2.0).max(1.0);
    }

    /// (current limit, ceiling, in flight, waiting).
    pub fn snapshot(&self) -> (f64, usize, usize, usize) {
        let state = self.lock();
        (state.limit, state.ceiling, state.in_flight, state.waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_then_times_out() {
        let limit = AdaptiveLimit::new(1);
        let held = limit.acquire(Duration::from_secs(1)).await.unwrap();
        assert!(limit.acquire(Duration::from_millis(50)).await.is_none());
        drop(held);
        assert!(limit.acquire(Duration::from_millis(50)).await.is_some());
    }

    #[tokio::test]
    async fn a_released_place_goes_to_a_waiter() {
        let limit = AdaptiveLimit::new(1);
        let held = limit.acquire(Duration::from_secs(1)).await.unwrap();
        let waiter = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.acquire(Duration::from_secs(5)).await.is_some() })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiter.await.unwrap());
    }

    #[test]
    fn aimd_halves_and_recovers_to_the_ceiling() {
        let limit = AdaptiveLimit::new(8);
        limit.on_overload();
        limit.on_overload();
        assert_eq!(limit.snapshot().0, 2.0);
        for _ in 0..200 {
            limit.on_success();
        }
        assert_eq!(limit.snapshot().0, 8.0, "never above the ceiling");
        for _ in 0..10 {
            limit.on_overload();
        }
        assert_eq!(limit.snapshot().0, 1.0, "never below one");
    }
}
