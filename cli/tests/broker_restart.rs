//! The Kafka broker restarts in the middle of a scorer run (a private tansu whose storage
//! survives restarts, so the shared broker other tests use stays up). The scorer reconnects
//! by itself, and ClickHouse ends up with exactly the windows of an uninterrupted run.

mod common;

use cloudsage::ingest::for_each_chunk;
use cloudsage::run::bundled_sample;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::private_services::*;
use common::scorer_run::*;
use common::*;
use std::time::{Duration, Instant};

/// How long the broker stays down: longer than the consumer's session (6 s), so the group
/// really has to be rejoined.
const DOWN_FOR: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scorer_reconnects_after_a_broker_restart() {
    let Some((_shared_kafka, ch)) = services() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(mut broker) = PrivateBroker::start_in(&dir.path().join("broker")) else {
        return;
    };
    let run = unique("brk");
    let ops_port = free_port();
    let toml = scorer_config(&broker.address(), &ch, &run, ops_port);
    let path = dir.path().join("scorer.toml");
    std::fs::write(&path, &toml).unwrap();
    let cfg = Config::from_toml(&toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();

    let want = expected_window_scores(&run).await;

    // The whole sample up front: produced in two parts with a pause longer than the idle
    // flush between them, a window spanning the pause would be flushed half-full (by
    // design), which is not what this test is about. The scorer still needs the broker
    // throughout: every batch's windows are produced and acknowledged before it goes on.
    let sink = KafkaSink::new(&cfg.kafka).unwrap();
    let mut scorer = spawn_stage("scorer", &path);
    for_each_chunk(&bundled_sample(), &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wait_for_window_rows(&wh, &run, 5, Duration::from_secs(120)).await;

    // ---- The broker goes away and comes back with the same storage.
    let before_restart = stored_window_rows(&wh, &run).await;
    // A crash rather than SIGTERM: tansu's graceful shutdown waits on its clients, which
    // would let the scorer finish before the broker is really gone.
    broker.kill();
    let stopped_at = Instant::now();
    let mut health = vec![];
    while stopped_at.elapsed() < DOWN_FOR {
        health.push(health_status(ops_port));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    broker.start();
    let restarted_at = Instant::now();
    let during_downtime = stored_window_rows(&wh, &run).await;

    let got = stored_window_scores(&wh, &run, want.len(), Duration::from_secs(150)).await;
    let caught_up_in = restarted_at.elapsed();
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
    let exited = scorer.0.try_wait().unwrap();
    let mut healthy_again = health_status(ops_port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while healthy_again != Some(200) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        healthy_again = health_status(ops_port);
    }
    let not_ready = health.iter().filter(|s| **s == Some(503)).count();
    println!(
        "{}, duplicated {duplicated}; {before_restart} rows before the restart, {during_downtime} when it came back; all in {caught_up_in:?} after it",
        compare(&want, &got)
    );
    println!(
        "broker down {DOWN_FOR:?}: /health not ready {not_ready} of {} samples, ready again: {healthy_again:?}; scorer exited: {exited:?}",
        health.len()
    );

    for (id, score) in &want {
        if got.get(id).is_some_and(|g| g != score) {
            println!("window {id}: expected score {score}, stored {:?}", got[id]);
        }
    }

    assert_eq!(exited, None, "the scorer must ride out the restart");
    assert!(
        (during_downtime as usize) < want.len(),
        "the scorer finished before the broker came back: not a mid-run restart"
    );
    assert!(
        not_ready > 0,
        "/health never reported the broker missing: {health:?}"
    );
    assert_eq!(
        healthy_again,
        Some(200),
        "/health ready again after the restart"
    );
    assert_eq!(duplicated, 0, "windows stored more than once");
    assert_eq!(got, want);
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
