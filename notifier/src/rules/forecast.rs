//! Forecast rules, and how a forecast reads in an alert.
//!
//! - `forecast_breach` compares the forecast's point prediction at its horizon
//!   (`predicted_score`) with the threshold. The interval's upper bound is not used: with
//!   little history the 95 % interval is wide, and its upper bound would cross most
//!   thresholds on every forecast.
//! - `critical_chain` holds when the forecast was made by one of the configured chains
//!   (by default `critical_incident_response`, which the forecaster uses for a risk of 70
//!   or more).

use cloudsage_schemas::Forecast;

/// The chain that counts as critical when a `critical_chain` rule names none.
pub const DEFAULT_CRITICAL_CHAIN: &str = "critical_incident_response";

/// The value a `forecast_breach` rule compares with its threshold.
pub fn breach_score(f: &Forecast) -> f64 {
    f.predicted_score
}

/// Whether `f` was made by one of `chains`.
pub fn is_critical_chain(f: &Forecast, chains: &[String]) -> bool {
    chains.contains(&f.chain)
}

/// The forecast in one line, as receivers show it (the `forecast` label):
/// `risk 84 in 24 h (95 % interval 71–97, +1.2/h), chain critical_incident_response, confidence 0.62`.
pub fn describe(f: &Forecast) -> String {
    format!(
        "risk {:.0} in {} h (95 % interval {:.0}–{:.0}, {:+.1}/h), chain {}, confidence {:.2}",
        f.predicted_score,
        f.horizon_hours,
        f.lower,
        f.upper,
        f.trend_per_hour,
        f.chain,
        f.confidence
    )
}

/// The forecast's actions, most urgent first, as receivers show them (`action_1..3`).
pub fn action_lines(f: &Forecast) -> Vec<String> {
    f.actions
        .iter()
        .take(3)
        .map(|a| format!("{} (within {} h)", a.title, a.deadline_hours))
        .collect()
}

/// What the chain's risk assessment concluded, if the forecast recorded it.
pub fn risk_assessment(f: &Forecast) -> Option<&str> {
    f.chain_steps
        .iter()
        .find(|s| s.name == "risk_assessment")
        .map(|s| s.detail.as_str())
        .filter(|d| !d.trim().is_empty())
}

#[cfg(test)]
pub(crate) fn sample(generated_at_ms: i64, predicted: f64, chain: &str) -> Forecast {
    use cloudsage_schemas::{Action, ChainStep};
    Forecast {
        forecast_id: format!("f{generated_at_ms}"),
        project: "shop".into(),
        service: "api".into(),
        based_on_window_id: format!("w{generated_at_ms}"),
        generated_at_ms,
        horizon_hours: 24,
        predicted_score: predicted,
        lower: predicted - 10.0,
        upper: predicted + 10.0,
        confidence: 0.5,
        confidence_reason: "test".into(),
        trend_per_hour: 1.5,
        chain: chain.into(),
        chain_steps: vec![ChainStep {
            name: "risk_assessment".into(),
            detail: format!("risk {predicted:.0} and rising"),
            duration_us: 1,
        }],
        actions: (1..=3)
            .map(|i| Action {
                kind: format!("kind{i}"),
                title: format!("Do thing {i}"),
                evidence: "because".into(),
                deadline_hours: f64::from(i),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breach_uses_the_point_prediction_not_the_upper_bound() {
        let f = sample(0, 65.0, "preventive_forecast");
        assert_eq!(breach_score(&f), 65.0);
        assert!(f.upper >= 70.0, "the upper bound alone would cross 70");
    }

    #[test]
    fn critical_chain_matches_the_configured_names_exactly() {
        let f = sample(0, 80.0, "critical_incident_response");
        assert!(is_critical_chain(&f, &[DEFAULT_CRITICAL_CHAIN.to_string()]));
        assert!(!is_critical_chain(&f, &["critical".to_string()]));
        assert!(!is_critical_chain(&f, &[]));
    }

    #[test]
    fn description_and_actions_read_the_forecast() {
        let f = sample(0, 84.4, "critical_incident_response");
        assert_eq!(
            describe(&f),
            "risk 84 in 24 h (95 % interval 74–94, +1.5/h), chain critical_incident_response, confidence 0.50"
        );
        assert_eq!(
            action_lines(&f),
            [
                "Do thing 1 (within 1 h)",
                "Do thing 2 (within 2 h)",
                "Do thing 3 (within 3 h)"
            ]
        );
        assert_eq!(risk_assessment(&f), Some("risk 84 and rising"));
    }
}
