//! `ingestor`: HTTP intake → logs.raw. Serves the API, `/health` and `/metrics` on one port.

use cloudsage_runtime::app::listen_address;
use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::logging::init_logging;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::server::{ops_router, serve, Health};
use cloudsage_runtime::shutdown::shutdown_on_signals;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use ingestor::{router, IngestState};
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    init_logging(&config.log);
    let shutdown = shutdown_on_signals();
    ensure_topics(&config.kafka, &cloudsage_schemas::topics::all_topics()).await?;
    let sink = Arc::new(KafkaSink::new(&config.kafka)?);
    let metrics = Metrics::new();
    let state = Arc::new(IngestState::from_config(
        &config.ingestor,
        sink.clone(),
        metrics.clone(),
    )?);
    let health = Health {
        broker: Some(sink.clone()),
        warehouse: Warehouse::from_config(&config.clickhouse),
    };
    let app = router(state).merge(ops_router(health, metrics));
    serve(listen_address(&config, 8080), app, shutdown).await?;
    sink.flush();
    Ok(())
}
