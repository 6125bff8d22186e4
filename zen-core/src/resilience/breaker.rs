//! A circuit breaker per provider: after enough consecutive transient
//! failures it opens and calls fail at once; after a cool-down one trial call
//! goes through; its success closes the breaker, its failure opens it again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail at once until the cool-down ends.
    Open,
    /// One trial call is in flight.
    HalfOpen,
}

impl BreakerState {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    failures: u32,
    opened_at: Option<Instant>,
    trial_running: bool,
}

/// One provider's breaker.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

/// Whether a call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Yes.
    Allowed,
    /// Yes, as the half-open trial.
    Trial,
    /// No: open, or a trial is already running; try again after this long.
    Refused(Duration),
}

impl Breaker {
    /// A breaker that opens after `threshold` consecutive failures and waits
    /// `cooldown` before a trial.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            inner: Mutex::new(Inner {
                failures: 0,
                opened_at: None,
                trial_running: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Asks to make a call.
    pub fn admit(&self) -> Admission {
        let mut inner = self.lock();
        let Some(opened_at) = inner.opened_at else {
            return Admission::Allowed;
        };
        let waited = opened_at.elapsed();
        if waited < self.cooldown {
            return Admission::Refused(self.cooldown - waited);
        }
        if inner.trial_running {
            return Admission::Refused(Duration::from_secs(1));
        }
        inner.trial_running = true;
        Admission::Trial
    }

    /// The call succeeded: the breaker closes.
    pub fn on_success(&self) {
        let mut inner = self.lock();
        inner.failures = 0;
        inner.opened_at = None;
        inner.trial_running = false;
    }

    /// The call failed transiently: counts toward opening; a failed trial opens again.
    pub fn on_failure(&self) {
        let mut inner = self.lock();
        inner.failures = inner.failures.saturating_add(1);
        if inner.trial_running || inner.failures >= self.threshold {
            inner.opened_at = Some(Instant::now());
        }
        inner.trial_running = false;
    }

    /// A call that failed for a reason that says nothing about the provider's
    /// health (a bad request): a running trial ends without a verdict.
    pub fn on_neutral(&self) {
        let mut inner = self.lock();
        if inner.trial_running {
            inner.trial_running = false;
            inner.opened_at = Some(Instant::now());
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.opened_at {
            None => BreakerState::Closed,
            Some(_) if inner.trial_running => BreakerState::HalfOpen,
            Some(_) => BreakerState::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_refuses_trials_and_closes() {
        let breaker = Breaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            breaker.on_failure();
            assert_eq!(breaker.admit(), Admission::Allowed);
        }
        breaker.on_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(matches!(breaker.admit(), Admission::Refused(_)));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(breaker.admit(), Admission::Trial);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(
            matches!(breaker.admit(), Admission::Refused(_)),
            "one trial at a time"
        );
        breaker.on_failure();
        assert_eq!(
            breaker.state(),
            BreakerState::Open,
            "a failed trial re-opens"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(breaker.admit(), Admission::Trial);
        breaker.on_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.admit(), Admission::Allowed);
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        breaker.on_failure();
        breaker.on_failure();
        breaker.on_success();
        breaker.on_failure();
        breaker.on_failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
