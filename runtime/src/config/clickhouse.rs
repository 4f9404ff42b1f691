//! `[clickhouse]`: the analytics store.

use serde::Deserialize;
use std::time::Duration;

/// `[clickhouse]`: the analytics store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// HTTP URL of ClickHouse, e.g. `http://127.0.0.1:8123`. Unset means no ClickHouse:
    /// stages then only produce to Kafka (or print, in `cloudsage run`).
    pub url: Option<String>,
    /// Database holding CloudSage's tables; `cloudsage migrate` creates it.
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// How long a failed write is retried before the stage gives up the batch and exits
    /// (so an orchestrator restarts it and the uncommitted batch is replayed).
    #[serde(with = "humantime_serde")]
    pub write_retry_for: Duration,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: None,
            database: "cloudsage".into(),
            user: None,
            password: None,
            write_retry_for: Duration::from_secs(300),
        }
    }
}
