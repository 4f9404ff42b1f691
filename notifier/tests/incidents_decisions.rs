//! The incident loop against real services: alerts produced to the `alerts` topic (and a
//! Datadog record to `logs.raw`) become incident and decision rows in ClickHouse; with
//! `dry_run = false` the runbook webhook (a local HTTP server) is called, at most
//! `max_actions_per_hour` times; with the default dry run it is never called. Outcomes
//! reported at `POST /v1/incidents/{id}/outcome` update the decision row.

mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink as _;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::{all_topics, ALERTS, LOGS_RAW};
use cloudsage_schemas::{stable_id, Alert, AlertStatus, Message as _, RawLog, Severity};
use common::{services, unique};
use notifier::decision::Shared;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn now_ms() -> i64 {
    cloudsage_runtime::driver::now_ms()
}

/// A runbook webhook that records the bodies it receives and answers 200.
#[derive(Clone, Default)]
struct Runbook(Arc<Mutex<Vec<Value>>>);

impl Runbook {
    async fn start() -> (Runbook, String) {
        let r = Runbook::default();
        async fn hook(State(r): State<Runbook>, Json(body): Json<Value>) -> StatusCode {
            r.0.lock().unwrap().push(body);
            StatusCode::OK
        }
        let app = Router::new()
            .route("/runbook", post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, format!("http://{addr}/runbook"))
    }

    /// Calls about `project`.
    fn calls_for(&self, project: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b["incident"]["project"] == project)
            .cloned()
            .collect()
    }
}

fn oom_alert(project: &str, service: &str, at: i64) -> Alert {
    let fingerprint = stable_id(&[project, service, "risk_threshold"]);
    Alert {
        alert_id: stable_id(&[&fingerprint, &at.to_string(), "firing"]),
        fingerprint,
        project: project.into(),
        service: service.into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Warning,
        summary: format!("{project}/{service} risk 75 ≥ threshold 70: Memory Pressure"),
        score: 75.0,
        starts_at_ms: at,
        ends_at_ms: None,
        window_id: None,
        forecast_id: None,
        labels: BTreeMap::from([("top_factor".to_string(), "memory".to_string())]),
    }
}

fn datadog(project: &str, service: &str, at: i64) -> RawLog {
    RawLog {
        project: project.into(),
        service: service.into(),
        source: "datadog".into(),
        received_at_ms: at,
        event_time_ms: Some(at),
        line: Some("[Triggered] Memory usage above 95% on checkout".into()),
        fields: BTreeMap::from([("level".to_string(), "error".to_string())]),
        ingest_id: None,
    }
}

struct Setup {
    config: Config,
    warehouse: Warehouse,
    sink: KafkaSink,
}

async fn setup(tag: &str, extra: &str) -> Option<Setup> {
    let (kafka, clickhouse) = services()?;
    let db = unique(&format!("it_{tag}_"));
    let group = unique("itg_");
    let config = Config::from_toml(&format!(
        "[kafka]\nbrokers = \"{kafka}\"\ngroup_prefix = \"{group}\"\ntopic_prefix = \"{group}.\"\n\
         [clickhouse]\nurl = \"{clickhouse}\"\ndatabase = \"{db}\"\n\
         [pipeline]\nbatch_linger = \"100ms\"\n{extra}"
    ))
    .unwrap();
    let warehouse = Warehouse::from_config(&config.clickhouse).unwrap();
    warehouse.migrate().await.unwrap();
    ensure_topics(&config.kafka, &all_topics()).await.unwrap();
    let sink = KafkaSink::new(&config.kafka).unwrap();
    Some(Setup {
        config,
        warehouse,
        sink,
    })
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct DecisionView {
    incident_id: String,
    verdict: String,
    action: String,
    outcome: String,
    dry_run: u8,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct IncidentView {
    incident_id: String,
    service: String,
    severity: String,
    sources: Vec<String>,
    alert_ids: Vec<String>,
}

async fn decisions(w: &Warehouse, project: &str) -> Vec<DecisionView> {
    w.client()
        .query(
            "SELECT incident_id, verdict, action, outcome, dry_run FROM decisions FINAL \
             WHERE project = ? ORDER BY incident_id, decision_id",
        )
        .bind(project)
        .fetch_all()
        .await
        .unwrap()
}

async fn incidents(w: &Warehouse, project: &str) -> Vec<IncidentView> {
    w.client()
        .query(
            "SELECT incident_id, service, severity, sources, alert_ids FROM incidents FINAL \
             WHERE project = ? ORDER BY service",
        )
        .bind(project)
        .fetch_all()
        .await
        .unwrap()
}

/// Polls `check` until it holds or `secs` pass.
async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

async fn produce(sink: &KafkaSink, alerts: &[Alert], raws: &[RawLog]) {
    let mut records: Vec<OutRecord> = alerts
        .iter()
        .map(|a| OutRecord {
            topic: ALERTS.into(),
            key: a.fingerprint.clone().into_bytes(),
            payload: a.encode(),
        })
        .collect();
    records.extend(raws.iter().map(|r| OutRecord {
        topic: LOGS_RAW.into(),
        key: format!("{}/{}", r.project, r.service).into_bytes(),
        payload: r.encode(),
    }));
    sink.send(records).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_mode_calls_the_runbook_up_to_the_hourly_cap() {
    let (runbook, url) = Runbook::start().await;
    let extra = format!(
        "[incidents]\ndry_run = false\nmax_actions_per_hour = 2\nexternal_sources = [\"datadog\"]\n\
         runbook = {{ url = \"{url}\", timeout = \"5s\" }}\n"
    );
    let Some(s) = setup("live", &extra).await else {
        return;
    };
    let project = unique("inc_live_");
    let base = now_ms() - 10 * 60_000;
    // Three incidents (N + 1 with N = 2), plus a vendor alert joining the first one.
    let alerts: Vec<Alert> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(n, svc)| oom_alert(&project, svc, base + n as i64 * 1000))
        .collect();
    produce(&s.sink, &alerts, &[datadog(&project, "a", base + 60_000)]).await;

    let shared = Shared::new(s.config.incidents.prior_strength);
    let shutdown = CancellationToken::new();
    let loop_config = s.config.clone();
    let loop_shared = shared.clone();
    let loop_shutdown = shutdown.clone();
    let handle = tokio::spawn(async move {
        notifier::incidents::service::run(&loop_config, loop_shared, Metrics::new(), loop_shutdown)
            .await
    });

    let w = &s.warehouse;
    let p = project.as_str();
    let settled = eventually(120, || async move {
        let inc = incidents(w, p).await;
        let dec = decisions(w, p).await;
        inc.len() == 3
            && inc[0].sources.len() == 2
            && dec.iter().filter(|d| d.outcome == "success").count() == 2
    })
    .await;
    let inc = incidents(w, p).await;
    let dec = decisions(w, p).await;
    assert!(settled, "incidents {inc:#?}\ndecisions {dec:#?}");

    // The vendor alert joined service a's incident.
    assert_eq!(inc[0].service, "a");
    assert_eq!(inc[0].sources, ["cloudsage", "datadog"]);
    assert_eq!(inc[0].alert_ids.len(), 2);
    assert!(inc.iter().all(|i| i.severity != "low"));
    // Exactly N automatic actions, the N + 1st incident scheduled instead.
    let autos: Vec<&DecisionView> = dec
        .iter()
        .filter(|d| d.verdict == "AUTO_REMEDIATE")
        .collect();
    assert_eq!(autos.len(), 2, "{dec:#?}");
    assert!(autos
        .iter()
        .all(|d| d.action == "restart_pods" && d.dry_run == 0));
    let incidents_decided: std::collections::BTreeSet<&str> =
        dec.iter().map(|d| d.incident_id.as_str()).collect();
    assert_eq!(incidents_decided.len(), 3);
    assert!(dec
        .iter()
        .any(|d| d.verdict == "SCHEDULE_MAINTENANCE" && d.outcome == "recorded"));
    // A moment more: still only N calls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls = runbook.calls_for(&project);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[0]["action"]["kind"], "restart_pods");
    assert!(inc
        .iter()
        .any(|i| calls[0]["incident"]["id"] == i.incident_id.as_str()));

    // An outcome reported on the API updates the decision row and the learned confidence.
    let auto_incident = autos[0].incident_id.clone();
    let api = notifier::decision::api::router(shared.clone(), Some(s.warehouse.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await });
    let answer = reqwest::Client::new()
        .post(format!(
            "http://{addr}/v1/incidents/{auto_incident}/outcome"
        ))
        .json(&serde_json::json!({"outcome": "failure", "detail": "pods crash-looped again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert!(
        body["learned"].as_str().unwrap().contains("1 failures"),
        "{body}"
    );
    let missing = reqwest::Client::new()
        .post(format!("http://{addr}/v1/incidents/nope/outcome"))
        .json(&serde_json::json!({"outcome": "success"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let updated = decisions(w, p).await;
    assert!(
        updated
            .iter()
            .any(|d| d.incident_id == auto_incident && d.outcome == "failure"),
        "{updated:#?}"
    );

    shutdown.cancel();
    handle.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_decides_and_records_but_calls_nothing() {
    let (runbook, url) = Runbook::start().await;
    // Only the runbook URL is set: dry_run stays at its default (true).
    let extra = format!("[incidents]\nexternal_sources = []\nrunbook = {{ url = \"{url}\" }}\n");
    let Some(s) = setup("dry", &extra).await else {
        return;
    };
    assert!(s.config.incidents.dry_run);
    let project = unique("inc_dry_");
    let base = now_ms() - 10 * 60_000;
    produce(&s.sink, &[oom_alert(&project, "api", base)], &[]).await;
    let shutdown = CancellationToken::new();
    let loop_config = s.config.clone();
    let loop_shutdown = shutdown.clone();
    let handle = tokio::spawn(async move {
        notifier::incidents::service::run(
            &loop_config,
            Shared::new(4.0),
            Metrics::new(),
            loop_shutdown,
        )
        .await
    });
    let w = &s.warehouse;
    let p = project.as_str();
    let recorded = eventually(120, || async move { !decisions(w, p).await.is_empty() }).await;
    let dec = decisions(w, p).await;
    assert!(recorded, "no decision recorded");
    assert_eq!(dec.len(), 1, "{dec:#?}");
    assert_eq!(
        (
            dec[0].verdict.as_str(),
            dec[0].outcome.as_str(),
            dec[0].dry_run
        ),
        ("AUTO_REMEDIATE", "dry_run", 1)
    );
    assert_eq!(incidents(w, p).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        runbook.calls_for(&project).is_empty(),
        "dry run called the runbook"
    );
    shutdown.cancel();
    handle.await.unwrap().unwrap();
}
