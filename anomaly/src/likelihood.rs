//! Anomaly likelihood: is the *recent* level of a raw anomaly score unusual
//! compared with its long-run distribution?
//!
//! This is the step Numenta's NAB detectors use on top of a raw score
//! (`anomaly_likelihood.py` in nupic, used by the NAB "numenta" detectors,
//! https://github.com/numenta/NAB): average the last 10 raw scores, model the
//! long-run distribution of that average as a Gaussian, and report the tail
//! probability of the current average. Why it helps: one noisy raw score is
//! diluted by the average, while a change that persists for a few points (a
//! burst of spikes, a level shift, a change in variance) moves the average far
//! out of its usual range. It also turns any raw score into a probability with
//! the same meaning on every series, so one threshold fits all of them.
//!
//! Differences from nupic, each to keep state bounded and persistable:
//! * the long-run distribution is an exponentially weighted mean/variance with
//!   an effective memory of `memory` samples ([`EwStats`]) instead of a buffer of
//!   the last 8640 raw scores re-estimated every 100 points;
//! * once estimated, each new average enters the distribution winsorized to
//!   `mean ± winsor_z·σ`, so a long anomaly (a level shift keeps the raw score
//!   high until the baseline catches up) cannot inflate the variance and blind
//!   the detector to the next one, while a lasting change of behaviour still
//!   moves the distribution, one bounded step at a time.
//!
//! As in nupic the tail is two-sided (an average far *below* its usual level is
//! as unlikely as one far above: a noisy series that goes flat), and the
//! distribution is floored at mean 0.03 and variance 0.0003 for raw scores in
//! `[0, 1]`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::ew_stats::EwStats;
use crate::gaussian;

/// Parameters of the likelihood; the defaults are nupic's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LikelihoodConfig {
    /// Raw scores averaged into the short-term level (nupic: 10).
    pub averaging_window: usize,
    /// Averages used to estimate the long-run distribution before any
    /// probability is reported (nupic: 100).
    pub estimation_samples: u64,
    /// Effective memory of the long-run distribution, in samples
    /// (nupic keeps the last 8640).
    pub memory: u64,
    /// Floor of the distribution's mean (nupic: 0.03).
    pub min_mean: f64,
    /// Floor of the distribution's variance (nupic: 0.0003).
    pub min_variance: f64,
    /// Updates are clamped to `mean ± winsor_z·σ`; 3.09 is the one-sided 1e-3
    /// tail, nupic's "yellow" level.
    pub winsor_z: f64,
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        Self {
            averaging_window: 10,
            estimation_samples: 100,
            memory: 8640,
            min_mean: 0.03,
            min_variance: 0.0003,
            winsor_z: 3.090_232_306,
        }
    }
}

/// Streaming anomaly likelihood over raw scores in `[0, 1]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Likelihood {
    recent: VecDeque<f64>,
    long_run: EwStats,
}

impl Likelihood {
    /// Add a raw score and return the tail probability of the current average
    /// (small = unusual), or `None` while the distribution is being learnt.
    /// Raw scores are clamped to `[0, 1]`; NaN is ignored (returns `None`).
    pub fn update(&mut self, raw: f64, cfg: &LikelihoodConfig) -> Option<f64> {
        if raw.is_nan() {
            return None;
        }
        let window = cfg.averaging_window.max(1);
        self.recent.push_back(raw.clamp(0.0, 1.0));
        while self.recent.len() > window {
            self.recent.pop_front();
        }
        if self.recent.len() < window {
            return None;
        }
        let average = self.recent.iter().sum::<f64>() / window as f64;
        if self.long_run.count() < cfg.estimation_samples {
            self.long_run.update(average, cfg.memory);
            return None;
        }
        let mean = self.long_run.mean().max(cfg.min_mean);
        let sd = self.long_run.variance().max(cfg.min_variance).sqrt();
        let z = (average - mean) / sd;
        let tail = gaussian::upper_tail(z.abs());
        let w = cfg.winsor_z.abs() * sd;
        let clamped = if w.is_finite() {
            average.clamp(mean - w, mean + w)
        } else {
            average
        };
        self.long_run.update(clamped, cfg.memory);
        Some(tail)
    }
}

/// Map a tail probability onto a `[0, 1]` score on a log scale, as NAB's
/// numenta detector does (`log(1.0000000001 − likelihood) / log(1e-10)`):
/// tail 1 → 0, 1e-5 → 0.5, ≤ 1e-10 → 1. Why a log scale: the interesting
/// tails span ten orders of magnitude, a linear `1 − tail` would squeeze them
/// all into 0.99999….
pub fn tail_to_score(tail: f64) -> f64 {
    if tail.is_nan() {
        return 0.0;
    }
    ((tail.clamp(0.0, 1.0) + 1e-10).ln() / 1e-10f64.ln()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LikelihoodConfig {
        LikelihoodConfig::default()
    }

    /// Deterministic raw scores around 0.1 with a little noise.
    fn noise(i: u64) -> f64 {
        let x = i.wrapping_mul(2654435761) % 1000;
        0.05 + 0.1 * x as f64 / 1000.0
    }

    #[test]
    fn learns_before_reporting() {
        let c = cfg();
        let mut l = Likelihood::default();
        let learning = c.averaging_window as u64 - 1 + c.estimation_samples;
        for i in 0..learning {
            assert_eq!(l.update(noise(i), &c), None, "point {i}");
        }
        assert!(l.update(noise(learning), &c).is_some());
    }

    #[test]
    fn ordinary_scores_are_likely_and_a_burst_is_not() {
        let c = cfg();
        let mut l = Likelihood::default();
        let mut min_tail: f64 = 1.0;
        for i in 0..2000 {
            if let Some(t) = l.update(noise(i), &c) {
                min_tail = min_tail.min(t);
            }
        }
        assert!(
            min_tail > 1e-3,
            "ordinary data is not anomalous: {min_tail}"
        );
        let mut burst_tail: f64 = 1.0;
        for _ in 0..5 {
            burst_tail = burst_tail.min(l.update(1.0, &c).unwrap());
        }
        assert!(burst_tail < 1e-5, "{burst_tail}");
    }

    #[test]
    fn a_long_anomaly_does_not_blind_it() {
        let c = cfg();
        let mut l = Likelihood::default();
        for i in 0..1000 {
            l.update(noise(i), &c);
        }
        // 300 points at the maximum (a level shift the baseline absorbs slowly).
        for _ in 0..300 {
            l.update(1.0, &c);
        }
        for i in 0..200 {
            l.update(noise(i), &c);
        }
        let tail = (0..5)
            .map(|_| l.update(1.0, &c).unwrap())
            .fold(1.0, f64::min);
        assert!(tail < 1e-5, "still sees the next burst: {tail}");
    }

    #[test]
    fn nan_is_ignored_and_out_of_range_is_clamped() {
        let c = cfg();
        let mut l = Likelihood::default();
        assert_eq!(l.update(f64::NAN, &c), None);
        assert!(l.recent.is_empty());
        l.update(7.0, &c);
        l.update(-3.0, &c);
        assert_eq!(l.recent, VecDeque::from(vec![1.0, 0.0]));
    }

    #[test]
    fn tail_to_score_matches_nab_log_likelihood() {
        assert_eq!(tail_to_score(1.0), 0.0);
        assert!((tail_to_score(1e-5) - 0.5).abs() < 1e-5);
        assert!(tail_to_score(0.0) > 0.999_999);
        assert!(tail_to_score(0.0) <= 1.0);
        assert_eq!(tail_to_score(f64::NAN), 0.0);
        assert!(tail_to_score(1e-3) < tail_to_score(1e-4));
    }
}
