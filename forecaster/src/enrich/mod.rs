//! Optional enrichment of forecasts by a language model (`[forecaster.llm]`).
//!
//! The pipeline never waits on the model. The processor publishes its heuristic forecast as
//! always and offers forecasts of the configured chains to a bounded channel ([`Handoff`],
//! non-blocking). A background task ([`Enricher`]) asks the model, within a strict timeout,
//! behind a circuit breaker and at most `max_concurrency` at a time, for three better actions
//! as a JSON object; a valid answer is published as an enriched copy of the forecast (same
//! id, the model's actions, one more chain step `llm_enrichment`) to `forecasts` and
//! ClickHouse. Anything else leaves the heuristic forecast standing and is counted.
//!
//! - [`breaker`]: the circuit breaker (pure, time passed in).
//! - [`prompt`]: the messages sent (pure).
//! - [`answer`]: the answer's schema, validation and the enriched forecast (pure).
//! - [`handoff`]: the processor's non-blocking hand-off.
//! - [`client`]: the model behind an OpenAI-compatible endpoint (`async-openai`).
//! - [`sink`]: where enriched forecasts go.
//! - [`task`]: the background task.
//!
//! Known limits: the enriched record reaches `forecasts` after the heuristic one in
//! practice (a model answers in hundreds of milliseconds, the batch is produced before),
//! but this is not enforced; ClickHouse keeps the enriched row through its version (see
//! [`sink::VERSION_LEAD_MS`]). A forecast re-made by a replay is enriched again.

pub mod answer;
pub mod breaker;
pub mod client;
pub mod handoff;
pub mod prompt;
pub mod sink;
pub mod task;

pub use handoff::{EnrichRequest, Handoff, WindowContext};
pub use sink::{EnrichedSink, PipelineSink};
pub use task::{Enricher, Outcome};

use cloudsage_runtime::config::LlmConfig;
use cloudsage_runtime::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Starts the enrichment task publishing to `sink`; returns the processor's hand-off and
/// the task, which ends after `shutdown` (or when every hand-off is dropped) once its
/// in-flight requests are done.
pub fn start<S: EnrichedSink>(
    c: &LlmConfig,
    sink: S,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> (Handoff, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(c.queue_capacity.max(1));
    let enricher = Arc::new(Enricher::new(c, sink, metrics.clone()));
    let task = tokio::spawn(enricher.run(rx, shutdown));
    (Handoff::new(tx, c.chains.clone(), c.max_age, metrics), task)
}
