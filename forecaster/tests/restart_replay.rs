//! A forecaster that stops mid-stream and one that resumes from its committed position
//! together emit exactly the forecasts of one uninterrupted forecaster: the resumed one
//! rebuilds each series' history by replaying the retained windows without re-emitting them.

use cloudsage_runtime::config::{ForecasterConfig, PipelineConfig};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, PartitionId};
use cloudsage_runtime::testkit::{CapturingSink, ScriptedSource};
use cloudsage_runtime::transport::{Assigned, Rebalance};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::{FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Forecast, Message as _, ScoredWindow};
use forecaster::ForecasterProcessor;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn windows() -> Vec<InMessage> {
    (0..120i64)
        .map(|i| {
            let service = ["api", "db", "web"][(i % 3) as usize];
            let n = i / 3;
            let w = ScoredWindow {
                window_id: format!("{service}-{n}"),
                project: "p".into(),
                service: service.into(),
                window_start_ms: n * 60_000,
                window_end_ms: (n + 1) * 60_000,
                score: ((n * 7 + i) % 100) as f64,
                factors: vec![],
                labels: vec![],
                top_factors: vec![],
                event_count: 10,
                error_count: 1,
                warn_count: 0,
                late_count: 0,
            };
            InMessage {
                topic: WINDOWS_SCORED.into(),
                partition: 0,
                offset: i,
                key: Some(format!("p/{service}").into_bytes()),
                payload: w.encode(),
                timestamp_ms: None,
            }
        })
        .collect()
}

fn short_history() -> ForecasterConfig {
    ForecasterConfig {
        history_windows: 10,
        ..Default::default()
    }
}

async fn run(source: ScriptedSource, shutdown: CancellationToken) -> Vec<Forecast> {
    run_with(source, shutdown, None).await
}

async fn run_with(
    source: ScriptedSource,
    shutdown: CancellationToken,
    warehouse: Option<Warehouse>,
) -> Vec<Forecast> {
    run_cfg(short_history(), source, shutdown, warehouse).await
}

async fn run_cfg(
    cfg: ForecasterConfig,
    source: ScriptedSource,
    shutdown: CancellationToken,
    warehouse: Option<Warehouse>,
) -> Vec<Forecast> {
    let sink = CapturingSink::default();
    Driver {
        processor: ForecasterProcessor::new(&cfg),
        source,
        sink: sink.clone(),
        warehouse,
        deliverer: NoDelivery,
        metrics: Metrics::new(),
        pipeline: PipelineConfig::default(),
        write_retry_for: Duration::from_secs(1),
        shutdown,
    }
    .run()
    .await
    .unwrap();
    sink.records()
        .iter()
        .filter(|r| r.topic == FORECASTS)
        .map(|r| Forecast::decode(&r.payload).unwrap())
        .collect()
}

/// What a forecast says: everything but the chain steps' durations (timings, not content).
/// The confidence and the step details carry the backtest, so its state is compared too.
fn content(f: &Forecast) -> (String, [u64; 5], String, String, Vec<String>) {
    (
        f.forecast_id.clone(),
        [
            f.predicted_score.to_bits(),
            f.lower.to_bits(),
            f.upper.to_bits(),
            f.confidence.to_bits(),
            f.trend_per_hour.to_bits(),
        ],
        f.chain.clone(),
        f.confidence_reason.clone(),
        f.chain_steps.iter().map(|s| s.detail.clone()).collect(),
    )
}

#[tokio::test]
async fn stop_and_resume_emits_each_forecast_exactly_once_with_the_same_content() {
    let msgs = windows();
    let whole: Vec<_> = run(ScriptedSource::new(&msgs, 8), CancellationToken::new())
        .await
        .iter()
        .map(content)
        .collect();
    assert_eq!(whole.len(), 120);
    let partition = PartitionId {
        topic: WINDOWS_SCORED.into(),
        partition: 0,
    };
    for crash_after in [2usize, 9] {
        let shutdown = CancellationToken::new();
        let first_src = ScriptedSource {
            crash_when_done: Some(shutdown.clone()),
            ..ScriptedSource::new(&msgs[..crash_after * 8], 8)
        };
        let commits = first_src.commits.clone();
        let first = run(first_src, shutdown).await;
        let last = ScriptedSource::last_commit(&commits).unwrap();
        assert!(
            last.offset < (crash_after * 8) as i64,
            "history pins older windows"
        );
        let second = run(
            ScriptedSource {
                assignment: Some(Rebalance {
                    revoked: vec![],
                    assigned: vec![Assigned {
                        partition: partition.clone(),
                        committed_offset: Some(last.offset),
                        checkpoint: Some(last.checkpoint),
                        log_start: None,
                    }],
                }),
                ..ScriptedSource::new(&msgs[last.offset as usize..], 8)
            },
            CancellationToken::new(),
        )
        .await;
        let combined: Vec<_> = first.iter().chain(&second).map(content).collect();
        assert_eq!(combined, whole, "crash after batch {crash_after}");
    }
}

/// 3.5 days of 10-minute windows of two services with a daily pattern: long enough for the
/// seasonal model, for hourly means to be evicted, and for forecasts to be checked against
/// what happened at 1 h and at the horizon.
fn days_of_windows() -> Vec<InMessage> {
    (0..1008i64)
        .map(|i| {
            let service = ["api", "db"][(i % 2) as usize];
            let n = i / 2;
            let hours = n as f64 / 6.0;
            let daily = (2.0 * std::f64::consts::PI * hours / 24.0).sin();
            let jitter = ((i * 37) % 11) as f64 - 5.0;
            let w = ScoredWindow {
                window_id: format!("{service}-{n}"),
                project: "p".into(),
                service: service.into(),
                window_start_ms: n * 600_000,
                window_end_ms: (n + 1) * 600_000,
                score: 40.0 + 25.0 * daily + jitter + (i % 2) as f64 * 10.0,
                factors: vec![],
                labels: vec![],
                top_factors: vec![],
                event_count: 10,
                error_count: 1,
                warn_count: 0,
                late_count: 0,
            };
            InMessage {
                topic: WINDOWS_SCORED.into(),
                partition: 0,
                offset: i,
                key: Some(format!("p/{service}").into_bytes()),
                payload: w.encode(),
                timestamp_ms: None,
            }
        })
        .collect()
}

#[tokio::test]
async fn seasonal_state_and_backtest_survive_a_restart() {
    let cfg = ForecasterConfig {
        horizon_hours: 6,
        history_hours: 50,
        backtest_checks: 20,
        ..Default::default()
    };
    let msgs = days_of_windows();
    let whole: Vec<_> = run_cfg(
        cfg.clone(),
        ScriptedSource::new(&msgs, 16),
        CancellationToken::new(),
        None,
    )
    .await;
    assert_eq!(whole.len(), msgs.len());
    let last = whole.last().unwrap();
    assert!(
        last.chain_steps[1].detail.contains("Holt-Winters"),
        "{last:?}"
    );
    let risk = &last.chain_steps[2].detail;
    assert!(
        risk.contains("1 h ahead") && risk.contains("over 20 checks"),
        "{risk}"
    );
    assert!(
        risk.contains("6 h ahead") && !risk.contains("not yet"),
        "{risk}"
    );
    let whole: Vec<_> = whole.iter().map(content).collect();
    let partition = PartitionId {
        topic: WINDOWS_SCORED.into(),
        partition: 0,
    };
    // Before the season starts, just after, and once the oldest hours were evicted.
    for crash_after in [30usize, 40, 60] {
        let shutdown = CancellationToken::new();
        let first_src = ScriptedSource {
            crash_when_done: Some(shutdown.clone()),
            ..ScriptedSource::new(&msgs[..crash_after * 16], 16)
        };
        let commits = first_src.commits.clone();
        let first = run_cfg(cfg.clone(), first_src, shutdown, None).await;
        let last = ScriptedSource::last_commit(&commits).unwrap();
        assert!(last.offset < (crash_after * 16) as i64 - 2 * 6 * 24);
        let second = run_cfg(
            cfg.clone(),
            ScriptedSource {
                assignment: Some(Rebalance {
                    revoked: vec![],
                    assigned: vec![Assigned {
                        partition: partition.clone(),
                        committed_offset: Some(last.offset),
                        checkpoint: Some(last.checkpoint),
                        log_start: None,
                    }],
                }),
                ..ScriptedSource::new(&msgs[last.offset as usize..], 16)
            },
            CancellationToken::new(),
            None,
        )
        .await;
        let combined: Vec<_> = first.iter().chain(&second).map(content).collect();
        assert_eq!(
            combined.len(),
            whole.len(),
            "crash after batch {crash_after}"
        );
        for (i, (a, b)) in combined.iter().zip(&whole).enumerate() {
            assert_eq!(a, b, "crash after batch {crash_after}, forecast {i}");
        }
    }
}

/// Brokers that drop commit metadata (tansu) still resume correctly: the checkpoint comes
/// from ClickHouse's `stage_checkpoints`, matched to the offset the broker committed.
#[tokio::test]
async fn resumes_from_the_clickhouse_checkpoint_when_the_broker_keeps_no_metadata() {
    let url = std::env::var("CLOUDSAGE_CLICKHOUSE__URL").ok();
    let Some(url) = url else {
        assert!(
            std::env::var("CLOUDSAGE_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "ClickHouse required"
        );
        eprintln!("SKIPPED: no ClickHouse configured");
        return;
    };
    let db = format!("it_cp_{}", std::process::id());
    let cfg = Config::from_toml(&format!(
        "[clickhouse]\nurl = \"{url}\"\ndatabase = \"{db}\""
    ))
    .unwrap();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wh.migrate().await.unwrap();
    let msgs = windows();
    let whole: Vec<_> = run(ScriptedSource::new(&msgs, 8), CancellationToken::new())
        .await
        .iter()
        .map(content)
        .collect();
    let partition = PartitionId {
        topic: WINDOWS_SCORED.into(),
        partition: 0,
    };
    let shutdown = CancellationToken::new();
    let first_src = ScriptedSource {
        crash_when_done: Some(shutdown.clone()),
        group: Some("forecaster-it".into()),
        ..ScriptedSource::new(&msgs[..5 * 8], 8)
    };
    let commits = first_src.commits.clone();
    let first = run_with(first_src, shutdown, Some(wh.clone())).await;
    let last = ScriptedSource::last_commit(&commits).unwrap();
    let second = run_with(
        ScriptedSource {
            // What tansu hands back: the offset, no metadata.
            assignment: Some(Rebalance {
                revoked: vec![],
                assigned: vec![Assigned {
                    partition,
                    committed_offset: Some(last.offset),
                    checkpoint: None,
                    log_start: None,
                }],
            }),
            group: Some("forecaster-it".into()),
            ..ScriptedSource::new(&msgs[last.offset as usize..], 8)
        },
        CancellationToken::new(),
        Some(wh.clone()),
    )
    .await;
    let combined: Vec<_> = first.iter().chain(&second).map(content).collect();
    wh.client()
        .query(&format!("DROP DATABASE {db}"))
        .execute()
        .await
        .unwrap();
    assert_eq!(combined, whole);
}
