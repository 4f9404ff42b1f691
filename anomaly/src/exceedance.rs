//! Tail probability of a single robust z-score, calibrated on the series' own
//! extremes with extreme value theory (peaks over threshold).
//!
//! Why: metric series are rarely Gaussian. Reading `|z| = 4.4` as a 1-in-100 000
//! event is right for Gaussian noise and badly wrong for a spiky CPU series
//! where 4σ happens every few hours. The Pickands–Balkema–de Haan theorem says
//! the excesses over a high threshold follow a generalized Pareto distribution
//! (GPD) whatever the parent distribution; SPOT (Siffer et al., "Anomaly
//! Detection in Streams with Extreme Value Theory", KDD 2017) uses that to set
//! streaming thresholds. Here:
//!
//! * threshold `u = 3` robust σ (where the body of a Gaussian ends, so the
//!   excesses are the tail);
//! * `P(|z| > u)` = exponentially weighted share of points above `u`;
//! * GPD shape ξ and scale σ from the (exponentially weighted) mean `m` and
//!   variance `v` of the excesses by the method of moments (Hosking & Wallis
//!   1987): `ξ = ½(1 − m²/v)`, `σ = ½·m·(1 + m²/v)`. O(1) state instead of
//!   SPOT's list of peaks;
//! * `P(|Z| > x) = P(|z| > u) · (1 + ξ(x − u)/σ)^(−1/ξ)` for `x > u`.
//!
//! Until [`MIN_EXCEEDANCES`] excesses are seen the Gaussian tail is used: the
//! series has shown no heavier tail so far. Every point is learnt, the extreme
//! ones included: leaving out what the model flags (as SPOT does with alarms)
//! truncates the excesses it fits, which makes the fitted tail shorter, which
//! flags more — a bias that feeds itself. An incident thickens the tail a little
//! for a while; `memory` bounds how long.

use serde::{Deserialize, Serialize};

use crate::ew_stats::EwStats;
use crate::gaussian;

/// Threshold of the peaks-over-threshold model, in robust σ.
pub const THRESHOLD_Z: f64 = 3.0;
/// Excesses needed before the GPD fit replaces the Gaussian tail.
pub const MIN_EXCEEDANCES: u64 = 10;

/// Peaks-over-threshold model of `|z|`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceedanceTail {
    /// Mean of the indicator `|z| > u`: the exceedance rate.
    rate: EwStats,
    /// Mean and variance of `|z| − u` over exceedances.
    excess: EwStats,
}

impl ExceedanceTail {
    /// Two-sided tail probability `P(|Z| ≥ |z|)` under the current model.
    pub fn tail(&self, z: f64) -> f64 {
        let x = z.abs();
        if x.is_nan() {
            return 1.0;
        }
        if self.excess.count() < MIN_EXCEEDANCES || x <= THRESHOLD_Z {
            return (2.0 * gaussian::upper_tail(x)).min(1.0);
        }
        let rate = self.rate.mean().clamp(0.0, 1.0);
        let (m, v) = (self.excess.mean(), self.excess.variance());
        if !(m > 0.0 && v > 0.0) {
            return (2.0 * gaussian::upper_tail(x)).min(1.0);
        }
        let r = m * m / v;
        // ξ < ½ always (r > 0); the fit is only used where it is defined.
        let shape = 0.5 * (1.0 - r);
        let scale = 0.5 * m * (1.0 + r);
        let y = (x - THRESHOLD_Z) / scale;
        let survival = if shape.abs() < 1e-9 {
            (-y).exp()
        } else {
            let base = 1.0 + shape * y;
            if base <= 0.0 {
                0.0 // beyond the finite endpoint of a short tail
            } else {
                base.powf(-1.0 / shape)
            }
        };
        (rate * survival).clamp(0.0, 1.0)
    }

    /// Learn from a z-score (NaN ignored). `memory` bounds the weight of the
    /// past, in points for the rate and in excesses for the GPD fit.
    pub fn learn(&mut self, z: f64, memory: u64) {
        let x = z.abs();
        if x.is_nan() {
            return;
        }
        let above = x > THRESHOLD_Z;
        self.rate.update(if above { 1.0 } else { 0.0 }, memory);
        if above {
            self.excess.update(x - THRESHOLD_Z, memory);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic standard-normal-ish samples (Box–Muller over an LCG).
    fn normals(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| (-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos())
            .collect()
    }

    #[test]
    fn gaussian_until_enough_excesses() {
        let mut t = ExceedanceTail::default();
        for _ in 0..5 {
            t.learn(4.0, 8640);
        }
        assert_eq!(t.tail(5.0), 2.0 * gaussian::upper_tail(5.0));
        assert_eq!(t.tail(1.0), 2.0 * gaussian::upper_tail(1.0));
        assert_eq!(t.tail(f64::NAN), 1.0);
    }

    #[test]
    fn gaussian_data_keeps_gaussian_like_tails() {
        let mut t = ExceedanceTail::default();
        for z in normals(200_000, 7) {
            t.learn(z, 1_000_000);
        }
        // True two-sided tails: 4σ 6.3e-5, 5σ 5.7e-7. Within an order of magnitude.
        let t4 = t.tail(4.0);
        assert!(t4 > 6.3e-6 && t4 < 6.3e-4, "{t4}");
        let t5 = t.tail(5.0);
        assert!(t5 > 5.7e-8 && t5 < 5.7e-6, "{t5}");
    }

    #[test]
    fn heavy_tails_make_large_z_less_surprising() {
        // Cauchy-like: z = normal / |normal|.
        let a = normals(100_000, 1);
        let b = normals(100_000, 2);
        let mut heavy = ExceedanceTail::default();
        for (x, y) in a.iter().zip(&b) {
            heavy.learn(x / y.abs().max(1e-3), 1_000_000);
        }
        let tail = heavy.tail(8.0);
        // True two-sided Cauchy tail at 8 is about 0.079.
        assert!(tail > 0.01, "{tail}");
        assert!(tail > 1e3 * 2.0 * gaussian::upper_tail(8.0));
        assert!(heavy.tail(1e6) < heavy.tail(100.0));
    }

    #[test]
    fn extremes_are_learnt_and_nan_is_not() {
        let mut t = ExceedanceTail::default();
        t.learn(f64::NAN, 8640);
        assert_eq!(t, ExceedanceTail::default());
        for _ in 0..MIN_EXCEEDANCES {
            t.learn(50.0, 8640);
            t.learn(4.0, 8640);
        }
        assert!(t.tail(40.0) > 0.01, "{}", t.tail(40.0));
    }
}
