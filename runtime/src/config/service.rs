//! `[http]`, `[log]`, `[pipeline]`: what every binary shares.

use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// `[http]`: the health / metrics (and, for the ingestor, API) listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address. Defaults per binary: ingestor 0.0.0.0:8080, scorer :9201,
    /// forecaster :9202, notifier :9203.
    pub listen: Option<SocketAddr>,
}

/// `[log]`: diagnostics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json` (one JSON object per line, for log shippers).
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,rdkafka=warn`. `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `[pipeline]`: the shared consume loop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Most records handled per batch (one produce + write + commit per batch).
    pub batch_size: usize,
    /// How long a batch waits for more records before it is handled.
    #[serde(with = "humantime_serde")]
    pub batch_linger: Duration,
    /// How often stages run timers (idle flushes).
    #[serde(with = "humantime_serde")]
    pub tick: Duration,
    /// Least time between two offset commits (each also writes the stages' checkpoints).
    /// `0s` (default) commits after every batch, so no handled-but-uncommitted work is ever
    /// held across a poll and a rebalance needs no draining. Larger values cut commit and
    /// checkpoint traffic for very many series; then a crash or a revoked partition replays
    /// up to this much more input (still at-least-once, and idempotent downstream).
    /// Everything handled is committed on shutdown either way.
    #[serde(with = "humantime_serde")]
    pub commit_interval: Duration,
    /// Largest input record (key plus payload, in bytes) a stage decodes. Larger records go
    /// to the input's dead-letter topic (`<topic>.dlq`, original bytes and the reason)
    /// instead of being decoded: one huge record must not stall or exhaust a stage. Default
    /// 900 000, so a dead letter (the record plus its reason) still fits librdkafka's
    /// default `message.max.bytes` of 1 000 000; a dead letter the broker refuses would be
    /// retried forever and stall the stage. Raise both together.
    pub max_record_bytes: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_size: 5000,
            batch_linger: Duration::from_millis(100),
            tick: Duration::from_secs(1),
            commit_interval: Duration::ZERO,
            max_record_bytes: 900_000,
        }
    }
}
