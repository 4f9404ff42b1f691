//! The generic webhook body, compatible with Prometheus Alertmanager's webhook payload
//! (version 4), so tools that already consume Alertmanager can consume CloudSage.

use cloudsage_runtime::rows::{severity_name, status_name};
use cloudsage_schemas::Alert;
use serde_json::{json, Value};

/// RFC 3339 UTC with milliseconds, as Alertmanager writes times.
fn rfc3339(ms: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
