//! Wiring the incident loop (I/O): learned outcomes loaded from ClickHouse, the runbook
//! caller started when automatic actions are live (`dry_run = false` and a `runbook`), and
//! the [`IncidentProcessor`] run over Kafka with its own consumer group
//! (`<group_prefix>-incidents`).

use crate::decision::runbook;
use crate::decision::Shared;
use crate::incidents::processor::ExecutionSink;
use crate::incidents::IncidentProcessor;
use cloudsage_runtime::app::run_kafka_stage;
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use tokio_util::sync::CancellationToken;

/// Runs the incident loop until `shutdown`; returns at once when `incidents.enabled` is off.
pub async fn run(
    config: &Config,
    shared: Shared,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let cfg = &config.incidents;
    if !cfg.enabled {
        return Ok(());
    }
    let warehouse = Warehouse::from_config(&config.clickhouse);
    if let Some(w) = &warehouse {
        w.migrate().await?;
        if let Err(e) = runbook::load_outcomes(w, &shared).await {
            tracing::warn!(error = %format!("{e:#}"), "loading past outcomes failed; starting from the priors");
        }
    }
    let executions: Option<ExecutionSink> = match (&cfg.runbook, cfg.dry_run) {
        (Some(hook), false) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(runbook::run(rx, hook.clone(), warehouse, shared.clone()));
            Some(Box::new(move |e| {
                let _ = tx.send(e);
            }))
        }
        _ => None,
    };
    tracing::info!(
        dry_run = cfg.dry_run,
        runbook = cfg.runbook.is_some(),
        "incident loop starting"
    );
    let processor = IncidentProcessor::new(cfg, shared, executions);
    run_kafka_stage(config, processor, NoDelivery, None, metrics, shutdown).await
}
