//! A closed window's counts → its risk score.
//!
//! Foundation model: the error-rate factor alone. The error fraction (ERROR and above, plus
//! half-weighted WARN) is mapped linearly onto 0-100, saturating at
//! [`SATURATING_ERROR_RATE`]: a window where a fifth of the lines are errors is as bad as it
//! gets. Worked example: 200 lines, 16 errors and 8 warnings → (16 + 0.5·8)/200 = 0.10 →
//! score 100 · 0.10 / 0.20 = 50.

use cloudsage_schemas::Factor;

/// Error fraction at which the score reaches 100.
pub const SATURATING_ERROR_RATE: f64 = 0.20;
/// Error fraction from which a window is labelled "High Error Rate".
pub const HIGH_ERROR_RATE: f64 = 0.05;

/// Counts of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowCounts {
    pub events: i64,
    pub errors: i64,
    pub warnings: i64,
    pub late: i64,
}

/// Score and explanation of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub score: f64,
    pub factors: Vec<Factor>,
    pub labels: Vec<String>,
    pub top_factors: Vec<String>,
}

pub fn assess(c: &WindowCounts) -> Assessment {
    let error_rate = if c.events > 0 {
        (c.errors as f64 + 0.5 * c.warnings as f64) / c.events as f64
    } else {
        0.0
    };
    let score = (100.0 * error_rate / SATURATING_ERROR_RATE).clamp(0.0, 100.0);
    let score = (score * 10.0).round() / 10.0;
    let mut labels = vec![];
    if error_rate >= HIGH_ERROR_RATE {
        labels.push("High Error Rate".to_string());
    }
    let top_factors = if score > 0.0 {
        vec!["error_rate".to_string()]
    } else {
        vec![]
    };
    Assessment {
        score,
        factors: vec![Factor {
            name: "error_rate".into(),
            value: error_rate,
            points: score,
            max_points: 100.0,
        }],
        labels,
        top_factors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_from_the_docs() {
        let a = assess(&WindowCounts {
            events: 200,
            errors: 16,
            warnings: 8,
            late: 0,
        });
        assert_eq!(a.score, 50.0);
        assert_eq!(a.labels, vec!["High Error Rate"]);
        assert_eq!(a.top_factors, vec!["error_rate"]);
    }

    #[test]
    fn calm_and_saturated_windows() {
        assert_eq!(
            assess(&WindowCounts {
                events: 100,
                ..Default::default()
            })
            .score,
            0.0
        );
        assert_eq!(assess(&WindowCounts::default()).score, 0.0);
        let storm = assess(&WindowCounts {
            events: 10,
            errors: 9,
            warnings: 0,
            late: 0,
        });
        assert_eq!(storm.score, 100.0);
    }
}
