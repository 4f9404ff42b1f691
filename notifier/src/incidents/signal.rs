//! One shape for everything that can open, join or resolve an incident.

use crate::incidents::severity::{alert_severity, vendor_severity};
use cloudsage_runtime::config::IncidentSeverity;
use cloudsage_schemas::{stable_id, Alert, AlertStatus, RawLog};

/// The source name of CloudSage's own risk alerts.
pub const CLOUDSAGE_SOURCE: &str = "cloudsage";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Firing,
    Resolved,
    /// A deploy of the service finished (evidence for a rollback).
    Deploy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The alert id (deterministic for vendor records too).
    pub id: String,
    pub project: String,
    pub service: String,
    /// The rule (`risk_threshold`) or the vendor name for external alerts.
    pub rule: String,
    /// `cloudsage` or the vendor.
    pub source: String,
    pub kind: SignalKind,
    pub severity: IncidentSeverity,
    /// One line for people.
    pub summary: String,
    /// Lower-cased summary and labels, for the suggestion rules.
    pub text: String,
    /// Event time.
    pub at_ms: i64,
}

impl Signal {
    /// The identity of the alert inside its group: firing and resolved share it.
    pub fn alert_key(&self) -> String {
        format!("{}:{}", self.source, self.rule)
    }
}

/// A CloudSage alert state change.
pub fn from_alert(a: &Alert) -> Signal {
    let labels: Vec<&str> = a.labels.values().map(String::as_str).collect();
    let (kind, at_ms) = match a.status {
        AlertStatus::Firing => (SignalKind::Firing, a.starts_at_ms),
        AlertStatus::Resolved => (SignalKind::Resolved, a.ends_at_ms.unwrap_or(a.starts_at_ms)),
    };
    Signal {
        id: a.alert_id.clone(),
        project: a.project.clone(),
        service: a.service.clone(),
        rule: a.rule.clone(),
        source: CLOUDSAGE_SOURCE.into(),
        kind,
        severity: alert_severity(a.severity, a.score),
        summary: a.summary.clone(),
        text: format!("{} {}", a.summary, labels.join(" ")).to_lowercase(),
        at_ms,
    }
}

/// A vendor record from `logs.raw`, if it is an external alert (from one of
/// `external_sources`) or a deploy marker (a successful GitHub workflow run about a deploy).
pub fn from_raw(r: &RawLog, external_sources: &[String]) -> Option<Signal> {
    let line = r.line.clone().unwrap_or_default();
    let level = r.fields.get("level").map(String::as_str).unwrap_or("info");
    let at_ms = r.event_time_ms.unwrap_or(r.received_at_ms);
    let field_text: Vec<&str> = r.fields.values().map(String::as_str).collect();
    let text = format!("{line} {}", field_text.join(" ")).to_lowercase();
    let base = |kind, severity| Signal {
        id: stable_id(&[&r.source, &r.project, &r.service, &line, &at_ms.to_string()]),
        project: r.project.clone(),
        service: r.service.clone(),
        rule: r.source.clone(),
        source: r.source.clone(),
        kind,
        severity,
        summary: format!("{}: {line}", r.source),
        text: text.clone(),
        at_ms,
    };
    if r.source == "github" {
        let succeeded = r.fields.get("conclusion").is_some_and(|c| c == "success");
        let about_deploy = r
            .fields
            .get("workflow")
            .is_some_and(|w| w.to_lowercase().contains("deploy"))
            || line.to_lowercase().contains("deploy");
        return (succeeded && about_deploy)
            .then(|| base(SignalKind::Deploy, IncidentSeverity::Low));
    }
    if !external_sources.iter().any(|s| s == &r.source) {
        return None;
    }
    match vendor_severity(level) {
        Some(sev) => Some(base(SignalKind::Firing, sev)),
        None => Some(base(SignalKind::Resolved, IncidentSeverity::Low)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn raw(source: &str, level: &str, line: &str, extra: &[(&str, &str)]) -> RawLog {
        let mut fields: BTreeMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        fields.insert("level".into(), level.into());
        RawLog {
            project: "shop".into(),
            service: "api".into(),
            source: source.into(),
            received_at_ms: 1_000,
            event_time_ms: Some(900),
            line: Some(line.into()),
            fields,
            ingest_id: None,
        }
    }

    #[test]
    fn vendor_records_become_external_alerts() {
        let ext = vec!["datadog".to_string()];
        let s = from_raw(&raw("datadog", "error", "CPU high on api", &[]), &ext).unwrap();
        assert_eq!(
            (s.kind, s.severity, s.at_ms),
            (SignalKind::Firing, IncidentSeverity::High, 900)
        );
        assert_eq!(s.rule, "datadog");
        let r = from_raw(&raw("datadog", "info", "Recovered", &[]), &ext).unwrap();
        assert_eq!(r.kind, SignalKind::Resolved);
        assert_eq!(r.alert_key(), s.alert_key());
        assert!(
            from_raw(&raw("sentry", "error", "x", &[]), &ext).is_none(),
            "not configured"
        );
        assert!(from_raw(&raw("http", "error", "x", &[]), &ext).is_none());
    }

    #[test]
    fn successful_deploy_workflows_are_deploy_markers() {
        let ext = vec![];
        let deploy = raw(
            "github",
            "info",
            "run",
            &[("workflow", "Deploy prod"), ("conclusion", "success")],
        );
        assert_eq!(from_raw(&deploy, &ext).unwrap().kind, SignalKind::Deploy);
        let failed = raw(
            "github",
            "error",
            "run",
            &[("workflow", "Deploy"), ("conclusion", "failure")],
        );
        assert!(from_raw(&failed, &ext).is_none());
        let ci = raw(
            "github",
            "info",
            "CI run",
            &[("workflow", "CI"), ("conclusion", "success")],
        );
        assert!(from_raw(&ci, &ext).is_none());
    }
}
