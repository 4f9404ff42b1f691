//! `factor` rules: one of a window's score factors (`memory`, `latency`, …) reaches a
//! minimum of points added to the score and/or of its measured value.

use cloudsage_schemas::{Factor, ScoredWindow};

/// A factor condition; at least one minimum is set (checked when rules are built).
#[derive(Debug, Clone, PartialEq)]
pub struct FactorCondition {
    pub factor: String,
    pub min_points: Option<f64>,
    pub min_value: Option<f64>,
}

impl FactorCondition {
    /// The window's factor, if the window measured it.
    pub fn find<'w>(&self, w: &'w ScoredWindow) -> Option<&'w Factor> {
        w.factors.iter().find(|f| f.name == self.factor)
    }

    /// Whether the condition holds for `w`; a window without the factor does not hold.
    pub fn holds(&self, w: &ScoredWindow) -> bool {
        self.find(w).is_some_and(|f| {
            self.min_points.is_none_or(|m| f.points >= m)
                && self.min_value.is_none_or(|m| f.value >= m)
        })
    }

    /// The factor's figures for the alert summary: `memory 0.97 (+8.5 points)`.
    pub fn describe(&self, w: &ScoredWindow) -> String {
        match self.find(w) {
            Some(f) => format!("{} {} (+{:.1} points)", f.name, trim(f.value), f.points),
            None => format!("{} not measured", self.factor),
        }
    }

    /// The minimums, for the alert summary: `≥ 5 points and value ≥ 0.9`.
    pub fn minimums(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.min_points {
            parts.push(format!("≥ {} points", trim(p)));
        }
        if let Some(v) = self.min_value {
            parts.push(format!("value ≥ {}", trim(v)));
        }
        parts.join(" and ")
    }
}

/// A value with at most three decimals and no trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(points: f64, value: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: "w".into(),
            project: "shop".into(),
            service: "api".into(),
            window_start_ms: 0,
            window_end_ms: 60_000,
            score: 40.0,
            factors: vec![Factor {
                name: "memory".into(),
                value,
                points,
                max_points: 10.0,
            }],
            labels: vec![],
            top_factors: vec![],
            event_count: 1,
            error_count: 0,
            warn_count: 0,
            late_count: 0,
        }
    }

    fn memory(min_points: Option<f64>, min_value: Option<f64>) -> FactorCondition {
        FactorCondition {
            factor: "memory".into(),
            min_points,
            min_value,
        }
    }

    #[test]
    fn points_and_value_minimums_both_apply() {
        let c = memory(Some(5.0), Some(0.9));
        assert!(c.holds(&window(8.0, 0.95)));
        assert!(!c.holds(&window(4.9, 0.95)));
        assert!(!c.holds(&window(8.0, 0.85)));
        assert!(memory(Some(5.0), None).holds(&window(5.0, 0.0)));
        assert!(memory(None, Some(0.9)).holds(&window(0.0, 0.9)));
        assert_eq!(c.minimums(), "≥ 5 points and value ≥ 0.9");
        assert_eq!(c.describe(&window(8.5, 0.97)), "memory 0.97 (+8.5 points)");
    }

    #[test]
    fn a_factor_the_window_did_not_measure_does_not_hold() {
        let c = FactorCondition {
            factor: "cpu".into(),
            min_points: Some(0.0),
            min_value: None,
        };
        assert!(!c.holds(&window(10.0, 1.0)));
        assert_eq!(c.describe(&window(10.0, 1.0)), "cpu not measured");
    }
}
