//! The streaming detector: one univariate metric series in, one decision per
//! point out, before the next point is seen.
//!
//! Pipeline for each point:
//! 1. **Robust z-score.** The value is compared with a rolling [`Baseline`] of
//!    the previous `window` values: `z = (value − median) / robust σ`
//!    (σ from the MAD, see [`Baseline::scale`]). Median and MAD follow level
//!    and spread changes within half a window, so a lasting change becomes the
//!    new normal instead of alarming forever, and they are not dragged by the
//!    spikes they judge.
//! 2. **Raw score** = the surprise of `z` on NAB's log scale:
//!    `log(p) / log(1e-10)` with `p = P(|Z| ≥ |z|)` for a standard normal, so
//!    ≈ 0.01–0.1 for ordinary values, 0.5 at 4.4σ, ≈ 1 from 7σ. Why a log
//!    p-value: averaging it over several points is Fisher's way of combining
//!    evidence, and it grows like z², so one big deviation outweighs many small
//!    ones.
//! 3. **Two tail probabilities**, combined with a Bonferroni correction,
//!    `tail = min(1, 2·min(tail_point, tail_persistent))`:
//!    * *point*: how rare this single `|z|` is for this series
//!      ([`ExceedanceTail`]: peaks over 3σ fitted with a generalized Pareto
//!      distribution, as in SPOT). Catches a single huge spike, judged against
//!      how spiky *this* series usually is, not against a Gaussian;
//!    * *persistent*: NAB's anomaly likelihood ([`Likelihood`]): the average
//!      of the last 10 raw scores against its long-run distribution. Catches
//!      what persists (bursts, shifts, a change of variance) while diluting
//!      noise.
//! 4. **Score**: the tail on the same log scale ([`tail_to_score`]):
//!    `score ≥ 0.5` ⇔ tail ≤ 1e-5 (nupic's "red" level).
//! 5. **Detection** on the rising edge: `detected` is true for the first point
//!    of a run with `score ≥ threshold`, as nupic's filter keeps only the first
//!    of consecutive red points. One alert per incident.
//!
//! Probation: nothing is scored (score 0) until the baseline holds `warmup`
//! values, then 10 averages fill and 100 estimate the distributions: about 140
//! points in all with the defaults.
//!
//! Input rules (never panics): NaN/±∞ values score 0 and are not learnt; a
//! timestamp older than the newest seen is *late*: it scores 0, is not learnt
//! and cannot detect (a streaming decision cannot be revised, and learning it
//! would compare the next points with a past that has moved on). Equal
//! timestamps are in order. Timestamps are otherwise not used: the model counts
//! points, so it suits regularly sampled series (NAB's 5-minute data, the
//! scorer's fixed event-time windows).
//!
//! Memory: `2·window + 10` floats plus constants (≈ 4 KiB with the defaults);
//! the whole state is `serde`-serializable (for bit-exact JSON round trips
//! enable serde_json's `float_roundtrip` feature; without it the last bit of a
//! float may differ after reading back).

use serde::{Deserialize, Serialize};

use crate::baseline::Baseline;
use crate::exceedance::ExceedanceTail;
use crate::gaussian;
use crate::likelihood::{tail_to_score, Likelihood, LikelihoodConfig};

/// Detector parameters. One configuration serves every series: each step is
/// scale-free (z-scores, probabilities), so nothing here depends on a metric's
/// units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorConfig {
    /// Values in the rolling median/MAD baseline. 256: the MAD's standard
    /// error is then about 7 % of σ, and a lasting level or spread change is
    /// absorbed after about 128 points (2 h of one-minute windows, 10 h of
    /// five-minute samples), long enough to be reported, short enough not to
    /// alarm for days.
    pub window: usize,
    /// Values the baseline needs before a z-score is trusted (n ≥ 30).
    pub warmup: usize,
    /// Score at or above which a point is anomalous (0.5 ⇔ tail ≤ 1e-5).
    pub threshold: f64,
    /// The persistence step (nupic's defaults). Its `memory` also bounds the
    /// point model's memory.
    pub likelihood: LikelihoodConfig,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            window: 256,
            warmup: 30,
            threshold: 0.5,
            likelihood: LikelihoodConfig::default(),
        }
    }
}

/// What the detector says about one point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Anomaly score in `[0, 1]`; 0 during probation and for ignored points.
    pub score: f64,
    /// True for the first point of a run with `score ≥ threshold`.
    pub detected: bool,
}

impl Observation {
    const QUIET: Observation = Observation {
        score: 0.0,
        detected: false,
    };
}

/// Streaming anomaly detector for one series. See the module documentation.
///
/// ```
/// use anomaly::Detector;
/// let mut d = Detector::default();
/// let mut alerts = 0;
/// for i in 0..2000i64 {
///     let v = (i as f64 * 0.1).sin() + if i == 1500 { 25.0 } else { 0.0 };
///     let o = d.observe(i * 60_000, v);
///     assert!((0.0..=1.0).contains(&o.score));
///     alerts += o.detected as u32;
/// }
/// assert!(alerts >= 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    config: DetectorConfig,
    baseline: Baseline,
    /// Tail of the last point's z-score alone.
    point: ExceedanceTail,
    /// Likelihood of the average of the last `averaging_window` raw scores.
    persistent: Likelihood,
    /// Newest timestamp accepted (ms).
    last_timestamp: Option<i64>,
    /// Whether the previous point was at or above the threshold.
    above: bool,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new(DetectorConfig::default())
    }
}

impl Detector {
    /// A detector with the given parameters (a window of 0 is taken as 1).
    pub fn new(config: DetectorConfig) -> Self {
        Self {
            baseline: Baseline::new(config.window),
            config,
            point: ExceedanceTail::default(),
            persistent: Likelihood::default(),
            last_timestamp: None,
            above: false,
        }
    }

    /// The parameters in use.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Score one point and learn from it. See the module documentation for
    /// the rules on non-finite values and late timestamps.
    pub fn observe(&mut self, timestamp_ms: i64, value: f64) -> Observation {
        if !value.is_finite() {
            return Observation::QUIET;
        }
        if self.last_timestamp.is_some_and(|last| timestamp_ms < last) {
            return Observation::QUIET;
        }
        self.last_timestamp = Some(timestamp_ms);

        let z = if self.baseline.len() >= self.config.warmup.max(1) {
            self.baseline.robust_z(value)
        } else {
            None
        };
        self.baseline.push(value);
        let Some(z) = z else {
            self.above = false;
            return Observation::QUIET;
        };

        let point = self.point.tail(z);
        self.point.learn(z, self.config.likelihood.memory);
        let persistent = self
            .persistent
            .update(raw_score(z), &self.config.likelihood);
        let Some(persistent) = persistent else {
            self.above = false;
            return Observation::QUIET;
        };
        let tail = (2.0 * point.min(persistent)).min(1.0);
        let score = tail_to_score(tail);
        let above = score >= self.config.threshold;
        let detected = above && !self.above;
        self.above = above;
        Observation { score, detected }
    }
}

/// The surprise of a z-score on NAB's log scale: `log(p)/log(1e-10)` for the
/// two-sided Gaussian tail `p = P(|Z| ≥ |z|)`, in `[0, 1]`.
fn raw_score(z: f64) -> f64 {
    tail_to_score(2.0 * gaussian::upper_tail(z.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noisy daily-ish pattern: a sine plus uniform noise.
    fn signal(i: i64) -> f64 {
        let u = ((i as u64).wrapping_mul(2654435761) % 10_000) as f64 / 10_000.0;
        10.0 + 3.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + u
    }

    fn run(values: impl IntoIterator<Item = f64>) -> Vec<Observation> {
        let mut d = Detector::default();
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| d.observe(i as i64 * 300_000, v))
            .collect()
    }

    fn detections(obs: &[Observation]) -> Vec<usize> {
        obs.iter()
            .enumerate()
            .filter(|(_, o)| o.detected)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn scores_are_in_range_and_quiet_during_probation() {
        let obs = run((0..3000).map(signal));
        assert!(obs.iter().all(|o| (0.0..=1.0).contains(&o.score)));
        // warmup 30 + averaging 10 − 1 + estimation 100 points score 0.
        assert!(obs[..139].iter().all(|o| *o == Observation::QUIET));
        assert!(obs[139..].iter().any(|o| o.score > 0.0));
    }

    #[test]
    fn a_spike_is_detected_where_it_happens() {
        let obs = run((0..3000).map(|i| signal(i) + if i == 2000 { 30.0 } else { 0.0 }));
        let d = detections(&obs);
        assert!(d.contains(&2000), "{d:?}");
    }

    #[test]
    fn a_level_shift_is_detected_promptly() {
        let obs = run((0..3000).map(|i| signal(i) + if i >= 2000 { 15.0 } else { 0.0 }));
        let d = detections(&obs);
        assert!(d.iter().any(|i| (2000..2010).contains(i)), "{d:?}");
    }

    #[test]
    fn detection_fires_once_per_run_above_threshold() {
        let obs = run((0..3000).map(|i| signal(i) + if i >= 2000 { 15.0 } else { 0.0 }));
        for w in obs.windows(2) {
            if w[1].detected {
                assert!(w[0].score < 0.5, "rising edge only");
            }
            if w[0].score >= 0.5 && w[1].score >= 0.5 {
                assert!(!w[1].detected);
            }
        }
        assert!(obs.iter().filter(|o| o.score >= 0.5).count() > detections(&obs).len());
    }

    #[test]
    fn non_finite_and_late_points_are_ignored() {
        let mut d = Detector::default();
        for i in 0..500 {
            d.observe(i * 1000, signal(i));
        }
        let before = d.clone();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(d.observe(500_000, v), Observation::QUIET);
        }
        assert_eq!(d.observe(10_000, 1e9), Observation::QUIET, "late");
        assert_eq!(d, before, "nothing learnt");
        // The same timestamp as the newest is in order.
        let o = d.observe(499_000, 1e9);
        assert!(o.score > 0.5 && o.detected);
    }

    #[test]
    fn state_round_trips_through_serde_and_continues_identically() {
        let mut a = Detector::default();
        for i in 0..1000 {
            a.observe(i, signal(i));
        }
        let json = serde_json::to_string(&a).unwrap();
        let mut b: Detector = serde_json::from_str(&json).unwrap();
        assert_eq!(a, b);
        for i in 1000..1500 {
            let v = signal(i) + if i == 1200 { 40.0 } else { 0.0 };
            assert_eq!(a.observe(i, v), b.observe(i, v));
        }
    }

    #[test]
    fn odd_configurations_do_not_panic() {
        let cfg = DetectorConfig {
            window: 0,
            warmup: 0,
            threshold: f64::NAN,
            likelihood: LikelihoodConfig {
                averaging_window: 0,
                estimation_samples: 0,
                memory: 0,
                min_mean: f64::NAN,
                min_variance: -1.0,
                winsor_z: f64::INFINITY,
            },
        };
        let mut d = Detector::new(cfg);
        for i in 0..100 {
            let o = d.observe(i, signal(i));
            assert!((0.0..=1.0).contains(&o.score), "{o:?}");
        }
    }

    #[test]
    fn raw_score_is_a_log_p_value() {
        assert_eq!(raw_score(0.0), 0.0);
        // |z| = 1.96 → p = 0.05 → log10(0.05)/−10 ≈ 0.130.
        assert!((raw_score(-1.959_964) - 0.130_103).abs() < 1e-4);
        assert!(raw_score(4.0) < raw_score(5.0));
        assert!(raw_score(7.0) > 0.998);
        assert!(raw_score(8.0) > 0.9999);
        assert!(raw_score(f64::INFINITY) > 0.999_999);
        assert_eq!(raw_score(f64::NAN), 0.0);
    }
}
