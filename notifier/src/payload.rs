//! The generic webhook body, compatible with Prometheus Alertmanager's webhook payload
//! (version 4), so tools that already consume Alertmanager can consume CloudSage.

use cloudsage_runtime::rows::{severity_name, status_name};
use cloudsage_schemas::Alert;
use serde_json::{json, Value};

fn rfc3339(ms: i64) -> String {
    // Alertmanager uses RFC 3339; "0001-01-01T00:00:00Z" means "not ended".
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, UTC).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
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
