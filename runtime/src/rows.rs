//! ClickHouse row shapes, one per table, converted from the message types. DateTime
//! columns are Unix seconds (`DateTime` exists on every server version we support).

use crate::stage::{DecisionRecord, IncidentRecord, NotificationRecord, WindowTemplate};
use cloudsage_schemas::{Alert, AlertStatus, Forecast, ScoredWindow, Severity};
use serde::{Deserialize, Serialize};

fn secs(ms: i64) -> u32 {
    (ms.max(0) / 1000).min(u32::MAX as i64) as u32
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct RiskWindowRow {
    pub project: String,
    pub service: String,
    pub window_start: u32,
    pub window_end: u32,
    pub window_id: String,
    pub score: f64,
    pub factor_names: Vec<String>,
    pub factor_values: Vec<f64>,
    pub factor_points: Vec<f64>,
    pub labels: Vec<String>,
    pub top_factors: Vec<String>,
    pub event_count: u64,
    pub error_count: u64,
    pub warn_count: u64,
    pub late_count: u64,
    pub version: u64,
}

impl RiskWindowRow {
    pub fn new(w: &ScoredWindow, version: u64) -> Self {
        Self {
            project: w.project.clone(),
            service: w.service.clone(),
            window_start: secs(w.window_start_ms),
            window_end: secs(w.window_end_ms),
            window_id: w.window_id.clone(),
            score: w.score,
            factor_names: w.factors.iter().map(|f| f.name.clone()).collect(),
            factor_values: w.factors.iter().map(|f| f.value).collect(),
            factor_points: w.factors.iter().map(|f| f.points).collect(),
            labels: w.labels.clone(),
            top_factors: w.top_factors.clone(),
            event_count: w.event_count.max(0) as u64,
            error_count: w.error_count.max(0) as u64,
            warn_count: w.warn_count.max(0) as u64,
            late_count: w.late_count.max(0) as u64,
            version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct ForecastRow {
    pub project: String,
    pub service: String,
    pub generated_at: u32,
    pub horizon_hours: u16,
    pub forecast_id: String,
    pub based_on_window_id: String,
    pub predicted_score: f64,
    pub lower: f64,
    pub upper: f64,
    pub confidence: f64,
    pub confidence_reason: String,
    pub trend_per_hour: f64,
    pub chain: String,
    pub chain_step_names: Vec<String>,
    pub chain_step_details: Vec<String>,
    pub chain_step_us: Vec<i64>,
    pub action_kinds: Vec<String>,
    pub action_titles: Vec<String>,
    pub action_evidence: Vec<String>,
    pub action_deadline_hours: Vec<f64>,
    pub version: u64,
}

impl ForecastRow {
    pub fn new(f: &Forecast, version: u64) -> Self {
        Self {
            project: f.project.clone(),
            service: f.service.clone(),
            generated_at: secs(f.generated_at_ms),
            horizon_hours: f.horizon_hours.clamp(0, u16::MAX as i32) as u16,
            forecast_id: f.forecast_id.clone(),
            based_on_window_id: f.based_on_window_id.clone(),
            predicted_score: f.predicted_score,
            lower: f.lower,
            upper: f.upper,
            confidence: f.confidence,
            confidence_reason: f.confidence_reason.clone(),
            trend_per_hour: f.trend_per_hour,
            chain: f.chain.clone(),
            chain_step_names: f.chain_steps.iter().map(|s| s.name.clone()).collect(),
            chain_step_details: f.chain_steps.iter().map(|s| s.detail.clone()).collect(),
            chain_step_us: f.chain_steps.iter().map(|s| s.duration_us).collect(),
            action_kinds: f.actions.iter().map(|a| a.kind.clone()).collect(),
            action_titles: f.actions.iter().map(|a| a.title.clone()).collect(),
            action_evidence: f.actions.iter().map(|a| a.evidence.clone()).collect(),
            action_deadline_hours: f.actions.iter().map(|a| a.deadline_hours).collect(),
            version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct AlertRow {
    pub project: String,
    pub fingerprint: String,
    pub alert_id: String,
    pub service: String,
    pub rule: String,
    pub status: String,
    pub severity: String,
    pub summary: String,
    pub score: f64,
    pub starts_at: u32,
    pub ends_at: u32,
    pub window_id: String,
    pub forecast_id: String,
    pub label_keys: Vec<String>,
    pub label_values: Vec<String>,
    pub version: u64,
}

pub fn status_name(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    }
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

impl AlertRow {
    pub fn new(a: &Alert, version: u64) -> Self {
        Self {
            project: a.project.clone(),
            fingerprint: a.fingerprint.clone(),
            alert_id: a.alert_id.clone(),
            service: a.service.clone(),
            rule: a.rule.clone(),
            status: status_name(a.status).into(),
            severity: severity_name(a.severity).into(),
            summary: a.summary.clone(),
            score: a.score,
            starts_at: secs(a.starts_at_ms),
            ends_at: a.ends_at_ms.map(secs).unwrap_or(0),
            window_id: a.window_id.clone().unwrap_or_default(),
            forecast_id: a.forecast_id.clone().unwrap_or_default(),
            label_keys: a.labels.keys().cloned().collect(),
            label_values: a.labels.values().cloned().collect(),
            version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct NotificationRow {
    pub alert_id: String,
    pub receiver: String,
    pub project: String,
    pub status: String,
    pub result: String,
    pub attempts: u32,
    pub sent_at: u32,
    pub version: u64,
}

impl NotificationRow {
    pub fn new(n: &NotificationRecord, version: u64) -> Self {
        Self {
            alert_id: n.alert_id.clone(),
            receiver: n.receiver.clone(),
            project: n.project.clone(),
            status: n.status.clone(),
            result: n.result.clone(),
            attempts: n.attempts,
            sent_at: secs(n.sent_at_ms),
            version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct WindowTemplateRow {
    pub project: String,
    pub service: String,
    pub window_start: u32,
    pub window_id: String,
    pub template_id: String,
    pub template: String,
    pub events: u64,
    pub errors: u64,
    pub is_new: u8,
    pub version: u64,
}

impl WindowTemplateRow {
    pub fn new(t: &WindowTemplate, version: u64) -> Self {
        Self {
            project: t.project.clone(),
            service: t.service.clone(),
            window_start: secs(t.window_start_ms),
            window_id: t.window_id.clone(),
            template_id: t.template_id.clone(),
            template: t.template.clone(),
            events: t.events,
            errors: t.errors,
            is_new: u8::from(t.is_new),
            version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct IncidentRow {
    pub project: String,
    pub incident_id: String,
    pub service: String,
    pub fingerprint: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub alert_ids: Vec<String>,
    pub sources: Vec<String>,
    pub opened_at: u32,
    pub updated_at: u32,
    pub resolved_at: u32,
    pub action_kinds: Vec<String>,
    pub action_confidences: Vec<f64>,
    pub action_reasons: Vec<String>,
    pub version: u64,
}

impl IncidentRow {
    pub fn new(i: &IncidentRecord, version: u64) -> Self {
        Self {
            project: i.project.clone(),
            incident_id: i.incident_id.clone(),
            service: i.service.clone(),
            fingerprint: i.fingerprint.clone(),
            title: i.title.clone(),
            severity: i.severity.clone(),
            status: i.status.clone(),
            alert_ids: i.alert_ids.clone(),
            sources: i.sources.clone(),
            opened_at: secs(i.opened_at_ms),
            updated_at: secs(i.updated_at_ms),
            resolved_at: i.resolved_at_ms.map(secs).unwrap_or(0),
            action_kinds: i.actions.iter().map(|a| a.0.clone()).collect(),
            action_confidences: i.actions.iter().map(|a| a.1).collect(),
            action_reasons: i.actions.iter().map(|a| a.2.clone()).collect(),
            version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct DecisionRow {
    pub project: String,
    pub decision_id: String,
    pub incident_id: String,
    pub service: String,
    pub verdict: String,
    pub action: String,
    pub confidence: f64,
    pub severity: String,
    pub impact: String,
    pub reason: String,
    pub dry_run: u8,
    pub outcome: String,
    pub outcome_detail: String,
    pub decided_at: u32,
    pub updated_at_ms: i64,
    pub version: u64,
}

impl DecisionRow {
    /// The version is the record's own `updated_at_ms` (not the write time), so a replayed
    /// pending row never replaces an outcome written after it.
    pub fn new(d: &DecisionRecord) -> Self {
        Self {
            project: d.project.clone(),
            decision_id: d.decision_id.clone(),
            incident_id: d.incident_id.clone(),
            service: d.service.clone(),
            verdict: d.verdict.clone(),
            action: d.action.clone(),
            confidence: d.confidence,
            severity: d.severity.clone(),
            impact: d.impact.clone(),
            reason: d.reason.clone(),
            dry_run: u8::from(d.dry_run),
            outcome: d.outcome.clone(),
            outcome_detail: d.outcome_detail.clone(),
            decided_at: secs(d.decided_at_ms),
            updated_at_ms: d.updated_at_ms,
            version: d.updated_at_ms.max(0) as u64,
        }
    }
}

/// One user feedback (table `feedback`); optional fields are `''` when absent.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct FeedbackRow {
    pub project: String,
    pub received_at: u32,
    pub feedback_id: String,
    pub service: String,
    pub forecast_id: String,
    pub action_kind: String,
    pub verdict: String,
    pub pattern: String,
    pub comment: String,
    pub user: String,
    pub version: u64,
}

impl FeedbackRow {
    pub fn new(f: &cloudsage_schemas::Feedback, version: u64) -> Self {
        let text = |o: &Option<String>| o.clone().unwrap_or_default();
        Self {
            project: f.project.clone(),
            received_at: secs(f.received_at_ms),
            feedback_id: f.feedback_id.clone(),
            service: text(&f.service),
            forecast_id: text(&f.forecast_id),
            action_kind: text(&f.action_kind),
            verdict: f.verdict.name().to_string(),
            pattern: text(&f.pattern),
            comment: text(&f.comment),
            user: text(&f.user),
            version,
        }
    }
}
