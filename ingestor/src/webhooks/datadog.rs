//! Datadog monitor notifications (Webhooks integration). Datadog sends the JSON payload the
//! webhook is configured with; CloudSage reads these keys (use this payload template):
//!
//! ```json
//! {
//!   "id": "$ID", "title": "$EVENT_TITLE", "body": "$EVENT_MSG", "event_type": "$EVENT_TYPE",
//!   "date": "$DATE", "last_updated": "$LAST_UPDATED", "alert_id": "$ALERT_ID",
//!   "alert_type": "$ALERT_TYPE", "alert_transition": "$ALERT_TRANSITION",
//!   "alert_metric": "$ALERT_METRIC", "priority": "$PRIORITY", "hostname": "$HOSTNAME",
//!   "tags": "$TAGS", "link": "$LINK", "org": {"id": "$ORG_ID", "name": "$ORG_NAME"}
//! }
//! ```
//!
//! The severity comes from `alert_transition` (`Triggered`/`Re-Triggered` → error, `Warn`,
//! `No Data` → warn, `Recovered` → info), else from `alert_type` (`error`, `warning`,
//! `success`/`info`). The service is the `service:<name>` tag. The time is `last_updated`, else
//! `date` (epoch milliseconds).

use super::{record, text, time_ms, title_and_message, Outcome};
use cloudsage_schemas::RawDefaults;
use serde_json::Value;

pub fn normalize(payload: &Value, defaults: &RawDefaults) -> Result<Outcome, String> {
    if !payload.is_object() {
        return Err("Datadog payload is not a JSON object".into());
    }
    let line = title_and_message(text(payload, "/title"), text(payload, "/body")).ok_or(
        "Datadog payload has neither `title` nor `body`: set the webhook payload to include \"title\": \"$EVENT_TITLE\" and \"body\": \"$EVENT_MSG\"",
    )?;
    let tags = tags(payload.get("tags"));
    let service = tags
        .iter()
        .find_map(|t| t.strip_prefix("service:"))
        .map(str::to_string);
    let transition = text(payload, "/alert_transition");
    let alert_type = text(payload, "/alert_type");
    let level = level(transition.as_deref(), alert_type.as_deref());
    let time = time_ms(payload.get("last_updated")).or_else(|| time_ms(payload.get("date")));
    Ok(Outcome::Records(vec![record(
        defaults,
        service,
        level,
        line,
        time,
        [
            ("alert_id", text(payload, "/alert_id")),
            ("alert_transition", transition),
            ("alert_type", alert_type),
            ("alert_metric", text(payload, "/alert_metric")),
            ("event_id", text(payload, "/id")),
            ("host", text(payload, "/hostname")),
            ("priority", text(payload, "/priority")),
            ("url", text(payload, "/link")),
            ("tags", (!tags.is_empty()).then(|| tags.join(","))),
        ],
    )]))
}

fn level(transition: Option<&str>, alert_type: Option<&str>) -> &'static str {
    let transition = transition.unwrap_or("").to_ascii_lowercase();
    match transition.trim_start_matches("re-") {
        "triggered" => return "error",
        "warn" | "no data" => return "warn",
        "recovered" => return "info",
        _ => {}
    }
    match alert_type.unwrap_or("").to_ascii_lowercase().as_str() {
        "error" => "error",
        "warning" => "warn",
        _ => "info",
    }
}

/// `$TAGS` is a comma-separated string; a custom payload may send an array.
fn tags(v: Option<&Value>) -> Vec<String> {
    let items: Vec<String> = match v {
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    };
    items
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::tests::defaults;
    use serde_json::json;

    /// The template above, as Datadog fills it for a metric monitor.
    fn triggered() -> Value {
        json!({
            "id": "7180963436347467812",
            "title": "[Triggered] High CPU on checkout",
            "body": "%%%\nCPU usage is above 90% on host:web-1\n\n@webhook-cloudsage\n\n[![Metric Graph](https://p.datadoghq.com/snapshot/view/x.png)](https://app.datadoghq.com/monitors/12345)\n%%%",
            "event_type": "query_alert_monitor",
            "date": "1714557600000",
            "last_updated": "1714557660000",
            "alert_id": "12345",
            "alert_type": "error",
            "alert_transition": "Triggered",
            "alert_metric": "system.cpu.user",
            "priority": "normal",
            "hostname": "web-1",
            "tags": "env:prod,service:checkout,team:payments",
            "link": "https://app.datadoghq.com/event/event?id=7180963436347467812",
            "org": {"id": "123456", "name": "Shop Inc"}
        })
    }

    #[test]
    fn a_triggered_monitor_is_an_error_of_its_service() {
        let Outcome::Records(r) = normalize(&triggered(), &defaults()).unwrap() else {
            panic!()
        };
        let r = &r[0];
        assert_eq!(r.service, "checkout");
        assert_eq!(r.fields["level"], "error");
        assert!(r
            .line
            .as_deref()
            .unwrap()
            .starts_with("[Triggered] High CPU on checkout: %%%"));
        assert_eq!(r.event_time_ms, Some(1_714_557_660_000));
        assert_eq!(r.fields["alert_id"], "12345");
        assert_eq!(r.fields["host"], "web-1");
        assert_eq!(r.fields["tags"], "env:prod,service:checkout,team:payments");
    }

    #[test]
    fn recovered_warn_and_alert_type_fallback() {
        let mut p = triggered();
        for (transition, alert_type, level) in [
            ("Recovered", "success", "info"),
            ("Warn", "warning", "warn"),
            ("Re-Triggered", "error", "error"),
            ("", "warning", "warn"),
            ("", "info", "info"),
        ] {
            p["alert_transition"] = json!(transition);
            p["alert_type"] = json!(alert_type);
            let Outcome::Records(r) = normalize(&p, &defaults()).unwrap() else {
                panic!()
            };
            assert_eq!(r[0].fields["level"], level, "{transition} {alert_type}");
        }
    }

    #[test]
    fn payloads_without_title_or_body_are_rejected() {
        assert!(normalize(&json!({"alert_type": "error"}), &defaults()).is_err());
        assert!(normalize(&json!([1]), &defaults()).is_err());
        let Outcome::Records(r) = normalize(&json!({"title": "t"}), &defaults()).unwrap() else {
            panic!()
        };
        assert_eq!(r[0].service, "default");
        assert_eq!(r[0].fields["level"], "info");
    }
}
