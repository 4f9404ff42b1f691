//! Slack and Discord receivers against local HTTP servers that answer as those services do:
//! payload content, truncation, success and failure classification, waiting out a 429's
//! announced delay, per-receiver send limits and the dedup log.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use cloudsage_runtime::config::{
    DiscordReceiver, NotifierConfig, Secret, SlackReceiver, WebhookReceiver,
};
use cloudsage_runtime::deliver::{Deliverer, DeliveryReport};
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use notifier::Receivers;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static str,
}

fn reply(status: u16, body: &'static str) -> Reply {
    Reply {
        status,
        headers: vec![],
        body,
    }
}

fn with_header(mut r: Reply, name: &'static str, value: &'static str) -> Reply {
    r.headers.push((name, value));
    r
}

/// A receiver that answers its script in order (the last answer repeats) and records each
/// request's JSON body and arrival time.
#[derive(Clone, Default)]
struct Hook {
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<(Instant, Value)>>>,
}

impl Hook {
    /// Starts the server; returns it and its URL, with a path that stands for the secret.
    async fn start(script: Vec<Reply>) -> (Hook, String) {
        let hook = Hook {
            script: Arc::new(Mutex::new(script.into())),
            ..Default::default()
        };
        async fn handle(State(h): State<Hook>, body: Bytes) -> (StatusCode, HeaderMap, String) {
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            h.seen.lock().unwrap().push((Instant::now(), json));
            let r = {
                let mut s = h.script.lock().unwrap();
                if s.len() > 1 {
                    s.pop_front().unwrap()
                } else {
                    s.front().cloned().unwrap()
                }
            };
            let mut headers = HeaderMap::new();
            for (k, v) in r.headers {
                headers.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
            }
            (
                StatusCode::from_u16(r.status).unwrap(),
                headers,
                r.body.to_string(),
            )
        }
        let app = Router::new()
            .route("/services/T0/B0/s3cr3t-token", post(handle))
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hook, format!("http://{addr}/services/T0/B0/s3cr3t-token"))
    }

    fn bodies(&self) -> Vec<Value> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn times(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

fn alert(id: &str) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("project".into(), "shop".into());
    labels.insert("service".into(), "checkout".into());
    labels.insert("top_factors".into(), "error_rate,latency".into());
    labels.insert("forecast".into(), "risk 97 within 1h".into());
    labels.insert("action_1".into(), "Roll back deploy 42".into());
    labels.insert("action_2".into(), "Scale checkout to 4 replicas".into());
    labels.insert("action_3".into(), "Page the checkout owner".into());
    labels.insert(
        "dashboard_url".into(),
        "https://grafana.example/d/risk".into(),
    );
    Alert {
        alert_id: id.into(),
        fingerprint: "fp-checkout".into(),
        project: "shop".into(),
        service: "checkout".into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "shop/checkout risk 93 >= threshold 70: High Error Rate".into(),
        score: 93.4,
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: None,
        window_id: Some("win-1".into()),
        forecast_id: Some("fc-1".into()),
        labels,
    }
}

fn config(retry_for: Duration) -> NotifierConfig {
    NotifierConfig {
        console: false,
        delivery_timeout: Duration::from_secs(5),
        delivery_retry_for: retry_for,
        ..Default::default()
    }
}

fn slack(name: &str, url: &str) -> SlackReceiver {
    SlackReceiver {
        name: name.into(),
        url: Secret::new(url),
        max_per_minute: None,
    }
}

fn discord(name: &str, url: &str) -> DiscordReceiver {
    DiscordReceiver {
        name: name.into(),
        url: Secret::new(url),
        max_per_minute: None,
    }
}

/// The single notification record of a one-receiver delivery.
fn only(report: &DeliveryReport) -> (&str, u32) {
    assert_eq!(report.notifications.len(), 1, "{report:?}");
    let n = &report.notifications[0];
    (n.result.as_str(), n.attempts)
}

fn assert_no_secret(report: &DeliveryReport) {
    let text = format!("{report:?}");
    assert!(!text.contains("s3cr3t"), "secret URL leaked: {text}");
}

fn texts(v: &Value) -> String {
    // Every string in the payload, to look for content regardless of layout details.
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(texts).collect::<Vec<_>>().join("\n"),
        Value::Object(o) => o.values().map(texts).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

#[tokio::test]
async fn slack_ok_delivers_a_block_kit_message() {
    let (hook, url) = Hook::start(vec![reply(200, "ok")]).await;
    let mut c = config(Duration::from_secs(5));
    c.slack = vec![slack("team", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert("s-ok")).await;
    assert_eq!(only(&report), ("delivered", 1));
    assert!(report.permanent_failure.is_none());
    assert_eq!(report.notifications[0].receiver, "team");

    let body = &hook.bodies()[0];
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(
        header.contains("CRITICAL") && header.contains("checkout"),
        "{header}"
    );
    let all = texts(body);
    for want in [
        "*Score*\n93.4",
        "error_rate, latency",
        "risk 97 within 1h",
        "1. Roll back deploy 42",
        "2. Scale checkout to 4 replicas",
        "3. Page the checkout owner",
        "alert `s-ok`",
        "window `win-1`",
        "forecast `fc-1`",
        "<https://grafana.example/d/risk|dashboard>",
        "&gt;= threshold 70",
    ] {
        assert!(all.contains(want), "{want:?} missing from {body:#}");
    }
    assert!(body["text"].as_str().unwrap().contains("High Error Rate"));
}

#[tokio::test]
async fn slack_200_with_an_error_body_is_a_permanent_failure() {
    let (hook, url) = Hook::start(vec![reply(200, "invalid_payload")]).await;
    let mut c = config(Duration::from_secs(5));
    c.slack = vec![slack("team", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert("s-invalid")).await;
    let (result, attempts) = only(&report);
    assert_eq!(attempts, 1);
    assert!(
        result.starts_with("failed:") && result.contains("invalid_payload"),
        "{result}"
    );
    assert!(report
        .permanent_failure
        .unwrap()
        .contains("invalid_payload"));
    assert_eq!(hook.bodies().len(), 1);
}

#[tokio::test]
async fn slack_429_waits_the_announced_delay_then_delivers() {
    let (hook, url) = Hook::start(vec![
        with_header(reply(429, "rate_limited"), "retry-after", "1"),
        reply(200, "ok"),
    ])
    .await;
    let mut c = config(Duration::from_secs(30));
    c.slack = vec![slack("team", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let started = Instant::now();
    let report = r.deliver(&alert("s-429")).await;
    let took = started.elapsed();
    assert_eq!(only(&report), ("delivered", 2));
    let t = hook.times();
    assert!(t[1] - t[0] >= Duration::from_secs(1), "{:?}", t[1] - t[0]);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[tokio::test]
async fn slack_5xx_is_retried_with_backoff_and_given_up_after_the_budget() {
    let (hook, url) = Hook::start(vec![reply(500, "rollup_error")]).await;
    let mut c = config(Duration::from_millis(1700));
    c.slack = vec![slack("team", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let started = Instant::now();
    let report = r.deliver(&alert("s-500")).await;
    let took = started.elapsed();
    let (result, attempts) = only(&report);
    // 200 + 400 + 800 ms of backoff fit in 1.7 s; the next 1.6 s wait does not.
    assert_eq!(attempts, 4, "{result}");
    assert!(
        result.contains("gave up after 4 attempts") && result.contains("HTTP 500"),
        "{result}"
    );
    assert!(report.permanent_failure.is_some());
    assert_eq!(hook.bodies().len(), 4);
    let t = hook.times();
    assert!(t[3] - t[2] >= Duration::from_millis(800));
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_no_secret(&report);
}

#[tokio::test]
async fn discord_204_delivers_a_coloured_embed() {
    let (hook, url) = Hook::start(vec![reply(204, "")]).await;
    let mut c = config(Duration::from_secs(5));
    c.discord = vec![discord("chat", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let mut warning = alert("d-ok");
    warning.severity = Severity::Warning;
    assert_eq!(only(&r.deliver(&warning).await), ("delivered", 1));

    let body = &hook.bodies()[0];
    let embed = &body["embeds"][0];
    assert_eq!(embed["color"], 0xF77F00);
    assert_eq!(embed["title"], "[FIRING] WARNING shop/checkout");
    let fields: BTreeMap<String, String> = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                f["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(fields["Score"], "93.4");
    assert_eq!(fields["Top factors"], "error_rate, latency");
    assert_eq!(fields["Forecast"], "risk 97 within 1h");
    assert_eq!(fields["Action 3"], "Page the checkout owner");
    assert_eq!(fields["dashboard"], "https://grafana.example/d/risk");
    assert!(embed["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("alert d-ok"));
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[tokio::test]
async fn discord_429_waits_the_fractional_retry_after_of_the_body() {
    let (hook, url) = Hook::start(vec![
        reply(
            429,
            r#"{"message": "You are being rate limited.", "retry_after": 0.75, "global": false}"#,
        ),
        reply(204, ""),
    ])
    .await;
    let mut c = config(Duration::from_secs(30));
    c.discord = vec![discord("chat", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let started = Instant::now();
    assert_eq!(
        only(&r.deliver(&alert("d-429-body")).await),
        ("delivered", 2)
    );
    let took = started.elapsed();
    let t = hook.times();
    // Without the body's delay, the first backoff would be only 200 ms.
    assert!(
        t[1] - t[0] >= Duration::from_millis(750),
        "{:?}",
        t[1] - t[0]
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn discord_429_falls_back_to_the_header_when_the_body_is_garbage() {
    let (hook, url) = Hook::start(vec![
        with_header(reply(429, "<html>slow down</html>"), "retry-after", "1"),
        reply(204, ""),
    ])
    .await;
    let mut c = config(Duration::from_secs(30));
    c.discord = vec![discord("chat", &url)];
    let r = Receivers::new(&c, None).unwrap();
    assert_eq!(
        only(&r.deliver(&alert("d-429-header")).await),
        ("delivered", 2)
    );
    let t = hook.times();
    assert!(t[1] - t[0] >= Duration::from_secs(1), "{:?}", t[1] - t[0]);
    assert!(t[1] - t[0] < Duration::from_secs(5));
}

#[tokio::test]
async fn discord_400_is_permanent() {
    let (hook, url) = Hook::start(vec![reply(
        400,
        r#"{"message": "Invalid Form Body", "code": 50035}"#,
    )])
    .await;
    let mut c = config(Duration::from_secs(5));
    c.discord = vec![discord("chat", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let report = r.deliver(&alert("d-400")).await;
    let (result, attempts) = only(&report);
    assert_eq!(attempts, 1);
    assert!(
        result.contains("HTTP 400") && result.contains("50035"),
        "{result}"
    );
    assert!(report.permanent_failure.is_some());
    assert_eq!(hook.bodies().len(), 1);
    assert_no_secret(&report);
}

#[tokio::test]
async fn discord_payload_respects_every_limit() {
    let (hook, url) = Hook::start(vec![reply(204, "")]).await;
    let mut c = config(Duration::from_secs(5));
    c.discord = vec![discord("chat", &url)];
    let r = Receivers::new(&c, None).unwrap();
    let mut huge = alert("d-huge");
    huge.summary = "s".repeat(20_000);
    huge.service = "v".repeat(3_000);
    for i in 1..=3 {
        huge.labels.insert(format!("action_{i}"), "a".repeat(4_000));
    }
    for i in 0..40 {
        huge.labels.insert(
            format!("link{i:02}_url"),
            format!("https://x.example/{}", "p".repeat(1_500)),
        );
    }
    assert_eq!(only(&r.deliver(&huge).await), ("delivered", 1));

    let body = &hook.bodies()[0];
    let n = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    assert!(n(&body["content"]) <= 2000);
    let e = &body["embeds"][0];
    assert!(n(&e["title"]) <= 256);
    assert!(n(&e["description"]) <= 4096);
    let fields = e["fields"].as_array().unwrap();
    assert!(!fields.is_empty() && fields.len() <= 25);
    assert!(fields
        .iter()
        .all(|f| n(&f["name"]) <= 256 && n(&f["value"]) <= 1024));
    let total = n(&e["title"])
        + n(&e["description"])
        + n(&e["footer"]["text"])
        + fields
            .iter()
            .map(|f| n(&f["name"]) + n(&f["value"]))
            .sum::<usize>();
    assert!(total <= 6000, "{total}");
    // The cut is visible, and the most important field survived.
    assert_eq!(e["fields"][0]["name"], "Score");
    assert!(e["fields"][4]["value"].as_str().unwrap().ends_with('…'));
}

#[tokio::test]
async fn already_notified_receivers_are_skipped_for_every_kind() {
    let (s, slack_url) = Hook::start(vec![reply(200, "ok")]).await;
    let (d, discord_url) = Hook::start(vec![reply(204, "")]).await;
    let (w, webhook_url) = Hook::start(vec![reply(200, "")]).await;
    let mut c = config(Duration::from_secs(5));
    c.slack = vec![slack("team", &slack_url)];
    c.discord = vec![discord("chat", &discord_url)];
    c.webhooks = vec![WebhookReceiver {
        name: "ops".into(),
        url: Secret::new(webhook_url),
        max_per_minute: None,
    }];
    let r = Receivers::new(&c, None).unwrap();
    let first = r.deliver(&alert("dedup")).await;
    let receivers: Vec<&str> = first
        .notifications
        .iter()
        .map(|n| n.receiver.as_str())
        .collect();
    assert_eq!(receivers, ["ops", "team", "chat"]);
    assert!(first.notifications.iter().all(|n| n.result == "delivered"));
    let again = r.deliver(&alert("dedup")).await;
    assert!(again.notifications.is_empty(), "{again:?}");
    assert_eq!(
        (s.bodies().len(), d.bodies().len(), w.bodies().len()),
        (1, 1, 1)
    );
    // The Alertmanager payload is unchanged for the generic webhook.
    assert_eq!(w.bodies()[0]["version"], "4");
    assert_eq!(w.bodies()[0]["alerts"][0]["alert_id"], "dedup");
}

#[tokio::test]
async fn max_per_minute_spaces_sends_once_the_burst_is_spent() {
    let (hook, url) = Hook::start(vec![reply(200, "ok")]).await;
    let mut c = config(Duration::from_secs(5));
    let mut s = slack("team", &url);
    // A burst of 60, then one per second.
    s.max_per_minute = Some(60);
    c.slack = vec![s];
    let r = Receivers::new(&c, None).unwrap();
    let started = Instant::now();
    for i in 0..60 {
        assert_eq!(
            only(&r.deliver(&alert(&format!("burst-{i}"))).await).0,
            "delivered"
        );
    }
    let burst = started.elapsed();
    assert!(burst < Duration::from_millis(900), "{burst:?}");
    assert_eq!(only(&r.deliver(&alert("burst-60")).await), ("delivered", 1));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(hook.bodies().len(), 61);
}
