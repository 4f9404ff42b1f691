//! The background enrichment task: bounded concurrency, a circuit breaker and a strict
//! timeout around each model call; publishes only valid answers.

use super::answer;
use super::breaker::{Breaker, Permit};
use super::client::{CallError, ChatModel};
use super::handoff::EnrichRequest;
use super::prompt;
use super::sink::EnrichedSink;
use cloudsage_runtime::config::LlmConfig;
use cloudsage_runtime::events::StageEvent;
use cloudsage_runtime::metrics::Metrics;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What became of one request. Every outcome but `Enriched` leaves the heuristic forecast
/// standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The enriched forecast was published.
    Enriched,
    /// The breaker is open: the model was not called.
    CircuitOpen,
    /// No answer within the timeout.
    Timeout,
    /// Transport failure or an error status.
    HttpError,
    /// An answer that is not the JSON the prompt asks for, or outside its schema.
    InvalidAnswer,
    /// A valid answer that could not be produced or written.
    PublishFailed,
}

impl Outcome {
    /// The `event` label counting it in `cloudsage_events_total`.
    pub fn event(self) -> &'static str {
        match self {
            Outcome::Enriched => "llm_enriched",
            Outcome::CircuitOpen => "llm_circuit_open",
            Outcome::Timeout => "llm_timeout",
            Outcome::HttpError => "llm_http_error",
            Outcome::InvalidAnswer => "llm_invalid_answer",
            Outcome::PublishFailed => "llm_publish_failed",
        }
    }
}

pub struct Enricher<S> {
    model: ChatModel,
    sink: S,
    breaker: Mutex<Breaker>,
    limit: Arc<Semaphore>,
    timeout: Duration,
    metrics: Metrics,
}

impl<S: EnrichedSink> Enricher<S> {
    pub fn new(c: &LlmConfig, sink: S, metrics: Metrics) -> Self {
        Self {
            model: ChatModel::new(c),
            sink,
            breaker: Mutex::new(Breaker::new(c.failure_threshold, c.open_for)),
            limit: Arc::new(Semaphore::new(c.max_concurrency.max(1))),
            timeout: c.timeout,
            metrics,
        }
    }

    /// Takes requests from `rx` until it closes or `shutdown`, at most `max_concurrency` at
    /// a time (waiting requests stay in the bounded channel, so a slow model fills it and
    /// the processor skips new ones). In-flight requests finish (each within the timeout)
    /// before this returns.
    pub async fn run(
        self: Arc<Self>,
        mut rx: mpsc::Receiver<EnrichRequest>,
        shutdown: CancellationToken,
    ) {
        let mut tasks = JoinSet::new();
        loop {
            let request = tokio::select! {
                _ = shutdown.cancelled() => break,
                r = rx.recv() => match r {
                    Some(r) => r,
                    None => break,
                },
            };
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = self.limit.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let me = self.clone();
            tasks.spawn(async move {
                let _permit = permit;
                me.enrich(&request).await
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Enriches one forecast: breaker, model call within the timeout, validation, publish.
    pub async fn enrich(&self, r: &EnrichRequest) -> Outcome {
        let outcome = self.attempt(r).await;
        StageEvent {
            stage: "forecaster",
            event: outcome.event(),
            count: 1,
        }
        .emit(&self.metrics);
        outcome
    }

    async fn attempt(&self, r: &EnrichRequest) -> Outcome {
        let id = r.forecast.forecast_id.as_str();
        if self.breaker().try_acquire(Instant::now()) == Permit::Rejected {
            tracing::debug!(forecast_id = id, "circuit open, not enriching");
            return Outcome::CircuitOpen;
        }
        let started = Instant::now();
        let user = prompt::user_message(r);
        let call = tokio::time::timeout(self.timeout, self.model.complete(prompt::SYSTEM, &user));
        let answer = match call.await {
            Err(_) => Err((
                Outcome::Timeout,
                format!("no answer within {:?}", self.timeout),
            )),
            Ok(Err(e @ CallError::Http(_))) => Err((Outcome::HttpError, e.to_string())),
            Ok(Err(e @ CallError::Response(_))) => Err((Outcome::InvalidAnswer, e.to_string())),
            Ok(Ok(content)) => {
                answer::parse(&content).map_err(|e| (Outcome::InvalidAnswer, e.to_string()))
            }
        };
        let latency = started.elapsed();
        let advice = match answer {
            Ok(advice) => {
                self.breaker().on_success();
                advice
            }
            Err((outcome, reason)) => {
                let opened = self.breaker().on_failure(Instant::now());
                tracing::warn!(
                    forecast_id = id,
                    model = self.model.name(),
                    outcome = outcome.event(),
                    latency_ms = latency.as_millis() as u64,
                    reason,
                    breaker_opened = opened,
                    "enrichment failed, keeping the heuristic forecast"
                );
                return outcome;
            }
        };
        let enriched = answer::enriched(&r.forecast, &advice, self.model.name(), latency);
        match self.sink.publish(&enriched).await {
            Ok(()) => {
                tracing::info!(
                    forecast_id = id,
                    model = self.model.name(),
                    latency_ms = latency.as_millis() as u64,
                    "forecast enriched"
                );
                Outcome::Enriched
            }
            Err(e) => {
                tracing::warn!(forecast_id = id, error = %format!("{e:#}"), "publishing the enriched forecast failed");
                Outcome::PublishFailed
            }
        }
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }
}
