//! kill -9 of the scorer in the middle of the sample, then a restart: ClickHouse ends up with
//! exactly the windows (same ids, same scores) of an uninterrupted run — nothing lost, no
//! partial window overwriting a complete one.

mod common;

use cloudsage::ingest::for_each_chunk;
use cloudsage::run::{bundled_sample, run_embedded};
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scorer_killed_mid_stream_loses_and_duplicates_nothing() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("kill");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[kafka]\nbrokers = \"{kafka}\"\ngroup_prefix = \"{run}\"\n[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\"\n\
         [http]\nlisten = \"127.0.0.1:{}\"\n[pipeline]\nbatch_size = 300\ntick = \"500ms\"\n[scorer]\nidle_flush = \"4s\"\n",
        free_port()
    );
    let path = dir.path().join("scorer.toml");
    std::fs::write(&path, &toml).unwrap();
    let cfg = Config::from_toml(&toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();

    let (expected, _) = run_embedded(
        &Config::from_toml("[notifier]\nconsole = false").unwrap(),
        &bundled_sample(),
        &run,
        "app",
    )
    .await
    .unwrap();
    let want: BTreeMap<String, f64> = expected
        .windows
        .iter()
        .map(|w| (w.window_id.clone(), w.score))
        .collect();

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
    let count = || async {
        wh.client()
            .query("SELECT count() FROM risk_windows WHERE project = ?")
            .bind(&run)
            .fetch_one::<u64>()
            .await
            .unwrap_or(0)
    };
    // Kill it once it has written some windows but not all of the first half's. The group
    // reads `logs.raw` from the start, other tests' lines included, hence the generous bound.
    let deadline = Instant::now() + Duration::from_secs(180);
    while count().await < 5 {
        assert!(Instant::now() < deadline, "scorer wrote nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scorer.0.kill().unwrap(); // SIGKILL
    scorer.0.wait().unwrap();
    let at_kill = count().await;
    for_each_chunk(&second_file, &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();
    let _restarted = spawn_stage("scorer", &path);

    let deadline = Instant::now() + Duration::from_secs(240);
    let got = loop {
        let rows: Vec<WindowScore> = wh
            .client()
            .query("SELECT window_id, score FROM risk_windows FINAL WHERE project = ? ORDER BY window_id")
            .bind(&run)
            .fetch_all()
            .await
            .unwrap_or_default();
        if rows.len() >= want.len() || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let got: BTreeMap<String, f64> = got.into_iter().map(|w| (w.window_id, w.score)).collect();
    let lost = want.keys().filter(|k| !got.contains_key(*k)).count();
    let wrong = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .count();
    println!("windows expected {}, found {}, lost {lost}, wrong score {wrong}; {at_kill} written before the kill", want.len(), got.len());
    assert_eq!(got, want);
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
