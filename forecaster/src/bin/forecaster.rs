//! `forecaster`: windows.scored → forecasts + ClickHouse `forecasts`, and, when
//! `[forecaster.llm]` is enabled, LLM-enriched copies of chosen forecasts (see
//! `forecaster::enrich`). The embedded `cloudsage run` pipeline does not enrich.

use cloudsage_runtime::app::{listen_address, run_kafka_stage};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::kafka::KafkaSink;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use forecaster::enrich::{self, PipelineSink};
use forecaster::ForecasterProcessor;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    cloudsage_runtime::logging::init_logging(&config.log);
    let metrics = Metrics::new();
    let shutdown = cloudsage_runtime::shutdown::shutdown_on_signals();
    let mut processor = ForecasterProcessor::new(&config.forecaster);
    let llm = &config.forecaster.llm;
    let mut enrichment = None;
    if llm.enabled {
        // Its own producer: enriched forecasts are produced outside the stage's batches.
        let sink = Arc::new(KafkaSink::new(&config.kafka)?);
        let pipeline = PipelineSink {
            sink: sink.clone(),
            warehouse: Warehouse::from_config(&config.clickhouse),
        };
        let (handoff, task) = enrich::start(llm, pipeline, metrics.clone(), shutdown.clone());
        tracing::info!(
            base_url = %llm.base_url,
            model = %llm.model,
            chains = ?llm.chains,
            "LLM enrichment enabled"
        );
        processor = processor.with_enrichment(handoff);
        enrichment = Some((task, sink));
    }
    let result = run_kafka_stage(
        &config,
        processor,
        NoDelivery,
        Some(listen_address(&config, 9202)),
        metrics,
        shutdown.clone(),
    )
    .await;
    // The stage has stopped (and dropped the hand-off); let in-flight enrichments finish.
    shutdown.cancel();
    if let Some((task, sink)) = enrichment {
        let _ = task.await;
        sink.flush();
    }
    result
}
