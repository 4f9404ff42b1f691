//! The processor's side of enrichment: offer a fresh forecast to the background task without
//! ever waiting for it.

use cloudsage_runtime::events::StageEvent;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_schemas::{Forecast, ScoredWindow};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the prompt uses of the window a forecast was made after.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowContext {
    /// The window's score, 0-100.
    pub score: f64,
    /// Human labels such as "High Error Rate".
    pub labels: Vec<String>,
    /// The factors that contributed most, highest first.
    pub top_factors: Vec<String>,
}

impl WindowContext {
    pub fn of(window: &ScoredWindow) -> Self {
        Self {
            score: window.score,
            labels: window.labels.clone(),
            top_factors: window.top_factors.clone(),
        }
    }
}

/// A forecast to enrich, with the window context it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichRequest {
    pub forecast: Forecast,
    pub window: WindowContext,
}

/// Hands qualifying forecasts to the enrichment task over a bounded channel.
#[derive(Clone)]
pub struct Handoff {
    tx: mpsc::Sender<EnrichRequest>,
    chains: Vec<String>,
    max_age_ms: i64,
    metrics: Metrics,
}

impl Handoff {
    /// Forecasts of `chains` made at most `max_age` ago are offered to `tx`.
    pub fn new(
        tx: mpsc::Sender<EnrichRequest>,
        chains: Vec<String>,
        max_age: Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            tx,
            chains,
            max_age_ms: i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX),
            metrics,
        }
    }

    /// Whether forecasts of this chain are enriched.
    pub fn wants(&self, chain: &str) -> bool {
        self.chains.iter().any(|c| c == chain)
    }

    /// Offers `forecast` (made after the window `window` describes) when its chain
    /// qualifies and its window ended at most `max_age` before `now_ms`; never blocks. A
    /// stale forecast, a full queue or a stopped task skips it, counted as
    /// `llm_skipped_stale` / `llm_queue_full` / `llm_task_stopped`.
    pub fn offer(&self, forecast: &Forecast, window: WindowContext, now_ms: i64) {
        if !self.wants(&forecast.chain) {
            return;
        }
        let event = if now_ms.saturating_sub(forecast.generated_at_ms) > self.max_age_ms {
            "llm_skipped_stale"
        } else {
            self.send(forecast, window)
        };
        StageEvent {
            stage: "forecaster",
            event,
            count: 1,
        }
        .emit(&self.metrics);
    }

    fn send(&self, forecast: &Forecast, window: WindowContext) -> &'static str {
        let request = EnrichRequest {
            forecast: forecast.clone(),
            window,
        };
        match self.tx.try_send(request) {
            Ok(()) => "llm_queued",
            Err(mpsc::error::TrySendError::Full(r)) => {
                tracing::warn!(
                    forecast_id = %r.forecast.forecast_id,
                    "enrichment queue full, keeping the heuristic forecast"
                );
                "llm_queue_full"
            }
            Err(mpsc::error::TrySendError::Closed(_)) => "llm_task_stopped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain;

    fn forecast(chain: &str, id: &str) -> Forecast {
        Forecast {
            forecast_id: id.into(),
            project: "p".into(),
            service: "api".into(),
            based_on_window_id: "w".into(),
            generated_at_ms: 1_000_000,
            horizon_hours: 24,
            predicted_score: 80.0,
            lower: 70.0,
            upper: 90.0,
            confidence: 0.5,
            confidence_reason: String::new(),
            trend_per_hour: 1.0,
            chain: chain.into(),
            chain_steps: vec![],
            actions: vec![],
        }
    }

    #[test]
    fn offers_only_chosen_chains_and_skips_when_full() {
        let (tx, mut rx) = mpsc::channel(1);
        let metrics = Metrics::new();
        let h = Handoff::new(
            tx,
            vec![chain::CRITICAL.into()],
            Duration::from_secs(60),
            metrics.clone(),
        );
        let now = 1_000_000 + 60_000;
        let ctx = WindowContext::default;
        h.offer(&forecast(chain::STANDARD, "a"), ctx(), now);
        assert!(rx.try_recv().is_err());
        h.offer(&forecast(chain::CRITICAL, "old"), ctx(), now + 1);
        assert!(rx.try_recv().is_err());
        h.offer(&forecast(chain::CRITICAL, "b"), ctx(), now);
        h.offer(&forecast(chain::CRITICAL, "c"), ctx(), now);
        assert_eq!(rx.try_recv().unwrap().forecast.forecast_id, "b");
        assert!(rx.try_recv().is_err());
        let text = metrics.render();
        for event in ["llm_queue_full", "llm_skipped_stale", "llm_queued"] {
            assert!(
                text.contains(&format!("event=\"{event}\"}} 1")),
                "{event}: {text}"
            );
        }
    }
}
