//! `cloudsage bench --lines N`: the scorer end to end on the real broker. Produces N lines
//! (`--series` services, one line per 500 ms of event time each) to `logs.raw`, runs the scorer
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

pub async fn bench(config: &Config, lines: u64, series: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.kafka.brokers.is_some(),
        "bench needs kafka.brokers (CLOUDSAGE_KAFKA__BROKERS)"
    );
    let series = series.max(1);
    ensure_topics(&config.kafka, &cloudsage_schemas::topics::all_topics()).await?;
    let run = format!("bench{}", cloudsage_runtime::driver::now_ms());
    let mut cfg = config.clone();
    cfg.kafka.group_prefix = run.clone();
    cfg.scorer.idle_flush = Duration::from_secs(3);

    let shutdown = CancellationToken::new();
    let scorer = cloudsage_scorer_task(&cfg, shutdown.clone())?;
    let mut reader =
        KafkaSource::with_group(&cfg.kafka, &format!("{run}-reader"), &[WINDOWS_SCORED], &[])?;

    // Produce: event time advances STEP_MS per line and series; remember when the broker
    // acknowledged the last line of every (series, window).
    let sink = KafkaSink::new(&cfg.kafka)?;
    let base = 1_795_161_600_000i64;
    let started = Instant::now();
    let mut acked: HashMap<(String, i64), Instant> = HashMap::new();
    let mut batch: Vec<OutRecord> = Vec::with_capacity(10_000);
    let mut last_in_batch: Vec<(String, i64)> = vec![];
    for i in 0..lines {
        let s = i % series;
        let t = base + (i / series) as i64 * STEP_MS;
        let service = format!("svc{s}");
        let level = if i % 97 == 0 { "ERROR" } else { "INFO" };
        let line = format!(
            "{{\"ts\":{t},\"level\":\"{level}\",\"msg\":\"request {i} served\",\"duration_ms\":{}}}",
            20 + i % 180
        );
        batch.push(OutRecord {
            topic: LOGS_RAW.into(),
            key: format!("{run}/{service}").into_bytes(),
            payload: line.into_bytes(),
        });
        last_in_batch.push((service, t.div_euclid(WINDOW_MS) * WINDOW_MS));
        if batch.len() == 10_000 || i + 1 == lines {
            sink.send(std::mem::take(&mut batch)).await?;
            let now = Instant::now();
            for k in last_in_batch.drain(..) {
                acked.insert(k, now);
            }
        }
    }
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
                if let Some(at) = acked.remove(&(w.service.clone(), w.window_start_ms)) {
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
        "{lines} lines, {series} series → {seen}/{expected} windows in {:.2} s: {:.0} lines/s end to end (produce alone {:.2} s)",
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
