//! How uncertain an h-step forecast is: the analytical variance of ETS(A,Ad,N) and
//! ETS(A,Ad,A) (Hyndman et al. 2008, "class 1" models, eq. 6.1):
//!
//! σ²_h = σ² · (1 + Σ_{j=1}^{h-1} c_j²),  c_j = α + β·φ(1 − φ^j)/(1 − φ) + γ·[j mod m = 0]
//!
//! σ is the one-step residual standard deviation. Each further step adds the variance the
//! smoothed level, damped trend and season pass on, so intervals widen with the horizon and,
//! because φ < 1, the trend's share stops growing.

use super::ets::Params;

/// The h-step forecast standard deviation for one-step sd `sigma`, `h ≥ 1`.
pub fn sd(sigma: f64, p: Params, season: Option<usize>, h: usize) -> f64 {
    let mut sum = 1.0;
    let mut phi_j = 1.0;
    for j in 1..h {
        phi_j *= p.phi;
        let trend = if p.phi < 1.0 {
            p.phi * (1.0 - phi_j) / (1.0 - p.phi)
        } else {
            j as f64
        };
        let seasonal = match season {
            Some(m) if m > 0 && j % m == 0 => p.gamma,
            _ => 0.0,
        };
        let c = p.alpha + p.beta * trend + seasonal;
        sum += c * c;
    }
    sigma * sum.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        alpha: 0.5,
        beta: 0.1,
        phi: 0.9,
        gamma: 0.2,
    };

    #[test]
    fn one_step_is_sigma_and_later_steps_are_wider() {
        assert!((sd(2.0, P, None, 1) - 2.0).abs() < 1e-12);
        // h = 2: 1 + (α + βφ)² = 1 + 0.59² .
        assert!((sd(1.0, P, None, 2) - (1.0f64 + 0.59 * 0.59).sqrt()).abs() < 1e-12);
        let widths: Vec<f64> = (1..50).map(|h| sd(1.0, P, Some(24), h)).collect();
        assert!(widths.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(sd(0.0, P, None, 100), 0.0);
    }

    #[test]
    fn the_season_adds_its_share_once_per_cycle() {
        let plain = sd(1.0, P, None, 25);
        let seasonal = sd(1.0, P, Some(24), 25);
        assert!(seasonal > plain);
        assert_eq!(sd(1.0, P, None, 24), sd(1.0, P, Some(24), 24));
    }
}
