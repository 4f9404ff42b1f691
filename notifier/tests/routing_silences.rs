//! The routing delivery loop end to end, over in-memory `alerts` and a local HTTP receiver:
//! routes pick the receiver, two alerts within `group_wait` make one notification, a
//! silence created over `POST /v1/silences` holds an alert back (logged as `silenced` when
//! ClickHouse is configured, which also keeps the silence across restarts), and once the
//! silence expires later alerts go through.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use cloudsage_runtime::config::PipelineConfig;
use cloudsage_runtime::driver::{now_ms, Driver};
use cloudsage_runtime::memory::MemoryBus;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::{dead_letter_topic, ALERTS};
use cloudsage_schemas::{Alert, AlertStatus, Message as _, Severity};
use notifier::silences::{self, Silences};
use notifier::{DeliveryProcessor, Receivers};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook server recording each body by path (`/pager`, `/chat`).
async fn start_hooks() -> (Seen, String) {
    let seen: Seen = Arc::default();
    async fn handle(State(s): State<Seen>, Path(name): Path<String>, body: Bytes) -> &'static str {
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        s.lock().unwrap().push((name, json));
        "ok"
    }
    let app = Router::new()
        .route("/{name}", post(handle))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (seen, url)
}

/// ClickHouse, when the environment names one (required with CLOUDSAGE_REQUIRE_SERVICES=1).
async fn warehouse() -> Option<Warehouse> {
    let url = std::env::var("CLOUDSAGE_CLICKHOUSE__URL").ok();
    let required = std::env::var("CLOUDSAGE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let Some(url) = url else {
        assert!(
            !required,
            "CLOUDSAGE_REQUIRE_SERVICES=1 but CLOUDSAGE_CLICKHOUSE__URL is not set"
        );
        eprintln!(
            "no ClickHouse configured: the silenced log row and silence storage are not checked"
        );
        return None;
    };
    let db = format!("it_routing_silences_{}", std::process::id());
    let cfg = Config::from_toml(&format!(
        "[clickhouse]\nurl = \"{url}\"\ndatabase = \"{db}\""
    ))
    .unwrap();
    let w = Warehouse::from_config(&cfg.clickhouse).unwrap();
    w.migrate().await.unwrap();
    Some(w)
}

fn alert(project: &str, service: &str, severity: Severity, n: u32) -> Alert {
    Alert {
        alert_id: format!("{project}-{service}-{n}"),
        fingerprint: format!("{project}-{service}"),
        project: project.into(),
        service: service.into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity,
        summary: format!("{service} risk high"),
        score: 90.0,
        starts_at_ms: 1_795_132_800_000,
        ends_at_ms: None,
        window_id: None,
        forecast_id: None,
        labels: BTreeMap::from([
            ("project".into(), project.into()),
            ("service".into(), service.into()),
        ]),
    }
}

fn seen_by(seen: &Seen, hook: &str) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == hook)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Waits until `hook` has received `n` notifications (or fails after a while).
async fn wait_for(seen: &Seen, hook: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = seen_by(seen, hook);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_group_and_silences_over_the_api() {
    let (seen, hooks) = start_hooks().await;
    let wh = warehouse().await;
    let config = Config::from_toml(&format!(
        r#"
[notifier]
console = false
webhooks = [{{ name = "pager", url = "{hooks}/pager" }}, {{ name = "chat", url = "{hooks}/chat" }}]

[[notifier.routes]]
matchers = ["severity=critical"]
receivers = ["pager"]
group_by = ["project"]
group_wait = "400ms"
group_interval = "200ms"

[[notifier.routes]]
receivers = ["chat"]
group_by = ["project", "service"]
group_wait = "0s"
group_interval = "0s"
"#
    ))
    .unwrap();
    let n = &config.notifier;
    let silences = Silences::from_config(&n.silences).unwrap();
    // The silences API, as the notifier binary serves it.
    let api = silences::api::router(silences.clone(), wh.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api).await });

    let bus = MemoryBus::new();
    let source = bus.subscribe(&[ALERTS]);
    let producer = bus.sink(&[ALERTS]);
    let driver = Driver {
        processor: DeliveryProcessor::routed(n, silences.clone()).unwrap(),
        source,
        sink: bus.sink(&[&dead_letter_topic(ALERTS)]),
        warehouse: wh.clone(),
        deliverer: Receivers::new(n, wh.clone()).unwrap(),
        metrics: Metrics::new(),
        pipeline: PipelineConfig {
            batch_linger: Duration::from_millis(20),
            tick: Duration::from_millis(20),
            ..Default::default()
        },
        write_retry_for: Duration::from_secs(5),
        shutdown: CancellationToken::new(),
    };
    drop(bus);
    let running = tokio::spawn(driver.run());
    let send = |a: Alert| {
        let r = OutRecord {
            topic: ALERTS.into(),
            key: a.fingerprint.clone().into_bytes(),
            payload: a.encode(),
        };
        let p = &producer;
        async move { p.send(vec![r]).await.unwrap() }
    };

    // Routing and group_wait: two critical alerts of one project within group_wait reach
    // the pager as one notification; a warning goes to chat only.
    let started = Instant::now();
    send(alert("shop", "cart", Severity::Critical, 1)).await;
    send(alert("shop", "web", Severity::Critical, 1)).await;
    send(alert("shop", "search", Severity::Warning, 1)).await;
    let chat = wait_for(&seen, "chat", 1).await;
    assert_eq!(chat.len(), 1, "group_wait 0s: the warning goes out at once");
    assert_eq!(chat[0]["alerts"][0]["labels"]["service"], "search");
    let pager = wait_for(&seen, "pager", 1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "sent only after group_wait"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pager_now = seen_by(&seen, "pager");
    assert_eq!(
        pager_now.len(),
        1,
        "two alerts within group_wait: one notification"
    );
    let labels = &pager[0]["alerts"][0]["labels"];
    assert_eq!(labels["group_size"], "2", "{labels}");
    assert_eq!(labels["group_key"], "project=shop");
    assert!(
        labels.get("__notify_receiver").is_none(),
        "internal labels stay internal"
    );
    assert_eq!(
        seen_by(&seen, "chat").len(),
        1,
        "critical alerts do not reach chat (first match wins)"
    );

    // A silence created over the API holds the next matching alert back.
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{api_url}/v1/silences"))
        .json(&serde_json::json!({
            "matchers": ["service=db"],
            "duration": "1500ms",
            "created_by": "routing-test",
            "comment": "maintenance"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_str()
        .expect("the answer carries the id")
        .to_string();
    let listed: Value = http
        .get(format!("{api_url}/v1/silences"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["silences"][0]["id"], id.as_str());
    assert_eq!(listed["silences"][0]["state"], "active");
    let silenced_at = Instant::now();
    send(alert("blog", "db", Severity::Warning, 1)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        silenced_at.elapsed() < Duration::from_millis(1400),
        "test too slow to check the silence"
    );
    assert_eq!(
        seen_by(&seen, "chat").len(),
        1,
        "a silenced alert is not sent"
    );

    // It resolves while silenced: never notified, so its resolution is not news either.
    let mut resolved = alert("blog", "db", Severity::Warning, 1);
    resolved.alert_id.push_str("-resolved");
    resolved.status = AlertStatus::Resolved;
    send(resolved).await;

    // Expiry: after the silence ends, a later alert matching it goes through.
    tokio::time::sleep(Duration::from_millis(1600).saturating_sub(silenced_at.elapsed())).await;
    send(alert("blog", "db", Severity::Warning, 2)).await;
    let chat = wait_for(&seen, "chat", 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let chat_ids: Vec<String> = seen_by(&seen, "chat")
        .iter()
        .map(|v| {
            v["alerts"][0]["labels"]["service"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(chat.len(), 2, "{chat_ids:?}");
    assert_eq!(
        chat_ids,
        ["search", "db"],
        "only the post-expiry alert went out"
    );
    let listed: Value = http
        .get(format!("{api_url}/v1/silences"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["silences"][0]["state"], "expired");

    // Deleting a silence ends it at once (and an unknown id is a 404).
    let gone = http
        .delete(format!("{api_url}/v1/silences/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    drop(producer);
    running.await.unwrap().unwrap();

    if let Some(w) = &wh {
        let count = |sql: &'static str| async move {
            w.client().query(sql).fetch_one::<u64>().await.unwrap()
        };
        assert_eq!(
            count("SELECT count() FROM notifications FINAL WHERE alert_id = 'blog-db-1' AND receiver = 'chat' AND result = 'silenced'").await,
            1,
            "the silenced alert is in the notification log"
        );
        assert_eq!(
            count("SELECT count() FROM notifications FINAL WHERE alert_id = 'blog-db-2' AND receiver = 'chat' AND result = 'delivered'").await,
            1
        );
        // The API silence was stored; a restarted notifier loads it (if still active).
        let reloaded = Silences::default();
        let n = silences::store::load(w, &reloaded, now_ms() - 60_000)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(reloaded.list(now_ms())[0].id, id);
        w.client()
            .query(&format!("DROP DATABASE IF EXISTS {}", w.database()))
            .execute()
            .await
            .unwrap();
    }
}
