//! `cloudsage soak --rate N --duration 60s [--series S]`: the four stage binaries (found next to
//! this executable) as separate processes against the configured broker and ClickHouse, with
//! their own consumer groups and project. Posts scenario logs (`cloudsage generate
//! --scenario`, one scenario per series) to the ingestor at a fixed rate for the duration,
//! and reports the sustained rate, each stage's consumer lag over time (its `/metrics`), the
//! latency from the ingestor's acknowledgement of a window's last line to the window on
//! `windows.scored` and to its notification at an in-process webhook receiver (p50/p99), and
//! each stage's peak RSS (`VmHWM`).

use crate::scenarios::Scenario;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSource};
use cloudsage_runtime::transport::{Polled, Source};
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::WINDOWS_SCORED;
use cloudsage_schemas::{Message as _, ScoredWindow};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

const STAGES: [&str; 4] = ["ingestor", "scorer", "forecaster", "notifier"];
/// How often a batch of lines is posted (each series gets one request per tick).
const TICK: Duration = Duration::from_millis(500);
/// How often the lag table gets a row.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How long, after producing stops, windows may take to appear.
const DRAIN_FOR: Duration = Duration::from_secs(90);

pub struct SoakOptions {
    pub rate: u64,
    pub duration: Duration,
    pub series: u64,
    /// The configuration file the stages should load too (`--config`).
    pub config_file: Option<PathBuf>,
}

/// A (series, window start) key.
type WindowKey = (String, i64);

/// A stage process, killed if still running when dropped.
struct StageProcess {
    name: &'static str,
    port: u16,
    child: Child,
}

impl Drop for StageProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Peak resident set size of process `pid` in KiB (`VmHWM`, Linux only).
fn peak_rss_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Epoch ms of a scenario line's leading RFC 3339 UTC timestamp (`2026-11-20T06:00:00.123Z`).
fn event_ms(line: &str) -> Option<i64> {
    let ts = line.get(..23)?;
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let days = logparse::timestamp::days_from_civil(
        num(0..4)? as i32,
        num(5..7)? as u32,
        num(8..10)? as u32,
    );
    Some(
        days * 86_400_000
            + num(11..13)? * 3_600_000
            + num(14..16)? * 60_000
            + num(17..19)? * 1000
            + num(20..23)?,
    )
}

/// Notification bodies as they arrive at the in-process webhook, with their arrival time.
type Received = Arc<Mutex<Vec<(Instant, serde_json::Value)>>>;

/// A minimal HTTP/1.1 server (keep-alive, `Content-Length` bodies) that records every body
/// posted to it and answers 200: enough for the notifier's webhook client.
async fn start_webhook_receiver(shutdown: CancellationToken) -> anyhow::Result<(u16, Received)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let received: Received = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                _ = shutdown.cancelled() => break,
                c = listener.accept() => c,
            };
            let Ok((stream, _)) = conn else { continue };
            let store = store.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut content_length = 0usize;
                    let mut line = String::new();
                    // Request line and headers.
                    let mut first = true;
                    loop {
                        line.clear();
                        match stream.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" || (line == "\n" && !first) {
                            break;
                        }
                        first = false;
                        if let Some((name, value)) = line.split_once(':') {
                            if name.trim().eq_ignore_ascii_case("content-length") {
                                content_length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; content_length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let at = Instant::now();
                    if let Ok(v) = serde_json::from_slice(&body) {
                        store
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((at, v));
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if stream.get_mut().write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((port, received))
}

/// Starts stage `name` (the binary next to this executable) with the caller's configuration
/// plus the run's overrides; its output goes to `log_dir/<name>.log`.
fn spawn_stage(
    name: &'static str,
    opts: &SoakOptions,
    overrides: &[(String, String)],
    log_dir: &Path,
) -> anyhow::Result<StageProcess> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no directory for {}", exe.display()))?
        .join(name);
    anyhow::ensure!(
        binary.exists(),
        "{} not found: build the workspace binaries (cargo build --release --workspace --bins)",
        binary.display()
    );
    let port = free_port()?;
    let log = std::fs::File::create(log_dir.join(format!("{name}.log")))?;
    let mut cmd = Command::new(&binary);
    if let Some(file) = &opts.config_file {
        cmd.env("CLOUDSAGE_CONFIG", std::fs::canonicalize(file)?);
    }
    for (k, v) in overrides {
        cmd.env(k, v);
    }
    let child = cmd
        .env("CLOUDSAGE_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(log.try_clone()?)
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", binary.display()))?;
    Ok(StageProcess { name, port, child })
}

/// Sum of a stage's `cloudsage_consumer_lag` gauges, or `None` when `/metrics` does not
/// answer or has none yet.
async fn consumer_lag(http: &reqwest::Client, port: u16) -> Option<i64> {
    let text = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let values: Vec<i64> = text
        .lines()
        .filter(|l| l.starts_with("cloudsage_consumer_lag{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as i64)
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// One chunk of a series' lines, ready to post, with the windows its lines fall in.
struct Chunk {
    service: String,
    body: String,
    lines: u64,
    windows: Vec<i64>,
}

pub async fn soak(config: &Config, opts: SoakOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.kafka.brokers.is_some(),
        "soak needs kafka.brokers (CLOUDSAGE_KAFKA__BROKERS)"
    );
    anyhow::ensure!(opts.rate > 0, "--rate must be positive");
    let series = opts.series.max(1);
    ensure_topics(&config.kafka, &cloudsage_schemas::topics::all_topics()).await?;
    let run = format!("soak{}", cloudsage_runtime::driver::now_ms());
    let token = format!("{run}-token");
    let window_ms = config.scorer.window.as_millis() as i64;
    let log_dir = std::env::temp_dir().join(&run);
    std::fs::create_dir_all(&log_dir)?;

    // The load: every series one scenario (incidents raise alerts), long enough for the run.
    let total = opts.rate * opts.duration.as_secs().max(1);
    let minutes = (total / series / 60 + 2) as u32;
    let generated = Instant::now();
    let lines: Vec<Vec<String>> = (0..series)
        .map(|i| Scenario::all()[i as usize % Scenario::all().len()].lines(minutes, i + 1))
        .collect();
    println!(
        "soak {run}: {series} series × {minutes} min of scenario logs generated in {:.1} s; stage logs in {}",
        generated.elapsed().as_secs_f64(),
        log_dir.display()
    );

    let shutdown = CancellationToken::new();
    let (hook_port, received) = start_webhook_receiver(shutdown.clone()).await?;
    let overrides: Vec<(String, String)> = vec![
        ("CLOUDSAGE_KAFKA__GROUP_PREFIX".into(), run.clone()),
        (
            format!("CLOUDSAGE_INGESTOR__PROJECTS__{run}__TOKENS"),
            format!("[\"{token}\"]"),
        ),
        (
            "CLOUDSAGE_INGESTOR__RATE_LIMIT__REQUESTS_PER_SECOND".into(),
            "0".into(),
        ),
        ("CLOUDSAGE_SCORER__IDLE_FLUSH".into(), "5s".into()),
        ("CLOUDSAGE_NOTIFIER__CONSOLE".into(), "false".into()),
        // The scenarios' incidents score 45 and more, healthy series stay below 35
        // (cli/tests/scenarios.rs): at 40 every incident alerts, so latency is measured.
        ("CLOUDSAGE_NOTIFIER__THRESHOLD".into(), "40".into()),
        (
            "CLOUDSAGE_NOTIFIER__WEBHOOKS".into(),
            format!("[{{name=\"soak\",url=\"http://127.0.0.1:{hook_port}/hook\"}}]"),
        ),
        ("CLOUDSAGE_LOG__FILTER".into(), "warn".into()),
    ];

    // Windows as they appear on `windows.scored`: a reader positioned at the end before any
    // line is sent, so it sees every window of the run.
    let mut tap = KafkaSource::with_group(
        &config.kafka,
        &format!("{run}-tap"),
        &[WINDOWS_SCORED],
        &[("auto.offset.reset", "latest")],
    )?;
    tap.wait_for_assignment(Duration::from_secs(60)).await?;
    let seen_windows: Arc<Mutex<HashMap<WindowKey, (Instant, String)>>> = Arc::default();
    let tap_task = {
        let seen = seen_windows.clone();
        let run = run.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                if let Ok(Polled::Messages(msgs)) =
                    tap.next_batch(5_000, Duration::from_millis(100)).await
                {
                    let now = Instant::now();
                    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                    for m in msgs {
                        let Ok(w) = ScoredWindow::decode(&m.payload) else {
                            continue;
                        };
                        if w.project == run {
                            seen.entry((w.service, w.window_start_ms))
                                .or_insert((now, w.window_id));
                        }
                    }
                }
                let _ = tap.take_rebalance().await;
            }
        })
    };

    let mut stages = vec![];
    for name in STAGES {
        stages.push(spawn_stage(name, &opts, &overrides, &log_dir)?);
    }
    let http = reqwest::Client::new();
    for s in &mut stages {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = s.child.try_wait()? {
                anyhow::bail!(
                    "{} exited at start-up ({status}); see {}",
                    s.name,
                    log_dir.join(format!("{}.log", s.name)).display()
                );
            }
            let r = http
                .get(format!("http://127.0.0.1:{}/health", s.port))
                .send()
                .await;
            if r.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} not healthy within 60 s",
                s.name
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let ingest_url = format!("http://127.0.0.1:{}/v1/logs", stages[0].port);

    // Produce: each tick, every series posts its share of the tick's lines; the ingestor's
    // 202 is the acknowledgement (it answers after the broker acknowledged).
    let per_tick = (opts.rate as f64 * TICK.as_secs_f64()).round().max(1.0) as u64;
    let mut cursors = vec![0usize; series as usize];
    let mut acked: HashMap<WindowKey, Instant> = HashMap::new();
    let (mut sent_lines, mut rejected) = (0u64, 0u64);
    let mut lag_rows: Vec<String> = vec![];
    let mut next_sample = Instant::now() + SAMPLE_EVERY;
    let started = Instant::now();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tick_no = 0u64;
    let sample = |t: f64, sent: u64, stages: &[StageProcess]| {
        let http = http.clone();
        let ports: Vec<u16> = stages[1..].iter().map(|s| s.port).collect();
        let windows = seen_windows.lock().unwrap_or_else(|p| p.into_inner()).len();
        // The alerts topic is shared: only this run's project counts.
        let notifications = received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, b)| b["commonLabels"]["project"] == run.as_str())
            .count();
        async move {
            let mut lags = vec![];
            for p in ports {
                lags.push(
                    consumer_lag(&http, p)
                        .await
                        .map_or("-".to_string(), |l| l.to_string()),
                );
            }
            format!(
                "{t:>6.0} {sent:>10} {:>9} {:>11} {:>9} {windows:>8} {notifications:>14}",
                lags[0], lags[1], lags[2]
            )
        }
    };
    while started.elapsed() < opts.duration {
        ticks.tick().await;
        // The tick's lines, spread over the series.
        let mut chunks = vec![];
        for (i, cursor) in cursors.iter_mut().enumerate() {
            let share = per_tick / series + u64::from((i as u64) < per_tick % series);
            let series_lines = &lines[i];
            let end = (*cursor + share as usize).min(series_lines.len());
            if end == *cursor {
                continue;
            }
            let slice = &series_lines[*cursor..end];
            *cursor = end;
            let mut windows: Vec<i64> = slice
                .iter()
                .filter_map(|l| event_ms(l))
                .map(|t| t.div_euclid(window_ms) * window_ms)
                .collect();
            windows.dedup();
            chunks.push(Chunk {
                service: format!("svc{i:03}"),
                body: slice.join("\n"),
                lines: slice.len() as u64,
                windows,
            });
        }
        let posts = chunks.into_iter().map(|c| {
            let http = http.clone();
            let url = ingest_url.clone();
            let token = token.clone();
            async move {
                let r = http
                    .post(url)
                    .query(&[("service", c.service.as_str())])
                    .bearer_auth(token)
                    .header("content-type", "text/plain")
                    .body(c.body)
                    .send()
                    .await;
                (c.service, c.lines, c.windows, r, Instant::now())
            }
        });
        for (service, n, windows, r, at) in futures::future::join_all(posts).await {
            match r {
                Ok(resp) if resp.status().as_u16() == 202 => {
                    sent_lines += n;
                    for w in windows {
                        acked.insert((service.clone(), w), at);
                    }
                }
                Ok(resp) => {
                    rejected += n;
                    tracing::warn!(status = %resp.status(), "ingestor refused a batch");
                }
                Err(e) => {
                    rejected += n;
                    tracing::warn!(error = %e, "posting a batch failed");
                }
            }
        }
        tick_no += 1;
        if Instant::now() >= next_sample {
            lag_rows.push(sample(started.elapsed().as_secs_f64(), sent_lines, &stages).await);
            next_sample += SAMPLE_EVERY;
        }
    }
    let produced_for = started.elapsed();

    // Drain: wait for every acknowledged window (the last ones close on the idle flush).
    let drain_deadline = Instant::now() + DRAIN_FOR;
    loop {
        let missing = {
            let seen = seen_windows.lock().unwrap_or_else(|p| p.into_inner());
            acked.keys().filter(|k| !seen.contains_key(*k)).count()
        };
        if Instant::now() >= next_sample {
            lag_rows.push(sample(started.elapsed().as_secs_f64(), sent_lines, &stages).await);
            next_sample += SAMPLE_EVERY;
        }
        if missing == 0 || Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Late notifications (group waits, retries) get a few more seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    lag_rows.push(sample(started.elapsed().as_secs_f64(), sent_lines, &stages).await);
    let peaks: Vec<(&str, Option<u64>)> = stages
        .iter()
        .map(|s| (s.name, peak_rss_kib_of(s.child.id())))
        .collect();
    // Graceful stop (SIGTERM), then the drop's SIGKILL for anything still running.
    for s in &stages {
        let _ = Command::new("kill")
            .args(["-TERM", &s.child.id().to_string()])
            .status();
    }
    let stop_deadline = Instant::now() + Duration::from_secs(10);
    for s in &mut stages {
        while s.child.try_wait()?.is_none() && Instant::now() < stop_deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(stages);
    shutdown.cancel();
    let _ = tap_task.await;

    // Latencies.
    let seen = seen_windows
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut window_ms_lat: Vec<f64> = acked
        .iter()
        .filter_map(|(k, at)| {
            let (t, _) = seen.get(k)?;
            Some(t.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    window_ms_lat.sort_by(f64::total_cmp);
    let ack_of_window: HashMap<&str, Instant> = seen
        .iter()
        .filter_map(|(k, (_, id))| Some((id.as_str(), *acked.get(k)?)))
        .collect();
    let bodies = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ours: Vec<&(Instant, serde_json::Value)> = bodies
        .iter()
        .filter(|(_, b)| b["commonLabels"]["project"] == run.as_str())
        .collect();
    let mut notify_lat: Vec<f64> = ours
        .iter()
        .filter_map(|(t, b)| {
            let id = b["alerts"][0]["annotations"]["window_id"].as_str()?;
            let at = ack_of_window.get(id)?;
            Some(t.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    notify_lat.sort_by(f64::total_cmp);

    let secs = produced_for.as_secs_f64();
    println!(
        "target {} lines/s for {:.0} s over {series} series ({tick_no} ticks of {} ms): sent {sent_lines} lines in {secs:.1} s = {:.0} lines/s sustained; {rejected} lines refused or failed",
        opts.rate,
        opts.duration.as_secs_f64(),
        TICK.as_millis(),
        sent_lines as f64 / secs.max(1e-9)
    );
    println!("consumer lag (records behind, sum over partitions, from each stage's /metrics; refreshed by the stages every 10 s):");
    println!(
        "{:>6} {:>10} {:>9} {:>11} {:>9} {:>8} {:>14}",
        "t(s)", "sent", "scorer", "forecaster", "notifier", "windows", "notifications"
    );
    for row in &lag_rows {
        println!("{row}");
    }
    println!(
        "ingestor ack of a window's last line → window on windows.scored: p50 {:.0} ms, p99 {:.0} ms ({} of {} windows seen)",
        percentile(&window_ms_lat, 0.5),
        percentile(&window_ms_lat, 0.99),
        window_ms_lat.len(),
        acked.len()
    );
    println!(
        "ingestor ack of the alerting window's last line → webhook received: p50 {:.0} ms, p99 {:.0} ms ({} of {} notifications)",
        percentile(&notify_lat, 0.5),
        percentile(&notify_lat, 0.99),
        notify_lat.len(),
        ours.len()
    );
    println!(
        "peak RSS (VmHWM): {}",
        peaks
            .iter()
            .map(|(n, k)| format!(
                "{n} {}",
                k.map_or("?".into(), |k| format!("{} MiB", k / 1024))
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_timestamps_parse_to_epoch_ms() {
        // 2026-11-20T06:00:00Z is 1 795 154 400 000 ms after the epoch.
        assert_eq!(
            event_ms("2026-11-20T06:00:01.250Z INFO [http] x"),
            Some(1_795_154_401_250)
        );
        assert_eq!(event_ms("no timestamp here at all"), None);
    }
}
