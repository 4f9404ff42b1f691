//! Sentry issue alerts: the integration platform's `event_alert` webhook (an internal
//! integration added as an alert rule action; `{"action": "triggered", "data": {"event": {…},
//! "triggered_rule": "…"}}`). The legacy "WebHooks" plugin payload (`{"project_slug", "level",
//! "message", "event": {…}}`) is read the same way.
//!
//! `line` is the event's `title` (and its `message`, when different); `fields["level"]` is the
//! event's `level` (`fatal`, `error`, `warn`, `info`, `debug`); the service is the event's
//! `service` tag, else the legacy payload's `project_slug`.

use super::{record, text, time_ms, title_and_message, Outcome};
use cloudsage_schemas::RawDefaults;
use serde_json::Value;

pub fn normalize(payload: &Value, defaults: &RawDefaults) -> Result<Outcome, String> {
    let event = payload
        .pointer("/data/event")
        .or_else(|| payload.get("event"))
        .filter(|e| e.is_object())
        .ok_or("not a Sentry issue alert (no `data.event`): add the integration as an action of an issue alert rule")?;
    let title = text(event, "/title").or_else(|| text(payload, "/message"));
    let message = text(event, "/message").or_else(|| text(event, "/logentry/formatted"));
    let line =
        title_and_message(title, message).ok_or("Sentry event without `title` or `message`")?;
    let level = match text(event, "/level")
        .or_else(|| text(payload, "/level"))
        .unwrap_or_else(|| "error".into())
        .to_ascii_lowercase()
        .as_str()
    {
        "fatal" => "fatal",
        "warning" | "warn" => "warn",
        "info" => "info",
        "debug" => "debug",
        _ => "error",
    };
    let service = tag(event, "service").or_else(|| text(payload, "/project_slug"));
    let time = time_ms(event.get("datetime")).or_else(|| time_ms(event.get("timestamp")));
    Ok(Outcome::Records(vec![record(
        defaults,
        service,
        level,
        line,
        time,
        [
            (
                "issue_id",
                text(event, "/issue_id").or_else(|| text(payload, "/id")),
            ),
            ("event_id", text(event, "/event_id")),
            (
                "url",
                text(event, "/web_url").or_else(|| text(payload, "/url")),
            ),
            ("rule", text(payload, "/data/triggered_rule")),
            (
                "culprit",
                text(event, "/culprit").or_else(|| text(payload, "/culprit")),
            ),
            (
                "environment",
                text(event, "/environment").or_else(|| tag(event, "environment")),
            ),
            ("release", tag(event, "release")),
            ("platform", text(event, "/platform")),
        ],
    )]))
}

/// A tag's value; Sentry sends tags as `[["key", "value"], …]` (or `{"key": …, "value": …}`).
fn tag(event: &Value, key: &str) -> Option<String> {
    event.get("tags")?.as_array()?.iter().find_map(|t| {
        let (k, v) = match t {
            Value::Array(kv) => (kv.first()?.as_str()?, kv.get(1)?.as_str()?),
            Value::Object(_) => (t.get("key")?.as_str()?, t.get("value")?.as_str()?),
            _ => return None,
        };
        (k == key && !v.is_empty()).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::tests::defaults;
    use serde_json::json;

    /// Modelled on the `event_alert` example of Sentry's integration platform docs.
    pub(crate) fn issue_alert() -> Value {
        json!({
            "action": "triggered",
            "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
            "data": {
                "event": {
                    "_ref": 1,
                    "_ref_version": 2,
                    "contexts": {
                        "browser": {"name": "Chrome", "type": "browser", "version": "75.0.3770"},
                        "os": {"name": "Mac OS X", "type": "os", "version": "10.14.0"}
                    },
                    "culprit": "app/checkout/views.py in submit_order",
                    "datetime": "2024-05-01T10:00:00.250000Z",
                    "environment": "production",
                    "event_id": "e4874d664c3540c1a32eab185f12c5ab",
                    "exception": {"values": [{
                        "type": "ConnectionError",
                        "value": "could not connect to payments-db:5432",
                        "stacktrace": {"frames": [{"filename": "app/checkout/views.py", "function": "submit_order", "lineno": 88}]}
                    }]},
                    "fingerprint": ["{{ default }}"],
                    "issue_id": "1117540176",
                    "issue_url": "https://sentry.io/api/0/issues/1117540176/",
                    "level": "error",
                    "location": "app/checkout/views.py",
                    "message": "",
                    "metadata": {"type": "ConnectionError", "value": "could not connect to payments-db:5432"},
                    "platform": "python",
                    "project": 1,
                    "release": "checkout@1.4.2",
                    "tags": [
                        ["environment", "production"],
                        ["level", "error"],
                        ["release", "checkout@1.4.2"],
                        ["service", "checkout"]
                    ],
                    "timestamp": 1714557600.25,
                    "title": "ConnectionError: could not connect to payments-db:5432",
                    "type": "error",
                    "url": "https://sentry.io/api/0/projects/shop/checkout/events/e4874d664c3540c1a32eab185f12c5ab/",
                    "web_url": "https://sentry.io/organizations/shop/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
                },
                "triggered_rule": "Send a notification for new issues",
                "issue_alert": {"title": "Send a notification for new issues", "settings": []}
            },
            "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}
        })
    }

    #[test]
    fn an_issue_alert_is_an_error_of_the_tagged_service() {
        let Outcome::Records(r) = normalize(&issue_alert(), &defaults()).unwrap() else {
            panic!()
        };
        let r = &r[0];
        assert_eq!(r.service, "checkout");
        assert_eq!(r.fields["level"], "error");
        assert_eq!(
            r.line.as_deref(),
            Some("ConnectionError: could not connect to payments-db:5432")
        );
        assert_eq!(r.event_time_ms, Some(1_714_557_600_250));
        assert_eq!(r.fields["issue_id"], "1117540176");
        assert_eq!(r.fields["rule"], "Send a notification for new issues");
        assert_eq!(r.fields["release"], "checkout@1.4.2");
    }

    #[test]
    fn levels_and_legacy_plugin_payloads() {
        let mut p = issue_alert();
        p["data"]["event"]["level"] = json!("warning");
        let Outcome::Records(r) = normalize(&p, &defaults()).unwrap() else {
            panic!()
        };
        assert_eq!(r[0].fields["level"], "warn");
        let legacy = json!({
            "id": "27379932", "project": "checkout", "project_name": "Checkout",
            "project_slug": "checkout-api", "culprit": "raven.scripts.runner in main",
            "level": "fatal", "message": "This is an example Python exception",
            "url": "https://sentry.io/shop/checkout-api/issues/27379932/",
            "event": {"event_id": "b5f3f4a0", "timestamp": 1714557600.0}
        });
        let Outcome::Records(r) = normalize(&legacy, &defaults()).unwrap() else {
            panic!()
        };
        assert_eq!(r[0].service, "checkout-api");
        assert_eq!(r[0].fields["level"], "fatal");
        assert_eq!(
            r[0].line.as_deref(),
            Some("This is an example Python exception")
        );
    }

    #[test]
    fn payloads_without_an_event_are_rejected() {
        assert!(normalize(&json!({"action": "triggered"}), &defaults()).is_err());
        assert!(normalize(&json!({"data": {"event": {}}}), &defaults()).is_err());
    }
}
