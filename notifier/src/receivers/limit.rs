//! Per-receiver send rate (`max_per_minute`): a `governor` token bucket that makes delivery
//! wait rather than fail, so a burst of alerts does not trip the receiver's own limits.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct SendLimit(Option<DefaultDirectRateLimiter>);

impl SendLimit {
    /// `None` (or 0, refused earlier by validation) means unlimited. Bursts up to the
    /// per-minute number, then one message every `60 s / max_per_minute`.
    pub fn per_minute(max_per_minute: Option<u32>) -> Self {
        Self(
            max_per_minute
                .and_then(NonZeroU32::new)
                .map(|n| RateLimiter::direct(Quota::per_minute(n))),
        )
    }

    /// Waits for a send slot; returns how long it waited.
    pub async fn ready(&self) -> Duration {
        let started = Instant::now();
        if let Some(limiter) = &self.0 {
            limiter.until_ready().await;
        }
        started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_once_the_burst_is_spent() {
        // 600/min: a burst of 600, then one every 100 ms.
        let limit = SendLimit::per_minute(Some(600));
        for _ in 0..600 {
            assert!(limit.ready().await < Duration::from_millis(50));
        }
        let waited = limit.ready().await;
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[tokio::test]
    async fn unlimited_never_waits() {
        let limit = SendLimit::per_minute(None);
        for _ in 0..10_000 {
            assert!(limit.ready().await < Duration::from_millis(50));
        }
    }
}
