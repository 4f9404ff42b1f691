//! `[scorer]`: windows and the score.

use serde::Deserialize;
use std::time::Duration;

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
