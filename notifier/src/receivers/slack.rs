//! Slack incoming webhooks: a Block Kit message. Slack's verdict is the body: exactly `ok`
//! means posted; it answers other bodies with an error code, sometimes under HTTP 200
//! (<https://api.slack.com/messaging/webhooks#handling_errors>), so the status alone proves
//! nothing.

use super::attempt::Attempt;
use super::http::{error_code, is_transient, network_error, retry_after_header};
use crate::payload::{actions, forecast_summary, ids, links, top_factors, truncate};
use cloudsage_runtime::config::SlackReceiver;
use cloudsage_runtime::rows::{severity_name, status_name};
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Block Kit limits (characters).
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
/// The notification fallback text; Slack truncates longer ones anyway.
const FALLBACK_MAX: usize = 3000;

/// Error codes that are worth retrying; every other non-`ok` body is permanent.
const TRANSIENT_CODES: &[&str] = &["rate_limited", "rollup_error"];

/// Slack's `mrkdwn` gives `&`, `<` and `>` a meaning: escape them in text from logs.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn header(alert: &Alert) -> String {
    let (emoji, word) = match (alert.status, alert.severity) {
        (AlertStatus::Resolved, _) => (":large_green_circle:", "RESOLVED".to_string()),
        (_, Severity::Critical) => (":red_circle:", "CRITICAL".into()),
        (_, Severity::Warning) => (":large_orange_circle:", "WARNING".into()),
        (_, s) => (":large_blue_circle:", severity_name(s).to_uppercase()),
    };
    truncate(
        &format!("{emoji} {word} · {}/{}", alert.project, alert.service),
        HEADER_MAX,
    )
}

fn field(name: &str, value: &str) -> Value {
    json!({ "type": "mrkdwn", "text": truncate(&format!("*{name}*\n{}", escape(value)), FIELD_MAX) })
}

/// The message for one alert.
pub fn message(alert: &Alert) -> Value {
    let factors = top_factors(alert);
    let mut fields = vec![
        field("Score", &format!("{:.1}", alert.score)),
        field("Status", status_name(alert.status)),
        field(
            "Top factors",
            &if factors.is_empty() {
                "—".into()
            } else {
                factors.join(", ")
            },
        ),
    ];
    if let Some(f) = forecast_summary(alert) {
        fields.push(field("Forecast", &f));
    }
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": header(alert), "emoji": true } }),
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(&escape(&alert.summary), SECTION_MAX) } }),
        json!({ "type": "section", "fields": fields }),
    ];
    let actions = actions(alert);
    if !actions.is_empty() {
        let list: Vec<String> = actions
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}. {}", i + 1, escape(a)))
            .collect();
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn",
            "text": truncate(&format!("*Actions*\n{}", list.join("\n")), SECTION_MAX) } }));
    }
    let mut context: Vec<String> = ids(alert)
        .into_iter()
        .map(|(k, v)| format!("{k} `{}`", escape(&v)))
        .collect();
    // Link text and target are escaped too: a `|` or `>` in a label must not end the link.
    context.extend(
        links(alert)
            .into_iter()
            .map(|(k, url)| format!("<{}|{}>", escape(&url).replace('|', "%7C"), escape(&k))),
    );
    blocks.push(json!({ "type": "context", "elements": [
        { "type": "mrkdwn", "text": truncate(&context.join(" · "), SECTION_MAX) }
    ] }));
    json!({
        "text": truncate(&escape(&alert.summary), FALLBACK_MAX),
        "blocks": blocks,
    })
}

/// Slack's answer: delivered only on a 2xx with the body exactly `ok`.
pub fn classify(status: StatusCode, body: &str, retry_after: Option<Duration>) -> Attempt {
    if status.is_success() && body == "ok" {
        return Attempt::Delivered;
    }
    let code = error_code(body, 64);
    let reason = if code.is_empty() {
        format!("Slack answered HTTP {status}")
    } else {
        format!("Slack answered HTTP {status}: {code}")
    };
    if is_transient(status) || TRANSIENT_CODES.contains(&code) {
        Attempt::Transient {
            reason,
            retry_after,
        }
    } else {
        Attempt::Permanent(reason)
    }
}

pub async fn send(http: &reqwest::Client, hook: &SlackReceiver, alert: &Alert) -> Attempt {
    let resp = match http
        .post(hook.url.expose())
        .json(&message(alert))
        .send()
        .await
    {
        Err(e) => return network_error(&e),
        Ok(resp) => resp,
    };
    let status = resp.status();
    let retry_after = retry_after_header(resp.headers());
    match resp.text().await {
        Ok(body) => classify(status, &body, retry_after),
        Err(e) => network_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::sample_alert;

    #[test]
    fn blocks_carry_header_score_factors_forecast_actions_and_ids() {
        let m = message(&sample_alert());
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(
            blocks[0]["text"]["text"],
            ":red_circle: CRITICAL · shop/checkout"
        );
        // `≥` passes, but mrkdwn's specials are escaped.
        assert_eq!(
            blocks[1]["text"]["text"],
            "shop/checkout risk 93 ≥ threshold 70"
        );
        let fields: Vec<&str> = blocks[2]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "*Score*\n93.3",
                "*Status*\nfiring",
                "*Top factors*\nerror_rate, latency",
                "*Forecast*\nforecast fc1"
            ]
        );
        assert_eq!(
            blocks[3]["text"]["text"],
            "*Actions*\n1. Roll back the last deploy\n2. Page the owner"
        );
        assert_eq!(
            blocks[4]["elements"][0]["text"],
            "alert `a1` · fingerprint `f1` · window `w1` · forecast `fc1` · <https://grafana.example/d/1|dashboard>"
        );
    }

    #[test]
    fn text_from_logs_is_escaped_and_cut_to_block_limits() {
        let mut a = sample_alert();
        a.summary = format!("<!channel> & {}", "x".repeat(5000));
        a.service = "s".repeat(300);
        a.status = AlertStatus::Resolved;
        let m = message(&a);
        let header = m["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(header.starts_with(":large_green_circle: RESOLVED"));
        assert_eq!(header.chars().count(), HEADER_MAX);
        let summary = m["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(
            summary.starts_with("&lt;!channel&gt; &amp; xxx"),
            "{summary}"
        );
        assert_eq!(summary.chars().count(), SECTION_MAX);
    }

    #[test]
    fn only_ok_is_delivered() {
        let ok = StatusCode::OK;
        assert_eq!(classify(ok, "ok", None), Attempt::Delivered);
        assert!(matches!(classify(ok, "ok\n", None), Attempt::Permanent(_)));
        assert_eq!(
            classify(ok, "invalid_payload", None),
            Attempt::Permanent("Slack answered HTTP 200 OK: invalid_payload".into())
        );
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, "channel_not_found", None),
            Attempt::Permanent(_)
        ));
    }

    #[test]
    fn rate_limits_and_server_errors_are_transient() {
        let ra = Some(Duration::from_secs(3));
        assert_eq!(
            classify(StatusCode::OK, "rate_limited", ra),
            Attempt::Transient {
                reason: "Slack answered HTTP 200 OK: rate_limited".into(),
                retry_after: ra
            }
        );
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, "", ra),
            Attempt::Transient { retry_after, .. } if retry_after == ra
        ));
        assert!(matches!(
            classify(StatusCode::INTERNAL_SERVER_ERROR, "rollup_error", None),
            Attempt::Transient { .. }
        ));
    }
}
