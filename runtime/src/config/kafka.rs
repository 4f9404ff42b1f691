//! `[kafka]`: the broker connection.

use serde::Deserialize;
use std::collections::BTreeMap;

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
    /// Prepended to every topic name on the broker (`logs.raw` becomes
    /// `<topic_prefix>logs.raw`, dead-letter topics included), for several CloudSage
    /// installations or environments sharing one cluster. Empty by default.
    pub topic_prefix: String,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: None,
            group_prefix: "cloudsage".into(),
            properties: BTreeMap::new(),
            topic_partitions: 4,
            topic_replication: 1,
            topic_prefix: String::new(),
        }
    }
}

impl KafkaConfig {
    /// The broker's name for CloudSage topic `topic`.
    pub fn physical_topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_prefix_maps_both_ways() {
        let cfg = KafkaConfig {
            topic_prefix: "staging.".into(),
            ..Default::default()
        };
        assert_eq!(cfg.physical_topic("logs.raw"), "staging.logs.raw");
        let plain = KafkaConfig::default();
        assert_eq!(plain.physical_topic("alerts"), "alerts");
    }
}
