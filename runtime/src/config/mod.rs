//! CloudSage configuration: one TOML file (path in `CLOUDSAGE_CONFIG`) for every binary, each
//! key overridable by an environment variable `CLOUDSAGE_<SECTION>__<KEY>` (double underscore
//! between levels), e.g. `CLOUDSAGE_KAFKA__BROKERS=kafka:9092`. Every field below is
//! documented where it is declared; unknown keys are an error, so typos do not pass silently.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use std::path::Path;

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
    pub incidents: IncidentsConfig,
}

mod clickhouse;
mod forecaster;
mod incidents;
mod ingestor;
mod kafka;
mod llm;
mod notifier;
mod scorer;
mod service;

pub use clickhouse::*;
pub use forecaster::*;
pub use incidents::*;
pub use ingestor::*;
pub use kafka::*;
pub use llm::*;
pub use notifier::*;
pub use scorer::*;
pub use service::*;

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
    use std::time::Duration;

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
