//! `risk_threshold`: a window's score reaches the threshold. While the alert fires, the
//! score must drop below `threshold - resolve_margin` to count as quiet, so a score
//! wobbling around the threshold does not flap between firing and resolved.

/// Score at or above which a firing alert is critical rather than a warning (unless the
/// rule sets its severity).
pub const CRITICAL_SCORE: f64 = 90.0;

/// How far below the threshold a firing alert's score must drop to count as quiet, unless
/// the rule sets `resolve_margin`.
pub const RESOLVE_MARGIN: f64 = 10.0;

/// A score compared with a threshold, with the resolve margin for hysteresis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub at: f64,
    pub resolve_margin: f64,
}

impl Threshold {
    /// `(holds, holds_within_margin)` for `score`.
    pub fn check(&self, score: f64) -> (bool, bool) {
        (score >= self.at, score >= self.at - self.resolve_margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_widens_only_the_keep_firing_side() {
        let t = Threshold {
            at: 70.0,
            resolve_margin: 10.0,
        };
        assert_eq!(t.check(70.0), (true, true));
        assert_eq!(t.check(65.0), (false, true));
        assert_eq!(t.check(60.0), (false, true));
        assert_eq!(t.check(59.9), (false, false));
        assert_eq!(t.check(f64::NAN), (false, false));
    }
}
