//! A stage whose ClickHouse writes fail: it retries with backoff, reports the failure (which
//! `/health` turns into not ready), and commits no offset for rows it could not write.

use cloudsage_runtime::config::PipelineConfig;
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, Outputs, Processor, TableRow};
use cloudsage_runtime::testkit::{CapturingSink, ScriptedSource};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::ScoredWindow;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// One risk window row per record.
struct RowPerRecord;

impl Processor for RowPerRecord {
    type Input = ();

    fn name(&self) -> &'static str {
        "row-per-record"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec!["in"]
    }

    fn decode(&self, _msg: &InMessage) -> Result<(), String> {
        Ok(())
    }

    fn process(&mut self, msg: &InMessage, _input: (), _now_ms: i64, out: &mut Outputs) {
        out.store(TableRow::RiskWindow(ScoredWindow {
            window_id: format!("w{}", msg.offset),
            project: "p".into(),
            service: "s".into(),
            window_start_ms: 0,
            window_end_ms: 60_000,
            score: 1.0,
            factors: vec![],
            labels: vec![],
            top_factors: vec![],
            event_count: 1,
            error_count: 0,
            warn_count: 0,
            late_count: 0,
        }));
    }
}

/// ClickHouse at a port nothing listens on.
fn unreachable_warehouse() -> Warehouse {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = Config::from_toml(&format!(
        "[clickhouse]\nurl = \"http://127.0.0.1:{port}\"\ndatabase = \"db\""
    ))
    .unwrap();
    Warehouse::from_config(&cfg.clickhouse).unwrap()
}

#[tokio::test]
async fn failing_writes_back_off_mark_not_ready_and_commit_nothing() {
    let messages: Vec<InMessage> = (0..3)
        .map(|offset| InMessage {
            topic: "in".into(),
            partition: 0,
            offset,
            key: None,
            payload: vec![],
            timestamp_ms: None,
        })
        .collect();
    let source = ScriptedSource::new(&messages, 3);
    let commits = source.commits.clone();
    let metrics = Metrics::new();
    let retry_for = Duration::from_millis(1500);
    let driver = Driver {
        processor: RowPerRecord,
        source,
        sink: CapturingSink::default(),
        warehouse: Some(unreachable_warehouse()),
        deliverer: NoDelivery,
        metrics: metrics.clone(),
        pipeline: PipelineConfig::default(),
        write_retry_for: retry_for,
        shutdown: CancellationToken::new(),
    };
    let started = Instant::now();
    let result = driver.run().await;
    let took = started.elapsed();

    assert!(result.is_err(), "gives up once write_retry_for has passed");
    assert!(took >= retry_for, "gave up after {took:?}");
    assert_eq!(metrics.clickhouse_writes_failing.get(), 1);
    assert!(
        commits.lock().unwrap().is_empty(),
        "committed offsets of unwritten rows"
    );
    // Backoff (100 ms doubling) means a handful of attempts in 1.5 s, not a busy loop.
    let text = metrics.render();
    let retries: f64 = text
        .lines()
        .filter(|l| l.starts_with("cloudsage_events_total") && l.contains("event=\"retry\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!((2.0..=10.0).contains(&retries), "{retries} retries");
}
