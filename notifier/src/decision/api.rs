//! `POST /v1/incidents/{id}/outcome` with `{"outcome": "success" | "failure", "detail": "…"}`:
//! records how the incident's latest decision worked out (a newer version of its `decisions`
//! row) and feeds the learned confidence of that action for the project. 404 for an
//! incident this process has not decided about and ClickHouse does not know.

use crate::decision::runbook::with_outcome;
use crate::decision::Shared;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::stage::{DecisionRecord, TableRow};
use cloudsage_runtime::warehouse::Warehouse;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeReport {
    /// `success` or `failure`.
    pub outcome: String,
    #[serde(default)]
    pub detail: String,
}

#[derive(Clone)]
struct ApiState {
    shared: Shared,
    warehouse: Option<Warehouse>,
}

pub fn router(shared: Shared, warehouse: Option<Warehouse>) -> Router {
    Router::new()
        .route("/v1/incidents/{id}/outcome", post(report))
        .with_state(ApiState { shared, warehouse })
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Latest {
    decision_id: String,
    project: String,
    service: String,
    verdict: String,
    action: String,
    confidence: f64,
    severity: String,
    impact: String,
    reason: String,
    dry_run: u8,
    decided_at: u32,
    updated_at_ms: i64,
}

async fn from_warehouse(w: &Warehouse, incident: &str) -> Option<DecisionRecord> {
    let l: Latest = w
        .client()
        .query(
            "SELECT decision_id, project, service, verdict, action, confidence, severity, impact, \
             reason, dry_run, decided_at, updated_at_ms FROM decisions FINAL \
             WHERE incident_id = ? ORDER BY updated_at_ms DESC LIMIT 1",
        )
        .bind(incident)
        .fetch_optional()
        .await
        .ok()??;
    Some(DecisionRecord {
        decision_id: l.decision_id,
        incident_id: incident.to_string(),
        project: l.project,
        service: l.service,
        verdict: l.verdict,
        action: l.action,
        confidence: l.confidence,
        severity: l.severity,
        impact: l.impact,
        reason: l.reason,
        dry_run: l.dry_run != 0,
        outcome: String::new(),
        outcome_detail: String::new(),
        decided_at_ms: i64::from(l.decided_at) * 1000,
        updated_at_ms: l.updated_at_ms,
    })
}

async fn report(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Json(r): Json<OutcomeReport>,
) -> (StatusCode, Json<Value>) {
    let success = match r.outcome.as_str() {
        "success" => true,
        "failure" => false,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "outcome must be \"success\" or \"failure\"", "status": 400})),
            )
        }
    };
    let known = s.shared.latest().get(&id).cloned();
    let decision = match (known, &s.warehouse) {
        (Some(d), _) => Some(d),
        (None, Some(w)) => from_warehouse(w, &id).await,
        (None, None) => None,
    };
    let Some(d) = decision else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no decision for this incident", "status": 404})),
        );
    };
    let detail = if r.detail.is_empty() {
        "reported via API".to_string()
    } else {
        r.detail
    };
    let updated = with_outcome(&d, success, detail);
    if let Some(w) = &s.warehouse {
        if let Err(e) = w
            .write(&[TableRow::Decision(updated.clone())], now_ms() as u64)
            .await
        {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": format!("recording failed: {e:#}"), "status": 503})),
            );
        }
    }
    let confidence = {
        let mut l = s.shared.learner();
        l.observe(&updated.project, &updated.action, success);
        l.confidence(&updated.project, &updated.action, d.confidence)
    };
    s.shared.latest().insert(id, updated.clone());
    (
        StatusCode::OK,
        Json(json!({
            "decision_id": updated.decision_id,
            "action": updated.action,
            "outcome": updated.outcome,
            "learned": confidence.1,
        })),
    )
}
