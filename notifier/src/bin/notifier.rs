//! `notifier`: windows.scored + forecasts → alerts (rule evaluation), and alerts → receivers
//! (delivery), as two loops with their own consumer groups and one ops endpoint.

use cloudsage_runtime::app::{listen_address, run_kafka_stage};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::logging::init_logging;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::shutdown::shutdown_on_signals;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use notifier::{DeliveryProcessor, EvaluatorProcessor, Receivers};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    init_logging(&config.log);
    let shutdown = shutdown_on_signals();
    let metrics = Metrics::new();
    let receivers = Receivers::new(&config.notifier, Warehouse::from_config(&config.clickhouse))?;
    let evaluate = run_kafka_stage(
        &config,
        EvaluatorProcessor::new(&config.notifier),
        NoDelivery,
        Some(listen_address(&config, 9203)),
        metrics.clone(),
        shutdown.clone(),
    );
    let deliver = run_kafka_stage(
        &config,
        DeliveryProcessor,
        receivers,
        None,
        metrics,
        shutdown.clone(),
    );
    let (a, b) = tokio::join!(evaluate, deliver);
    a.and(b)
}
