//! Choosing the smoothing parameters of one series.
//!
//! Each candidate on a small fixed grid is run over the series and the one with the least
//! one-step-ahead sum of squared errors wins (the first one on ties, so the choice is
//! deterministic). Why this way:
//! - with additive Gaussian errors, least one-step SSE is the maximum-likelihood estimate
//!   (Hyndman et al. 2008, §5.2), so this is the usual ETS fit, not an ad-hoc score;
//! - a grid instead of a numerical optimiser (Nelder-Mead, L-BFGS) has a fixed cost per
//!   forecast (at most 448 runs over at most `history_hours` values), no convergence or
//!   starting-point issues, and gives the same answer on every replay;
//! - the SSE surface is flat near its minimum, so a coarse grid loses little accuracy;
//! - the grid stays inside the usual admissible region: β ≤ α (β = α·β*), γ ≤ 1 − α, and
//!   φ ≤ 0.98 (Hyndman & Athanasopoulos, FPP3 §8.1) so 24-72 h extrapolations level off
//!   instead of running a short-lived slope to 0 or 100.

use super::ets::{self, Params, Run};

const ALPHAS: [f64; 7] = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];
/// β* in Holt's component form: the share of a level change that becomes trend.
const BETA_STARS: [f64; 4] = [0.01, 0.05, 0.15, 0.3];
const PHIS: [f64; 4] = [0.8, 0.9, 0.95, 0.98];
const GAMMAS: [f64; 4] = [0.05, 0.1, 0.2, 0.4];

/// Every candidate, in a fixed order.
pub fn candidates(seasonal: bool) -> Vec<Params> {
    let gammas: &[f64] = if seasonal { &GAMMAS } else { &[0.0] };
    let mut out = vec![];
    for &alpha in &ALPHAS {
        for &beta_star in &BETA_STARS {
            for &phi in &PHIS {
                for &gamma in gammas {
                    if gamma <= 1.0 - alpha {
                        out.push(Params {
                            alpha,
                            beta: alpha * beta_star,
                            phi,
                            gamma,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The candidate with the least one-step SSE, and its run. `None` when `y` is too short
/// for the model (see [`ets::run`]).
pub fn best(y: &[f64], season: Option<usize>) -> Option<(Params, Run)> {
    let mut best: Option<(Params, Run)> = None;
    for p in candidates(season.is_some()) {
        let r = ets::run(y, p, season)?;
        if !r.sse.is_finite() {
            continue;
        }
        if best.as_ref().is_none_or(|(_, b)| r.sse < b.sse) {
            best = Some((p, r));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_stay_admissible() {
        let all = candidates(true);
        assert!(all.len() <= 448 && all.len() > 100);
        for p in all {
            assert!(p.beta <= p.alpha && p.gamma <= 1.0 - p.alpha && p.phi < 1.0);
        }
        assert_eq!(candidates(false).len(), 7 * 4 * 4);
    }

    #[test]
    fn noisy_level_prefers_slow_smoothing_and_a_walk_prefers_fast() {
        // Independent noise around 50: averaging (small α) predicts it best.
        let mut s: u64 = 12345;
        let noisy: Vec<f64> = (0..60)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                50.0 + ((s >> 33) % 1001) as f64 / 100.0 - 5.0
            })
            .collect();
        let (p, _) = best(&noisy, None).unwrap();
        assert!(p.alpha <= 0.2, "{p:?}");
        // Random levels that persist for 8 steps: the last value predicts best (large α).
        let steps: Vec<f64> = (0..80u64)
            .map(|i| ((i / 8).wrapping_mul(2654435761) % 101) as f64)
            .collect();
        let (p, _) = best(&steps, None).unwrap();
        assert!(p.alpha >= 0.5, "{p:?}");
    }
}
