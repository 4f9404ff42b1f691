//! `POST /v1/logs`: authenticate, decode the body, produce to `logs.raw` (rejects to
//! `logs.raw.dlq`), answer 202 with counts. Every error is a JSON body a person can act on.

use crate::auth::TokenTable;
use crate::body::{parse_body, BodyFormat, Rejected};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::metrics::{labels, Metrics};
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_schemas::topics::{dead_letter_topic, LOGS_RAW};
use cloudsage_schemas::{DeadLetter, Message as _, RawDefaults, RawLog};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub struct IngestState<S: Sink> {
    pub tokens: TokenTable,
    pub sink: S,
    pub max_body_bytes: usize,
    pub default_service: String,
    pub metrics: Metrics,
}

/// The key of a `logs.raw` record: `project/service`, so a series stays in one partition.
pub fn series_key(project: &str, service: &str) -> String {
    format!("{project}/{service}")
}

/// Records to produce for decoded logs.
pub fn log_records(logs: &[RawLog]) -> Vec<OutRecord> {
    logs.iter()
        .map(|r| OutRecord {
            topic: LOGS_RAW.to_string(),
            key: series_key(&r.project, &r.service).into_bytes(),
            payload: r.encode(),
        })
        .collect()
}

/// Dead-letter records for lines rejected at the HTTP edge.
pub fn rejected_records(project: &str, rejected: &[Rejected]) -> Vec<OutRecord> {
    rejected
        .iter()
        .map(|r| OutRecord {
            topic: dead_letter_topic(LOGS_RAW),
            key: project.as_bytes().to_vec(),
            payload: DeadLetter {
                source_topic: "http".into(),
                partition: -1,
                offset: r.line as i64,
                stage: "ingestor".into(),
                reason: r.reason.clone(),
                rejected_at_ms: now_ms(),
                key: None,
                payload: r.bytes.clone(),
            }
            .encode(),
        })
        .collect()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": message.into(), "status": status.as_u16() })),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct LogsQuery {
    /// Service for lines that name none.
    service: Option<String>,
}

async fn post_logs<S: Sink + 'static>(
    State(state): State<Arc<IngestState<S>>>,
    Query(q): Query<LogsQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(project) = state
        .tokens
        .project_for(header("authorization"))
        .map(str::to_string)
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or unknown bearer token: send `Authorization: Bearer <token>` with a token from [ingestor.projects.<name>]",
        );
    };
    let Some(format) = BodyFormat::from_content_type(header("content-type")) else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported Content-Type: use text/plain (one line per log), application/x-ndjson or application/json",
        );
    };
    let bytes = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "body larger than {} bytes: split it into smaller requests",
                    state.max_body_bytes
                ),
            )
        }
    };
    let defaults = RawDefaults {
        project: project.clone(),
        service: q
            .service
            .or_else(|| header("x-service").map(str::to_string))
            .unwrap_or_else(|| state.default_service.clone()),
        source: "http".into(),
        received_at_ms: now_ms(),
    };
    let parsed = match parse_body(format, &bytes, &defaults) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if parsed.records.is_empty() && parsed.rejected.is_empty() {
        return error(StatusCode::BAD_REQUEST, "the body holds no log lines");
    }
    let mut records = log_records(&parsed.records);
    records.extend(rejected_records(&project, &parsed.rejected));
    if let Err(e) = state.sink.send(records).await {
        tracing::error!(error = %e, "producing to logs.raw failed");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the log broker is unavailable; retry later",
        );
    }
    state
        .metrics
        .records_out
        .get_or_create(&labels(&[("stage", "ingestor"), ("topic", LOGS_RAW)]))
        .inc_by(parsed.records.len() as u64);
    state
        .metrics
        .records_rejected
        .get_or_create(&labels(&[("stage", "ingestor"), ("topic", "http")]))
        .inc_by(parsed.rejected.len() as u64);
    let errors: Vec<_> = parsed
        .rejected
        .iter()
        .take(20)
        .map(|r| json!({ "line": r.line, "reason": r.reason }))
        .collect();
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "accepted": parsed.records.len(),
            "rejected": parsed.rejected.len(),
            "errors": errors,
        })),
    )
        .into_response()
}

/// The ingestor's API routes.
pub fn router<S: Sink + 'static>(state: Arc<IngestState<S>>) -> Router {
    Router::new()
        .route("/v1/logs", post(post_logs::<S>))
        .with_state(state)
}
