//! One forecast from a series' history, with the reasoning chain recorded step by step.

use crate::backtest::LeadError;
use crate::confidence::{confidence, Evidence};
use crate::fitting::{self, Fitted};
use crate::history::{History, HOUR_MS};
use crate::{actions, chain};
use cloudsage_schemas::{stable_id, ChainStep, Forecast};
use std::time::Instant;

/// Forecasts `horizon_hours` ahead from `history`, after its newest window. `backtest` is the
/// series' measured error so far, shortest lead first. Also returns the fitted model, for
/// filing the backtest's predictions. `None` for an empty history.
pub fn make_forecast(
    history: &History,
    backtest: &[LeadError],
    horizon_hours: u32,
) -> Option<(Forecast, Fitted)> {
    let latest = history.latest()?;
    let first = history.windows().next()?;
    let mut steps = vec![];
    let mut step = |name: &str, started: Instant, detail: String| {
        steps.push(ChainStep {
            name: name.to_string(),
            detail,
            duration_us: started.elapsed().as_micros() as i64,
        });
    };

    let t = Instant::now();
    let hourly = history.hourly_means().len();
    let window_span_h = (latest.window_end_ms - first.window_start_ms) as f64 / HOUR_MS as f64;
    let span_hours = window_span_h.max(hourly as f64);
    step(
        "context_analysis",
        t,
        format!(
            "{} recent windows over {window_span_h:.2} h and {hourly} hourly means ({} filled \
             gaps); latest score {:.1}",
            history.windows().count(),
            history.filled_hours(),
            latest.score
        ),
    );

    let t = Instant::now();
    let fitted = fitting::fit(history)?;
    let trend_per_hour = fitted.trend_per_hour();
    step("pattern_matching", t, fitted.describe());

    let t = Instant::now();
    let horizon_ms = i64::from(horizon_hours) * HOUR_MS;
    let p = fitted.predict(horizon_ms);
    let chain_name = chain::select(latest.score, trend_per_hour);
    let (confidence, reason) = confidence(&Evidence {
        points: fitted.model.points,
        span_hours,
        horizon_hours: f64::from(horizon_hours),
        interval_width: p.upper - p.lower,
        backtest: backtest.iter().rev().find(|b| b.mae.is_some()).copied(),
    });
    step(
        "risk_assessment",
        t,
        format!(
            "predicted {:.1} [{:.1}, {:.1}] in {horizon_hours} h (95 % interval from the ETS \
             h-step variance); backtest {}; chain {chain_name}; confidence {reason}",
            p.value,
            p.lower,
            p.upper,
            describe_backtest(backtest),
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

    let forecast = Forecast {
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
        trend_per_hour,
        chain: chain_name.to_string(),
        chain_steps: steps,
        actions,
    };
    Some((forecast, fitted))
}

/// "MAE 1 h ahead 3.1 over 60 checks, 24 h ahead not yet checked".
fn describe_backtest(leads: &[LeadError]) -> String {
    if leads.is_empty() {
        return "off".to_string();
    }
    leads
        .iter()
        .map(|l| {
            let h = l.lead_ms / HOUR_MS;
            match l.mae {
                Some(mae) => format!("MAE {h} h ahead {mae:.2} over {} checks", l.comparisons),
                None => format!("MAE {h} h ahead not yet checked"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudsage_schemas::ScoredWindow;

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

    fn history(scores: &[f64]) -> History {
        let mut h = History::new(30, 72);
        for (i, s) in scores.iter().enumerate() {
            h.push(i as i64, w(i as i64, *s));
        }
        h
    }

    #[test]
    fn rising_series_gets_preventive_chain_and_full_steps() {
        let scores: Vec<f64> = (0..10).map(|i| 40.0 + 2.0 * i as f64).collect();
        let (f, _) = make_forecast(&history(&scores), &[], 24).unwrap();
        assert_eq!(f.chain, chain::PREVENTIVE);
        assert_eq!(f.based_on_window_id, "w9");
        // Damped, the 2-points-a-minute rise still carries past 100 within a day.
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
        assert!(
            (f.trend_per_hour - 120.0).abs() < 12.0,
            "{}",
            f.trend_per_hour
        );
        assert!(f.chain_steps[1].detail.contains("damped Holt"));
    }

    #[test]
    fn critical_and_standard_chains_follow_the_latest_score() {
        let (f, _) = make_forecast(&history(&[75.0; 5]), &[], 24).unwrap();
        assert_eq!(f.chain, chain::CRITICAL);
        let falling: Vec<f64> = (0..10).map(|i| 65.0 - i as f64).collect();
        let (f, _) = make_forecast(&history(&falling), &[], 24).unwrap();
        assert_eq!(f.chain, chain::STANDARD);
        assert!(f.trend_per_hour < 0.0);
    }

    #[test]
    fn ids_are_deterministic_and_the_backtest_reaches_the_explanation() {
        let h = history(&[10.0; 3]);
        let a = make_forecast(&h, &[], 24).unwrap().0;
        assert_eq!(
            a.forecast_id,
            make_forecast(&h, &[], 24).unwrap().0.forecast_id
        );
        let checked = [
            LeadError {
                lead_ms: HOUR_MS,
                mae: Some(4.5),
                comparisons: 12,
            },
            LeadError {
                lead_ms: 24 * HOUR_MS,
                mae: None,
                comparisons: 0,
            },
        ];
        let b = make_forecast(&h, &checked, 24).unwrap().0;
        let risk = &b.chain_steps[2].detail;
        assert!(risk.contains("MAE 1 h ahead 4.50 over 12 checks"), "{risk}");
        assert!(risk.contains("24 h ahead not yet checked"), "{risk}");
        assert!(b.confidence_reason.contains("MAE 4.5"));
        assert!(b.confidence < a.confidence);
    }

    #[test]
    fn an_empty_history_gives_no_forecast() {
        assert!(make_forecast(&History::new(3, 3), &[], 24).is_none());
    }
}
