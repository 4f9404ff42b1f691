//! ClickHouse goes away for a minute in the middle of a scorer run (a private server, so the
//! shared one other tests use stays up). While it is down the scorer must say so on
//! `/health`, stop reading instead of piling up input in memory, and commit no offset for
//! windows it could not write; once it is back, every window of an uninterrupted run is
//! stored exactly once.

mod common;

use cloudsage::ingest::for_each_chunk;
use cloudsage::run::bundled_sample;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::LOGS_RAW;
use common::private_services::*;
use common::scorer_run::*;
use common::*;
use std::time::{Duration, Instant};

/// How long ClickHouse stays down.
const OUTAGE: Duration = Duration::from_secs(60);
/// Reading must have stopped this long after ClickHouse went away: the scorer only writes
/// (and so only notices) when a window closes.
const PAUSE_WITHIN: Duration = Duration::from_secs(20);
/// A generous ceiling for the scorer's resident memory during the outage; the input waiting
/// in Kafka (thousands of lines) must stay there, not in the stage.
const MAX_RSS_KB: u64 = 400 * 1024;
/// ... and how much it may grow while ClickHouse is down.
const MAX_RSS_GROWTH_KB: u64 = 150 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scorer_rides_out_a_clickhouse_outage() {
    let Some((kafka, _shared_clickhouse)) = services() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(mut clickhouse) = PrivateClickHouse::start_in(&dir.path().join("clickhouse")) else {
        return;
    };
    let run = unique("chout");
    let ops_port = free_port();
    let toml = scorer_config(&kafka, &clickhouse.url(), &run, ops_port);
    let path = dir.path().join("scorer.toml");
    std::fs::write(&path, &toml).unwrap();
    let cfg = Config::from_toml(&toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();
    let group = format!("{run}-scorer");

    let want = expected_window_scores(&run).await;

    // The sample in two halves: the first before the outage, the second during it.
    let text = std::fs::read_to_string(bundled_sample()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let first_file = dir.path().join("first.log");
    let second_file = dir.path().join("second.log");
    std::fs::write(&first_file, first.join("\n")).unwrap();
    std::fs::write(&second_file, second.join("\n")).unwrap();
    let sink = KafkaSink::new(&cfg.kafka).unwrap();

    let scorer = spawn_stage("scorer", &path);
    let scorer_pid = scorer.0.id();
    for_each_chunk(&first_file, &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wait_for_window_rows(&wh, &run, 5, Duration::from_secs(150)).await;
    assert_eq!(
        health_status(ops_port),
        Some(200),
        "healthy before the outage"
    );

    // ---- ClickHouse goes away.
    let before_outage = stored_window_rows(&wh, &run).await;
    clickhouse.stop();
    let stopped_at = Instant::now();
    for_each_chunk(&second_file, &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();
    // A checkpoint is saved to ClickHouse before each commit, so none can land from here on;
    // wait out one in flight before taking the reference.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let committed_at_stop = committed_offsets(&kafka, &group, LOGS_RAW);
    let rss_at_stop = rss_kb(scorer_pid).expect("scorer is gone");
    let retries_at_stop = metric_sum(ops_port, "cloudsage_events_total", "event=\"retry\"");

    let mut health = vec![];
    let mut max_rss = rss_at_stop;
    let mut read_when_paused = None;
    while stopped_at.elapsed() < OUTAGE {
        health.push(health_status(ops_port));
        max_rss = max_rss.max(rss_kb(scorer_pid).expect("scorer died during the outage"));
        if read_when_paused.is_none() && stopped_at.elapsed() >= PAUSE_WITHIN {
            read_when_paused = metric_sum(ops_port, "cloudsage_records_in_total", "");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let read_at_end = metric_sum(ops_port, "cloudsage_records_in_total", "");
    let retries_at_end = metric_sum(ops_port, "cloudsage_events_total", "event=\"retry\"");
    let committed_at_end = committed_offsets(&kafka, &group, LOGS_RAW);

    // ---- ClickHouse comes back with the same data.
    clickhouse.start();
    let back_at = Instant::now();
    let got = stored_window_scores(&wh, &run, want.len(), Duration::from_secs(150)).await;
    let caught_up_in = back_at.elapsed();
    let rows: Vec<(String, u64)> = wh
        .client()
        .query(
            "SELECT window_id, count() FROM risk_windows FINAL WHERE project = ? \
             GROUP BY window_id HAVING count() > 1",
        )
        .bind(&run)
        .fetch_all()
        .await
        .unwrap();
    let duplicated = rows.len();
    let mut healthy_again = health_status(ops_port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while healthy_again != Some(200) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        healthy_again = health_status(ops_port);
    }

    let not_ready = health.iter().filter(|s| **s == Some(503)).count();
    println!(
        "{}, duplicated {duplicated}; {before_outage} rows before the outage; caught up {caught_up_in:?} after the restart",
        compare(&want, &got)
    );
    println!(
        "outage {OUTAGE:?}: /health not ready {not_ready} of {} samples ({health:?}), ready again: {healthy_again:?}",
        health.len()
    );
    println!(
        "scorer VmRSS {} kB at the stop, max {max_rss} kB during the outage; records read at +{PAUSE_WITHIN:?} {read_when_paused:?}, at the end {read_at_end:?}; \
         ClickHouse retries {retries_at_stop:?} -> {retries_at_end:?}",
        rss_at_stop
    );
    println!("committed offsets at the stop {committed_at_stop:?}, at the end of the outage {committed_at_end:?}");

    assert!(
        !health.is_empty() && not_ready == health.len(),
        "/health must report not ready for the whole outage: {health:?}"
    );
    assert_eq!(
        healthy_again,
        Some(200),
        "/health ready again after the restart"
    );
    assert!(
        max_rss <= MAX_RSS_KB && max_rss - rss_at_stop <= MAX_RSS_GROWTH_KB,
        "scorer memory grew from {rss_at_stop} kB to {max_rss} kB while ClickHouse was down"
    );
    assert!(
        read_when_paused.is_some() && read_when_paused == read_at_end,
        "the scorer kept reading while it could not write: {read_when_paused:?} -> {read_at_end:?}"
    );
    let retried = retries_at_end.unwrap_or(0.0) - retries_at_stop.unwrap_or(0.0);
    // Backing off (capped at 5 s) means a dozen or so attempts a minute, not a busy loop.
    assert!(
        (1.0..=60.0).contains(&retried),
        "ClickHouse writes retried {retried} times in {OUTAGE:?}"
    );
    assert_eq!(
        committed_at_end, committed_at_stop,
        "offsets were committed while the windows they cover could not be written"
    );
    assert_eq!(duplicated, 0, "windows stored more than once");
    assert_eq!(got, want);
    drop(scorer);
}
