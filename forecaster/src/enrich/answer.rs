//! The model's answer: the JSON it must give, its validation, and the enriched forecast it
//! makes (pure).
//!
//! Schema (no other fields allowed):
//! `{"summary": string (1-400 chars), "actions": [exactly 3 × {"kind": snake_case string
//! (1-64 chars), "title": string (1-200), "detail": string (1-1000), "deadline_hours":
//! number in 1..=72}]}`. A Markdown code fence around the object is tolerated.

use cloudsage_schemas::{Action, ChainStep, Forecast};
use serde::Deserialize;
use std::time::Duration;

/// Name of the chain step an enrichment adds.
pub const STEP: &str = "llm_enrichment";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    summary: String,
    actions: Vec<RawAction>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    kind: String,
    title: String,
    detail: String,
    deadline_hours: f64,
}

/// A valid answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub summary: String,
    /// Exactly three, in the model's order.
    pub actions: Vec<Action>,
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("not JSON of the expected shape: {0}")]
    Malformed(String),
    #[error("does not match the schema: {0}")]
    Invalid(String),
}

/// Parses and validates the model's message content.
pub fn parse(content: &str) -> Result<Advice, AnswerError> {
    let raw: RawAnswer = serde_json::from_str(strip_fence(content))
        .map_err(|e| AnswerError::Malformed(e.to_string()))?;
    let invalid = |m: String| Err(AnswerError::Invalid(m));
    let summary = raw.summary.trim();
    if summary.is_empty() || summary.chars().count() > 400 {
        return invalid("summary must have 1-400 characters".into());
    }
    if raw.actions.len() != 3 {
        return invalid(format!("{} actions instead of 3", raw.actions.len()));
    }
    let mut actions = Vec::with_capacity(3);
    for (i, a) in raw.actions.into_iter().enumerate() {
        let n = i + 1;
        let kind = a.kind.trim();
        if kind.is_empty()
            || kind.len() > 64
            || !kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return invalid(format!(
                "action {n}: kind must be snake_case, 1-64 characters"
            ));
        }
        for (field, value, max) in [("title", &a.title, 200), ("detail", &a.detail, 1000)] {
            let len = value.trim().chars().count();
            if len == 0 || len > max {
                return invalid(format!("action {n}: {field} must have 1-{max} characters"));
            }
        }
        if !(1.0..=72.0).contains(&a.deadline_hours) {
            return invalid(format!(
                "action {n}: deadline_hours {} is not within 1-72",
                a.deadline_hours
            ));
        }
        actions.push(Action {
            kind: kind.to_string(),
            title: a.title.trim().to_string(),
            evidence: a.detail.trim().to_string(),
            deadline_hours: a.deadline_hours,
        });
    }
    Ok(Advice {
        summary: summary.to_string(),
        actions,
    })
}

/// `forecast` with the model's actions and an [`STEP`] chain step recording the model, its
/// latency and the outcome. Same `forecast_id`, so it replaces the heuristic forecast.
pub fn enriched(forecast: &Forecast, advice: &Advice, model: &str, latency: Duration) -> Forecast {
    let mut f = forecast.clone();
    f.actions = advice.actions.clone();
    f.chain_steps.push(ChainStep {
        name: STEP.to_string(),
        detail: format!(
            "model {model} answered in {} ms; outcome: enriched (actions replaced); summary: {}",
            latency.as_millis(),
            advice.summary
        ),
        duration_us: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
    });
    f
}

/// The object inside a ```` ```json ```` fence, or the text itself.
fn strip_fence(content: &str) -> &str {
    let t = content.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(kind: &str, hours: f64) -> serde_json::Value {
        json!({"kind": kind, "title": format!("do {kind}"), "detail": "because", "deadline_hours": hours})
    }

    fn answer(actions: Vec<serde_json::Value>) -> String {
        json!({"summary": "errors are climbing", "actions": actions}).to_string()
    }

    #[test]
    fn a_valid_answer_becomes_three_actions() {
        let a = parse(&answer(vec![
            action("drain_queue", 1.0),
            action("scale_out", 4.5),
            action("add_alert", 72.0),
        ]))
        .unwrap();
        assert_eq!(a.summary, "errors are climbing");
        let kinds: Vec<_> = a.actions.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(kinds, ["drain_queue", "scale_out", "add_alert"]);
        assert_eq!(a.actions[1].deadline_hours, 4.5);
        assert_eq!(a.actions[1].title, "do scale_out");
        assert_eq!(a.actions[1].evidence, "because");
    }

    #[test]
    fn a_fenced_answer_is_accepted() {
        let body = answer(vec![action("a", 1.0), action("b", 2.0), action("c", 3.0)]);
        assert!(parse(&format!("```json\n{body}\n```")).is_ok());
    }

    #[test]
    fn malformed_answers_are_refused() {
        for bad in [
            "",
            "sure! here you go",
            "{\"summary\": \"x\", \"actions\": [",
            "[]",
        ] {
            assert!(
                matches!(parse(bad), Err(AnswerError::Malformed(_))),
                "{bad:?}"
            );
        }
        // Unknown and missing fields, wrong types.
        let extra = json!({"summary": "s", "actions": [], "mood": "calm"}).to_string();
        assert!(matches!(parse(&extra), Err(AnswerError::Malformed(_))));
        let typed = answer(vec![
            json!({"kind": "a", "title": "t", "detail": "d", "deadline_hours": "1"}),
        ]);
        assert!(matches!(parse(&typed), Err(AnswerError::Malformed(_))));
    }

    #[test]
    fn answers_outside_the_schema_are_refused() {
        let cases = [
            answer(vec![action("a", 1.0), action("b", 2.0)]),
            answer(vec![action("a", 1.0); 4]),
            answer(vec![action("a", 0.5), action("b", 2.0), action("c", 3.0)]),
            answer(vec![action("a", 1.0), action("b", 73.0), action("c", 3.0)]),
            answer(vec![action("Not Snake", 1.0), action("b", 2.0), action("c", 3.0)]),
            json!({"summary": " ", "actions": [action("a", 1.0), action("b", 2.0), action("c", 3.0)]})
                .to_string(),
            json!({"summary": "s", "actions": [
                {"kind": "a", "title": "", "detail": "d", "deadline_hours": 1},
                action("b", 2.0), action("c", 3.0)]})
            .to_string(),
        ];
        for c in cases {
            assert!(matches!(parse(&c), Err(AnswerError::Invalid(_))), "{c}");
        }
    }

    #[test]
    fn the_enriched_forecast_keeps_its_id_and_records_the_step() {
        let f = Forecast {
            forecast_id: "f1".into(),
            project: "p".into(),
            service: "api".into(),
            based_on_window_id: "w".into(),
            generated_at_ms: 0,
            horizon_hours: 24,
            predicted_score: 80.0,
            lower: 70.0,
            upper: 90.0,
            confidence: 0.5,
            confidence_reason: String::new(),
            trend_per_hour: 1.0,
            chain: "critical_incident_response".into(),
            chain_steps: vec![],
            actions: vec![],
        };
        let advice = parse(&answer(vec![
            action("a", 1.0),
            action("b", 2.0),
            action("c", 3.0),
        ]))
        .unwrap();
        let e = enriched(&f, &advice, "m1", Duration::from_millis(1234));
        assert_eq!(e.forecast_id, "f1");
        assert_eq!(e.actions, advice.actions);
        let step = e.chain_steps.last().unwrap();
        assert_eq!(step.name, STEP);
        assert_eq!(step.duration_us, 1_234_000);
        assert!(
            step.detail.contains("model m1 answered in 1234 ms"),
            "{}",
            step.detail
        );
        assert!(step.detail.contains("errors are climbing"));
    }
}
