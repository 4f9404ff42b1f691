//! Chaos: the four stage binaries (ingestor, scorer, forecaster, notifier) run over the real
//! broker and ClickHouse on a multi-service incident load (>= 200 000 lines, posted to the
//! ingestor's HTTP API with an `Idempotency-Key` per request and retried until accepted, as a
//! client should), and each is killed with SIGKILL at seeded random points and restarted with
//! the same config. Afterwards every window, forecast and alert of the embedded oracle must be
//! in ClickHouse exactly once (after `FINAL`), each window with the oracle's event count (a
//! retried request's lines counted once), nothing else may be there, and the webhook must have
//! received every alert, exactly once except that each notifier kill may repeat the one
//! notification in flight at that moment (HTTP delivery is at-least-once; see the end).
//! `CLOUDSAGE_CHAOS_SEED` replays a run's kill points.

mod common;

use cloudsage::report::Report;
use cloudsage::run::run_embedded;
use cloudsage::scenarios::Scenario;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSource};
use cloudsage_runtime::transport::{Polled, Source};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Services of the load, each one scenario over `MINUTES` minutes of event time (one line a
/// second, plus retries): 28 × 120 × 60 > 200 000 lines.
const SERVICES: usize = 28;
const MINUTES: u32 = 120;
/// Alert threshold: the scenarios' incidents score 45+, healthy series stay below 35
/// (tests/scenarios.rs), so every incident fires.
const THRESHOLD: f64 = 40.0;
/// Idle flush of the stages: long enough that no series is flushed early while the producer
/// is still writing or a restarted scorer works through its backlog (the oracle closes its
/// last windows at end of input instead). 8 s was too short on a loaded machine: a series
/// whose partition waited its turn behind a backlog was flushed with its window half full.
const IDLE_FLUSH_S: u64 = 15;
/// Whole-run bound after the input starts; the test must end well within 8 minutes.
const RUN_DEADLINE: Duration = Duration::from_secs(420);

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

fn stage_toml(kafka: &str, ch: &str, run: &str, hook: &str, listen: u16, dir: &Path) -> String {
    let journal = dir.join("notifier-deliveries.log");
    let journal = journal.display();
    format!(
        r#"
[ingestor.projects.{run}]
tokens = ["{run}-token"]
[ingestor.rate_limit]
requests_per_second = 0
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
delivery_journal = "{journal}"
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

/// One request to the ingestor: about a minute of one service's lines.
struct Post {
    service: String,
    body: String,
    /// The request's `Idempotency-Key`, the same on every retry.
    key: String,
}

/// Requests in rounds: each round holds one request per service, so every series advances in
/// every stretch of input (a series quiet for `IDLE_FLUSH_S` would be flushed early), and the
/// requests of a round (distinct series) can be in flight together.
fn rounds_of_posts(run: &str, lines: &[Vec<String>]) -> Vec<Vec<Post>> {
    let mut per_service: Vec<std::slice::Iter<String>> = lines.iter().map(|l| l.iter()).collect();
    let mut rounds = vec![];
    loop {
        let mut round = vec![];
        for (i, it) in per_service.iter_mut().enumerate() {
            // About one minute of this service's lines (more during retry storms).
            let chunk: Vec<&str> = it.by_ref().take(60).map(String::as_str).collect();
            if !chunk.is_empty() {
                round.push(Post {
                    service: service_name(i),
                    body: chunk.join("\n"),
                    key: format!("{run}-r{}-{}", rounds.len(), service_name(i)),
                });
            }
        }
        if round.is_empty() {
            return rounds;
        }
        rounds.push(round);
    }
}

/// Posts `post` until the ingestor accepts it (202), retrying with the same key whatever went
/// wrong (refused connection while it restarts, a reset mid-request, a 5xx). Returns the
/// number of retries.
async fn post_until_accepted(http: &reqwest::Client, url: &str, token: &str, post: &Post) -> usize {
    let deadline = Instant::now() + RUN_DEADLINE;
    let mut retries = 0;
    loop {
        let r = http
            .post(url)
            .query(&[("service", post.service.as_str())])
            .bearer_auth(token)
            .header("content-type", "text/plain")
            .header("idempotency-key", &post.key)
            .body(post.body.clone())
            .send()
            .await;
        match r {
            Ok(resp) if resp.status() == reqwest::StatusCode::ACCEPTED => return retries,
            Ok(resp) if resp.status().is_client_error() => {
                panic!(
                    "ingestor refused {}: {}",
                    post.key,
                    resp.text().await.unwrap_or_default()
                )
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "{} never accepted", post.key);
        retries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records on the run's `logs.raw`: the lines, plus whatever the first attempts of retried
/// requests delivered before the ingestor died.
async fn raw_records(cfg: &Config, group: &str) -> usize {
    let mut source = KafkaSource::with_group(
        &cfg.kafka,
        group,
        &[cloudsage_schemas::topics::LOGS_RAW],
        &[("auto.offset.reset", "earliest")],
    )
    .unwrap();
    let mut n = 0;
    let mut idle = 0;
    while idle < 10 {
        match source.next_batch(10_000, Duration::from_millis(500)).await {
            Ok(Polled::Messages(m)) if !m.is_empty() => {
                n += m.len();
                idle = 0;
            }
            _ => idle += 1,
        }
        let _ = source.take_rebalance().await;
    }
    n
}

/// The ids the oracle produced.
struct Expected {
    windows: BTreeSet<String>,
    forecasts: BTreeSet<String>,
    alerts: BTreeSet<String>,
    /// Each window's (events, late events).
    counts: BTreeMap<String, (u64, u64)>,
}

impl From<&Report> for Expected {
    fn from(r: &Report) -> Expected {
        Expected {
            windows: r.windows.iter().map(|w| w.window_id.clone()).collect(),
            forecasts: r.forecasts.iter().map(|f| f.forecast_id.clone()).collect(),
            alerts: r.alerts.iter().map(|a| a.alert_id.clone()).collect(),
            counts: r
                .windows
                .iter()
                .map(|w| {
                    let counts = (w.event_count as u64, w.late_count as u64);
                    (w.window_id.clone(), counts)
                })
                .collect(),
        }
    }
}

/// A stage process and how to start it again.
struct Restartable {
    name: &'static str,
    config: std::path::PathBuf,
    /// Its `[http] listen` port (the ingestor's API).
    port: u16,
    process: Stage,
    kills: usize,
}

impl Restartable {
    fn start(name: &'static str, config: std::path::PathBuf, port: u16) -> Restartable {
        let process = spawn_stage(name, &config);
        Restartable {
            name,
            config,
            port,
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

/// What a kill waits for: requests accepted by the ingestor, a stored count, or notifications
/// received reaching `at`.
#[derive(Debug, Clone, Copy)]
enum Progress {
    Requests(usize),
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
    let toml = stage_toml(&kafka, &ch, &run, &hook, 0, dir.path());
    let cfg = Config::from_toml(&toml).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wh.migrate().await.unwrap();
    let mut stages: Vec<Restartable> = ["ingestor", "scorer", "forecaster", "notifier"]
        .into_iter()
        .map(|name| {
            let path = dir.path().join(format!("{name}.toml"));
            let port = free_port();
            std::fs::write(
                &path,
                stage_toml(&kafka, &ch, &run, &hook, port, dir.path()),
            )
            .unwrap();
            Restartable::start(name, path, port)
        })
        .collect();
    let rounds = rounds_of_posts(&run, &lines);
    let requests: usize = rounds.iter().map(Vec::len).sum();

    // Kill points, drawn from the seed: fractions of the requests, of the windows (one per
    // service and minute) and forecasts (about one per window) to come, and a count of
    // notifications received.
    let (nw, nf) = (SERVICES * MINUTES as usize, SERVICES * MINUTES as usize);
    let frac = |rng: &mut Rng, lo, hi, n: usize| ((rng.between(lo, hi) * n as f64) as usize).max(1);
    let mut plan = vec![
        PlannedKill {
            stage: 0,
            when: Progress::Requests(frac(&mut rng, 0.1, 0.7, requests)),
            done: false,
        },
        PlannedKill {
            stage: 1,
            when: Progress::Windows(frac(&mut rng, 0.1, 0.6, nw)),
            done: false,
        },
        PlannedKill {
            stage: 2,
            when: Progress::Forecasts(frac(&mut rng, 0.1, 0.7, nf)),
            done: false,
        },
        PlannedKill {
            stage: 3,
            when: Progress::Windows(frac(&mut rng, 0.2, 0.6, nw)),
            done: false,
        },
        PlannedKill {
            stage: 3,
            when: Progress::Notifications(1 + (rng.next() % 4) as usize),
            done: false,
        },
    ];
    let kill_delays: Vec<Duration> = plan
        .iter()
        .map(|_| Duration::from_millis(rng.between(0.0, 400.0) as u64))
        .collect();
    println!("kill plan: {plan:?}");

    // Post the input to the ingestor while the stages run, a round at a time.
    let accepted = Arc::new(AtomicUsize::new(0));
    let producer = {
        let url = format!("http://127.0.0.1:{}/v1/logs", stages[0].port);
        let token = format!("{run}-token");
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut retries = 0;
            for round in rounds {
                let posts = round
                    .iter()
                    .map(|p| post_until_accepted(&http, &url, &token, p));
                for r in futures::future::join_all(posts).await {
                    retries += r;
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            }
            retries
        })
    };

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
                Progress::Requests(n) => accepted.load(Ordering::Relaxed) >= n,
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
                    "{:>6.1} s: kill -9 {} at {:?} (requests {}, windows {windows}, forecasts {forecasts}, alerts {alerts}, notifications {notified}); restarted",
                    test_started.elapsed().as_secs_f64(),
                    s.name,
                    k.when,
                    accepted.load(Ordering::Relaxed),
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
    let retries = producer.await.unwrap();
    let records = raw_records(&cfg, &format!("{run}-count")).await;
    println!(
        "{requests} requests, {retries} retries; logs.raw holds {records} records for {total_lines} lines ({} repeated by retries, each counted once by the scorer)",
        records.saturating_sub(total_lines)
    );
    assert!(records >= total_lines, "lines lost on logs.raw");
    let Expected {
        windows: want_windows,
        forecasts: want_forecasts,
        alerts: want_alerts,
        counts: want_counts,
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
    // Every stored window counted what the oracle counted: no line of a retried request twice.
    let got_counts: BTreeMap<String, (u64, u64)> = wh
        .client()
        .query(
            "SELECT window_id, event_count, late_count FROM risk_windows FINAL WHERE project = ?",
        )
        .bind(&run)
        .fetch_all::<(String, u64, u64)>()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, events, late)| (id, (events, late)))
        .collect();
    let miscounted: Vec<_> = want_counts
        .iter()
        .filter_map(|(id, want)| {
            let got = got_counts.get(id)?;
            (got != want).then(|| format!("{id}: (events, late) {got:?}, oracle {want:?}"))
        })
        .collect();
    println!(
        "window counts: {} of {} match the oracle",
        want_counts.len() - miscounted.len(),
        want_counts.len()
    );
    println!(
        "chaos run done in {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
    // Delivery over HTTP is at-least-once: a notifier killed after the receiver got a
    // notification but before the answer reached it (and its journal) sends that one again
    // after the restart. So each notifier kill may repeat one notification, once; nothing else
    // may be repeated, and nothing lost.
    let notifier_kills = stages[3].kills;
    drop(stages);
    for (kind, (lost, duplicated, unexpected)) in &results {
        let repeats_allowed = if *kind == "notifications" {
            let twice = duplicated
                .iter()
                .all(|id| got_notifications.get(id) == Some(&2));
            if twice && duplicated.len() <= notifier_kills {
                duplicated.len()
            } else {
                0
            }
        } else {
            0
        };
        if repeats_allowed > 0 {
            println!(
                "{kind}: {repeats_allowed} sent twice, in flight at one of {notifier_kills} notifier kills"
            );
        }
        assert!(
            lost.is_empty() && duplicated.len() <= repeats_allowed && unexpected.is_empty(),
            "{kind} (seed {seed}): lost {lost:?}, duplicated {duplicated:?}, unexpected {unexpected:?}"
        );
    }
    assert!(
        miscounted.is_empty(),
        "(seed {seed}) miscounted windows: {miscounted:?}"
    );
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
