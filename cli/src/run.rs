//! `cloudsage run`: the whole pipeline on one log file. With no Kafka configured, all four
//! stages run in this process over in-memory topics (and still write to ClickHouse when it is
//! configured); with Kafka, the same stages run over the broker.

use crate::ingest::for_each_chunk;
use crate::report::Report;
use cloudsage_runtime::app::run_kafka_stage;
use cloudsage_runtime::config::{NotifierConfig, PipelineConfig};
use cloudsage_runtime::deliver::{Deliverer, NoDelivery};
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::kafka::{KafkaSink, KafkaSource};
use cloudsage_runtime::memory::{MemoryBus, MemorySink, MemorySource};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::transport::{Polled, Sink, Source};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::{Config, Processor};
use cloudsage_schemas::topics::{dead_letter_topic, ALERTS, FORECASTS, LOGS_RAW, WINDOWS_SCORED};
use forecaster::ForecasterProcessor;
use notifier::silences::{self, Silences};
use notifier::{DeliveryProcessor, EvaluatorProcessor, Receivers, RoutedDelivery};
use scorer::ScorerProcessor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// `deploy/sample/sample.log`, next to the working directory or the source tree.
pub fn bundled_sample() -> PathBuf {
    let local = PathBuf::from("deploy/sample/sample.log");
    if local.exists() {
        return local;
    }
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/sample/sample.log"
    ))
}

pub async fn run(config: &Config, file: &Path, project: &str, service: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let (report, lines) = if config.kafka.brokers.is_some() {
        run_over_kafka(config, file, project, service).await?
    } else {
        run_embedded(config, file, project, service).await?
    };
    print!("{}", report.render());
    let secs = started.elapsed().as_secs_f64();
    println!(
        "\n{lines} lines through ingest → scorer → forecaster → notifier in {secs:.2} s ({:.0} lines/s, {})",
        lines as f64 / secs.max(1e-9),
        if config.kafka.brokers.is_some() { "over Kafka" } else { "embedded, in-memory topics" }
    );
    Ok(())
}

fn embedded_driver<P: Processor, D: Deliverer>(
    processor: P,
    source: MemorySource,
    sink: MemorySink,
    deliverer: D,
    warehouse: Option<Warehouse>,
    config: &Config,
) -> tokio::task::JoinHandle<anyhow::Result<P>> {
    let driver = Driver {
        processor,
        source,
        sink,
        warehouse,
        deliverer,
        metrics: Metrics::new(),
        pipeline: PipelineConfig {
            batch_linger: Duration::from_millis(20),
            ..config.pipeline.clone()
        },
        write_retry_for: config.clickhouse.write_retry_for,
        shutdown: CancellationToken::new(),
    };
    tokio::spawn(driver.run())
}

/// The delivery loop as the notifier binary runs it: routes, groups, silences (configured,
/// plus those stored in ClickHouse by the notifier's API) and quiet hours.
async fn routed_delivery(
    notifier: &NotifierConfig,
    warehouse: Option<&Warehouse>,
) -> anyhow::Result<RoutedDelivery> {
    let silences = Silences::from_config(&notifier.silences)?;
    if let Some(w) = warehouse {
        silences::store::load(w, &silences, cloudsage_runtime::driver::now_ms()).await?;
    }
    DeliveryProcessor::routed(notifier, silences)
}

/// Runs every stage over in-memory topics; returns what reached the output topics.
pub async fn run_embedded(
    config: &Config,
    file: &Path,
    project: &str,
    service: &str,
) -> anyhow::Result<(Report, u64)> {
    let warehouse = Warehouse::from_config(&config.clickhouse);
    if let Some(w) = &warehouse {
        w.migrate().await?;
    }
    let bus = MemoryBus::new();
    let scorer_in = bus.subscribe(&[LOGS_RAW]);
    let forecaster_in = bus.subscribe(&[WINDOWS_SCORED]);
    let evaluator_in = bus.subscribe(&[WINDOWS_SCORED, FORECASTS]);
    let delivery_in = bus.subscribe(&[ALERTS]);
    let dlq_logs = dead_letter_topic(LOGS_RAW);
    let dlq_windows = dead_letter_topic(WINDOWS_SCORED);
    let dlq_alerts = dead_letter_topic(ALERTS);
    let dlq_forecasts = dead_letter_topic(FORECASTS);
    let mut tap = bus.subscribe(&[
        WINDOWS_SCORED,
        FORECASTS,
        ALERTS,
        &dlq_logs,
        &dlq_windows,
        &dlq_forecasts,
        &dlq_alerts,
    ]);
    let ingest_sink = bus.sink(&[LOGS_RAW, &dlq_logs]);
    let mut notifier_config = config.notifier.clone();
    // The report prints the alerts; other receivers still get them.
    notifier_config.console = false;
    let stages = vec![embedded_driver(
        ScorerProcessor::new(&config.scorer)?,
        scorer_in,
        bus.sink(&[WINDOWS_SCORED, &dlq_logs]),
        NoDelivery,
        warehouse.clone(),
        config,
    )];
    let forecaster = embedded_driver(
        ForecasterProcessor::new(&config.forecaster),
        forecaster_in,
        bus.sink(&[FORECASTS, &dlq_windows]),
        NoDelivery,
        warehouse.clone(),
        config,
    );
    let evaluator = embedded_driver(
        EvaluatorProcessor::new(&notifier_config, config.scorer.window)?,
        evaluator_in,
        bus.sink(&[ALERTS, &dlq_windows, &dlq_forecasts]),
        NoDelivery,
        warehouse.clone(),
        config,
    );
    let receivers = Receivers::new(&notifier_config, warehouse.clone())?;
    let delivery = embedded_driver(
        routed_delivery(&notifier_config, warehouse.as_ref()).await?,
        delivery_in,
        bus.sink(&[&dlq_alerts]),
        receivers,
        warehouse.clone(),
        config,
    );
    drop(bus);

    let collector = tokio::spawn(async move {
        let mut report = Report::default();
        loop {
            match tap.next_batch(10_000, Duration::from_millis(100)).await {
                Ok(Polled::Messages(m)) => m.iter().for_each(|m| report.add(&m.topic, &m.payload)),
                Ok(Polled::Idle) => {}
                Ok(Polled::End) | Err(_) => break,
            }
        }
        report
    });

    let (accepted, _rejected) = for_each_chunk(file, project, service, "file", |records| {
        ingest_sink.send(records)
    })
    .await?;
    drop(ingest_sink);
    for s in stages {
        s.await??;
    }
    forecaster.await??;
    evaluator.await??;
    delivery.await??;
    Ok((collector.await?, accepted))
}

/// Runs every stage over Kafka in this process. Output is read back from the output topics
/// by a fresh consumer group positioned before the file is ingested; the run ends once no
/// output has arrived for a while after the scorer's idle flush.
pub async fn run_over_kafka(
    config: &Config,
    file: &Path,
    project: &str,
    service: &str,
) -> anyhow::Result<(Report, u64)> {
    // The file is finite: close a series' last window soon after its input stops.
    let mut config = config.clone();
    config.scorer.idle_flush = config.scorer.idle_flush.min(Duration::from_secs(3));
    let config = &config;
    cloudsage_runtime::kafka::ensure_topics(
        &config.kafka,
        &cloudsage_schemas::topics::all_topics(),
    )
    .await?;
    let shutdown = CancellationToken::new();
    let metrics = Metrics::new();
    let mut tap = KafkaSource::with_group(
        &config.kafka,
        &format!(
            "{}-run-{}",
            config.kafka.group_prefix,
            cloudsage_runtime::driver::now_ms()
        ),
        &[WINDOWS_SCORED, FORECASTS, ALERTS],
        &[("auto.offset.reset", "latest")],
    )?;
    // Wait for the tap's assignment, so it sees everything this run produces.
    tap.wait_for_assignment(Duration::from_secs(60)).await?;
    let mut notifier_config = config.notifier.clone();
    notifier_config.console = false;
    let mut tasks = vec![];
    let c = config.clone();
    let (m, s) = (metrics.clone(), shutdown.clone());
    let scorer = ScorerProcessor::new(&c.scorer)?;
    tasks.push(tokio::spawn(async move {
        run_kafka_stage(&c, scorer, NoDelivery, None, m, s).await
    }));
    let c = config.clone();
    let (m, s) = (metrics.clone(), shutdown.clone());
    tasks.push(tokio::spawn(async move {
        run_kafka_stage(
            &c,
            ForecasterProcessor::new(&c.forecaster),
            NoDelivery,
            None,
            m,
            s,
        )
        .await
    }));
    let c = config.clone();
    let (m, s) = (metrics.clone(), shutdown.clone());
    let evaluator = EvaluatorProcessor::new(&notifier_config, config.scorer.window)?;
    tasks.push(tokio::spawn(async move {
        run_kafka_stage(&c, evaluator, NoDelivery, None, m, s).await
    }));
    let c = config.clone();
    let (m, s) = (metrics.clone(), shutdown.clone());
    let warehouse = Warehouse::from_config(&config.clickhouse);
    let delivery = routed_delivery(&notifier_config, warehouse.as_ref()).await?;
    let receivers = Receivers::new(&notifier_config, warehouse)?;
    tasks.push(tokio::spawn(async move {
        run_kafka_stage(&c, delivery, receivers, None, m, s).await
    }));

    let sink = KafkaSink::new(&config.kafka)?;
    let (accepted, _) =
        for_each_chunk(file, project, service, "file", |records| sink.send(records)).await?;
    sink.flush();

    let mut report = Report::default();
    let quiet_for = config.scorer.idle_flush + Duration::from_secs(8);
    let mut last_output = Instant::now();
    while last_output.elapsed() < quiet_for {
        if let Polled::Messages(m) = tap.next_batch(10_000, Duration::from_millis(500)).await? {
            let before = report.len_for(project);
            for msg in m {
                report.add(&msg.topic, &msg.payload);
            }
            // Other projects may share the topics: only this run's output keeps it going.
            if report.len_for(project) > before {
                last_output = Instant::now();
            }
        }
    }
    shutdown.cancel();
    for t in tasks {
        t.await??;
    }
    report.windows.retain(|w| w.project == project);
    report.forecasts.retain(|f| f.project == project);
    report.alerts.retain(|a| a.project == project);
    Ok((report, accepted))
}
