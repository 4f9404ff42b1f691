//! One forecast from a series' recent windows, with the reasoning chain recorded step by step.

use crate::{actions, chain, trend};
use cloudsage_schemas::{stable_id, ChainStep, Forecast, ScoredWindow};
use std::time::Instant;

/// Forecasts `horizon_hours` ahead from `history` (oldest first, ending with the newest
/// window, which the forecast is based on).
pub fn make_forecast(history: &[ScoredWindow], horizon_hours: u32) -> Option<Forecast> {
    let latest = history.last()?;
    let mut steps = vec![];
    let mut step = |name: &str, started: Instant, detail: String| {
        steps.push(ChainStep {
            name: name.to_string(),
            detail,
            duration_us: started.elapsed().as_micros() as i64,
        });
    };

    let t = Instant::now();
    let obs: Vec<(i64, f64)> = history.iter().map(|w| (w.window_end_ms, w.score)).collect();
    let span_hours = (latest.window_end_ms - history[0].window_start_ms) as f64 / 3_600_000.0;
    step(
        "context_analysis",
        t,
        format!(
            "{} windows over {:.2} h; latest score {:.1}",
            obs.len(),
            span_hours,
            latest.score
        ),
    );

    let t = Instant::now();
    let fitted = trend::fit(&obs)?;
    step(
        "pattern_matching",
        t,
        format!(
            "least-squares trend {:+.2} points/h, residual sd {:.2}",
            fitted.slope_per_hour, fitted.residual_sd
        ),
    );

    let t = Instant::now();
    let p = fitted.predict(horizon_hours as f64, span_hours);
    let chain_name = chain::select(latest.score, fitted.slope_per_hour);
    let (confidence, reason) = confidence(obs.len(), p.upper - p.lower);
    step(
        "risk_assessment",
        t,
        format!(
            "predicted {:.1} [{:.1}, {:.1}] in {} h; chain {}",
            p.value, p.lower, p.upper, horizon_hours, chain_name
        ),
    );

    let t = Instant::now();
    let actions = actions::propose(latest, chain_name);
    step(
        "action_generation",
        t,
        format!(
            "rule table: {}",
            actions
                .iter()
                .map(|a| a.kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );

    Some(Forecast {
        forecast_id: stable_id(&[&latest.window_id, &horizon_hours.to_string()]),
        project: latest.project.clone(),
        service: latest.service.clone(),
        based_on_window_id: latest.window_id.clone(),
        generated_at_ms: latest.window_end_ms,
        horizon_hours: horizon_hours as i32,
        predicted_score: round1(p.value),
        lower: round1(p.lower),
        upper: round1(p.upper),
        confidence,
        confidence_reason: reason,
        trend_per_hour: fitted.slope_per_hour,
        chain: chain_name.to_string(),
        chain_steps: steps,
        actions,
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Confidence in 0..1: more history and a narrower interval mean more confidence.
/// `history_weight = n / (n + 10)`; `width_weight = 1 - width / 100`.
pub fn confidence(points: usize, interval_width: f64) -> (f64, String) {
    let history_weight = points as f64 / (points as f64 + 10.0);
    let width_weight = (1.0 - interval_width / 100.0).clamp(0.0, 1.0);
    let c = ((history_weight * width_weight) * 100.0).round() / 100.0;
    (
        c,
        format!(
            "{points} windows of history (weight {history_weight:.2}) and an interval {interval_width:.1} points wide (weight {width_weight:.2})"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(i: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{i}"),
            project: "p".into(),
            service: "api".into(),
            window_start_ms: i * 60_000,
            window_end_ms: (i + 1) * 60_000,
            score,
            factors: vec![],
            labels: vec![],
            top_factors: vec![],
            event_count: 1,
            error_count: 0,
            warn_count: 0,
            late_count: 0,
        }
    }

    #[test]
    fn rising_series_gets_preventive_chain_and_full_steps() {
        let h: Vec<_> = (0..10).map(|i| w(i, 40.0 + 2.0 * i as f64)).collect();
        let f = make_forecast(&h, 24).unwrap();
        assert_eq!(f.chain, chain::PREVENTIVE);
        assert_eq!(f.based_on_window_id, "w9");
        assert_eq!(f.predicted_score, 100.0);
        let names: Vec<_> = f.chain_steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "context_analysis",
                "pattern_matching",
                "risk_assessment",
                "action_generation"
            ]
        );
        assert_eq!(f.actions.len(), 3);
        assert!(f.trend_per_hour > 100.0);
    }

    #[test]
    fn ids_are_deterministic_and_confidence_grows_with_history() {
        let h: Vec<_> = (0..3).map(|i| w(i, 10.0)).collect();
        assert_eq!(
            make_forecast(&h, 24).unwrap().forecast_id,
            make_forecast(&h, 24).unwrap().forecast_id
        );
        assert!(confidence(30, 10.0).0 > confidence(3, 10.0).0);
        assert!(confidence(30, 10.0).0 > confidence(30, 60.0).0);
    }
}
