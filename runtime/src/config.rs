//! CloudSage configuration: one TOML file (path in `CLOUDSAGE_CONFIG`) for every binary, each
//! key overridable by an environment variable `CLOUDSAGE_<SECTION>__<KEY>` (double underscore
//! between levels), e.g. `CLOUDSAGE_KAFKA__BROKERS=kafka:9092`. Every field below is
//! documented where it is declared; unknown keys are an error, so typos do not pass silently.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The whole configuration. Each binary reads the sections it needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub pipeline: PipelineConfig,
    pub ingestor: IngestorConfig,
    pub scorer: ScorerConfig,
    pub forecaster: ForecasterConfig,
    pub notifier: NotifierConfig,
}

/// `[kafka]`: the broker connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated. Unset means "no Kafka": the `cloudsage run`
    /// command then connects the stages over in-memory channels; the stage binaries refuse to
    /// start without it.
    pub brokers: Option<String>,
    /// Prefix of the consumer group ids; each stage appends its name (`cloudsage-scorer`, …).
    pub group_prefix: String,
    /// Any librdkafka property, passed through unchanged, e.g. `"security.protocol" =
    /// "SASL_SSL"`, `"sasl.mechanisms" = "PLAIN"`, `"sasl.username"`, `"sasl.password"`,
    /// `"ssl.ca.location"`. From the environment write dots as underscores:
    /// `CLOUDSAGE_KAFKA__PROPERTIES__SECURITY_PROTOCOL=SASL_SSL`.
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Partitions of topics the stages create when they are missing.
    pub topic_partitions: i32,
    /// Replication factor of topics the stages create when they are missing.
    pub topic_replication: i32,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: None,
            group_prefix: "cloudsage".into(),
            properties: BTreeMap::new(),
            topic_partitions: 4,
            topic_replication: 1,
        }
    }
}

impl KafkaConfig {
    /// The pass-through properties as librdkafka names and string values.
    pub fn rdkafka_properties(&self) -> Vec<(String, String)> {
        self.properties
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                // librdkafka names never contain underscores; env vars cannot contain dots.
                (k.replace('_', "."), value)
            })
            .collect()
    }
}

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
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_size: 5000,
            batch_linger: Duration::from_millis(100),
            tick: Duration::from_secs(1),
            commit_interval: Duration::ZERO,
        }
    }
}

/// `[ingestor]`: the HTTP intake.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestorConfig {
    /// Projects and their bearer tokens: `[ingestor.projects.shop] tokens = ["s3cr3t"]`.
    /// A request's token decides its project. Several tokens per project allow rotation.
    pub projects: BTreeMap<String, ProjectAuth>,
    /// Largest accepted request body as sent (compressed, if it is), in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Largest request body after `Content-Encoding: gzip` is undone, in bytes (413 above it),
    /// so a small compressed body cannot expand without bound (a "gzip bomb"). Default 64 MiB.
    pub max_decompressed_bytes: usize,
    /// Service recorded for lines that name none.
    pub default_service: String,
    /// Per-project request rate limit (429 with `Retry-After` above it).
    pub rate_limit: RateLimitConfig,
    /// Vendor webhooks (`POST /v1/webhooks/<vendor>`).
    pub webhooks: WebhooksConfig,
}

impl Default for IngestorConfig {
    fn default() -> Self {
        Self {
            projects: BTreeMap::new(),
            max_body_bytes: 10 * 1024 * 1024,
            max_decompressed_bytes: 64 * 1024 * 1024,
            default_service: "default".into(),
            rate_limit: RateLimitConfig::default(),
            webhooks: WebhooksConfig::default(),
        }
    }
}

/// `[ingestor.rate_limit]`: each project has its own bucket of requests (every endpoint
/// counts, one request = one token however many lines it holds).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Sustained requests per second each project may make. Default 50; `0` disables limiting.
    pub requests_per_second: u32,
    /// Requests a project may make at once above the sustained rate. Default 100 (at least 1).
    pub burst: u32,
    /// Per-project overrides: `[ingestor.rate_limit.projects.shop] requests_per_second = 5`.
    pub projects: BTreeMap<String, RateQuota>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 50,
            burst: 100,
            projects: BTreeMap::new(),
        }
    }
}

/// One project's rate limit override.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateQuota {
    /// Sustained requests per second; `0` disables limiting for the project.
    pub requests_per_second: u32,
    /// Requests at once above the sustained rate (at least 1).
    pub burst: u32,
}

/// `[ingestor.webhooks]`: vendor webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Hosts the ingestor may call to confirm an AWS SNS subscription (the `SubscribeURL` of a
    /// `SubscriptionConfirmation`). An entry starting with `.` matches any subdomain. Default
    /// `[".amazonaws.com", ".amazonaws.com.cn"]`, so a request cannot make the ingestor fetch
    /// arbitrary (internal) URLs.
    pub sns_confirm_hosts: Vec<String>,
    /// Timeout of that confirmation request. Default 10 s.
    #[serde(with = "humantime_serde")]
    pub sns_confirm_timeout: Duration,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            sns_confirm_hosts: vec![".amazonaws.com".into(), ".amazonaws.com.cn".into()],
            sns_confirm_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectAuth {
    /// Bearer tokens that write to this project.
    pub tokens: Vec<String>,
}

/// `[scorer]`: windows and the score.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScorerConfig {
    /// Tumbling window size (event time).
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// How far behind the newest event time of a partition an event may arrive and still be
    /// counted in its window. Later events are counted as late (metric and `late_count`).
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// A series that receives nothing for this long (processing time) while the scorer is
    /// caught up with its input has its open windows closed, so quiet services still get
    /// their last window scored. Never applied while a backlog is being read.
    #[serde(with = "humantime_serde")]
    pub idle_flush: Duration,
    /// Project used for plain-text records that carry none.
    pub default_project: String,
    /// Service used for records that carry none.
    pub default_service: String,
}

impl Default for ScorerConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            allowed_lateness: Duration::from_secs(10),
            idle_flush: Duration::from_secs(30),
            default_project: "default".into(),
            default_service: "default".into(),
        }
    }
}

/// `[forecaster]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecasterConfig {
    /// How far ahead to forecast, in hours (1-72).
    pub horizon_hours: u32,
    /// How many recent windows per series the trend is fitted on.
    pub history_windows: usize,
}

impl Default for ForecasterConfig {
    fn default() -> Self {
        Self {
            horizon_hours: 24,
            history_windows: 30,
        }
    }
}

/// `[notifier]`: alert rules and receivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifierConfig {
    /// Score at or above which a series' alert fires.
    pub threshold: f64,
    /// Per-project thresholds overriding `threshold`.
    pub project_thresholds: BTreeMap<String, f64>,
    /// Print every notification to standard output.
    pub console: bool,
    /// Generic JSON webhooks (Alertmanager-style payload).
    pub webhooks: Vec<WebhookReceiver>,
    /// Per-attempt timeout of a delivery.
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// How long transient delivery failures (5xx, 429, network) are retried before the alert
    /// goes to `alerts.dlq`.
    #[serde(with = "humantime_serde")]
    pub delivery_retry_for: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            threshold: 70.0,
            project_thresholds: BTreeMap::new(),
            console: true,
            webhooks: Vec::new(),
            delivery_timeout: Duration::from_secs(10),
            delivery_retry_for: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    /// Receiver name, used in logs and notification history (the URL never is).
    pub name: String,
    /// Target URL. Treated as a secret.
    pub url: String,
}

impl Config {
    /// Loads the TOML file named by `CLOUDSAGE_CONFIG` (or `path`), then `CLOUDSAGE_*__*`
    /// environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        let env_path = std::env::var_os("CLOUDSAGE_CONFIG").map(std::path::PathBuf::from);
        if let Some(p) = path.map(Path::to_path_buf).or(env_path) {
            anyhow::ensure!(p.exists(), "config file {} does not exist", p.display());
            figment = figment.merge(Toml::file(p));
        }
        Self::from_figment(figment.merge(env_overrides()))
    }

    /// Parses a TOML string (plus the environment), for tests and embedded callers.
    pub fn from_toml(toml: &str) -> anyhow::Result<Config> {
        Self::from_figment(Figment::new().merge(Toml::string(toml)))
    }

    fn from_figment(figment: Figment) -> anyhow::Result<Config> {
        figment
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }
}

/// `CLOUDSAGE_SECTION__KEY` variables. Variables without `__` (e.g. `CLOUDSAGE_CONFIG`) are
/// not configuration keys.
fn env_overrides() -> Env {
    Env::prefixed("CLOUDSAGE_")
        .filter(|key| key.as_str().contains("__"))
        .split("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.scorer.window, Duration::from_secs(60));
        assert_eq!(c.notifier.threshold, 70.0);
        assert!(c.kafka.brokers.is_none());
    }

    #[test]
    fn durations_and_passthrough_properties_parse() {
        let c = Config::from_toml(
            r#"
            [kafka]
            brokers = "b:9092"
            properties = { "security.protocol" = "SASL_SSL", "socket.timeout.ms" = 5000 }
            [scorer]
            window = "5m"
            "#,
        )
        .unwrap();
        assert_eq!(c.scorer.window, Duration::from_secs(300));
        let props = c.kafka.rdkafka_properties();
        assert!(props.contains(&("security.protocol".into(), "SASL_SSL".into())));
        assert!(props.contains(&("socket.timeout.ms".into(), "5000".into())));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Config::from_toml("[scorer]\nwindw = \"1m\"").unwrap_err();
        assert!(err.to_string().contains("windw"), "{err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's signature
    fn environment_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[kafka]\nbrokers = \"file:9092\"")?;
            jail.set_env("CLOUDSAGE_KAFKA__BROKERS", "env:9092");
            jail.set_env("CLOUDSAGE_KAFKA__PROPERTIES__SASL_MECHANISMS", "PLAIN");
            jail.set_env("CLOUDSAGE_REQUIRE_SERVICES", "1");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.kafka.brokers.as_deref(), Some("env:9092"));
            assert!(c
                .kafka
                .rdkafka_properties()
                .contains(&("sasl.mechanisms".into(), "PLAIN".into())));
            Ok(())
        });
    }
}
