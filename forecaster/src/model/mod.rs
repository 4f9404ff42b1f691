//! The forecasting model (pure): exponential smoothing with a damped trend, with an additive
//! daily season once the series is long enough, parameters chosen per series, and a
//! prediction interval that widens with the horizon.
//!
//! - [`ets`]: the smoothing recursions (Holt damped; Holt-Winters additive damped).
//! - [`grid`]: per-series parameter choice by least one-step SSE.
//! - [`interval`]: the h-step forecast variance.
//!
//! Written here rather than taken from `augurs`: that crate is not in the offline registry,
//! and the models needed are a few dozen lines each.

pub mod ets;
pub mod grid;
pub mod interval;

use ets::{Params, State};

/// With fewer one-step errors than this, the residual spread is not estimated from data.
const MIN_ERRORS: usize = 3;
/// Residual sd assumed until [`MIN_ERRORS`] errors exist: a tenth of the score scale, so a
/// new series gets a wide interval (and low confidence) rather than a falsely narrow one.
pub const PRIOR_SD: f64 = 10.0;
/// Intervals are never narrower than ±this many points: even a perfectly flat history does
/// not make the next score certain.
pub const MIN_HALF_WIDTH: f64 = 1.0;
/// Two-sided 95 % normal quantile.
const Z95: f64 = 1.96;

/// A model fitted to one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub params: Params,
    pub state: State,
    /// Season length in steps, when seasonal.
    pub season: Option<usize>,
    /// One-step residual standard deviation (or [`PRIOR_SD`]).
    pub sigma: f64,
    /// Whether `sigma` was estimated from the series.
    pub sigma_from_data: bool,
    /// Observations fitted.
    pub points: usize,
}

/// A point forecast with its 95 % interval, all clamped to 0-100.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Fits `y` (oldest first, one value per step). With `season = Some(m)` fits additive
/// Holt-Winters, which needs at least `2m` values. `None` when `y` is empty, too short for
/// the season, or not all finite.
pub fn fit(y: &[f64], season: Option<usize>) -> Option<Model> {
    if y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let (params, run) = grid::best(y, season)?;
    let sigma_from_data = run.errors >= MIN_ERRORS;
    let sigma = if sigma_from_data {
        (run.sse / run.errors as f64).sqrt()
    } else {
        PRIOR_SD
    };
    Some(Model {
        params,
        state: run.state,
        season,
        sigma,
        sigma_from_data,
        points: y.len(),
    })
}

impl Model {
    /// The forecast `steps` steps after the last observation (at least one).
    pub fn predict(&self, steps: usize) -> Prediction {
        let h = steps.max(1);
        let value = self.state.point(self.params.phi, h);
        let sd = interval::sd(self.sigma, self.params, self.season, h);
        let half = (Z95 * sd).max(MIN_HALF_WIDTH);
        let clamp = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 100.0)
            } else {
                // Only reachable through overflow; a wide-open answer is the honest one.
                50.0
            }
        };
        Prediction {
            value: clamp(value),
            lower: clamp(value - half).min(clamp(value)),
            upper: clamp(value + half).max(clamp(value)),
        }
    }

    /// The fitted trend per step (undamped, at the last observation).
    pub fn trend_per_step(&self) -> f64 {
        self.state.trend
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic noise in [-1, 1] (xorshift), so tests need no RNG crate.
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s % 20_001) as f64 / 10_000.0 - 1.0
            })
            .collect()
    }

    fn daily_sine(hours: usize, seed: u64) -> Vec<f64> {
        let n = noise(hours, seed);
        (0..hours)
            .map(|h| {
                let phase = 2.0 * std::f64::consts::PI * (h % 24) as f64 / 24.0;
                40.0 + 20.0 * phase.sin() + 2.0 * n[h]
            })
            .collect()
    }

    fn mae(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
    }

    #[test]
    fn a_linear_ramp_is_forecast_along_the_ramp() {
        let y: Vec<f64> = (0..30).map(|i| 10.0 + 1.5 * i as f64).collect();
        let m = fit(&y, None).unwrap();
        assert!((m.trend_per_step() - 1.5).abs() < 0.1, "{m:?}");
        for h in 1..=5 {
            let truth = 10.0 + 1.5 * (29 + h) as f64;
            let p = m.predict(h);
            assert!((p.value - truth).abs() < 0.2 * h as f64, "h={h}: {p:?}");
            assert!(p.lower <= truth && truth <= p.upper, "h={h}: {p:?}");
        }
        // Damping: far ahead, the ramp levels off below a straight extrapolation.
        assert!(m.predict(40).value < 10.0 + 1.5 * 69.0);
        assert!(m.predict(40).value > y[29]);
    }

    #[test]
    fn a_flat_series_gives_a_flat_forecast_with_a_narrow_interval() {
        let m = fit(&[30.0; 20], None).unwrap();
        for h in [1, 10, 100] {
            let p = m.predict(h);
            assert!((p.value - 30.0).abs() < 1e-9);
            assert!(p.upper - p.lower <= 2.0 * MIN_HALF_WIDTH + 1e-9, "{p:?}");
        }
    }

    #[test]
    fn intervals_widen_with_the_horizon() {
        let y: Vec<f64> = noise(40, 7).iter().map(|n| 50.0 + 5.0 * n).collect();
        let m = fit(&y, None).unwrap();
        let widths: Vec<f64> = [1, 6, 24, 72]
            .iter()
            .map(|&h| m.predict(h))
            .map(|p| p.upper - p.lower)
            .collect();
        assert!(widths.windows(2).all(|w| w[1] > w[0]), "{widths:?}");
        let s = fit(&daily_sine(72, 3), Some(24)).unwrap();
        assert!(
            s.predict(48).upper - s.predict(48).lower > s.predict(1).upper - s.predict(1).lower
        );
    }

    #[test]
    fn a_daily_sine_is_tracked_better_with_the_season() {
        let y = daily_sine(96, 11);
        let (train, test) = y.split_at(72);
        let seasonal = fit(train, Some(24)).unwrap();
        let plain = fit(train, None).unwrap();
        let ahead = |m: &Model| (1..=24).map(|h| m.predict(h).value).collect::<Vec<_>>();
        let (s_mae, p_mae) = (mae(&ahead(&seasonal), test), mae(&ahead(&plain), test));
        assert!(
            s_mae < 0.5 * p_mae,
            "seasonal {s_mae:.2} vs plain {p_mae:.2}"
        );
        // The noise has sd ≈ 1.15; the seasonal model should be within a few times that.
        assert!(s_mae < 4.0, "seasonal MAE {s_mae:.2}");
    }

    #[test]
    fn degenerate_histories_give_finite_answers() {
        assert!(fit(&[], None).is_none());
        assert!(fit(&[f64::NAN, 1.0], None).is_none());
        assert!(fit(&[1.0; 30], Some(24)).is_none(), "needs two seasons");
        let one = fit(&[42.0], None).unwrap();
        assert!(!one.sigma_from_data);
        let p = one.predict(24);
        assert_eq!(p.value, 42.0);
        assert!(p.lower < 42.0 && p.upper > 42.0);
        for y in [vec![0.0; 5], vec![100.0; 60], vec![7.0, 7.0]] {
            for season in [None, Some(24)] {
                if let Some(m) = fit(&y, season) {
                    for h in [0, 1, 24, 4320] {
                        let p = m.predict(h);
                        assert!(p.value.is_finite() && p.lower.is_finite() && p.upper.is_finite());
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn outputs_stay_in_range_and_intervals_contain_the_point(
            y in proptest::collection::vec(0.0f64..=100.0, 1..80),
            h in 1usize..2000,
            seasonal in any::<bool>(),
        ) {
            let season = (seasonal && y.len() >= 48).then_some(24);
            let m = fit(&y, season).unwrap();
            let p = m.predict(h);
            for v in [p.value, p.lower, p.upper] {
                prop_assert!(v.is_finite() && (0.0..=100.0).contains(&v));
            }
            prop_assert!(p.lower <= p.value && p.value <= p.upper);
        }
    }
}
