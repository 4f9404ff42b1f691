//! `[[notifier.rules]]` against real services: scored windows and forecasts of a fresh
//! project are produced (Avro, through the runtime's Kafka sink) to `windows.scored` and
//! `forecasts`; the rule evaluation loop runs in this process over Kafka; the alerts it
//! writes to ClickHouse show that
//! - a `risk_threshold` rule with `for = "3m"` ignores a one-window spike, fires once the
//!   score stays high for three minutes (starting when it started holding), and resolves;
//! - a `forecast_breach` rule fires on a forecast above its threshold and resolves on the
//!   next one below it, carrying the forecast and its three actions;
//! - a `factor` rule on `memory` fires and resolves;
//! - every alert has the fingerprint of (project, service, rule name) and deterministic ids.
//!
//! Needs Kafka and ClickHouse (`eval "$(deploy/local/services.sh env)"`); without them the
//! test is skipped, unless `CLOUDSAGE_REQUIRE_SERVICES=1`, which makes it fail instead.

mod common;

use cloudsage_runtime::app::run_kafka_stage;
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink as _;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::{all_topics, FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{
    stable_id, Action, ChainStep, Factor, Forecast, Message as _, ScoredWindow,
};
use common::{services, unique};
use notifier::EvaluatorProcessor;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const MIN: i64 = 60_000;

/// Minute `n` after `base` of `project`/`service`, with `score` and `memory_points`.
fn window(
    project: &str,
    service: &str,
    base: i64,
    n: i64,
    score: f64,
    memory_points: f64,
) -> ScoredWindow {
    let start = base + n * MIN;
    ScoredWindow {
        window_id: stable_id(&[project, service, &start.to_string(), "60000"]),
        project: project.into(),
        service: service.into(),
        window_start_ms: start,
        window_end_ms: start + MIN,
        score,
        factors: vec![Factor {
            name: "memory".into(),
            value: 0.75 + memory_points / 50.0,
            points: memory_points,
            max_points: 10.0,
        }],
        labels: vec![],
        top_factors: vec![format!("memory=({memory_points:+.0})")],
        event_count: 100,
        error_count: 0,
        warn_count: 0,
        late_count: 0,
    }
}

/// The forecast made at the end of minute `n`'s window.
fn forecast(project: &str, service: &str, base: i64, n: i64, predicted: f64) -> Forecast {
    let at = base + (n + 1) * MIN;
    Forecast {
        forecast_id: stable_id(&[project, service, &at.to_string(), "24"]),
        project: project.into(),
        service: service.into(),
        based_on_window_id: format!("w{n}"),
        generated_at_ms: at,
        horizon_hours: 24,
        predicted_score: predicted,
        lower: predicted - 15.0,
        upper: predicted + 15.0,
        confidence: 0.6,
        confidence_reason: "test".into(),
        trend_per_hour: 2.0,
        chain: "preventive_forecast".into(),
        chain_steps: vec![ChainStep {
            name: "risk_assessment".into(),
            detail: "rising".into(),
            duration_us: 1,
        }],
        actions: (1..=3)
            .map(|i| Action {
                kind: format!("kind_{i}"),
                title: format!("Action {i} for {service}"),
                evidence: "test".into(),
                deadline_hours: f64::from(i),
            })
            .collect(),
    }
}

#[derive(Debug, Clone, clickhouse::Row, serde::Deserialize)]
struct AlertView {
    rule: String,
    service: String,
    fingerprint: String,
    alert_id: String,
    status: String,
    severity: String,
    starts_at: u32,
    ends_at: u32,
    forecast_id: String,
    label_keys: Vec<String>,
    label_values: Vec<String>,
}

impl AlertView {
    fn label(&self, key: &str) -> Option<&str> {
        let i = self.label_keys.iter().position(|k| k == key)?;
        self.label_values.get(i).map(String::as_str)
    }
}

async fn alerts(w: &Warehouse, project: &str) -> Vec<AlertView> {
    w.client()
        .query(
            "SELECT rule, service, fingerprint, alert_id, status, severity, \
             starts_at, ends_at, forecast_id, \
             label_keys, label_values FROM alerts FINAL WHERE project = ? \
             ORDER BY rule, service, starts_at, status",
        )
        .bind(project)
        .fetch_all()
        .await
        .unwrap()
}

fn secs(ms: i64) -> u32 {
    u32::try_from(ms / 1000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn for_breach_and_factor_rules_fire_and_resolve() {
    let Some((kafka, clickhouse)) = services() else {
        return;
    };
    let project = unique("rules_");
    let db = unique("it_rules_");
    let config = Config::from_toml(&format!(
        r#"
[kafka]
brokers = "{kafka}"
group_prefix = "{group}"
# Own topics: a forecaster of another test would otherwise forecast these windows too.
topic_prefix = "{group}."

[clickhouse]
url = "{clickhouse}"
database = "{db}"

[pipeline]
batch_linger = "100ms"

[scorer]
window = "60s"

[[notifier.rules]]
name = "hot"
kind = "risk_threshold"
project = "{project}"
threshold = 70
for = "3m"

[[notifier.rules]]
name = "breach"
kind = "forecast_breach"
project = "{project}"
threshold = 80

[[notifier.rules]]
name = "memory"
kind = "factor"
project = "{project}"
factor = "memory"
min_points = 5
severity = "critical"
"#,
        group = unique("itg_rules_"),
    ))
    .unwrap();
    let warehouse = Warehouse::from_config(&config.clickhouse).unwrap();
    warehouse.migrate().await.unwrap();
    ensure_topics(&config.kafka, &all_topics()).await.unwrap();

    // Two hours ago, on a minute boundary.
    let now = cloudsage_runtime::driver::now_ms();
    let base = (now - 2 * 3600 * 1000) / MIN * MIN;
    // api: a one-minute spike (minute 1), then four high minutes (4-7), then calm.
    let api_scores = [20.0, 85.0, 20.0, 20.0, 80.0, 82.0, 85.0, 88.0, 10.0, 10.0];
    // worker: memory adds 8 points in minutes 2 and 3.
    let worker_memory = [0.0, 0.0, 8.0, 8.0, 0.0, 0.0];
    let mut records = Vec::new();
    let mut push = |topic: &str, service: &str, payload: Vec<u8>| {
        records.push(OutRecord {
            topic: topic.into(),
            key: format!("{project}/{service}").into_bytes(),
            payload,
        })
    };
    for (n, s) in api_scores.iter().enumerate() {
        push(
            WINDOWS_SCORED,
            "api",
            window(&project, "api", base, n as i64, *s, 0.0).encode(),
        );
    }
    for (n, m) in worker_memory.iter().enumerate() {
        push(
            WINDOWS_SCORED,
            "worker",
            window(&project, "worker", base, n as i64, 30.0, *m).encode(),
        );
    }
    // api forecasts after minutes 2, 3 and 4: only the one after minute 3 breaches 80.
    for (n, p) in [(2, 50.0), (3, 85.0), (4, 60.0)] {
        push(
            FORECASTS,
            "api",
            forecast(&project, "api", base, n, p).encode(),
        );
    }
    let sink = KafkaSink::new(&config.kafka).unwrap();
    sink.send(records).await.unwrap();
    sink.flush();

    let shutdown = CancellationToken::new();
    let stage_config = config.clone();
    let stage_shutdown = shutdown.clone();
    let evaluator = EvaluatorProcessor::new(&config.notifier, config.scorer.window).unwrap();
    let stage = tokio::spawn(async move {
        run_kafka_stage(
            &stage_config,
            evaluator,
            NoDelivery,
            None,
            Metrics::new(),
            stage_shutdown,
        )
        .await
    });

    // Three alerts fire and resolve: six rows.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut got = alerts(&warehouse, &project).await;
    while got.len() < 6 && Instant::now() < deadline && !stage.is_finished() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        got = alerts(&warehouse, &project).await;
    }
    // A moment more, so a wrong extra alert (e.g. from the spike) would show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = alerts(&warehouse, &project).await;
    shutdown.cancel();
    stage.await.unwrap().unwrap();
    assert_eq!(got.len(), 6, "{got:#?}");

    let find = |rule: &str, status: &str| {
        got.iter()
            .find(|a| a.rule == rule && a.status == status)
            .unwrap_or_else(|| panic!("no {status} {rule} alert in {got:#?}"))
    };
    for a in &got {
        assert_eq!(
            a.fingerprint,
            stable_id(&[&project, &a.service, &a.rule]),
            "{a:?}"
        );
        let starts_ms = i64::from(a.starts_at) * 1000;
        assert_eq!(
            a.alert_id,
            stable_id(&[&a.fingerprint, &starts_ms.to_string(), &a.status]),
            "{a:?}"
        );
        assert!(a.label("rule_kind").is_some(), "{a:?}");
    }

    // `for = 3m`: the spike at minute 1 never fired; minutes 4-7 fired once the condition
    // had held for three minutes, starting at minute 4; minute 8 (quiet) resolved it.
    let hot = find("hot", "firing");
    assert_eq!(
        (hot.service.as_str(), hot.starts_at),
        ("api", secs(base + 4 * MIN))
    );
    assert_eq!(hot.severity, "warning");
    let hot_resolved = find("hot", "resolved");
    assert_eq!(hot_resolved.starts_at, hot.starts_at);
    assert_eq!(hot_resolved.ends_at, secs(base + 9 * MIN));

    // The forecast after minute 3 breached 80; it stands for minute 3's window.
    let breach = find("breach", "firing");
    assert_eq!(breach.starts_at, secs(base + 3 * MIN));
    assert_eq!(
        breach.forecast_id,
        forecast(&project, "api", base, 3, 85.0).forecast_id
    );
    assert!(
        breach
            .label("forecast")
            .is_some_and(|f| f.starts_with("risk 85 in 24 h")),
        "{breach:?}"
    );
    assert_eq!(
        breach.label("action_1"),
        Some("Action 1 for api (within 1 h)")
    );
    assert_eq!(
        breach.label("action_3"),
        Some("Action 3 for api (within 3 h)")
    );
    assert_eq!(find("breach", "resolved").ends_at, secs(base + 5 * MIN));

    // memory ≥ 5 points in minutes 2-3 of worker only, at the rule's severity.
    let memory = find("memory", "firing");
    assert_eq!(
        (
            memory.service.as_str(),
            memory.starts_at,
            memory.severity.as_str()
        ),
        ("worker", secs(base + 2 * MIN), "critical")
    );
    assert_eq!(memory.label("top_factors"), Some("memory=(+8)"));
    assert_eq!(find("memory", "resolved").ends_at, secs(base + 5 * MIN));
}
