//! `[ingestor]`: the HTTP intake.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

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
