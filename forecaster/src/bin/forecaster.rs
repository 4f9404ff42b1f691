//! `forecaster`: windows.scored → forecasts + ClickHouse `forecasts`.

use cloudsage_runtime::app::{listen_address, run_kafka_stage};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::logging::init_logging;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::shutdown::shutdown_on_signals;
use cloudsage_runtime::Config;
use forecaster::ForecasterProcessor;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    init_logging(&config.log);
    let processor = ForecasterProcessor::new(&config.forecaster);
    let listen = listen_address(&config, 9202);
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
