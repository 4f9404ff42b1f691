//! kill -9 of the scorer in the middle of the sample, then a restart: ClickHouse ends up with
//! exactly the windows (same ids, same scores) of an uninterrupted run — nothing lost, no
//! partial window overwriting a complete one.

mod common;

use cloudsage::ingest::for_each_chunk;
use cloudsage::run::bundled_sample;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::scorer_run::*;
use common::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scorer_killed_mid_stream_loses_and_duplicates_nothing() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("kill");
    let dir = tempfile::tempdir().unwrap();
    let toml = scorer_config(&kafka, &ch, &run, free_port());
    let path = dir.path().join("scorer.toml");
    std::fs::write(&path, &toml).unwrap();
    let cfg = Config::from_toml(&toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();

    let want = expected_window_scores(&run).await;

    // Produce the sample in two halves, killing the scorer while it works on the first.
    let text = std::fs::read_to_string(bundled_sample()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let first_file = dir.path().join("first.log");
    let second_file = dir.path().join("second.log");
    std::fs::write(&first_file, first.join("\n")).unwrap();
    std::fs::write(&second_file, second.join("\n")).unwrap();
    let sink = KafkaSink::new(&cfg.kafka).unwrap();

    let mut scorer = spawn_stage("scorer", &path);
    for_each_chunk(&first_file, &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    // Kill it once it has written some windows but not all of the first half's.
    wait_for_window_rows(&wh, &run, 5, Duration::from_secs(180)).await;
    scorer.0.kill().unwrap(); // SIGKILL
    scorer.0.wait().unwrap();
    let at_kill = stored_window_rows(&wh, &run).await;
    for_each_chunk(&second_file, &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();
    let _restarted = spawn_stage("scorer", &path);

    let got = stored_window_scores(&wh, &run, want.len(), Duration::from_secs(240)).await;
    println!(
        "{}; {at_kill} written before the kill",
        compare(&want, &got)
    );
    assert_eq!(got, want);
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
