//! `POST /v1/feedback`: a user's verdict on a proposed action, produced to the `feedback`
//! topic (keyed by project) for the forecaster to learn from.
//!
//! The body is one JSON object (`Content-Type: application/json`, optionally gzip):
//!
//! ```json
//! {"verdict": "helpful", "action_kind": "restart_pods", "service": "checkout",
//!  "forecast_id": "5f3713875432ddb1", "comment": "fixed it", "user": "ana"}
//! ```
//!
//! `verdict` is `helpful`, `not_helpful`, `done` or `ignore_pattern`; the first three need
//! `action_kind`, `ignore_pattern` needs `action_kind` or `pattern` (text matched,
//! case-insensitively, against action kinds and titles). The project is the token's. The
//! answer is 202 `{"accepted": 1, "feedback_id": "..."}`; errors are the API's JSON errors
//! (400 unusable body, 401 token, 413 too large, 415 not JSON).

use crate::api::{authorize, read_body, IngestState};
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::metrics::labels;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_schemas::topics::FEEDBACK;
use cloudsage_schemas::{Feedback, FeedbackVerdict, Message as _};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    verdict: String,
    service: Option<String>,
    forecast_id: Option<String>,
    action_kind: Option<String>,
    pattern: Option<String>,
    comment: Option<String>,
    user: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The feedback a request body describes, for `project`, received at `received_at_ms`, with
/// its deterministic id; `Err` says what to fix.
pub fn parse_feedback(
    bytes: &[u8],
    project: &str,
    received_at_ms: i64,
) -> Result<Feedback, String> {
    let body: FeedbackBody = serde_json::from_slice(bytes)
        .map_err(|e| format!("feedback body must be one JSON object with a \"verdict\": {e}"))?;
    let verdict = FeedbackVerdict::from_name(body.verdict.trim()).ok_or_else(|| {
        let known: Vec<_> = FeedbackVerdict::ALL.iter().map(|v| v.name()).collect();
        format!(
            "unknown verdict {:?}: use one of {}",
            body.verdict,
            known.join(", ")
        )
    })?;
    let mut f = Feedback {
        feedback_id: String::new(),
        project: project.to_string(),
        service: non_empty(body.service),
        forecast_id: non_empty(body.forecast_id),
        action_kind: non_empty(body.action_kind),
        verdict,
        pattern: non_empty(body.pattern),
        comment: non_empty(body.comment),
        user: non_empty(body.user),
        received_at_ms,
    };
    f.feedback_id = f.derive_id();
    f.validate()?;
    Ok(f)
}

/// The record to produce for a feedback: topic `feedback`, key the project.
pub fn feedback_record(f: &Feedback) -> OutRecord {
    OutRecord {
        topic: FEEDBACK.to_string(),
        key: f.project.as_bytes().to_vec(),
        payload: f.encode(),
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"))
}

pub(crate) async fn post_feedback<S: Sink + 'static>(
    State(state): State<Arc<IngestState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project = authorize(&state, &headers)?;
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if !is_json(content_type) {
        return Err(ApiError::unsupported(
            "unsupported Content-Type: send feedback as application/json",
        ));
    }
    let bytes = read_body(&state, &headers, body).await?;
    let feedback = parse_feedback(&bytes, &project, now_ms()).map_err(ApiError::bad_request)?;
    if let Err(e) = state.sink.send(vec![feedback_record(&feedback)]).await {
        tracing::error!(error = %e, "producing to feedback failed");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the broker is unavailable; retry later",
        ));
    }
    state
        .metrics
        .records_out
        .get_or_create(&labels(&[("stage", "ingestor"), ("topic", FEEDBACK)]))
        .inc();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "accepted": 1, "feedback_id": feedback.feedback_id })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_feedback_of_the_tokens_project() {
        let f = parse_feedback(
            br#"{"verdict": "helpful", "action_kind": " restart_pods ", "service": "", "user": "ana"}"#,
            "shop",
            7,
        )
        .unwrap();
        assert_eq!(f.project, "shop");
        assert_eq!(f.verdict, FeedbackVerdict::Helpful);
        assert_eq!(f.action_kind.as_deref(), Some("restart_pods"));
        assert_eq!(f.service, None, "empty strings are absent");
        assert_eq!(f.received_at_ms, 7);
        assert_eq!(f.feedback_id, f.derive_id());
        let r = feedback_record(&f);
        assert_eq!(
            (r.topic.as_str(), r.key.as_slice()),
            ("feedback", &b"shop"[..])
        );
        assert_eq!(Feedback::decode(&r.payload).unwrap(), f);
    }

    #[test]
    fn unusable_bodies_say_why() {
        let err = |b: &str| parse_feedback(b.as_bytes(), "shop", 1).unwrap_err();
        assert!(err("[]").contains("one JSON object"));
        assert!(err(r#"{"verdict": "meh", "action_kind": "x"}"#).contains("unknown verdict"));
        assert!(err(r#"{"verdict": "done"}"#).contains("action_kind"));
        assert!(
            err(r#"{"verdict": "done", "action_kind": "x", "project": "other"}"#)
                .contains("unknown field")
        );
        assert!(err(r#"{"verdict": "ignore_pattern"}"#).contains("pattern"));
    }

    #[test]
    fn only_json_content_types() {
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}
