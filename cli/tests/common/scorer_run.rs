//! What the scorer-over-Kafka tests share: a stage config for a run, the oracle (the bundled
//! sample through the embedded pipeline), and waiting for and comparing the stored windows.

use super::WindowScore;
use cloudsage::run::{bundled_sample, run_embedded};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A scorer config for run `run`: its own topics (prefix `run.`), group prefix and database,
/// small batches, a short idle flush, ops endpoint on `port`. The idle flush closes a series'
/// window after that long without its events while the scorer is caught up: on a loaded
/// machine the test's producer can leave a sparse series quiet for seconds mid-window (a
/// 4 s flush closed one half-full under CPU load), so it is 10 s, still far below the 30 s
/// default.
pub fn scorer_config(kafka: &str, clickhouse: &str, run: &str, port: u16) -> String {
    format!(
        "[kafka]\nbrokers = \"{kafka}\"\ngroup_prefix = \"{run}\"\ntopic_prefix = \"{run}.\"\n[clickhouse]\nurl = \"{clickhouse}\"\ndatabase = \"{run}\"\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\n[pipeline]\nbatch_size = 300\ntick = \"500ms\"\n[scorer]\nidle_flush = \"10s\"\n"
    )
}

/// Window id → score of the bundled sample run embedded as project `run`, service `app`.
pub async fn expected_window_scores(run: &str) -> BTreeMap<String, f64> {
    let (expected, _) = run_embedded(
        &Config::from_toml("[notifier]\nconsole = false").unwrap(),
        &bundled_sample(),
        run,
        "app",
    )
    .await
    .unwrap();
    expected
        .windows
        .iter()
        .map(|w| (w.window_id.clone(), w.score))
        .collect()
}

/// Rows of project `run` in `risk_windows` (before dedup; 0 while ClickHouse does not answer).
pub async fn stored_window_rows(wh: &Warehouse, run: &str) -> u64 {
    wh.client()
        .query("SELECT count() FROM risk_windows WHERE project = ?")
        .bind(run)
        .fetch_one::<u64>()
        .await
        .unwrap_or(0)
}

/// Waits until the scorer has written at least `rows` windows of `run`; panics after `timeout`.
pub async fn wait_for_window_rows(wh: &Warehouse, run: &str, rows: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while stored_window_rows(wh, run).await < rows {
        assert!(Instant::now() < deadline, "scorer wrote nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Window id → score stored for project `run`, once `count` windows are there or `timeout`
/// has passed.
pub async fn stored_window_scores(
    wh: &Warehouse,
    run: &str,
    count: usize,
    timeout: Duration,
) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + timeout;
    loop {
        let rows: Vec<WindowScore> = wh
            .client()
            .query("SELECT window_id, score FROM risk_windows FINAL WHERE project = ? ORDER BY window_id")
            .bind(run)
            .fetch_all()
            .await
            .unwrap_or_default();
        if rows.len() >= count || Instant::now() > deadline {
            return rows.into_iter().map(|w| (w.window_id, w.score)).collect();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// "windows expected N, found M, lost L, wrong score W" for the printed summary.
pub fn compare(want: &BTreeMap<String, f64>, got: &BTreeMap<String, f64>) -> String {
    let lost = want.keys().filter(|k| !got.contains_key(*k)).count();
    let wrong = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .count();
    format!(
        "windows expected {}, found {}, lost {lost}, wrong score {wrong}",
        want.len(),
        got.len()
    )
}
