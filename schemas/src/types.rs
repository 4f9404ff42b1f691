//! The Rust side of the Avro contract. Field docs mirror the `.avsc` files in `schemas/avro/`.
//! Times are Unix epoch milliseconds (UTC), plain Avro `long`s (see the README for why).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One log line (or metric sample) as it entered CloudSage. Topic `logs.raw`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawLog {
    /// Tenant the line belongs to; chosen by the producer's token or the record itself.
    pub project: String,
    /// Service (application) that emitted the line.
    pub service: String,
    /// How the line arrived: `http`, `file`, `kafka`, or a vendor webhook name.
    pub source: String,
    /// When CloudSage (or the producer) received the line.
    pub received_at_ms: i64,
    /// When the event happened, if the producer or the parser knows it.
    pub event_time_ms: Option<i64>,
    /// The raw line, for unstructured logs.
    pub line: Option<String>,
    /// Structured fields (JSON / logfmt keys, or metric `name`/`value`), stringified.
    pub fields: BTreeMap<String, String>,
    /// Set when the line came in a request with an `Idempotency-Key`: a retry of that request
    /// carries the same ids, and the scorer counts each id once (schema v2).
    #[serde(default)]
    pub ingest_id: Option<IngestId>,
}

/// Identifies a line within a retryable request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IngestId {
    /// The request's `Idempotency-Key`, as the client sent it.
    pub request: String,
    /// The line's position among the request's accepted lines, from 0; increasing in produce
    /// order within each series.
    pub seq: i64,
}

/// A factor's contribution to a window's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Factor name: `error_rate`, `log_volume`, `latency`, `memory`, `cpu`, …
    pub name: String,
    /// The measured value (e.g. the error fraction 0..1, or latency in ms).
    pub value: f64,
    /// Points this factor added to the score.
    pub points: f64,
    /// The most points this factor can add.
    pub max_points: f64,
}

/// One closed event-time window of a (project, service). Topic `windows.scored`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredWindow {
    /// Deterministic id: a hash of project, service, window start and size.
    pub window_id: String,
    pub project: String,
    pub service: String,
    /// Inclusive start of the window.
    pub window_start_ms: i64,
    /// Exclusive end of the window.
    pub window_end_ms: i64,
    /// Risk score, 0 (calm) to 100 (on fire).
    pub score: f64,
    /// Every factor's measured value and points.
    pub factors: Vec<Factor>,
    /// Human labels such as "High Error Rate".
    pub labels: Vec<String>,
    /// Names of the factors that contributed most, highest first (at most 3).
    pub top_factors: Vec<String>,
    /// Events counted in the window.
    pub event_count: i64,
    /// Events at ERROR severity or above.
    pub error_count: i64,
    /// Events at WARN severity.
    pub warn_count: i64,
    /// Events that arrived after the window had closed (beyond allowed lateness) and were
    /// counted here instead of being scored.
    pub late_count: i64,
}

/// One step of the forecaster's reasoning chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStep {
    /// `context_analysis`, `pattern_matching`, `risk_assessment` or `action_generation`.
    pub name: String,
    /// What the step used and concluded, for people.
    pub detail: String,
    /// How long the step took, in microseconds.
    pub duration_us: i64,
}

/// A concrete, time-bound action proposed to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Machine-readable kind, e.g. `investigate_errors`, `restart_pods`, `scale_service`.
    pub kind: String,
    /// One-line instruction naming the service.
    pub title: String,
    /// The evidence behind the action.
    pub evidence: String,
    /// Do it within this many hours.
    pub deadline_hours: f64,
}

/// Where the risk of a (project, service) is heading. Topic `forecasts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Deterministic id: a hash of the window it is based on and the horizon.
    pub forecast_id: String,
    pub project: String,
    pub service: String,
    /// The window this forecast was made after.
    pub based_on_window_id: String,
    /// Event time the forecast was made at (the end of that window).
    pub generated_at_ms: i64,
    /// How far ahead it looks, in hours.
    pub horizon_hours: i32,
    /// Predicted score at the horizon, 0-100.
    pub predicted_score: f64,
    /// Lower bound of the prediction interval.
    pub lower: f64,
    /// Upper bound of the prediction interval.
    pub upper: f64,
    /// 0..1, from interval width and the amount of history.
    pub confidence: f64,
    /// Why the confidence is what it is.
    pub confidence_reason: String,
    /// Fitted score trend, points per hour.
    pub trend_per_hour: f64,
    /// `critical_incident_response`, `preventive_forecast` or `forecast_generation`.
    pub chain: String,
    pub chain_steps: Vec<ChainStep>,
    /// Exactly three actions, most urgent first.
    pub actions: Vec<Action>,
}

/// Alert lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// An alert state change. Topic `alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic id: a hash of fingerprint, firing start and status.
    pub alert_id: String,
    /// Identity of the alert across its life: a hash of project, service and rule.
    pub fingerprint: String,
    pub project: String,
    pub service: String,
    /// Rule that produced the alert, e.g. `risk_threshold`.
    pub rule: String,
    pub status: AlertStatus,
    pub severity: Severity,
    /// One line for people.
    pub summary: String,
    /// The score that triggered the state change.
    pub score: f64,
    /// When the alert started firing (event time).
    pub starts_at_ms: i64,
    /// When it resolved, if it has.
    pub ends_at_ms: Option<i64>,
    /// The window that caused this state change, if any.
    pub window_id: Option<String>,
    /// The latest forecast for the series, if any.
    pub forecast_id: Option<String>,
    /// Extra labels for routing and grouping.
    pub labels: BTreeMap<String, String>,
}

/// A rejected record, as written to `<topic>.dlq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Topic the record was read from (or `http` for the ingestor's API).
    pub source_topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The stage that rejected it.
    pub stage: String,
    /// Why it was rejected, for people.
    pub reason: String,
    /// When it was rejected.
    pub rejected_at_ms: i64,
    /// The original key bytes; for lines rejected by the ingestor's HTTP API (`source_topic`
    /// `http`, `offset` = line number), the request's `Idempotency-Key`, so the rejects of a
    /// retried request can be counted once.
    // `serde_avro_bytes*` make serde emit bytes (Avro `bytes`) instead of a sequence of ints;
    // JSON output is unchanged (an array of numbers).
    #[serde(with = "apache_avro::serde_avro_bytes_opt", default)]
    pub key: Option<Vec<u8>>,
    /// The original payload bytes, untouched.
    #[serde(with = "apache_avro::serde_avro_bytes")]
    pub payload: Vec<u8>,
}

/// What a user says about an action (see [`Feedback`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackVerdict {
    /// The action helped: a success for its kind.
    Helpful,
    /// The action did not help: a failure for its kind.
    NotHelpful,
    /// The user did it: a success for its kind.
    Done,
    /// Stop proposing actions of `action_kind`, or matching `pattern`.
    IgnorePattern,
}

/// A user's verdict on a forecast's action, or on a kind of action. Topic `feedback`, keyed
/// by project. The forecaster learns from it which actions to propose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Deterministic id: a hash of every other field ([`Feedback::derive_id`]).
    pub feedback_id: String,
    pub project: String,
    /// Service the feedback is about; an `ignore_pattern` with a service applies to it only.
    pub service: Option<String>,
    /// The forecast whose action is judged.
    pub forecast_id: Option<String>,
    /// Kind of the judged action, e.g. `restart_pods`. Required except for `ignore_pattern`
    /// with a `pattern`.
    pub action_kind: Option<String>,
    pub verdict: FeedbackVerdict,
    /// For `ignore_pattern`: actions whose kind or title contains this text
    /// (case-insensitive) are no longer proposed.
    pub pattern: Option<String>,
    /// Free text from the user.
    pub comment: Option<String>,
    /// Who gave the feedback.
    pub user: Option<String>,
    /// When CloudSage (or the producer) received it.
    pub received_at_ms: i64,
}

/// Deterministic short id (16 hex chars, XXH3-64) of the given parts, used for window, forecast
/// and alert ids so replays produce the same ids.
pub fn stable_id(parts: &[&str]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        hasher.update(p.as_bytes());
        hasher.update(&[0x1f]);
    }
    format!("{:016x}", hasher.digest())
}
