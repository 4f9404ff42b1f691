//! Chaos: the scorer, forecaster and notifier binaries run over the real broker and
//! ClickHouse on a multi-service incident load (>= 200 000 lines), and each is killed with
//! SIGKILL at seeded random points and restarted with the same config. Afterwards every
//! window, forecast and alert of the embedded oracle must be in ClickHouse exactly once
//! (after `FINAL`), nothing else may be there, and the webhook must have received every
//! alert exactly once. `CLOUDSAGE_CHAOS_SEED` replays a run's kill points.

mod common;

use cloudsage::report::Report;
use cloudsage::run::run_embedded;
use cloudsage::scenarios::Scenario;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::RawDefaults;
use common::*;
use ingestor::api::log_records;
use ingestor::body::{parse_body, BodyFormat};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// Services of the load, each one scenario over `MINUTES` minutes of event time (one line a
/// second, plus retries): 28 × 120 × 60 > 200 000 lines.
const SERVICES: usize = 28;
const MINUTES: u32 = 120;
/// Alert threshold: the scenarios' incidents score 45+, healthy series stay below 35
/// (tests/scenarios.rs), so every incident fires.
const THRESHOLD: f64 = 40.0;
/// Idle flush of the stages: long enough that no series is flushed early while the producer
/// is still writing (the oracle closes its last windows at end of input instead).
const IDLE_FLUSH_S: u64 = 8;
/// Whole-run bound after the input starts; the test must end well within 6 minutes.
const RUN_DEADLINE: Duration = Duration::from_secs(320);

/// SplitMix64: a seeded generator for the kill points, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

fn service_name(i: usize) -> String {
    format!("svc{i:02}")
}

fn scenario_of(i: usize) -> Scenario {
    Scenario::all()[i % Scenario::all().len()]
}

fn stage_toml(kafka: &str, ch: &str, run: &str, hook: &str, listen: u16) -> String {
    format!(
        r#"
[kafka]
brokers = "{kafka}"
group_prefix = "{run}"
topic_prefix = "{run}."
[clickhouse]
url = "{ch}"
database = "{run}"
[http]
listen = "127.0.0.1:{listen}"
[pipeline]
tick = "500ms"
[scorer]
idle_flush = "{IDLE_FLUSH_S}s"
[notifier]
console = false
threshold = {THRESHOLD}
webhooks = [{{ name = "chaos", url = "{hook}" }}]
"#
    )
}

/// The oracle: each service's lines through the embedded pipeline on their own (series are
/// independent: windows, forecasts and alert state are all per (project, service)).
async fn oracle(dir: &Path, run: &str, lines: &[Vec<String>]) -> Report {
    let mut cfg = Config::from_toml(&format!(
        "[notifier]\nconsole = false\nthreshold = {THRESHOLD}"
    ))
    .unwrap();
    cfg.scorer.idle_flush = Duration::from_secs(IDLE_FLUSH_S);
    let mut all = Report::default();
    for (i, service_lines) in lines.iter().enumerate() {
        let file = dir.join(format!("{}.log", service_name(i)));
        std::fs::write(&file, service_lines.join("\n") + "\n").unwrap();
        let (report, _) = run_embedded(&cfg, &file, run, &service_name(i))
            .await
            .unwrap();
        all.windows.extend(report.windows);
        all.forecasts.extend(report.forecasts);
        all.alerts.extend(report.alerts);
    }
    all
}

/// Records of every service, interleaved minute by minute, so every series advances in every
/// stretch of input (a series quiet for `IDLE_FLUSH_S` would be flushed early).
fn interleaved_records(run: &str, lines: &[Vec<String>]) -> Vec<Vec<OutRecord>> {
    let mut per_service: Vec<std::slice::Iter<String>> = lines.iter().map(|l| l.iter()).collect();
    let mut batches = vec![];
    let mut batch: Vec<OutRecord> = vec![];
    let mut remaining = true;
    while remaining {
        remaining = false;
        for (i, it) in per_service.iter_mut().enumerate() {
            // About one minute of this service's lines (more during retry storms).
            let chunk: Vec<&String> = it.by_ref().take(60).collect();
            if chunk.is_empty() {
                continue;
            }
            remaining = true;
            let body = chunk
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let defaults = RawDefaults {
                project: run.into(),
                service: service_name(i),
                source: "file".into(),
                received_at_ms: cloudsage_runtime::driver::now_ms(),
            };
            let parsed = parse_body(BodyFormat::Text, body.as_bytes(), &defaults).unwrap();
            assert!(parsed.rejected.is_empty(), "generated lines rejected");
            batch.extend(log_records(&parsed.records));
            if batch.len() >= 5_000 {
                batches.push(std::mem::take(&mut batch));
            }
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// The ids the oracle produced.
struct Expected {
    windows: BTreeSet<String>,
    forecasts: BTreeSet<String>,
    alerts: BTreeSet<String>,
}

impl From<&Report> for Expected {
    fn from(r: &Report) -> Expected {
        Expected {
            windows: r.windows.iter().map(|w| w.window_id.clone()).collect(),
            forecasts: r.forecasts.iter().map(|f| f.forecast_id.clone()).collect(),
            alerts: r.alerts.iter().map(|a| a.alert_id.clone()).collect(),
        }
    }
}

/// A stage process and how to start it again.
struct Restartable {
    name: &'static str,
    config: std::path::PathBuf,
    process: Stage,
    kills: usize,
}

impl Restartable {
    fn start(name: &'static str, config: std::path::PathBuf) -> Restartable {
        let process = spawn_stage(name, &config);
        Restartable {
            name,
            config,
            process,
            kills: 0,
        }
    }

    fn kill_and_restart(&mut self) {
        self.process.0.kill().unwrap(); // SIGKILL
        self.process.0.wait().unwrap();
        self.kills += 1;
        self.process = spawn_stage(self.name, &self.config);
    }
}

/// What a kill waits for: a stored count (or received notifications) reaching `at`.
#[derive(Debug, Clone, Copy)]
enum Progress {
    Windows(usize),
    Forecasts(usize),
    Notifications(usize),
}

#[derive(Debug)]
struct PlannedKill {
    stage: usize,
    when: Progress,
    done: bool,
}

/// Ids stored in `table` for project `run` after `FINAL`, with how often each appears.
async fn stored_ids(wh: &Warehouse, table: &str, id: &str, run: &str) -> BTreeMap<String, usize> {
    let ids: Vec<String> = wh
        .client()
        .query(&format!("SELECT {id} FROM {table} FINAL WHERE project = ?"))
        .bind(run)
        .fetch_all()
        .await
        .unwrap_or_else(|e| panic!("reading {table}: {e}"));
    let mut counts = BTreeMap::new();
    for i in ids {
        *counts.entry(i).or_insert(0) += 1;
    }
    counts
}

async fn stored_count(wh: &Warehouse, table: &str, run: &str) -> usize {
    wh.client()
        .query(&format!("SELECT count() FROM {table} WHERE project = ?"))
        .bind(run)
        .fetch_one::<u64>()
        .await
        .unwrap_or(0) as usize
}

fn received_ids(hooks: &WebhookReceiver, run: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for body in hooks.received() {
        if body["commonLabels"]["project"] != run {
            continue;
        }
        let id = body["alerts"][0]["alert_id"]
            .as_str()
            .unwrap_or_else(|| panic!("a notification without alert_id: {body}"))
            .to_string();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// Prints "KIND expected E, found F, lost L, duplicated D" and returns (lost, duplicated,
/// unexpected) ids.
fn tally(
    kind: &str,
    want: &BTreeSet<String>,
    got: &BTreeMap<String, usize>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let lost: Vec<String> = want
        .iter()
        .filter(|k| !got.contains_key(*k))
        .cloned()
        .collect();
    let duplicated: Vec<String> = got
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k.clone())
        .collect();
    let unexpected: Vec<String> = got.keys().filter(|k| !want.contains(*k)).cloned().collect();
    println!(
        "{kind} expected {}, found {}, lost {}, duplicated {}{}",
        want.len(),
        got.values().sum::<usize>(),
        lost.len(),
        duplicated.len(),
        if unexpected.is_empty() {
            String::new()
        } else {
            format!(", unexpected {}", unexpected.len())
        }
    );
    (lost, duplicated, unexpected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_killed_at_random_lose_and_duplicate_nothing() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let test_started = Instant::now();
    let seed = std::env::var("CLOUDSAGE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| cloudsage_runtime::driver::now_ms() as u64);
    println!("chaos seed {seed} (replay with CLOUDSAGE_CHAOS_SEED={seed})");
    let mut rng = Rng(seed);
    let run = unique("chaos");
    let dir = tempfile::tempdir().unwrap();
    let (hooks, hook_addr) = WebhookReceiver::start().await;
    let hook = format!("http://{hook_addr}/hook");

    let lines: Vec<Vec<String>> = (0..SERVICES)
        .map(|i| scenario_of(i).lines(MINUTES, i as u64 + 1))
        .collect();
    let total_lines: usize = lines.iter().map(Vec::len).sum();
    assert!(total_lines >= 200_000, "load too small: {total_lines}");

    // The oracle runs while the stages do (it takes a while in a debug build).
    let oracle_task = {
        let (dir, run, lines) = (dir.path().to_path_buf(), run.clone(), lines.clone());
        // Its own thread and runtime: the embedded run's file reader is not `Send`.
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(oracle(&dir, &run, &lines))
        })
    };

    // The run's own topics, consumer groups and database.
    let toml = stage_toml(&kafka, &ch, &run, &hook, 0);
    let cfg = Config::from_toml(&toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wh.migrate().await.unwrap();
    let mut stages: Vec<Restartable> = ["scorer", "forecaster", "notifier"]
        .into_iter()
        .map(|name| {
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(&path, stage_toml(&kafka, &ch, &run, &hook, free_port())).unwrap();
            Restartable::start(name, path)
        })
        .collect();

    // Kill points, drawn from the seed: fractions of the windows (one per service and minute)
    // and forecasts (about one per window) to come, and a count of notifications received.
    let (nw, nf) = (SERVICES * MINUTES as usize, SERVICES * MINUTES as usize);
    let frac = |rng: &mut Rng, lo, hi, n: usize| ((rng.between(lo, hi) * n as f64) as usize).max(1);
    let mut plan = vec![
        PlannedKill {
            stage: 0,
            when: Progress::Windows(frac(&mut rng, 0.1, 0.6, nw)),
            done: false,
        },
        PlannedKill {
            stage: 1,
            when: Progress::Forecasts(frac(&mut rng, 0.1, 0.7, nf)),
            done: false,
        },
        PlannedKill {
            stage: 2,
            when: Progress::Windows(frac(&mut rng, 0.2, 0.6, nw)),
            done: false,
        },
        PlannedKill {
            stage: 2,
            when: Progress::Notifications(1 + (rng.next() % 4) as usize),
            done: false,
        },
    ];
    let kill_delays: Vec<Duration> = plan
        .iter()
        .map(|_| Duration::from_millis(rng.between(0.0, 400.0) as u64))
        .collect();
    println!("kill plan: {plan:?}");

    // Produce the input while the stages run.
    let batches = interleaved_records(&run, &lines);
    let sink = KafkaSink::new(&cfg.kafka).unwrap();
    let producer = tokio::spawn(async move {
        for b in batches {
            sink.send(b).await.unwrap();
        }
        sink.flush();
    });

    let deadline = Instant::now() + RUN_DEADLINE;
    let mut complete_since: Option<Instant> = None;
    let mut oracle_task = Some(oracle_task);
    let mut expected: Option<Expected> = None;
    loop {
        if oracle_task.as_ref().is_some_and(|t| t.is_finished()) {
            let report = oracle_task
                .take()
                .unwrap()
                .join()
                .expect("the oracle panicked");
            let e = Expected::from(&report);
            println!(
                "{:>6.1} s: oracle: {total_lines} lines, {SERVICES} services → {} windows, {} forecasts, {} alerts",
                test_started.elapsed().as_secs_f64(),
                e.windows.len(),
                e.forecasts.len(),
                e.alerts.len()
            );
            assert!(
                !e.forecasts.is_empty() && e.alerts.len() >= 3,
                "the load must produce forecasts and alerts: {} forecasts, {} alerts",
                e.forecasts.len(),
                e.alerts.len()
            );
            expected = Some(e);
        }
        let (ew, ef, ea) = expected
            .as_ref()
            .map_or((usize::MAX, usize::MAX, usize::MAX), |e| {
                (e.windows.len(), e.forecasts.len(), e.alerts.len())
            });
        let windows = stored_count(&wh, "risk_windows", &run).await;
        let forecasts = stored_count(&wh, "forecasts", &run).await;
        let alerts = stored_count(&wh, "alerts", &run).await;
        let notified = received_ids(&hooks, &run).len();
        for (k, delay) in plan.iter_mut().zip(&kill_delays) {
            let due = match k.when {
                Progress::Windows(n) => windows >= n,
                Progress::Forecasts(n) => forecasts >= n,
                Progress::Notifications(n) => notified >= n,
            };
            if !k.done && due {
                tokio::time::sleep(*delay).await;
                let s = &mut stages[k.stage];
                s.kill_and_restart();
                k.done = true;
                println!(
                    "{:>6.1} s: kill -9 {} at {:?} (windows {windows}, forecasts {forecasts}, alerts {alerts}, notifications {notified}); restarted",
                    test_started.elapsed().as_secs_f64(),
                    s.name,
                    k.when
                );
            }
        }
        let all_killed = plan.iter().all(|k| k.done);
        let complete =
            all_killed && windows >= ew && forecasts >= ef && alerts >= ea && notified >= ea;
        // Once complete, wait a little longer for late duplicates to show up.
        match (complete, complete_since) {
            (true, None) => complete_since = Some(Instant::now()),
            (true, Some(t)) if t.elapsed() >= Duration::from_secs(5) => break,
            (false, _) => complete_since = None,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {:?} (seed {seed}): windows {windows}/{ew}, forecasts {forecasts}/{ef}, alerts {alerts}/{ea}, notifications {notified}/{ea} (usize::MAX: oracle not done), kills pending: {:?}",
            RUN_DEADLINE,
            plan.iter().filter(|k| !k.done).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    producer.await.unwrap();
    let Expected {
        windows: want_windows,
        forecasts: want_forecasts,
        alerts: want_alerts,
    } = expected.unwrap();
    for s in &stages {
        assert!(s.kills >= 1, "{} was never killed", s.name);
    }

    let got_windows = stored_ids(&wh, "risk_windows", "window_id", &run).await;
    let got_forecasts = stored_ids(&wh, "forecasts", "forecast_id", &run).await;
    let got_alerts = stored_ids(&wh, "alerts", "alert_id", &run).await;
    let got_notifications = received_ids(&hooks, &run);
    let results = [
        ("windows", tally("windows", &want_windows, &got_windows)),
        (
            "forecasts",
            tally("forecasts", &want_forecasts, &got_forecasts),
        ),
        ("alerts", tally("alerts", &want_alerts, &got_alerts)),
        (
            "notifications",
            tally("notifications", &want_alerts, &got_notifications),
        ),
    ];
    println!(
        "chaos run done in {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
    drop(stages);
    for (kind, (lost, duplicated, unexpected)) in &results {
        assert!(
            lost.is_empty() && duplicated.is_empty() && unexpected.is_empty(),
            "{kind} (seed {seed}): lost {lost:?}, duplicated {duplicated:?}, unexpected {unexpected:?}"
        );
    }
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
