//! `[notifier]`: alert rules and receivers.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

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
