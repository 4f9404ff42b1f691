//! NAB's final normalization (`normalize` in `nab/runner.py`,
//! https://github.com/numenta/NAB): 0 for the detector that never detects,
//! 100 for the perfect one.

/// `100 · (raw − null) / (perfect − null)`; `None` when `perfect == null`
/// (no windows: nothing to normalize against) or an input is not finite.
pub fn normalized_score(raw: f64, null: f64, perfect: f64) -> Option<f64> {
    let span = perfect - null;
    if !(raw.is_finite() && span.is_finite()) || span == 0.0 {
        return None;
    }
    Some(100.0 * (raw - null) / span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_midpoint() {
        // 4 windows, standard profile: null = −4, perfect = 4.
        assert_eq!(normalized_score(-4.0, -4.0, 4.0), Some(0.0));
        assert_eq!(normalized_score(4.0, -4.0, 4.0), Some(100.0));
        assert_eq!(normalized_score(0.0, -4.0, 4.0), Some(50.0));
        // Many false positives can go below 0.
        assert!(normalized_score(-6.0, -4.0, 4.0).unwrap() < 0.0);
        assert_eq!(normalized_score(0.0, 0.0, 0.0), None);
        assert_eq!(normalized_score(f64::NAN, -1.0, 1.0), None);
    }
}
