//! What every receiver says about an alert: the generic webhook body, compatible with
//! Prometheus Alertmanager's webhook payload (version 4), so tools that already consume
//! Alertmanager can consume CloudSage; and the facts the chat and email renderings share.

use cloudsage_runtime::rows::{severity_name, status_name};
use cloudsage_schemas::Alert;
use serde_json::{json, Value};

/// RFC 3339 UTC with milliseconds, as Alertmanager writes times.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

/// The webhook body for one alert sent to `receiver`.
pub fn webhook_body(alert: &Alert, receiver: &str) -> Value {
    let status = status_name(alert.status);
    let mut labels = alert.labels.clone();
    labels.insert("alertname".into(), alert.rule.clone());
    labels.insert("severity".into(), severity_name(alert.severity).into());
    let group_key = format!("{{}}:{{fingerprint=\"{}\"}}", alert.fingerprint);
    json!({
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": { "alertname": alert.rule },
        "commonLabels": labels,
        "commonAnnotations": { "summary": alert.summary },
        "externalURL": "",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {
                "summary": alert.summary,
                "score": format!("{:.1}", alert.score),
                "window_id": alert.window_id.clone().unwrap_or_default(),
                "forecast_id": alert.forecast_id.clone().unwrap_or_default(),
            },
            "startsAt": rfc3339(alert.starts_at_ms),
            "endsAt": alert.ends_at_ms.map(rfc3339).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            "generatorURL": "",
            "fingerprint": alert.fingerprint,
            "alert_id": alert.alert_id,
        }],
    })
}

/// Label keys the chat and email renderings read, when the alert carries them.
pub const FACTORS_LABEL: &str = "top_factors";
pub const FACTOR_LABEL: &str = "top_factor";
pub const FORECAST_LABEL: &str = "forecast";
/// `action_1`, `action_2`, `action_3`: the proposed actions, most urgent first.
pub const ACTION_LABEL_PREFIX: &str = "action_";
/// Labels whose key ends with this are rendered as links (e.g. `dashboard_url`).
pub const LINK_LABEL_SUFFIX: &str = "_url";

/// One line title: `[FIRING] CRITICAL shop/checkout`.
pub fn title(alert: &Alert) -> String {
    format!(
        "[{}] {} {}/{}",
        status_name(alert.status).to_uppercase(),
        severity_name(alert.severity).to_uppercase(),
        alert.project,
        alert.service
    )
}

/// The factors that drove the score, most important first (`top_factors`, comma-separated,
/// else the single `top_factor`).
pub fn top_factors(alert: &Alert) -> Vec<String> {
    let raw = alert
        .labels
        .get(FACTORS_LABEL)
        .or_else(|| alert.labels.get(FACTOR_LABEL));
    raw.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// The forecast in one line: the `forecast` label, else the forecast id, else nothing.
pub fn forecast_summary(alert: &Alert) -> Option<String> {
    alert.labels.get(FORECAST_LABEL).cloned().or_else(|| {
        alert
            .forecast_id
            .as_ref()
            .map(|id| format!("forecast {id}"))
    })
}

/// The proposed actions (`action_1` … `action_3`), in order; missing ones are skipped.
pub fn actions(alert: &Alert) -> Vec<String> {
    (1..=3)
        .filter_map(|i| alert.labels.get(&format!("{ACTION_LABEL_PREFIX}{i}")))
        .filter(|a| !a.trim().is_empty())
        .cloned()
        .collect()
}

/// `(label, url)` pairs from labels ending in `_url` whose value is an http(s) URL.
pub fn links(alert: &Alert) -> Vec<(String, String)> {
    alert
        .labels
        .iter()
        .filter(|(k, v)| {
            k.ends_with(LINK_LABEL_SUFFIX)
                && (v.starts_with("https://") || v.starts_with("http://"))
        })
        .map(|(k, v)| {
            (
                k.trim_end_matches(LINK_LABEL_SUFFIX).replace('_', " "),
                v.clone(),
            )
        })
        .collect()
}

/// The record's identifiers, for people who look the alert up in ClickHouse or Grafana.
pub fn ids(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut ids = vec![
        ("alert", alert.alert_id.clone()),
        ("fingerprint", alert.fingerprint.clone()),
    ];
    if let Some(w) = &alert.window_id {
        ids.push(("window", w.clone()));
    }
    if let Some(f) = &alert.forecast_id {
        ids.push(("forecast", f.clone()));
    }
    ids
}

/// At most `max` characters of `s`, ending in `…` when cut (the limits of chat APIs count
/// characters, not bytes).
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
pub(crate) fn sample_alert() -> Alert {
    use cloudsage_schemas::{AlertStatus, Severity};
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("project".into(), "shop".into());
    labels.insert("service".into(), "checkout".into());
    labels.insert(FACTORS_LABEL.into(), "error_rate, latency".into());
    labels.insert("action_1".into(), "Roll back the last deploy".into());
    labels.insert("action_3".into(), "Page the owner".into());
    labels.insert("dashboard_url".into(), "https://grafana.example/d/1".into());
    labels.insert("note_url".into(), "not a link".into());
    Alert {
        alert_id: "a1".into(),
        fingerprint: "f1".into(),
        project: "shop".into(),
        service: "checkout".into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "shop/checkout risk 93 ≥ threshold 70".into(),
        score: 93.26,
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: None,
        window_id: Some("w1".into()),
        forecast_id: Some("fc1".into()),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_facts_come_from_the_record() {
        let a = sample_alert();
        assert_eq!(title(&a), "[FIRING] CRITICAL shop/checkout");
        assert_eq!(top_factors(&a), ["error_rate", "latency"]);
        assert_eq!(actions(&a), ["Roll back the last deploy", "Page the owner"]);
        assert_eq!(forecast_summary(&a).as_deref(), Some("forecast fc1"));
        assert_eq!(
            links(&a),
            [(
                "dashboard".to_string(),
                "https://grafana.example/d/1".to_string()
            )]
        );
        assert_eq!(ids(&a).len(), 4);
    }

    #[test]
    fn single_top_factor_label_and_no_forecast() {
        let mut a = sample_alert();
        a.labels.remove(FACTORS_LABEL);
        a.labels.insert(FACTOR_LABEL.into(), "error_rate".into());
        a.labels
            .insert(FORECAST_LABEL.into(), "risk 97 in 1h".into());
        assert_eq!(top_factors(&a), ["error_rate"]);
        assert_eq!(forecast_summary(&a).as_deref(), Some("risk 97 in 1h"));
        a.labels.remove(FORECAST_LABEL);
        a.forecast_id = None;
        assert_eq!(forecast_summary(&a), None);
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo", 4), "hél…");
        assert_eq!(truncate("ééé", 1), "…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
