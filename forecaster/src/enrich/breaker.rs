//! The circuit breaker in front of the model: a pure state machine, time passed in.
//!
//! Closed: requests go through; `failure_threshold` consecutive failures open it. Open: no
//! request goes through until `open_for` has passed; then it is half-open and lets exactly
//! one trial request through. The trial's success closes it, its failure opens it again.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial request is in flight.
    HalfOpen,
}

#[derive(Debug, Clone)]
pub struct Breaker {
    state: State,
    failure_threshold: u32,
    open_for: Duration,
}

/// What [`Breaker::try_acquire`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Go ahead (the breaker is closed).
    Allowed,
    /// Go ahead as the half-open trial.
    Trial,
    /// Do not call the model.
    Rejected,
}

impl Breaker {
    /// `failure_threshold` 0 is treated as 1.
    pub fn new(failure_threshold: u32, open_for: Duration) -> Self {
        Self {
            state: State::Closed { failures: 0 },
            failure_threshold: failure_threshold.max(1),
            open_for,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Asks to make one request at `now`.
    pub fn try_acquire(&mut self, now: Instant) -> Permit {
        match self.state {
            State::Closed { .. } => Permit::Allowed,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen;
                Permit::Trial
            }
            State::Open { .. } | State::HalfOpen => Permit::Rejected,
        }
    }

    /// A request succeeded: close.
    pub fn on_success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    /// A request failed at `now`. Returns true when this failure opened the breaker.
    pub fn on_failure(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed { failures } if failures + 1 < self.failure_threshold => {
                self.state = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::Closed { .. } | State::HalfOpen => {
                self.state = State::Open {
                    until: now + self.open_for,
                };
                true
            }
            // A request admitted before the breaker opened finished late: stay open.
            State::Open { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    #[test]
    fn opens_after_consecutive_failures_only() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, COOL);
        assert!(!b.on_failure(t0));
        assert!(!b.on_failure(t0));
        b.on_success();
        assert!(!b.on_failure(t0));
        assert!(!b.on_failure(t0));
        assert_eq!(b.try_acquire(t0), Permit::Allowed);
        assert!(b.on_failure(t0));
        assert_eq!(b.state(), State::Open { until: t0 + COOL });
        assert_eq!(b.try_acquire(t0 + COOL / 2), Permit::Rejected);
    }

    #[test]
    fn half_opens_after_the_cool_down_with_a_single_trial() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, COOL);
        assert!(b.on_failure(t0));
        let later = t0 + COOL;
        assert_eq!(b.try_acquire(later), Permit::Trial);
        assert_eq!(b.try_acquire(later), Permit::Rejected);
        // The trial fails: open again, for a fresh cool-down from the failure.
        assert!(b.on_failure(later));
        assert_eq!(b.try_acquire(later + COOL / 2), Permit::Rejected);
        assert_eq!(b.try_acquire(later + COOL), Permit::Trial);
        b.on_success();
        assert_eq!(b.state(), State::Closed { failures: 0 });
        assert_eq!(b.try_acquire(later + COOL), Permit::Allowed);
    }

    #[test]
    fn a_late_failure_does_not_extend_an_open_breaker() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, COOL);
        b.on_failure(t0);
        assert!(!b.on_failure(t0 + COOL / 2));
        assert_eq!(b.try_acquire(t0 + COOL), Permit::Trial);
    }
}
