//! Discord webhooks: one embed per alert, coloured by severity, cut to Discord's limits
//! (<https://discord.com/developers/docs/resources/message#embed-object-embed-limits>);
//! success is any 2xx (204 by default). A 429 announces its delay as `retry_after` in the
//! JSON body (seconds, fractional) and as the `Retry-After` header.

use super::attempt::Attempt;
use super::http::{classify_status, network_error, retry_after_header, seconds};
use crate::payload::{
    actions, forecast_summary, ids, links, rfc3339, title, top_factors, truncate,
};
use cloudsage_runtime::config::DiscordReceiver;
use cloudsage_runtime::rows::status_name;
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub const CONTENT_MAX: usize = 2000;
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FIELDS_MAX: usize = 25;
pub const FOOTER_MAX: usize = 2048;
/// Title, description, field names and values and footer text together.
pub const EMBED_TOTAL_MAX: usize = 6000;

/// Embed colour (RGB): red critical, orange warning, blue info, green resolved.
pub fn colour(alert: &Alert) -> u32 {
    match (alert.status, alert.severity) {
        (AlertStatus::Resolved, _) => 0x2E_B6_7D,
        (_, Severity::Critical) => 0xD6_28_28,
        (_, Severity::Warning) => 0xF7_7F_00,
        (_, Severity::Info) => 0x36_6F_D9,
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `(name, value)` pairs, each cut to the field limits; empty values are left out (Discord
/// rejects them).
fn fields(alert: &Alert) -> Vec<(String, String)> {
    let mut f = vec![
        ("Score".to_string(), format!("{:.1}", alert.score)),
        ("Status".into(), status_name(alert.status).into()),
        ("Top factors".into(), top_factors(alert).join(", ")),
        (
            "Forecast".into(),
            forecast_summary(alert).unwrap_or_default(),
        ),
    ];
    f.extend(
        actions(alert)
            .into_iter()
            .enumerate()
            .map(|(i, a)| (format!("Action {}", i + 1), a)),
    );
    f.extend(links(alert));
    f.into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(n, v)| (truncate(&n, FIELD_NAME_MAX), truncate(&v, FIELD_VALUE_MAX)))
        .take(FIELDS_MAX)
        .collect()
}

/// The message for one alert.
pub fn message(alert: &Alert) -> Value {
    let title = truncate(&title(alert), TITLE_MAX);
    let footer = truncate(
        &ids(alert)
            .into_iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · "),
        FOOTER_MAX,
    );
    let mut fields = fields(alert);
    // The 6000 total: drop trailing fields first if even they do not fit, then give the
    // description what is left.
    let fixed = chars(&title) + chars(&footer);
    let field_chars =
        |f: &[(String, String)]| f.iter().map(|(n, v)| chars(n) + chars(v)).sum::<usize>();
    let mut used: usize = fixed + field_chars(&fields);
    while used > EMBED_TOTAL_MAX && fields.pop().is_some() {
        used = fixed + field_chars(&fields);
    }
    let room = EMBED_TOTAL_MAX.saturating_sub(used).min(DESCRIPTION_MAX);
    let description = truncate(&alert.summary, room);
    json!({
        "content": truncate(&format!("**{title}**"), CONTENT_MAX),
        // Text from logs must never ping @everyone or anyone else.
        "allowed_mentions": { "parse": [] },
        "embeds": [{
            "title": title,
            "description": description,
            "color": colour(alert),
            "timestamp": rfc3339(alert.starts_at_ms),
            "fields": fields.into_iter().map(|(name, value)| json!({
                "name": name, "value": value, "inline": chars(&value) <= 40,
            })).collect::<Vec<_>>(),
            "footer": { "text": footer },
        }],
    })
}

/// The delay a 429 announces: the larger of the body's `retry_after` (a number, or a
/// numeric string) and the header, either of which may be missing or garbage.
pub fn retry_after(body: &str, header: Option<Duration>) -> Option<Duration> {
    let from_body = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| match &v["retry_after"] {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .and_then(seconds);
    from_body.max(header)
}

pub fn classify(status: StatusCode, body: &str, header: Option<Duration>) -> Attempt {
    match classify_status(status, retry_after(body, header)) {
        // Discord's 4xx bodies are JSON (`{"message": …, "code": 50035}`): keep the number,
        // which identifies the error without echoing our payload.
        Attempt::Permanent(reason) => {
            let code = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["code"].as_i64());
            Attempt::Permanent(match code {
                Some(c) => format!("Discord answered {reason} (code {c})"),
                None => format!("Discord answered {reason}"),
            })
        }
        Attempt::Transient {
            reason,
            retry_after,
        } => Attempt::Transient {
            reason: format!("Discord answered {reason}"),
            retry_after,
        },
        Attempt::Delivered => Attempt::Delivered,
    }
}

pub async fn send(http: &reqwest::Client, hook: &DiscordReceiver, alert: &Alert) -> Attempt {
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
    let header = retry_after_header(resp.headers());
    if status.is_success() {
        return Attempt::Delivered;
    }
    match resp.text().await {
        Ok(body) => classify(status, &body, header),
        // The status already decided; only the body's delay is lost.
        Err(_) => classify(status, "", header),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::sample_alert;

    fn embed_total(e: &Value) -> usize {
        let s = |v: &Value| v.as_str().map_or(0, chars);
        s(&e["title"])
            + s(&e["description"])
            + s(&e["footer"]["text"])
            + e["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| s(&f["name"]) + s(&f["value"]))
                .sum::<usize>()
    }

    #[test]
    fn embed_carries_the_alert() {
        let m = message(&sample_alert());
        assert_eq!(m["content"], "**[FIRING] CRITICAL shop/checkout**");
        let e = &m["embeds"][0];
        assert_eq!(e["color"], 0xD62828);
        assert_eq!(e["description"], "shop/checkout risk 93 ≥ threshold 70");
        assert_eq!(e["timestamp"], "2023-11-14T22:13:20.000Z");
        let names: Vec<&str> = e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Score",
                "Status",
                "Top factors",
                "Forecast",
                "Action 1",
                "Action 2",
                "dashboard"
            ]
        );
        assert_eq!(e["fields"][0]["value"], "93.3");
        assert_eq!(
            e["footer"]["text"],
            "alert a1 · fingerprint f1 · window w1 · forecast fc1"
        );
        assert_eq!(m["allowed_mentions"]["parse"], json!([]));
    }

    #[test]
    fn colour_follows_severity_and_resolution() {
        let mut a = sample_alert();
        a.severity = Severity::Warning;
        assert_eq!(colour(&a), 0xF77F00);
        a.status = AlertStatus::Resolved;
        assert_eq!(colour(&a), 0x2EB67D);
    }

    #[test]
    fn every_limit_holds_for_huge_alerts() {
        let mut a = sample_alert();
        a.summary = "d".repeat(10_000);
        a.project = "p".repeat(3000);
        for i in 1..=3 {
            a.labels.insert(format!("action_{i}"), "a".repeat(5000));
        }
        for i in 0..40 {
            a.labels.insert(
                format!("l{i:02}_url"),
                format!("https://x/{}", "u".repeat(2000)),
            );
        }
        let m = message(&a);
        let content = m["content"].as_str().unwrap();
        assert!(content.starts_with("**[FIRING]") && chars(content) <= CONTENT_MAX);
        let e = &m["embeds"][0];
        assert_eq!(chars(e["title"].as_str().unwrap()), TITLE_MAX);
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= FIELDS_MAX);
        assert!(fields
            .iter()
            .all(|f| chars(f["value"].as_str().unwrap()) <= FIELD_VALUE_MAX));
        assert!(embed_total(e) <= EMBED_TOTAL_MAX, "{}", embed_total(e));
        // The score comes first and survives the cut.
        assert_eq!(fields[0]["name"], "Score");
    }

    #[test]
    fn long_description_gets_the_room_the_fields_leave() {
        let mut a = sample_alert();
        a.summary = "d".repeat(10_000);
        let e = message(&a)["embeds"][0].clone();
        let d = chars(e["description"].as_str().unwrap());
        assert_eq!(d, DESCRIPTION_MAX);
        assert!(embed_total(&e) <= EMBED_TOTAL_MAX);
    }

    #[test]
    fn retry_after_from_body_or_header_defensively() {
        let h = Some(Duration::from_secs(1));
        let ms = Duration::from_millis;
        assert_eq!(retry_after(r#"{"retry_after": 0.35}"#, None), Some(ms(350)));
        assert_eq!(retry_after(r#"{"retry_after": 2.5}"#, h), Some(ms(2500)));
        assert_eq!(retry_after(r#"{"retry_after": 0.35}"#, h), h);
        assert_eq!(
            retry_after(r#"{"retry_after": "0.5"}"#, None),
            Some(ms(500))
        );
        assert_eq!(retry_after(r#"{"retry_after": -3}"#, None), None);
        assert_eq!(
            retry_after(r#"{"retry_after": 1e12}"#, None).map(|d| d.as_secs()),
            Some(300)
        );
        assert_eq!(retry_after("<html>", h), h);
        assert_eq!(retry_after(r#"{"retry_after": null}"#, None), None);
    }

    #[test]
    fn answers_classify() {
        assert_eq!(
            classify(StatusCode::NO_CONTENT, "", None),
            Attempt::Delivered
        );
        assert_eq!(
            classify(
                StatusCode::BAD_REQUEST,
                r#"{"message": "Invalid Form Body", "code": 50035}"#,
                None
            ),
            Attempt::Permanent("Discord answered HTTP 400 Bad Request (code 50035)".into())
        );
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, r#"{"retry_after": 0.5, "global": false}"#, None),
            Attempt::Transient { retry_after: Some(d), .. } if d == Duration::from_millis(500)
        ));
    }
}
