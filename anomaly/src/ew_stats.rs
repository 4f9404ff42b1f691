//! Running mean and variance with a bounded memory.
//!
//! For the first `memory` samples this is the exact (population) mean and
//! variance; after that each new sample gets weight `1/memory`, an exponential
//! window whose effective length is `memory`. Why: O(1) state that can be
//! persisted in a few bytes, yet after a regime change the old regime fades out
//! instead of weighing forever.

use serde::{Deserialize, Serialize};

/// Exponentially weighted mean/variance, exact until `memory` samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EwStats {
    count: u64,
    mean: f64,
    variance: f64,
}

impl EwStats {
    /// Add a sample (non-finite samples are ignored). `memory` of 0 is taken as 1.
    pub fn update(&mut self, x: f64, memory: u64) {
        if !x.is_finite() {
            return;
        }
        self.count = self.count.saturating_add(1);
        let alpha = 1.0 / self.count.min(memory.max(1)) as f64;
        let delta = x - self.mean;
        self.mean += alpha * delta;
        // West's update; equals the population variance while alpha = 1/n.
        self.variance = (1.0 - alpha) * (self.variance + alpha * delta * delta);
    }

    /// Samples seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Current mean (0 before any sample).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Current variance (0 before two samples).
    pub fn variance(&self) -> f64 {
        self.variance.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_until_memory() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut s = EwStats::default();
        for x in xs {
            s.update(x, 100);
        }
        assert_eq!(s.count(), 8);
        assert!((s.mean() - 5.0).abs() < 1e-12);
        assert!((s.variance() - 4.0).abs() < 1e-12, "{}", s.variance());
    }

    #[test]
    fn forgets_an_old_regime() {
        let mut s = EwStats::default();
        for _ in 0..1000 {
            s.update(0.0, 50);
        }
        for _ in 0..1000 {
            s.update(10.0, 50);
        }
        assert!((s.mean() - 10.0).abs() < 1e-6, "{}", s.mean());
        assert!(s.variance() < 1e-6);
        // With an unbounded memory the old regime would still weigh half.
        let mut all = EwStats::default();
        for x in [0.0, 10.0] {
            for _ in 0..1000 {
                all.update(x, u64::MAX);
            }
        }
        assert!((all.mean() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn non_finite_is_ignored_and_zero_memory_is_safe() {
        let mut s = EwStats::default();
        s.update(f64::NAN, 0);
        s.update(f64::INFINITY, 0);
        assert_eq!(s.count(), 0);
        s.update(3.0, 0);
        s.update(5.0, 0);
        assert_eq!(s.mean(), 5.0);
        assert_eq!(s.variance(), 0.0);
    }
}
