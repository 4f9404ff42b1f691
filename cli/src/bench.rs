//! `cloudsage bench --lines N`: the scorer end to end on the real broker. Produces N lines
//! (`--series` services, one line per 500 ms of event time each, `--lines-per-record` of a
//! service per record as newline-delimited JSON) to its own `logs.raw`, runs the scorer
//! in this process (its own consumer group, writing ClickHouse when configured), reads
//! `windows.scored` back, and prints lines/s (first produce → last window), the latency from
//! the broker acknowledging a window's last line to the window appearing on `windows.scored`
//! (p50/p99), and the process's peak RSS (producer + scorer + reader).

use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink, KafkaSource};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::{Polled, Sink, Source};
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::{LOGS_RAW, WINDOWS_SCORED};
use cloudsage_schemas::{Message as _, ScoredWindow};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const WINDOW_MS: i64 = 60_000;
const STEP_MS: i64 = 500;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub async fn bench(
    config: &Config,
    lines: u64,
    series: u64,
    lines_per_record: u64,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.kafka.brokers.is_some(),
        "bench needs kafka.brokers (CLOUDSAGE_KAFKA__BROKERS)"
    );
    let series = series.max(1);
    let lines_per_record = lines_per_record.max(1);
    let run = format!("bench{}", cloudsage_runtime::driver::now_ms());
    let mut cfg = config.clone();
    cfg.kafka.group_prefix = run.clone();
    // Its own topics: no other run's backlog is read or counted.
    cfg.kafka.topic_prefix = format!("{}{run}.", config.kafka.topic_prefix);
    cfg.scorer.idle_flush = Duration::from_secs(3);
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics()).await?;

    let shutdown = CancellationToken::new();
    let scorer = cloudsage_scorer_task(&cfg, shutdown.clone())?;
    let mut reader =
        KafkaSource::with_group(&cfg.kafka, &format!("{run}-reader"), &[WINDOWS_SCORED], &[])?;

    // Produce: event time advances STEP_MS per line and series; a record holds up to
    // `lines_per_record` lines of one series (newline-delimited JSON). Remember when the
    // broker acknowledged the last line of every (series, window).
    let sink = KafkaSink::new(&cfg.kafka)?;
    let base = 1_795_161_600_000i64;
    let started = Instant::now();
    // (series number, window start) → when its last line was acknowledged.
    let mut acked: HashMap<(u64, i64), Instant> = HashMap::new();
    // Per series: lines not yet in a record, and the windows they belong to.
    let mut pending: Vec<(Vec<String>, Vec<i64>)> = vec![Default::default(); series as usize];
    let mut batch: Vec<OutRecord> = Vec::new();
    let mut batch_windows: Vec<(u64, i64)> = vec![];
    let record = |s: u64, lines: &mut Vec<String>| OutRecord {
        topic: LOGS_RAW.into(),
        key: format!("{run}/svc{s}").into_bytes(),
        payload: std::mem::take(lines).join("\n").into_bytes(),
    };
    let mut last_t = base;
    for i in 0..lines {
        let s = i % series;
        let t = base + (i / series) as i64 * STEP_MS;
        last_t = t;
        let level = if i % 97 == 0 { "ERROR" } else { "INFO" };
        let (buffer, windows) = &mut pending[s as usize];
        buffer.push(format!(
            "{{\"ts\":{t},\"level\":\"{level}\",\"msg\":\"request {i} served\",\"duration_ms\":{}}}",
            20 + i % 180
        ));
        windows.push(t.div_euclid(WINDOW_MS) * WINDOW_MS);
        let end = i + 1 == lines;
        // A full record of series `s`; at the end, every series' rest.
        let due: Vec<u64> = if end {
            (0..series).collect()
        } else if buffer.len() as u64 == lines_per_record {
            vec![s]
        } else {
            vec![]
        };
        for s in due {
            let (buffer, windows) = &mut pending[s as usize];
            if !buffer.is_empty() {
                batch.push(record(s, buffer));
                batch_windows.extend(windows.drain(..).map(|w| (s, w)));
            }
        }
        if batch_windows.len() >= 50_000 || end {
            sink.send(std::mem::take(&mut batch)).await?;
            let now = Instant::now();
            for k in batch_windows.drain(..) {
                acked.insert(k, now);
            }
        }
    }
    // One closing line per series, past the last window and the allowed lateness, closes
    // every window by the watermark: the figure is the scorer's speed, not the idle flush.
    let closing_t = (last_t.div_euclid(WINDOW_MS) + 1) * WINDOW_MS
        + cfg.scorer.allowed_lateness.as_millis() as i64
        + WINDOW_MS;
    sink.send(
        (0..series)
            .map(|s| {
                record(
                    s,
                    &mut vec![format!(
                        "{{\"ts\":{closing_t},\"level\":\"INFO\",\"msg\":\"bench end\"}}"
                    )],
                )
            })
            .collect(),
    )
    .await?;
    let produced = started.elapsed();
    let expected = acked.len();

    // Read windows until every (series, window) of this run has appeared.
    let mut latencies = vec![];
    let mut seen = 0usize;
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen < expected && Instant::now() < deadline {
        if let Polled::Messages(msgs) = reader.next_batch(5_000, Duration::from_millis(100)).await?
        {
            let now = Instant::now();
            for m in msgs {
                let Ok(w) = ScoredWindow::decode(&m.payload) else {
                    continue;
                };
                if w.project != run {
                    continue;
                }
                let series = w.service.strip_prefix("svc").and_then(|n| n.parse().ok());
                if let Some(at) = series.and_then(|s: u64| acked.remove(&(s, w.window_start_ms))) {
                    seen += 1;
                    latencies.push(now.saturating_duration_since(at).as_secs_f64() * 1000.0);
                }
            }
        }
        let _ = reader.take_rebalance().await;
    }
    let total = started.elapsed();
    shutdown.cancel();
    let _ = scorer.await;
    latencies.sort_by(f64::total_cmp);
    println!(
        "{lines} lines, {series} series, {lines_per_record} lines per record → {seen}/{expected} windows in {:.2} s: {:.0} lines/s end to end (produce alone {:.2} s)",
        total.as_secs_f64(),
        lines as f64 / total.as_secs_f64(),
        produced.as_secs_f64()
    );
    println!(
        "line acked → window on windows.scored: p50 {:.0} ms, p99 {:.0} ms; peak RSS {} MiB",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        cloudsage_runtime::process::peak_rss_kib().map_or("?".into(), |k| (k / 1024).to_string())
    );
    anyhow::ensure!(
        seen == expected,
        "{} windows never appeared",
        expected - seen
    );
    Ok(())
}

fn cloudsage_scorer_task(
    cfg: &Config,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let processor = scorer::ScorerProcessor::new(&cfg.scorer)?;
    let cfg = cfg.clone();
    Ok(tokio::spawn(async move {
        cloudsage_runtime::app::run_kafka_stage(
            &cfg,
            processor,
            NoDelivery,
            None,
            Metrics::new(),
            shutdown,
        )
        .await
    }))
}
