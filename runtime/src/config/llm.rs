//! `[forecaster.llm]`: optional enrichment of forecasts by a language model.

use super::Secret;
use serde::Deserialize;
use std::time::Duration;

/// `[forecaster.llm]`: optional enrichment of forecasts by a language model behind any
/// OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI's compatible route,
/// vLLM, Ollama, LiteLLM, …).
///
/// The pipeline never waits on the model: the forecaster publishes its heuristic forecast at
/// once, as without this section, and hands forecasts of the chosen `chains` to a background
/// task. When the model answers in time with three valid actions, the task publishes an
/// enriched copy of the same forecast (same `forecast_id`, the model's actions, and one more
/// chain step `llm_enrichment` naming the model, its latency and the outcome) to `forecasts`
/// and ClickHouse, where it replaces the heuristic row. On a timeout, an HTTP error, an
/// answer that is not the expected JSON, a full queue or an open circuit breaker nothing more
/// is published: the heuristic forecast stands, and
/// `cloudsage_events_total{stage="forecaster",event="llm_…"}` counts why.
///
/// Only the `forecaster` binary enriches; `cloudsage run` ignores this section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// Turns enrichment on. Off by default: nothing leaves the machine unless asked.
    pub enabled: bool,
    /// Base URL of the OpenAI-compatible API, up to and including the version segment;
    /// `/chat/completions` is appended. E.g. `http://127.0.0.1:11434/v1` for Ollama.
    pub base_url: String,
    /// Model name sent with each request.
    pub model: String,
    /// API key, sent as `Authorization: Bearer …`. Unset for local servers that need none.
    /// Never logged.
    pub api_key: Option<Secret>,
    /// How long one enrichment (the whole request, including the client's own retries of
    /// rate limits and server errors) may take before it is abandoned.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// At most this many requests to the model at a time.
    pub max_concurrency: usize,
    /// How many forecasts may wait for a free request slot; beyond that new forecasts are
    /// not enriched (counted as `llm_queue_full`).
    pub queue_capacity: usize,
    /// The chains whose forecasts are enriched (`critical_incident_response`,
    /// `preventive_forecast`, `forecast_generation`).
    pub chains: Vec<String>,
    /// Forecasts made after a window that ended longer ago than this (by the wall clock) are
    /// not enriched: the replay after a restart re-makes hours of past forecasts, and advice
    /// on a backfill's old windows is of no use.
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// Ask for `response_format = {"type": "json_object"}`. Turn off for servers that reject
    /// the field; the answer must still be the JSON object the prompt describes.
    pub json_mode: bool,
    /// The circuit breaker opens after this many consecutive failed enrichments; while open,
    /// no requests are made.
    pub failure_threshold: u32,
    /// How long the breaker stays open before one trial request is let through (half-open);
    /// its success closes the breaker, its failure opens it again.
    #[serde(with = "humantime_serde")]
    pub open_for: Duration,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: "https://api.openai.com/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key: None,
            timeout: Duration::from_secs(10),
            max_concurrency: 2,
            queue_capacity: 32,
            chains: vec![
                "critical_incident_response".into(),
                "preventive_forecast".into(),
            ],
            max_age: Duration::from_secs(600),
            json_mode: true,
            failure_threshold: 5,
            open_for: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::time::Duration;

    #[test]
    fn off_by_default_and_parses_with_a_hidden_key() {
        let c = Config::from_toml("").unwrap();
        assert!(!c.forecaster.llm.enabled);
        assert_eq!(c.forecaster.llm.timeout, Duration::from_secs(10));
        assert_eq!(c.forecaster.llm.max_concurrency, 2);
        let c = Config::from_toml(
            r#"
            [forecaster.llm]
            enabled = true
            base_url = "http://127.0.0.1:11434/v1"
            model = "llama3"
            api_key = "sk-very-secret"
            timeout = "2s 500ms"
            chains = ["critical_incident_response"]
            open_for = "5m"
            "#,
        )
        .unwrap();
        let llm = &c.forecaster.llm;
        assert!(llm.enabled);
        assert_eq!(llm.timeout, Duration::from_millis(2500));
        assert_eq!(llm.open_for, Duration::from_secs(300));
        assert_eq!(llm.api_key.as_ref().unwrap().expose(), "sk-very-secret");
        assert!(!format!("{c:?}").contains("sk-very-secret"));
        let err = Config::from_toml("[forecaster.llm]\nmodle = \"x\"").unwrap_err();
        assert!(err.to_string().contains("modle"), "{err}");
    }
}
