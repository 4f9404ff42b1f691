//! The prompt: a forecast and its window, as the model sees them (pure).

use super::handoff::EnrichRequest;
use std::fmt::Write as _;

/// The system message: the role and the exact JSON the answer must be (see `answer.rs`).
pub const SYSTEM: &str = "You are an on-call site reliability engineer advising a small team \
without an SRE. Given a service's risk forecast, propose exactly three concrete, time-bound \
actions, most urgent first, each naming the service. Answer with one JSON object and nothing \
else, of this exact shape: {\"summary\": string (one or two sentences, at most 400 \
characters), \"actions\": [three objects {\"kind\": snake_case string, \"title\": one-line \
instruction, \"detail\": how to do it and why, \"deadline_hours\": number from 1 to 72}]}.";

/// The user message: everything the forecaster knows about this forecast.
pub fn user_message(r: &EnrichRequest) -> String {
    let f = &r.forecast;
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "Service: {} (project {})", f.service, f.project);
    let _ = writeln!(s, "Current risk score: {:.1} of 100", r.window.score);
    let _ = writeln!(
        s,
        "Predicted score in {} h: {:.1} (95 % interval {:.1} to {:.1}), trend {:+.1} points \
         per hour, confidence {:.2} ({})",
        f.horizon_hours,
        f.predicted_score,
        f.lower,
        f.upper,
        f.trend_per_hour,
        f.confidence,
        f.confidence_reason
    );
    let _ = writeln!(s, "Reasoning chain: {}", f.chain);
    for step in &f.chain_steps {
        let _ = writeln!(s, "- {}: {}", step.name, step.detail);
    }
    if !r.window.top_factors.is_empty() {
        let _ = writeln!(s, "Top factors: {}", r.window.top_factors.join(", "));
    }
    if !r.window.labels.is_empty() {
        let _ = writeln!(s, "Labels: {}", r.window.labels.join(", "));
    }
    let _ = writeln!(s, "Actions proposed by the rule table:");
    for (i, a) in f.actions.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. [{}] {} (within {} h; evidence: {})",
            i + 1,
            a.kind,
            a.title,
            a.deadline_hours,
            a.evidence
        );
    }
    s.push_str("Improve on these actions for this situation. Answer with the JSON object only.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::handoff::WindowContext;
    use cloudsage_schemas::{Action, ChainStep, Forecast};

    fn request(labels: &[&str], top: &[&str]) -> EnrichRequest {
        EnrichRequest {
            forecast: Forecast {
                forecast_id: "f1".into(),
                project: "shop".into(),
                service: "checkout".into(),
                based_on_window_id: "w".into(),
                generated_at_ms: 0,
                horizon_hours: 24,
                predicted_score: 91.2,
                lower: 80.5,
                upper: 99.0,
                confidence: 0.42,
                confidence_reason: "short history".into(),
                trend_per_hour: 2.3,
                chain: "critical_incident_response".into(),
                chain_steps: vec![ChainStep {
                    name: "pattern_matching".into(),
                    detail: "damped Holt".into(),
                    duration_us: 3,
                }],
                actions: (1..=3)
                    .map(|i| Action {
                        kind: format!("kind{i}"),
                        title: format!("title {i}"),
                        evidence: "8 errors".into(),
                        deadline_hours: f64::from(i),
                    })
                    .collect(),
            },
            window: WindowContext {
                score: 77.4,
                labels: labels.iter().map(|s| s.to_string()).collect(),
                top_factors: top.iter().map(|s| s.to_string()).collect(),
            },
        }
    }

    #[test]
    fn the_prompt_carries_the_whole_context() {
        let p = user_message(&request(&["High Error Rate"], &["error_rate", "latency"]));
        for expected in [
            "Service: checkout (project shop)",
            "Current risk score: 77.4",
            "Predicted score in 24 h: 91.2 (95 % interval 80.5 to 99.0)",
            "trend +2.3 points per hour",
            "confidence 0.42 (short history)",
            "Reasoning chain: critical_incident_response",
            "- pattern_matching: damped Holt",
            "Top factors: error_rate, latency",
            "Labels: High Error Rate",
            "1. [kind1] title 1 (within 1 h",
            "3. [kind3] title 3 (within 3 h",
        ] {
            assert!(p.contains(expected), "missing {expected:?} in\n{p}");
        }
    }

    #[test]
    fn absent_factors_and_labels_are_left_out() {
        let p = user_message(&request(&[], &[]));
        assert!(!p.contains("Top factors"));
        assert!(!p.contains("Labels"));
        assert!(SYSTEM.contains("deadline_hours"));
    }
}
