//! `scorer`: logs.raw → windows.scored + ClickHouse `risk_windows`.

use cloudsage_runtime::app::{listen_address, run_kafka_stage};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::logging::init_logging;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::shutdown::shutdown_on_signals;
use cloudsage_runtime::Config;
use scorer::ScorerProcessor;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    init_logging(&config.log);
    let processor = ScorerProcessor::new(&config.scorer);
    let listen = listen_address(&config, 9201);
    run_kafka_stage(
        &config,
        processor,
        NoDelivery,
        Some(listen),
        Metrics::new(),
        shutdown_on_signals(),
    )
    .await
}
