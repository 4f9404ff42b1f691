//! The risk-threshold rule as a state machine per series: a window at or above the
//! project's threshold fires the alert; the first window clearly below it (by
//! [`RESOLVE_MARGIN`] points) resolves it, so a score wobbling around the threshold does not
//! flap between firing and resolved.

use cloudsage_schemas::{stable_id, Alert, AlertStatus, ScoredWindow, Severity};
use std::collections::BTreeMap;

pub const RISK_THRESHOLD_RULE: &str = "risk_threshold";

/// Score at or above which a firing alert is critical rather than a warning.
pub const CRITICAL_SCORE: f64 = 90.0;

/// How far below the threshold a firing alert's score must drop to resolve.
pub const RESOLVE_MARGIN: f64 = 10.0;

/// A series' firing alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub starts_at_ms: i64,
    pub alert_id: String,
}

/// Decides the transition for `window`, given the current state. Returns the alert to
/// publish (if the state changes) and the new state.
pub fn evaluate(
    window: &ScoredWindow,
    threshold: f64,
    current: Option<&Firing>,
    latest_forecast_id: Option<&str>,
) -> (Option<Alert>, Option<Firing>) {
    let fingerprint = stable_id(&[&window.project, &window.service, RISK_THRESHOLD_RULE]);
    let above = if current.is_some() {
        window.score >= threshold - RESOLVE_MARGIN
    } else {
        window.score >= threshold
    };
    match (current, above) {
        (None, true) => {
            let starts = window.window_start_ms;
            let alert_id = stable_id(&[&fingerprint, &starts.to_string(), "firing"]);
            let severity = if window.score >= CRITICAL_SCORE {
                Severity::Critical
            } else {
                Severity::Warning
            };
            let alert = Alert {
                alert_id: alert_id.clone(),
                fingerprint,
                project: window.project.clone(),
                service: window.service.clone(),
                rule: RISK_THRESHOLD_RULE.into(),
                status: AlertStatus::Firing,
                severity,
                summary: format!(
                    "{}/{} risk {:.0} ≥ threshold {:.0}{}",
                    window.project,
                    window.service,
                    window.score,
                    threshold,
                    if window.labels.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", window.labels.join(", "))
                    }
                ),
                score: window.score,
                starts_at_ms: starts,
                ends_at_ms: None,
                window_id: Some(window.window_id.clone()),
                forecast_id: latest_forecast_id.map(str::to_string),
                labels: labels(window),
            };
            (
                Some(alert),
                Some(Firing {
                    starts_at_ms: starts,
                    alert_id,
                }),
            )
        }
        (Some(f), false) => {
            let alert = Alert {
                alert_id: stable_id(&[&fingerprint, &f.starts_at_ms.to_string(), "resolved"]),
                fingerprint,
                project: window.project.clone(),
                service: window.service.clone(),
                rule: RISK_THRESHOLD_RULE.into(),
                status: AlertStatus::Resolved,
                severity: Severity::Info,
                summary: format!(
                    "{}/{} risk back to {:.0} (< {:.0})",
                    window.project,
                    window.service,
                    window.score,
                    threshold - RESOLVE_MARGIN
                ),
                score: window.score,
                starts_at_ms: f.starts_at_ms,
                ends_at_ms: Some(window.window_end_ms),
                window_id: Some(window.window_id.clone()),
                forecast_id: latest_forecast_id.map(str::to_string),
                labels: labels(window),
            };
            (Some(alert), None)
        }
        (state, _) => (None, state.cloned()),
    }
}

fn labels(w: &ScoredWindow) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("project".into(), w.project.clone());
    l.insert("service".into(), w.service.clone());
    if let Some(top) = w.top_factors.first() {
        l.insert("top_factor".into(), top.clone());
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start: i64, score: f64) -> ScoredWindow {
        ScoredWindow {
            window_id: format!("w{start}"),
            project: "shop".into(),
            service: "api".into(),
            window_start_ms: start,
            window_end_ms: start + 60_000,
            score,
            factors: vec![],
            labels: vec!["High Error Rate".into()],
            top_factors: vec!["error_rate".into()],
            event_count: 1,
            error_count: 1,
            warn_count: 0,
            late_count: 0,
        }
    }

    #[test]
    fn fires_once_then_resolves_once() {
        let (a, s) = evaluate(&w(0, 80.0), 70.0, None, Some("f1"));
        let a = a.unwrap();
        assert_eq!(
            (a.status, a.severity),
            (AlertStatus::Firing, Severity::Warning)
        );
        assert_eq!(a.forecast_id.as_deref(), Some("f1"));
        let (again, s2) = evaluate(&w(60_000, 95.0), 70.0, s.as_ref(), None);
        assert!(again.is_none(), "still firing: no new alert");
        let (r, s3) = evaluate(&w(120_000, 20.0), 70.0, s2.as_ref(), None);
        let r = r.unwrap();
        assert_eq!(r.status, AlertStatus::Resolved);
        assert_eq!(r.fingerprint, a.fingerprint);
        assert_eq!((r.starts_at_ms, r.ends_at_ms), (0, Some(180_000)));
        assert_ne!(r.alert_id, a.alert_id);
        assert!(s3.is_none());
        assert!(evaluate(&w(180_000, 10.0), 70.0, None, None).0.is_none());
    }

    #[test]
    fn a_score_wobbling_around_the_threshold_does_not_flap() {
        let (_, s) = evaluate(&w(0, 74.0), 70.0, None, None);
        assert!(s.is_some());
        let (a, s) = evaluate(&w(60_000, 68.0), 70.0, s.as_ref(), None);
        assert!(
            a.is_none() && s.is_some(),
            "68 is within the margin: still firing"
        );
        let (a, s) = evaluate(&w(120_000, 59.0), 70.0, s.as_ref(), None);
        assert_eq!(a.unwrap().status, AlertStatus::Resolved);
        assert!(s.is_none());
    }

    #[test]
    fn ids_are_deterministic_and_severity_follows_score() {
        let (a, _) = evaluate(&w(0, 95.0), 70.0, None, None);
        let (b, _) = evaluate(&w(0, 95.0), 70.0, None, None);
        assert_eq!(a.clone().unwrap().alert_id, b.unwrap().alert_id);
        assert_eq!(a.unwrap().severity, Severity::Critical);
    }
}
