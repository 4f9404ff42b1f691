//! A webhook receiver that is down for a minute (HTTP 500), then rate-limits once (429 with
//! `Retry-After: 3`), then recovers (200). The notifier's receivers, with the default
//! `delivery_retry_for` (120 s: long enough to ride out a one-minute outage plus the
//! longest backoff step of 10 s and the announced delay), must keep retrying through the
//! outage, wait at least the announced delay after the 429, and deliver every notification
//! exactly once.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use axum::Router;
use cloudsage_runtime::config::{NotifierConfig, Secret, WebhookReceiver};
use cloudsage_runtime::deliver::Deliverer;
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use notifier::Receivers;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the receiver answers 500 ("for a minute").
const OUTAGE: Duration = Duration::from_secs(60);
/// The delay the receiver announces with its one 429 per notification.
const RETRY_AFTER_SECS: u64 = 3;
/// The longest exponential backoff step between attempts (receivers/attempt.rs).
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const ALERTS: [&str; 3] = ["recovery-a", "recovery-b", "recovery-c"];

/// What the receiver answered, to whom and when.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    alert_id: String,
    status: u16,
}

#[derive(Clone)]
struct FlakyHook {
    up_at: Instant,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FlakyHook {
    async fn start() -> (FlakyHook, String) {
        let hook = FlakyHook {
            up_at: Instant::now() + OUTAGE,
            seen: Arc::default(),
        };
        async fn handle(State(h): State<FlakyHook>, body: Bytes) -> (StatusCode, HeaderMap) {
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let alert_id = json["alerts"][0]["alert_id"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            let now = Instant::now();
            let mut seen = h.seen.lock().unwrap();
            let rate_limited_before = seen
                .iter()
                .any(|s| s.alert_id == alert_id && s.status == 429);
            let mut headers = HeaderMap::new();
            let status = if now < h.up_at {
                StatusCode::INTERNAL_SERVER_ERROR
            } else if !rate_limited_before {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::OK
            };
            seen.push(Seen {
                at: now,
                alert_id,
                status: status.as_u16(),
            });
            (status, headers)
        }
        let app = Router::new()
            .route("/hook", post(handle))
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hook, format!("http://{addr}/hook"))
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn alert(id: &str) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("project".into(), "shop".into());
    labels.insert("service".into(), "checkout".into());
    Alert {
        alert_id: id.into(),
        fingerprint: format!("fp-{id}"),
        project: "shop".into(),
        service: "checkout".into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "shop/checkout risk 93 >= threshold 70".into(),
        score: 93.0,
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: None,
        window_id: Some("win-1".into()),
        forecast_id: None,
        labels,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_down_for_a_minute_then_rate_limiting_gets_each_alert_once() {
    let defaults = NotifierConfig::default();
    // The default must outlast the outage; the test runs with it, so it checks the default.
    let needed = OUTAGE + MAX_BACKOFF + Duration::from_secs(RETRY_AFTER_SECS);
    assert!(
        defaults.delivery_retry_for >= needed,
        "delivery_retry_for {:?} gives up during a {OUTAGE:?} outage (needs {needed:?})",
        defaults.delivery_retry_for
    );
    let (hook, url) = FlakyHook::start().await;
    let c = NotifierConfig {
        console: false,
        delivery_timeout: Duration::from_secs(5),
        webhooks: vec![WebhookReceiver {
            name: "flaky".into(),
            url: Secret::new(url),
            max_per_minute: None,
        }],
        ..defaults
    };
    let receivers = Receivers::new(&c, None).unwrap();
    let started = Instant::now();
    let alerts: Vec<Alert> = ALERTS.iter().map(|id| alert(id)).collect();
    let reports = futures::future::join_all(alerts.iter().map(|a| receivers.deliver(a))).await;
    let took = started.elapsed();
    println!(
        "delivered {} alerts in {:.1} s",
        ALERTS.len(),
        took.as_secs_f64()
    );

    // Nothing more arrives once every alert is delivered.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = hook.seen();
    for (id, report) in ALERTS.iter().zip(&reports) {
        assert_eq!(report.permanent_failure, None, "{id}: {report:?}");
        assert_eq!(report.notifications.len(), 1, "{id}: {report:?}");
        let n = &report.notifications[0];
        let mine: Vec<&Seen> = seen.iter().filter(|s| s.alert_id == *id).collect();
        let count = |status| mine.iter().filter(|s| s.status == status).count();
        assert_eq!(n.result, "delivered", "{id}: {n:?}");
        assert_eq!(n.attempts as usize, mine.len(), "{id}: attempts counted");
        assert_eq!(count(200), 1, "{id}: delivered exactly once: {mine:?}");
        assert_eq!(count(429), 1, "{id}: {mine:?}");
        assert!(count(500) >= 2, "{id}: retried during the outage: {mine:?}");
        assert_eq!(
            count(500) + 2,
            mine.len(),
            "{id}: only 500, one 429, one 200"
        );
        // The order: every 500, then the 429, then the 200 as the very last request.
        assert_eq!(mine.last().unwrap().status, 200, "{id}: {mine:?}");
        let i429 = mine.iter().position(|s| s.status == 429).unwrap();
        assert_eq!(i429, mine.len() - 2, "{id}: {mine:?}");
        let waited = mine[i429 + 1].at - mine[i429].at;
        assert!(
            waited >= Duration::from_secs(RETRY_AFTER_SECS),
            "{id}: retried {waited:?} after the 429, before its Retry-After of {RETRY_AFTER_SECS} s"
        );
        // Retried throughout the outage, with gaps no longer than the backoff cap.
        let first = mine[0].at;
        assert!(
            first - started < Duration::from_secs(1),
            "{id}: first attempt late"
        );
        for pair in mine[..=i429].windows(2) {
            let gap = pair[1].at - pair[0].at;
            assert!(
                gap <= MAX_BACKOFF + Duration::from_secs(2),
                "{id}: {gap:?} between attempts"
            );
        }
        assert!(
            mine[i429].at >= hook.up_at,
            "{id}: the 429 came after the outage"
        );
    }
    assert!(took >= OUTAGE, "{took:?}: delivered during the outage?");
    assert!(
        took <= OUTAGE + MAX_BACKOFF + Duration::from_secs(RETRY_AFTER_SECS + 5),
        "{took:?}: recovery noticed too late"
    );
    assert_eq!(
        seen.iter().filter(|s| s.status == 200).count(),
        ALERTS.len(),
        "one 200 per alert"
    );

    // Replays (a restart re-reading `alerts`) skip receivers already notified.
    let before = hook.seen().len();
    for a in &alerts {
        let again = receivers.deliver(a).await;
        assert!(again.notifications.is_empty(), "{again:?}");
    }
    assert_eq!(hook.seen().len(), before, "a replay posted again");
}
