//! Wiring a stage binary: config → logging → Kafka source/sink → ClickHouse → ops server →
//! driver, the same way for every stage.

use crate::config::Config;
use crate::deliver::Deliverer;
use crate::driver::Driver;
use crate::kafka::{ensure_topics, KafkaSink, KafkaSource};
use crate::metrics::Metrics;
use crate::server::{ops_router, serve, Health};
use crate::stage::Processor;
use crate::warehouse::Warehouse;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The listen address of a binary: `http.listen`, else its default.
pub fn listen_address(config: &Config, default_port: u16) -> SocketAddr {
    config
        .http
        .listen
        .unwrap_or(([0, 0, 0, 0], default_port).into())
}

/// Runs `processor` over Kafka (and ClickHouse, when configured) until SIGTERM/SIGINT.
pub async fn run_kafka_stage<P: Processor, D: Deliverer>(
    config: &Config,
    processor: P,
    deliverer: D,
    ops_listen: Option<SocketAddr>,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let warehouse = Warehouse::from_config(&config.clickhouse);
    if let Some(w) = &warehouse {
        w.migrate().await?;
    }
    ensure_topics(&config.kafka, &cloudsage_schemas::topics::all_topics()).await?;
    let sink = Arc::new(KafkaSink::new(&config.kafka)?);
    let source = KafkaSource::new(&config.kafka, processor.name(), &processor.input_topics())?;
    let health = Health {
        broker: Some(sink.clone()),
        warehouse: warehouse.clone(),
    };
    // Binaries with several loops serve one ops endpoint (the first loop's).
    let server = ops_listen.map(|listen| {
        tokio::spawn(serve(
            listen,
            ops_router(health, metrics.clone()),
            shutdown.clone(),
        ))
    });
    let driver = Driver {
        processor,
        source,
        sink: sink.clone(),
        warehouse,
        deliverer,
        metrics,
        pipeline: config.pipeline.clone(),
        write_retry_for: config.clickhouse.write_retry_for,
        shutdown: shutdown.clone(),
    };
    let result = driver.run().await;
    sink.flush();
    shutdown.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    result.map(|_| ())
}

/// The whole `main` of a single-loop stage binary: load config, set up logging, build the
/// processor from the config, run it over Kafka with the ops endpoint on `default_port`
/// (unless `http.listen` says otherwise) until SIGTERM/SIGINT.
pub async fn run_stage_binary<P: Processor>(
    default_port: u16,
    make_processor: impl FnOnce(&Config) -> anyhow::Result<P>,
) -> anyhow::Result<()> {
    let config = Config::load(None)?;
    crate::logging::init_logging(&config.log);
    let processor = make_processor(&config)?;
    run_kafka_stage(
        &config,
        processor,
        crate::deliver::NoDelivery,
        Some(listen_address(&config, default_port)),
        Metrics::new(),
        crate::shutdown::shutdown_on_signals(),
    )
    .await
}
