//! How much to trust a forecast, as a number in 0..1 and a sentence saying why.
//!
//! The confidence is a product of weights in 0..1, each for one reason to doubt:
//! - **data**: `n / (n + 10)` for the `n` values the model was fitted on (few values give
//!   poorly determined parameters);
//! - **coverage**: `0.5 + 0.5 · min(1, span / horizon)`: history shorter than the horizon
//!   has not shown how the series moves over that long;
//! - **interval**: `1 − width / 100`: the 95 % interval's share of the 0-100 scale;
//! - **backtest**: `1 / (1 + MAE / 10)` for the series' measured forecast error, once any
//!   forecast has been checked against what happened (MAE 10 points halves the confidence).

use crate::backtest::LeadError;
use crate::history::HOUR_MS;

/// What the confidence is derived from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// Values the model was fitted on.
    pub points: usize,
    /// Hours the history spans.
    pub span_hours: f64,
    pub horizon_hours: f64,
    /// Width of the 95 % interval, points.
    pub interval_width: f64,
    /// The backtest at the longest lead that has one.
    pub backtest: Option<LeadError>,
}

/// Confidence rounded to 0.01, and its explanation.
pub fn confidence(e: &Evidence) -> (f64, String) {
    let n = e.points as f64;
    let data = n / (n + 10.0);
    let coverage = 0.5 + 0.5 * (e.span_hours / e.horizon_hours.max(1e-9)).clamp(0.0, 1.0);
    let interval = (1.0 - e.interval_width / 100.0).clamp(0.0, 1.0);
    let measured = e.backtest.and_then(|b| Some((b, b.mae?)));
    let backtest = measured.map_or(1.0, |(_, mae)| 1.0 / (1.0 + mae.max(0.0) / 10.0));
    let c = (data * coverage * interval * backtest * 100.0).round() / 100.0;
    let backtest_text = match measured {
        Some((b, mae)) => format!(
            "backtest MAE {mae:.1} points at {} h ahead over {} checks ({backtest:.2})",
            b.lead_ms / HOUR_MS,
            b.comparisons
        ),
        None => "no forecast checked against actual scores yet (1.00)".to_string(),
    };
    (
        c,
        format!(
            "{c:.2} = {} values fitted ({data:.2}) × {:.1} h of history for a {:.0} h horizon \
             ({coverage:.2}) × interval {:.1} points wide ({interval:.2}) × {backtest_text}",
            e.points, e.span_hours, e.horizon_hours, e.interval_width
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Evidence {
        Evidence {
            points: 30,
            span_hours: 0.5,
            horizon_hours: 24.0,
            interval_width: 20.0,
            backtest: None,
        }
    }

    #[test]
    fn each_reason_to_doubt_lowers_confidence() {
        let base = confidence(&ev()).0;
        assert!(base > 0.0 && base < 1.0);
        assert!(confidence(&Evidence { points: 3, ..ev() }).0 < base);
        assert!(
            confidence(&Evidence {
                interval_width: 60.0,
                ..ev()
            })
            .0 < base
        );
        assert!(
            confidence(&Evidence {
                span_hours: 48.0,
                ..ev()
            })
            .0 > base
        );
        let checked = |mae| Evidence {
            backtest: Some(LeadError {
                lead_ms: HOUR_MS,
                mae: Some(mae),
                comparisons: 60,
            }),
            ..ev()
        };
        assert!(confidence(&checked(2.0)).0 > confidence(&checked(20.0)).0);
        assert!(confidence(&checked(2.0)).0 < base);
    }

    #[test]
    fn the_reason_names_every_weight() {
        let (c, why) = confidence(&Evidence {
            backtest: Some(LeadError {
                lead_ms: HOUR_MS,
                mae: Some(3.24),
                comparisons: 42,
            }),
            ..ev()
        });
        assert!(
            why.starts_with(&format!("{c:.2} = 30 values fitted")),
            "{why}"
        );
        assert!(
            why.contains("MAE 3.2 points at 1 h ahead over 42 checks"),
            "{why}"
        );
        assert!(confidence(&ev()).1.contains("no forecast checked"));
    }

    #[test]
    fn degenerate_evidence_stays_in_range() {
        let (c, _) = confidence(&Evidence {
            points: 0,
            span_hours: 0.0,
            horizon_hours: 0.0,
            interval_width: 150.0,
            backtest: None,
        });
        assert_eq!(c, 0.0);
    }
}
