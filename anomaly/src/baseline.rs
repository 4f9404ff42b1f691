//! A rolling baseline: the last N values of one series, with the statistics a
//! scorer needs to say how unusual a new value is.
//!
//! Why robust statistics: service metrics (error rate, volume, latency) are
//! heavy-tailed and their history contains the very incidents we look for. The
//! median and the median absolute deviation (MAD) ignore up to half of the
//! window being wild, where a mean and standard deviation are dragged by one
//! spike. Mean and standard deviation are still offered for reporting.
//!
//! Memory is bounded by the capacity: the values are kept twice (arrival order,
//! to know which one leaves, and sorted, for an O(1) median and an O(N) MAD
//! without allocating). The serialized form is only the values in arrival order
//! and the capacity; the sorted copy is rebuilt and the input validated when it
//! is read back.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::gaussian;

/// Values kept by [`Baseline::default`]: about the smallest sample for which a
/// median/MAD estimate is stable (the usual n ≥ 30 rule of thumb), and short
/// enough to follow a series that drifts (30 one-minute windows = half an hour).
pub const DEFAULT_CAPACITY: usize = 30;

/// Consistency constant: for Gaussian data `1.4826 · MAD` estimates σ.
const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;
/// For Gaussian data `sqrt(π/2) · mean|x − median|` estimates σ.
const MEAN_ABS_DEV_TO_SIGMA: f64 = 1.253_314_137_315_500_3;

/// Rolling baseline over the last `capacity` finite values of one series.
///
/// ```
/// use anomaly::Baseline;
/// let mut errors = Baseline::default(); // last 30 values
/// for v in [0.010, 0.012, 0.011, 0.009, 0.010, 0.013, 0.011, 0.010] {
///     errors.push(v);
/// }
/// assert!(errors.deviation_score(0.011) < 0.5); // ordinary
/// assert!(errors.deviation_score(0.080) > 0.99); // far outside the baseline
/// errors.push(0.080); // the caller decides whether unusual values join the baseline
/// ```
///
/// * [`push`](Self::push) adds a value, evicting the oldest once full. NaN and
///   ±∞ are ignored (`push` returns `false`), so one bad sample cannot poison
///   every later statistic.
/// * Statistics return `None` when there is not enough data: `mean`, `median`,
///   `mad` and `scale` need one value, `stddev` two.
/// * [`robust_z`](Self::robust_z) is the signed distance from the median in
///   robust standard deviations; [`deviation_score`](Self::deviation_score)
///   maps its size onto `[0, 1]`, [`deviation_score_above`](Self::deviation_score_above)
///   counts only increases (for "higher is worse" factors such as error rate or
///   latency).
/// * Score a value *before* pushing it: a value compared with a baseline that
///   already contains it looks less unusual than it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BaselineState", into = "BaselineState")]
pub struct Baseline {
    capacity: usize,
    /// Smallest scale used by `robust_z` (see [`Baseline::with_min_scale`]).
    min_scale: f64,
    /// Values in arrival order (oldest first).
    ring: VecDeque<f64>,
    /// The same values, ascending.
    sorted: Vec<f64>,
}

impl Default for Baseline {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Baseline {
    /// A baseline over the last `capacity` values (a capacity of 0 is taken as 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            min_scale: 0.0,
            ring: VecDeque::with_capacity(capacity),
            sorted: Vec::with_capacity(capacity),
        }
    }

    /// Set the smallest deviation that counts as one standard unit in
    /// [`robust_z`](Self::robust_z) and the scores.
    ///
    /// Why: a perfectly flat history (an error rate of exactly 0 for 30
    /// windows) has a scale of 0, and then *any* change is infinitely unusual
    /// (score 1). Set this to the metric's meaningful resolution (e.g. `0.005`
    /// for an error rate, `1.0` ms for latency) to say how large a change must
    /// be to matter. Negative or non-finite values are taken as 0 (the default).
    pub fn with_min_scale(mut self, min_scale: f64) -> Self {
        self.min_scale = if min_scale.is_finite() && min_scale > 0.0 {
            min_scale
        } else {
            0.0
        };
        self
    }

    /// Add a value, evicting the oldest when full. Returns `false` (and changes
    /// nothing) for NaN or ±∞.
    pub fn push(&mut self, value: f64) -> bool {
        if !value.is_finite() {
            return false;
        }
        if self.ring.len() >= self.capacity {
            if let Some(old) = self.ring.pop_front() {
                let i = self.sorted.partition_point(|x| *x < old);
                // `old` is in `sorted` (same multiset), so `i` points at a copy of it.
                if i < self.sorted.len() {
                    self.sorted.remove(i);
                }
            }
        }
        self.ring.push_back(value);
        let i = self.sorted.partition_point(|x| *x <= value);
        self.sorted.insert(i, value);
        true
    }

    /// Number of values held (at most the capacity).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True before the first finite value.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// True once `capacity` values are held.
    pub fn is_full(&self) -> bool {
        self.ring.len() >= self.capacity
    }

    /// Maximum number of values held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The values, oldest first.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.ring.iter().copied()
    }

    /// Arithmetic mean.
    pub fn mean(&self) -> Option<f64> {
        if self.ring.is_empty() {
            return None;
        }
        Some(self.ring.iter().sum::<f64>() / self.ring.len() as f64)
    }

    /// Sample standard deviation (n − 1 denominator); needs two values.
    pub fn stddev(&self) -> Option<f64> {
        if self.ring.len() < 2 {
            return None;
        }
        let mean = self.mean()?;
        let ss: f64 = self.ring.iter().map(|x| (x - mean) * (x - mean)).sum();
        Some((ss / (self.ring.len() - 1) as f64).sqrt())
    }

    /// Median (the mean of the two middle values for an even count).
    pub fn median(&self) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        Some(if n % 2 == 1 {
            self.sorted[n / 2]
        } else {
            0.5 * (self.sorted[n / 2 - 1] + self.sorted[n / 2])
        })
    }

    /// Median absolute deviation from the median, unscaled
    /// (multiply by 1.4826 to estimate σ for Gaussian data).
    pub fn mad(&self) -> Option<f64> {
        let m = self.median()?;
        let n = self.sorted.len();
        // Deviations grow walking outwards from the median on both sides:
        // merge the two ascending runs up to the middle rank(s).
        let mut right = self.sorted.partition_point(|x| *x < m);
        let mut left = right; // next candidate on the left is `left - 1`
        let (lo_rank, hi_rank) = ((n - 1) / 2, n / 2);
        let mut lo = 0.0;
        for rank in 0..=hi_rank {
            let dl = (left > 0).then(|| m - self.sorted[left - 1]);
            let dr = (right < n).then(|| self.sorted[right] - m);
            let d = match (dl, dr) {
                (Some(a), Some(b)) if a <= b => {
                    left -= 1;
                    a
                }
                (_, Some(b)) => {
                    right += 1;
                    b
                }
                (Some(a), None) => {
                    left -= 1;
                    a
                }
                (None, None) => break,
            };
            if rank == lo_rank {
                lo = d;
            }
            if rank == hi_rank {
                return Some(0.5 * (lo + d));
            }
        }
        Some(lo)
    }

    /// Robust estimate of the standard deviation: the larger of `1.4826·MAD`
    /// and `1.2533·mean|x − median|` (both equal σ for Gaussian data).
    ///
    /// Why two: the MAD is 0 as soon as more than half the window holds one
    /// value (quantized metrics, an error count that is usually 0), which would
    /// make every other value infinitely unusual; the mean absolute deviation is
    /// 0 only when all values are equal.
    pub fn scale(&self) -> Option<f64> {
        let m = self.median()?;
        let mad = self.mad()?;
        let mean_abs = self.sorted.iter().map(|x| (x - m).abs()).sum::<f64>() / self.len() as f64;
        Some((MAD_TO_SIGMA * mad).max(MEAN_ABS_DEV_TO_SIGMA * mean_abs))
    }

    /// Signed distance of `value` from the median in robust standard
    /// deviations, using `max(scale, min_scale)`. `None` when empty or `value`
    /// is NaN. When the scale is 0 (a flat history and no `min_scale`) the
    /// result is 0 for the same value and ±∞ for any other.
    pub fn robust_z(&self, value: f64) -> Option<f64> {
        if value.is_nan() {
            return None;
        }
        let m = self.median()?;
        let s = self.scale()?.max(self.min_scale);
        let d = value - m;
        Some(if d == 0.0 {
            0.0
        } else if s > 0.0 {
            d / s
        } else {
            d.signum() * f64::INFINITY
        })
    }

    /// How unusual `value` is, in `[0, 1]`, in either direction.
    ///
    /// `erf(|z| / √2)` with `z` = [`robust_z`](Self::robust_z): the share of a
    /// Gaussian with the baseline's median and robust σ lying closer to the
    /// centre than `value`. So 0.68 at 1σ, 0.95 at 1.96σ, 0.997 at 3σ: a score
    /// of `p` means "outside the central `p` of what this series usually does".
    /// 0 when the baseline is empty or `value` is NaN.
    pub fn deviation_score(&self, value: f64) -> f64 {
        self.robust_z(value)
            .map_or(0.0, |z| gaussian::central_mass(z.abs()))
    }

    /// Like [`deviation_score`](Self::deviation_score) but only increases count
    /// (values at or below the median score 0): for factors where only "more"
    /// is bad, such as error rate or latency.
    pub fn deviation_score_above(&self, value: f64) -> f64 {
        self.robust_z(value)
            .map_or(0.0, |z| gaussian::central_mass(z.max(0.0)))
    }
}

/// The serialized form: capacity, minimum scale and values oldest first.
#[derive(Serialize, Deserialize)]
struct BaselineState {
    capacity: usize,
    #[serde(default)]
    min_scale: f64,
    values: Vec<f64>,
}

/// Why a persisted baseline was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BaselineStateError {
    #[error("baseline capacity must be at least 1")]
    ZeroCapacity,
    #[error("baseline holds {len} values but its capacity is {capacity}")]
    TooManyValues { len: usize, capacity: usize },
    #[error("baseline value {0} is not finite")]
    NotFinite(f64),
}

impl TryFrom<BaselineState> for Baseline {
    type Error = BaselineStateError;

    fn try_from(s: BaselineState) -> Result<Self, Self::Error> {
        if s.capacity == 0 {
            return Err(BaselineStateError::ZeroCapacity);
        }
        if s.values.len() > s.capacity {
            return Err(BaselineStateError::TooManyValues {
                len: s.values.len(),
                capacity: s.capacity,
            });
        }
        if let Some(v) = s.values.iter().find(|v| !v.is_finite()) {
            return Err(BaselineStateError::NotFinite(*v));
        }
        let mut b = Baseline::new(s.capacity).with_min_scale(s.min_scale);
        for v in s.values {
            b.push(v);
        }
        Ok(b)
    }
}

impl From<Baseline> for BaselineState {
    fn from(b: Baseline) -> Self {
        BaselineState {
            capacity: b.capacity,
            min_scale: b.min_scale,
            values: b.ring.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(capacity: usize, values: &[f64]) -> Baseline {
        let mut b = Baseline::new(capacity);
        for v in values {
            b.push(*v);
        }
        b
    }

    /// Reference MAD: sort the absolute deviations and take their median.
    fn naive_mad(values: &[f64]) -> f64 {
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                0.5 * (v[n / 2 - 1] + v[n / 2])
            }
        };
        let m = med(&mut values.to_vec());
        med(&mut values.iter().map(|x| (x - m).abs()).collect())
    }

    #[test]
    fn empty_baseline_has_no_statistics_and_scores_zero() {
        let b = Baseline::default();
        assert_eq!(b.capacity(), DEFAULT_CAPACITY);
        assert!(b.is_empty());
        assert_eq!(b.mean(), None);
        assert_eq!(b.stddev(), None);
        assert_eq!(b.median(), None);
        assert_eq!(b.mad(), None);
        assert_eq!(b.robust_z(1.0), None);
        assert_eq!(b.deviation_score(1e9), 0.0);
    }

    #[test]
    fn statistics_on_a_small_sample() {
        let b = filled(10, &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(b.mean(), Some(5.0));
        // Sample variance: sum of squares 32 over 7.
        assert!((b.stddev().unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(b.median(), Some(4.5));
        // |x − 4.5| = 2.5 .5 .5 .5 .5 .5 2.5 4.5 → median 0.5
        assert_eq!(b.mad(), Some(0.5));
    }

    #[test]
    fn rolling_window_evicts_the_oldest() {
        let b = filled(3, &[100.0, 1.0, 2.0, 3.0]);
        assert_eq!(b.len(), 3);
        assert!(b.is_full());
        assert_eq!(b.values().collect::<Vec<_>>(), vec![1.0, 2.0, 3.0]);
        assert_eq!(b.median(), Some(2.0));
        assert_eq!(b.mean(), Some(2.0));
    }

    #[test]
    fn mad_matches_the_naive_definition_while_rolling() {
        // Deterministic pseudo-random values with ties and outliers.
        let mut x: u64 = 12345;
        let mut b = Baseline::new(17);
        let mut window: VecDeque<f64> = VecDeque::new();
        for i in 0..500 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((x >> 33) % 50) as f64 + if i % 37 == 0 { 1000.0 } else { 0.0 };
            b.push(v);
            window.push_back(v);
            if window.len() > 17 {
                window.pop_front();
            }
            let w: Vec<f64> = window.iter().copied().collect();
            assert_eq!(b.mad(), Some(naive_mad(&w)), "step {i}, window {w:?}");
        }
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut b = filled(5, &[1.0, 2.0, 3.0]);
        assert!(!b.push(f64::NAN));
        assert!(!b.push(f64::INFINITY));
        assert!(!b.push(f64::NEG_INFINITY));
        assert_eq!(b.len(), 3);
        assert_eq!(b.median(), Some(2.0));
        assert_eq!(b.deviation_score(f64::NAN), 0.0);
        assert_eq!(b.deviation_score(f64::INFINITY), 1.0);
    }

    #[test]
    fn deviation_score_is_monotone_and_calibrated() {
        // Median 10, MAD 1 → 1.4826·MAD = 1.4826; mean |x − median| = 8/9,
        // × 1.2533 = 1.114 is smaller, so σ = 1.4826.
        let b = filled(30, &[8.0, 9.0, 9.0, 10.0, 10.0, 10.0, 11.0, 11.0, 12.0]);
        let sigma = b.scale().unwrap();
        assert!((sigma - 1.482_602_218_505_602).abs() < 1e-12, "{sigma}");
        assert_eq!(b.deviation_score(10.0), 0.0);
        assert!((b.deviation_score(10.0 + sigma) - 0.682_689_492).abs() < 1e-6);
        assert!((b.deviation_score(10.0 - 3.0 * sigma) - 0.997_300_203).abs() < 1e-6);
        let mut last = 0.0;
        for k in 1..40 {
            let s = b.deviation_score(10.0 + k as f64 * 0.25);
            assert!((0.0..=1.0).contains(&s));
            assert!(s >= last, "monotone in distance");
            last = s;
        }
        assert!(last > 0.999_999);
    }

    #[test]
    fn above_score_ignores_decreases() {
        let b = filled(30, &[8.0, 9.0, 10.0, 11.0, 12.0]);
        assert_eq!(b.deviation_score_above(2.0), 0.0);
        assert!(b.deviation_score(2.0) > 0.99);
        assert_eq!(b.deviation_score_above(20.0), b.deviation_score(20.0));
    }

    #[test]
    fn quantized_history_still_has_a_scale() {
        // More than half zeros: MAD is 0, the mean absolute deviation is not.
        let b = filled(30, &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0]);
        assert_eq!(b.mad(), Some(0.0));
        assert!(b.scale().unwrap() > 0.0);
        let s = b.deviation_score(1.0);
        assert!(s > 0.0 && s < 1.0, "{s}");
    }

    #[test]
    fn flat_history_and_min_scale() {
        let flat = filled(30, &[0.0; 30]);
        assert_eq!(flat.scale(), Some(0.0));
        assert_eq!(flat.deviation_score(0.0), 0.0);
        assert_eq!(flat.robust_z(0.001), Some(f64::INFINITY));
        assert_eq!(flat.deviation_score(0.001), 1.0);
        let floored = flat.clone().with_min_scale(0.01);
        assert!((floored.robust_z(0.001).unwrap() - 0.1).abs() < 1e-12);
        assert!(floored.deviation_score(0.001) < 0.1);
        assert!(floored.deviation_score(0.05) > 0.99);
        assert_eq!(flat.clone().with_min_scale(f64::NAN), flat);
    }

    #[test]
    fn zero_capacity_is_one() {
        let b = filled(0, &[1.0, 2.0]);
        assert_eq!(b.capacity(), 1);
        assert_eq!(b.values().collect::<Vec<_>>(), vec![2.0]);
    }

    #[test]
    fn serde_round_trip_rebuilds_the_sorted_copy() {
        let b = filled(4, &[5.0, 1.0, 4.0, 2.0, 3.0]).with_min_scale(0.5);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(
            json,
            r#"{"capacity":4,"min_scale":0.5,"values":[1.0,4.0,2.0,3.0]}"#
        );
        let back: Baseline = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.median(), Some(2.5));
    }

    #[test]
    fn invalid_persisted_state_is_refused() {
        for bad in [
            r#"{"capacity":0,"values":[]}"#,
            r#"{"capacity":1,"values":[1.0,2.0]}"#,
            r#"{"capacity":"x","values":[]}"#,
        ] {
            assert!(serde_json::from_str::<Baseline>(bad).is_err(), "{bad}");
        }
    }
}
