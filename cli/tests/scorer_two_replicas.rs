//! Two scorer replicas in one consumer group, on the real broker, produce exactly the windows
//! (same ids, same scores) of one embedded run on the same input: partitions are split
//! between them, and whatever a rebalance moves is handed over through the checkpoints.

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
async fn two_replicas_score_like_one() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("twin");
    let dir = tempfile::tempdir().unwrap();
    let config = |port: u16| {
        format!(
            "[kafka]\nbrokers = \"{kafka}\"\ngroup_prefix = \"{run}\"\n[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\"\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n[pipeline]\nbatch_size = 300\ntick = \"500ms\"\n[scorer]\nidle_flush = \"4s\"\n"
        )
    };
    let (a_port, b_port) = (free_port(), free_port());
    let (a_toml, b_toml) = (config(a_port), config(b_port));
    let (a_path, b_path) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::fs::write(&a_path, &a_toml).unwrap();
    std::fs::write(&b_path, &b_toml).unwrap();
    let cfg = Config::from_toml(&a_toml).unwrap();
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

    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wh.migrate().await.unwrap();
    let _a = spawn_stage("scorer", &a_path);
    let _b = spawn_stage("scorer", &b_path);
    let sink = KafkaSink::new(&cfg.kafka).unwrap();
    for_each_chunk(&bundled_sample(), &run, "app", "file", |r| sink.send(r))
        .await
        .unwrap();
    sink.flush();

    let deadline = Instant::now() + Duration::from_secs(150);
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
    // How the input was split (informational: tansu may hand everything to one member first).
    let mut records_in = vec![];
    for port in [a_port, b_port] {
        let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let n: f64 = text
            .lines()
            .filter(|l| l.starts_with("cloudsage_records_in_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        records_in.push(n);
    }
    let lost = want.keys().filter(|k| !got.contains_key(*k)).count();
    let wrong = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .count();
    println!(
        "windows expected {}, found {}, lost {lost}, wrong score {wrong}; records read per replica {records_in:?}",
        want.len(),
        got.len()
    );
    assert_eq!(got, want);
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
