//! Alert records for a rule's state changes. Identity is deterministic, so replays publish
//! the same alerts: the fingerprint hashes project, service and rule name; the alert id
//! hashes the fingerprint, the firing start and the status. The labels carry what
//! receivers show ([`crate::payload`]): `top_factors`, `forecast` and `action_1..3`.

use super::state::Transition;
use super::{forecast, Evaluation, Rule};
use crate::payload::{ACTION_LABEL_PREFIX, FACTORS_LABEL, FACTOR_LABEL, FORECAST_LABEL};
use cloudsage_schemas::{stable_id, Alert, AlertStatus, Forecast, Severity};
use std::collections::BTreeMap;

/// Label naming the rule's kind (`risk_threshold`, `forecast_breach`, …).
pub const RULE_KIND_LABEL: &str = "rule_kind";

/// The latest known facts of a series, shown with its alerts whatever the rule's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesFacts {
    /// The latest window's id.
    pub window_id: Option<String>,
    /// The latest window's top factors, with their values (`error_rate=10.0% (+20)`).
    pub top_factors: Vec<String>,
    /// The latest forecast.
    pub forecast: Option<Forecast>,
}

/// The identity of a rule's alerts on one series.
pub fn fingerprint(project: &str, service: &str, rule: &str) -> String {
    stable_id(&[project, service, rule])
}

/// The id of one state change of the alert `fingerprint` that started at `starts_at_ms`.
pub fn alert_id(fingerprint: &str, starts_at_ms: i64, status: AlertStatus) -> String {
    let status = match status {
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    };
    stable_id(&[fingerprint, &starts_at_ms.to_string(), status])
}

/// The alert for `transition` of `rule` on `project`/`service`, decided by `eval`.
pub fn build(
    rule: &Rule,
    project: &str,
    service: &str,
    transition: Transition,
    eval: &Evaluation,
    facts: &SeriesFacts,
) -> Alert {
    let fingerprint = fingerprint(project, service, &rule.name);
    let (status, severity, summary, starts_at_ms, ends_at_ms) = match transition {
        Transition::Fire { starts_at_ms } => (
            AlertStatus::Firing,
            rule.severity(eval.risk),
            eval.firing_summary.clone(),
            starts_at_ms,
            None,
        ),
        Transition::Resolve {
            starts_at_ms,
            ends_at_ms,
        } => (
            AlertStatus::Resolved,
            Severity::Info,
            eval.resolved_summary.clone(),
            starts_at_ms,
            Some(ends_at_ms),
        ),
    };
    Alert {
        alert_id: alert_id(&fingerprint, starts_at_ms, status),
        fingerprint,
        project: project.to_string(),
        service: service.to_string(),
        rule: rule.name.clone(),
        status,
        severity,
        summary,
        score: eval.risk,
        starts_at_ms,
        ends_at_ms,
        window_id: facts.window_id.clone(),
        forecast_id: facts.forecast.as_ref().map(|f| f.forecast_id.clone()),
        labels: labels(rule, project, service, facts),
    }
}

fn labels(
    rule: &Rule,
    project: &str,
    service: &str,
    facts: &SeriesFacts,
) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("project".into(), project.to_string());
    l.insert("service".into(), service.to_string());
    l.insert(RULE_KIND_LABEL.into(), rule.kind.name().into());
    if let Some(top) = facts.top_factors.first() {
        l.insert(FACTOR_LABEL.into(), top.clone());
        l.insert(FACTORS_LABEL.into(), facts.top_factors.join(", "));
    }
    if let Some(f) = &facts.forecast {
        l.insert(FORECAST_LABEL.into(), forecast::describe(f));
        for (i, action) in forecast::action_lines(f).into_iter().enumerate() {
            l.insert(format!("{ACTION_LABEL_PREFIX}{}", i + 1), action);
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::super::forecast::sample;
    use super::super::state::{step, RuleState};
    use super::super::tests::window;
    use super::super::{build_rules, Input};
    use super::*;
    use crate::payload;
    use cloudsage_runtime::Config;
    use std::time::Duration;

    fn facts() -> SeriesFacts {
        SeriesFacts {
            window_id: Some("w0".into()),
            top_factors: vec!["memory=97% (+8.5)".into(), "cpu=91% (+3.2)".into()],
            forecast: Some(sample(60_000, 84.0, "critical_incident_response")),
        }
    }

    /// Runs the default rule over windows with `scores`, one a minute; returns the alerts.
    fn alerts_for(scores: &[f64]) -> Vec<Alert> {
        let rules = build_rules(&Config::default().notifier, Duration::from_secs(60)).unwrap();
        let rule = &rules[0];
        let mut state: Option<RuleState> = None;
        let mut out = Vec::new();
        for (n, s) in scores.iter().enumerate() {
            let w = window(n as i64 * 60_000, *s);
            let eval = rule.observe(Input::Window(&w), 60_000).unwrap();
            let (transitions, next) = step(state, &eval.observation, &rule.timing());
            state = next;
            out.extend(
                transitions
                    .into_iter()
                    .map(|t| build(rule, "shop", "api", t, &eval, &facts())),
            );
        }
        out
    }

    #[test]
    fn ids_are_deterministic_and_the_fingerprint_names_the_rule() {
        let a = alerts_for(&[80.0, 95.0, 20.0]);
        let b = alerts_for(&[80.0, 95.0, 20.0]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0].fingerprint,
            stable_id(&["shop", "api", "risk_threshold"]),
            "the default rule keeps the fingerprints alerts had before rules were configurable"
        );
        assert_ne!(a[0].fingerprint, fingerprint("shop", "api", "other_rule"));
        assert_eq!(a[0].fingerprint, a[1].fingerprint);
        assert_ne!(a[0].alert_id, a[1].alert_id);
        assert_eq!(
            a[0].alert_id,
            stable_id(&[&a[0].fingerprint, "0", "firing"])
        );
        assert_eq!(
            (a[0].status, a[0].severity),
            (AlertStatus::Firing, Severity::Warning)
        );
        assert_eq!(
            (a[1].status, a[1].severity),
            (AlertStatus::Resolved, Severity::Info)
        );
        assert_eq!((a[1].starts_at_ms, a[1].ends_at_ms), (0, Some(180_000)));
        assert_eq!(a[1].summary, "shop/api risk back to 20 (< 60)");
        assert_eq!(alerts_for(&[95.0])[0].severity, Severity::Critical);
    }

    #[test]
    fn receivers_find_top_factors_forecast_and_three_actions() {
        let a = &alerts_for(&[80.0])[0];
        assert_eq!(
            payload::top_factors(a),
            ["memory=97% (+8.5)", "cpu=91% (+3.2)"]
        );
        assert_eq!(
            payload::forecast_summary(a).as_deref(),
            Some("risk 84 in 24 h (95 % interval 74–94, +1.5/h), chain critical_incident_response, confidence 0.50")
        );
        assert_eq!(
            payload::actions(a),
            [
                "Do thing 1 (within 1 h)",
                "Do thing 2 (within 2 h)",
                "Do thing 3 (within 3 h)"
            ]
        );
        assert_eq!(a.labels[RULE_KIND_LABEL], "risk_threshold");
        assert_eq!(a.forecast_id.as_deref(), Some("f60000"));
        // Without a forecast or window yet, the labels are simply absent.
        let rules = build_rules(&Config::default().notifier, Duration::from_secs(60)).unwrap();
        let w = window(0, 99.0);
        let eval = rules[0].observe(Input::Window(&w), 60_000).unwrap();
        let bare = build(
            &rules[0],
            "shop",
            "api",
            Transition::Fire { starts_at_ms: 0 },
            &eval,
            &SeriesFacts::default(),
        );
        assert!(payload::top_factors(&bare).is_empty() && payload::actions(&bare).is_empty());
        assert_eq!(payload::forecast_summary(&bare), None);
    }
}
