//! One delivery attempt's outcome, and the retry policy over attempts (pure).

use std::time::Duration;

/// One attempt's classification.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered,
    /// Worth retrying (network, 5xx, 429, SMTP 4xx); `retry_after` is the delay the
    /// receiver asked for, if it said.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (bad payload, unknown channel, SMTP 5xx, …).
    Permanent(String),
}

impl Attempt {
    pub fn transient(reason: impl Into<String>) -> Self {
        Attempt::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// The longest delay a receiver may impose: a broken or hostile `Retry-After` must not park
/// delivery for hours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Exponential backoff after the `attempts`-th failed attempt (1-based): 200 ms, 400 ms, …,
/// at most 10 s.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

/// How long to wait before the next attempt, or `None` to give up because the wait would end
/// past `retry_for` (counted from the first attempt).
pub fn next_wait(
    attempts: u32,
    retry_after: Option<Duration>,
    elapsed: Duration,
    retry_for: Duration,
) -> Option<Duration> {
    let wait = retry_after
        .map(|d| d.min(MAX_RETRY_AFTER))
        .unwrap_or_else(|| backoff(attempts));
    (elapsed.saturating_add(wait) <= retry_for).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let ms: Vec<u128> = (1..=8).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(ms, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(backoff(0), FIRST_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn announced_delay_wins_over_backoff_but_is_capped() {
        let s = Duration::from_secs;
        let budget = s(3600);
        assert_eq!(next_wait(1, Some(s(7)), s(0), budget), Some(s(7)));
        assert_eq!(
            next_wait(1, Some(s(9999)), s(0), budget),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(next_wait(3, None, s(0), budget), Some(backoff(3)));
    }

    #[test]
    fn gives_up_when_the_wait_would_end_past_the_budget() {
        let s = Duration::from_secs;
        assert_eq!(next_wait(1, Some(s(5)), s(10), s(15)), Some(s(5)));
        assert_eq!(next_wait(1, Some(s(6)), s(10), s(15)), None);
        assert_eq!(next_wait(1, None, s(0), Duration::ZERO), None);
    }
}
