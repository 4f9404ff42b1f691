//! `notifier`: windows.scored + forecasts → alerts (rule evaluation), and alerts → receivers
//! (delivery, with routes, grouping, silences and quiet hours), as two loops with their own
//! consumer groups and one ops endpoint (`/health`, `/metrics`, `/v1/silences`); a third loop
//! groups alerts into incidents and decides what to do (`/v1/incidents/{id}/outcome`).

use cloudsage_runtime::app::{listen_address, run_kafka_stage};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::kafka::KafkaSink;
use cloudsage_runtime::logging::init_logging;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::server::{ops_router, serve, Health};
use cloudsage_runtime::shutdown::shutdown_on_signals;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use notifier::silences::{self, Silences};
use notifier::{DeliveryProcessor, EvaluatorProcessor, Receivers};
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    init_logging(&config.log);
    let shutdown = shutdown_on_signals();
    let metrics = Metrics::new();
    let warehouse = Warehouse::from_config(&config.clickhouse);
    let receivers = Receivers::new(&config.notifier, warehouse.clone())?;
    // Configured silences, then the API's (kept in ClickHouse) so restarts keep them.
    let silences = Silences::from_config(&config.notifier.silences)?;
    if let Some(w) = &warehouse {
        w.migrate().await?;
        let n = silences::store::load(w, &silences, now_ms()).await?;
        tracing::info!(silences = n, "stored silences loaded");
    }
    let delivery = DeliveryProcessor::routed(&config.notifier, silences.clone())?;
    // One ops endpoint for both loops, with the silences API.
    let health = Health {
        broker: Some(Arc::new(KafkaSink::new(&config.kafka)?)),
        warehouse: warehouse.clone(),
    };
    // Incidents: outcomes reported at `POST /v1/incidents/{id}/outcome` feed the third loop.
    let incidents = notifier::decision::Shared::new(config.incidents.prior_strength);
    let incident_api = notifier::decision::api::router(incidents.clone(), warehouse.clone());
    let router =
        ops_router(health, metrics.clone()).merge(silences::api::router(silences, warehouse));
    let router = router.merge(incident_api);
    let server = tokio::spawn(serve(
        listen_address(&config, 9203),
        router,
        shutdown.clone(),
    ));
    let evaluate = run_kafka_stage(
        &config,
        EvaluatorProcessor::new(&config.notifier, config.scorer.window)?,
        NoDelivery,
        None,
        metrics.clone(),
        shutdown.clone(),
    );
    let deliver = run_kafka_stage(
        &config,
        delivery,
        receivers,
        None,
        metrics.clone(),
        shutdown.clone(),
    );
    let incident_loop =
        notifier::incidents::service::run(&config, incidents, metrics.clone(), shutdown.clone());
    let (a, b, c) = tokio::join!(evaluate, deliver, incident_loop);
    shutdown.cancel();
    let served = server.await.map_err(anyhow::Error::from).and_then(|r| r);
    a.and(b).and(c).and(served)
}
