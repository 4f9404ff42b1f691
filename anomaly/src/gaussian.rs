//! Gaussian tail arithmetic shared by the baseline and the likelihood.
//!
//! `libm::erfc` is used rather than `1 − erf`: the detector works with tail
//! probabilities down to 1e-10, where `1 − erf` has lost every digit.

use std::f64::consts::SQRT_2;

/// `P(|Z| < x)` for a standard normal `Z`, `x ≥ 0`: `erf(x / √2)`.
/// NaN is taken as 0; `+∞` gives 1.
pub fn central_mass(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    (1.0 - libm::erfc(x / SQRT_2)).clamp(0.0, 1.0)
}

/// Upper tail `Q(z) = P(Z > z)` of a standard normal. NaN is taken as 0
/// (no evidence: tail 0.5).
pub fn upper_tail(z: f64) -> f64 {
    if z.is_nan() {
        return 0.5;
    }
    (0.5 * libm::erfc(z / SQRT_2)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(central_mass(0.0), 0.0);
        assert!((central_mass(1.0) - 0.682_689_492_137_086).abs() < 1e-12);
        assert!((central_mass(1.959_963_985) - 0.95).abs() < 1e-9);
        assert_eq!(central_mass(f64::INFINITY), 1.0);
        assert_eq!(central_mass(f64::NAN), 0.0);
        assert_eq!(upper_tail(0.0), 0.5);
        assert!((upper_tail(4.264_890_794) - 1e-5).abs() < 1e-12);
        // Far tail keeps relative precision (1 − erf would give 0 here).
        let q = upper_tail(9.0);
        assert!((q / 1.128_588_405_1e-19 - 1.0).abs() < 1e-6, "{q}");
        assert_eq!(upper_tail(f64::INFINITY), 0.0);
        assert_eq!(upper_tail(f64::NEG_INFINITY), 1.0);
        assert_eq!(upper_tail(f64::NAN), 0.5);
    }
}
