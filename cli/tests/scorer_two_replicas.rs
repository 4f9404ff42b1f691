//! Two scorer replicas in one consumer group, on the real broker, produce exactly the windows
//! (same ids, same scores) of one embedded run on the same input: partitions are split
//! between them, and whatever a rebalance moves is handed over through the checkpoints.

mod common;

use cloudsage::ingest::for_each_chunk;
use cloudsage::run::bundled_sample;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::private_services::metric_sum;
use common::scorer_run::*;
use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_score_like_one() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("twin");
    let dir = tempfile::tempdir().unwrap();
    let (a_port, b_port) = (free_port(), free_port());
    let (a_toml, b_toml) = (
        scorer_config(&kafka, &ch, &run, a_port),
        scorer_config(&kafka, &ch, &run, b_port),
    );
    let (a_path, b_path) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::fs::write(&a_path, &a_toml).unwrap();
    std::fs::write(&b_path, &b_toml).unwrap();
    let cfg = Config::from_toml(&a_toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();

    let want = expected_window_scores(&run).await;

    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wh.migrate().await.unwrap();
    let _a = spawn_stage("scorer", &a_path);
    let _b = spawn_stage("scorer", &b_path);
    let sink = KafkaSink::new(&cfg.kafka).unwrap();
    for_each_chunk(&bundled_sample(), &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();

    let got = stored_window_scores(&wh, &run, want.len(), Duration::from_secs(240)).await;
    // How the input was split (informational: tansu may hand everything to one member first).
    let records_in: Vec<Option<f64>> = [a_port, b_port]
        .iter()
        .map(|p| metric_sum(*p, "cloudsage_records_in_total", ""))
        .collect();
    println!(
        "{}; records read per replica {records_in:?}",
        compare(&want, &got)
    );
    assert_eq!(got, want);
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
