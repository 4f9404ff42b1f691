//! `POST /v1/feedback` driven in-process with a capturing `Sink`: authentication, validation
//! and the record that reaches the `feedback` topic.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cloudsage_runtime::config::{IngestorConfig, ProjectAuth};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_schemas::{Feedback, FeedbackVerdict, Message as _};
use ingestor::{router, IngestState};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<OutRecord>>>);

impl Sink for Capture {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        self.0.lock().unwrap().extend(records);
        Ok(())
    }
}

fn app() -> (axum::Router, Capture) {
    let mut c = IngestorConfig::default();
    c.projects.insert(
        "shop".into(),
        ProjectAuth {
            tokens: vec!["tok".into()],
        },
    );
    c.max_body_bytes = 8 * 1024;
    let sink = Capture::default();
    let state = IngestState::from_config(&c, sink.clone(), Metrics::new()).unwrap();
    (router(Arc::new(state)), sink)
}

fn request(token: Option<&str>, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post("/v1/feedback").header("content-type", content_type);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(body.into()).unwrap()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

fn assert_error(v: &Value, status: u16, mentions: &str) {
    assert_eq!(v["status"], status, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains(mentions),
        "{msg:?} should mention {mentions:?}"
    );
}

#[tokio::test]
async fn accepted_feedback_is_produced_to_the_feedback_topic() {
    let (app, sink) = app();
    let body = json!({
        "verdict": "not_helpful",
        "action_kind": "restart_pods",
        "service": "checkout",
        "forecast_id": "f1",
        "comment": "pods were fine",
        "user": "ana",
    });
    let (status, v) = call(
        &app,
        request(Some("tok"), "application/json", body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["accepted"], 1);
    let records = sink.0.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].topic, "feedback");
    assert_eq!(records[0].key, b"shop");
    let f = Feedback::decode(&records[0].payload).unwrap();
    assert_eq!(v["feedback_id"], f.feedback_id.as_str());
    assert_eq!(f.feedback_id, f.derive_id());
    assert_eq!(f.project, "shop", "the token's project");
    assert_eq!(f.verdict, FeedbackVerdict::NotHelpful);
    assert_eq!(f.action_kind.as_deref(), Some("restart_pods"));
    assert_eq!(f.service.as_deref(), Some("checkout"));
    assert_eq!(f.forecast_id.as_deref(), Some("f1"));
    assert_eq!(f.comment.as_deref(), Some("pods were fine"));
    assert_eq!(f.user.as_deref(), Some("ana"));
    assert!(f.received_at_ms > 1_600_000_000_000);

    let ignore = json!({"verdict": "ignore_pattern", "pattern": "runbook"});
    let (status, v) = call(
        &app,
        request(Some("tok"), "application/json", ignore.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let f = Feedback::decode(&sink.0.lock().unwrap()[1].payload).unwrap();
    assert_eq!(
        (f.verdict, f.pattern.as_deref(), f.action_kind),
        (FeedbackVerdict::IgnorePattern, Some("runbook"), None)
    );
}

#[tokio::test]
async fn auth_validation_size_and_type_errors_are_json() {
    let (app, sink) = app();
    let ok = json!({"verdict": "done", "action_kind": "rollback"}).to_string();

    let (status, v) = call(&app, request(None, "application/json", ok.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&v, 401, "bearer token");
    let (status, v) = call(&app, request(Some("nope"), "application/json", ok.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&v, 401, "bearer token");

    let (status, v) = call(&app, request(Some("tok"), "text/plain", ok.clone())).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&v, 415, "application/json");

    for (body, mentions) in [
        ("not json", "one JSON object"),
        (
            r#"{"verdict": "great", "action_kind": "x"}"#,
            "unknown verdict",
        ),
        (r#"{"verdict": "helpful"}"#, "action_kind"),
        (
            r#"{"verdict": "ignore_pattern", "pattern": "  "}"#,
            "pattern",
        ),
        (
            r#"{"verdict": "done", "action_kind": "x", "project": "evil"}"#,
            "unknown field",
        ),
    ] {
        let (status, v) = call(&app, request(Some("tok"), "application/json", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_error(&v, 400, mentions);
    }
    let long = json!({"verdict": "done", "action_kind": "x", "comment": "x".repeat(4001)});
    let (status, v) = call(
        &app,
        request(Some("tok"), "application/json", long.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 400, "comment is longer");

    let huge = json!({"verdict": "done", "action_kind": "x", "comment": "x".repeat(9000)});
    let (status, v) = call(
        &app,
        request(Some("tok"), "application/json", huge.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&v, 413, "larger than 8192 bytes");

    assert!(
        sink.0.lock().unwrap().is_empty(),
        "nothing produced on errors"
    );
}
