//! `[scorer]`: windows and the score.

use serde::Deserialize;
use std::collections::BTreeMap;
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
    /// How the score is computed, for every project without its own `[scorer.projects.X]`.
    pub scoring: ScoringConfig,
    /// Per-project scoring: `[scorer.projects.shop] weights = { latency = 30 }`,
    /// `ignore = ["healthcheck"]`. Unset keys fall back to `[scorer.scoring]`.
    pub projects: BTreeMap<String, ProjectScoring>,
}

/// `[scorer.scoring]`: factor weights, absolute thresholds and noise filters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// Most points each factor can add; the five product factors sum to 100.
    pub weights: FactorWeights,
    /// Latency (95th percentile of the window, ms) at which the absolute latency level
    /// starts rising, and at which it is full.
    pub latency_ok_ms: f64,
    pub latency_bad_ms: f64,
    /// Regular expressions (matched against the message) or template ids (16 hex digits,
    /// as shown in `window_templates`) of lines that are noise: they are counted as
    /// `ignored` and never scored.
    pub ignore: Vec<String>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            weights: FactorWeights::default(),
            latency_ok_ms: 500.0,
            latency_bad_ms: 5_000.0,
            ignore: Vec::new(),
        }
    }
}

/// Points per factor (see the README's "How the score is computed").
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FactorWeights {
    pub error_rate: f64,
    pub log_volume: f64,
    pub latency: f64,
    pub memory: f64,
    pub cpu: f64,
    /// The sixth signal: new templates and new error signatures; added on top of the five,
    /// the total capped at 100.
    pub novelty: f64,
}

impl Default for FactorWeights {
    fn default() -> Self {
        Self {
            error_rate: 40.0,
            log_volume: 25.0,
            latency: 20.0,
            memory: 10.0,
            cpu: 5.0,
            novelty: 10.0,
        }
    }
}

/// `[scorer.projects.<name>]`: overrides for one project.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectScoring {
    pub weights: Option<FactorWeights>,
    pub latency_ok_ms: Option<f64>,
    pub latency_bad_ms: Option<f64>,
    /// Added to the global `ignore` list.
    pub ignore: Vec<String>,
}

impl ScorerConfig {
    /// The effective scoring of `project`.
    pub fn scoring_for(&self, project: &str) -> ScoringConfig {
        let mut s = self.scoring.clone();
        if let Some(p) = self.projects.get(project) {
            if let Some(w) = p.weights {
                s.weights = w;
            }
            s.latency_ok_ms = p.latency_ok_ms.unwrap_or(s.latency_ok_ms);
            s.latency_bad_ms = p.latency_bad_ms.unwrap_or(s.latency_bad_ms);
            s.ignore.extend(p.ignore.iter().cloned());
        }
        s
    }
}

impl Default for ScorerConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            allowed_lateness: Duration::from_secs(10),
            idle_flush: Duration::from_secs(30),
            default_project: "default".into(),
            default_service: "default".into(),
            scoring: ScoringConfig::default(),
            projects: BTreeMap::new(),
        }
    }
}
