//! LLM enrichment against a local server speaking the OpenAI chat-completions protocol.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cloudsage_runtime::config::{LlmConfig, Secret};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_schemas::{Action, ChainStep, Forecast};
use forecaster::enrich::{self, EnrichRequest, EnrichedSink, Enricher, Outcome, WindowContext};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy)]
enum Mode {
    Good,
    Malformed,
    OffSchema,
    Slow(Duration),
    ServerError,
}

#[derive(Clone)]
struct Server {
    mode: Arc<Mutex<Mode>>,
    /// (Authorization header, request body) of every request received.
    seen: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Server {
    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn model_actions() -> Value {
    json!([
        {"kind": "shed_load", "title": "Enable load shedding on checkout", "detail": "queue depth is rising", "deadline_hours": 1},
        {"kind": "pin_release", "title": "Pin checkout to release 41", "detail": "errors began with 42", "deadline_hours": 2.5},
        {"kind": "page_owner", "title": "Page the checkout owner", "detail": "critical chain", "deadline_hours": 12}
    ])
}

fn completion(model: &str, content: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    })
}

async fn chat(State(s): State<Server>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let model = body["model"].as_str().unwrap_or_default().to_string();
    s.seen.lock().unwrap().push((auth, body));
    let mode = *s.mode.lock().unwrap();
    let content = match mode {
        Mode::Good => {
            json!({"summary": "checkout is failing fast", "actions": model_actions()}).to_string()
        }
        Mode::Malformed => "Sure! Here are three actions: {\"summary\": ".to_string(),
        Mode::OffSchema => {
            json!({"summary": "two only", "actions": [model_actions()[0], model_actions()[1]]})
                .to_string()
        }
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            json!({"summary": "late", "actions": model_actions()}).to_string()
        }
        Mode::ServerError => {
            let body = json!({"error": {"message": "boom", "type": "server_error", "param": null, "code": null}});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
    };
    Json(completion(&model, &content)).into_response()
}

async fn server(mode: Mode) -> (Server, String) {
    let s = Server {
        mode: Arc::new(Mutex::new(mode)),
        seen: Arc::default(),
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (s, format!("http://{addr}/v1"))
}

fn config(base_url: String, timeout: Duration) -> LlmConfig {
    LlmConfig {
        enabled: true,
        base_url,
        model: "test-model-7b".into(),
        api_key: Some(Secret::new("sk-test-123")),
        timeout,
        failure_threshold: 2,
        open_for: Duration::from_secs(600),
        ..LlmConfig::default()
    }
}

/// Publishes into a channel instead of Kafka and ClickHouse.
struct ChannelSink(mpsc::UnboundedSender<Forecast>);

impl EnrichedSink for ChannelSink {
    async fn publish(&self, f: &Forecast) -> anyhow::Result<()> {
        self.0.send(f.clone())?;
        Ok(())
    }
}

fn sink() -> (ChannelSink, mpsc::UnboundedReceiver<Forecast>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ChannelSink(tx), rx)
}

fn now_ms() -> i64 {
    cloudsage_runtime::driver::now_ms()
}

fn forecast() -> Forecast {
    Forecast {
        forecast_id: "fc-42".into(),
        project: "shop".into(),
        service: "checkout".into(),
        based_on_window_id: "w-9".into(),
        generated_at_ms: now_ms(),
        horizon_hours: 24,
        predicted_score: 93.5,
        lower: 81.0,
        upper: 100.0,
        confidence: 0.61,
        confidence_reason: "enough history".into(),
        trend_per_hour: 3.1,
        chain: "critical_incident_response".into(),
        chain_steps: vec![ChainStep {
            name: "risk_assessment".into(),
            detail: "predicted 93.5".into(),
            duration_us: 5,
        }],
        actions: (1..=3)
            .map(|i| Action {
                kind: format!("heuristic_{i}"),
                title: format!("heuristic action {i}"),
                evidence: "score 77".into(),
                deadline_hours: f64::from(i),
            })
            .collect(),
    }
}

fn request() -> EnrichRequest {
    EnrichRequest {
        forecast: forecast(),
        window: context(),
    }
}

fn context() -> WindowContext {
    WindowContext {
        score: 77.4,
        labels: vec!["High Error Rate".into()],
        top_factors: vec!["error_rate".into()],
    }
}

#[tokio::test]
async fn a_good_answer_publishes_the_enriched_forecast() {
    let (srv, url) = server(Mode::Good).await;
    let (sink, mut published) = sink();
    let shutdown = CancellationToken::new();
    let c = config(url, Duration::from_secs(5));
    let (handoff, task) = enrich::start(&c, sink, Metrics::new(), shutdown.clone());
    let heuristic = forecast();
    handoff.offer(&heuristic, context(), now_ms());
    let f = tokio::time::timeout(Duration::from_secs(10), published.recv())
        .await
        .expect("enriched in time")
        .unwrap();
    assert_eq!(f.forecast_id, heuristic.forecast_id);
    let kinds: Vec<_> = f.actions.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["shed_load", "pin_release", "page_owner"]);
    assert_eq!(f.actions[1].deadline_hours, 2.5);
    assert_eq!(f.actions[1].evidence, "errors began with 42");
    assert_eq!(f.chain_steps.len(), heuristic.chain_steps.len() + 1);
    let step = f.chain_steps.last().unwrap();
    assert_eq!(step.name, "llm_enrichment");
    assert!(
        step.detail.contains("model test-model-7b"),
        "{}",
        step.detail
    );
    assert!(step.detail.contains("checkout is failing fast"));
    assert_eq!(f.predicted_score, heuristic.predicted_score);

    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (auth, body) = &seen[0];
    assert_eq!(auth, "Bearer sk-test-123");
    assert_eq!(body["model"], "test-model-7b");
    assert_eq!(body["response_format"]["type"], "json_object");
    let prompt = body["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("checkout"), "{prompt}");
    assert!(prompt.contains("77.4"), "{prompt}");
    assert!(prompt.contains("heuristic action 2"), "{prompt}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("task stops on shutdown")
        .unwrap();
}

async fn enrich_once(mode: Mode, timeout: Duration) -> (Outcome, Duration, usize) {
    let (srv, url) = server(mode).await;
    let (sink, mut published) = sink();
    let e = Enricher::new(&config(url, timeout), sink, Metrics::new());
    let started = Instant::now();
    let outcome = e.enrich(&request()).await;
    let took = started.elapsed();
    assert!(published.try_recv().is_err(), "nothing may be published");
    (outcome, took, srv.requests())
}

#[tokio::test]
async fn a_malformed_answer_publishes_nothing() {
    let (outcome, _, requests) = enrich_once(Mode::Malformed, Duration::from_secs(5)).await;
    assert_eq!(outcome, Outcome::InvalidAnswer);
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn an_answer_outside_the_schema_publishes_nothing() {
    let (outcome, _, requests) = enrich_once(Mode::OffSchema, Duration::from_secs(5)).await;
    assert_eq!(outcome, Outcome::InvalidAnswer);
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_slow_model_times_out_on_time() {
    let timeout = Duration::from_millis(300);
    let (outcome, took, _) = enrich_once(Mode::Slow(Duration::from_secs(5)), timeout).await;
    assert_eq!(outcome, Outcome::Timeout);
    assert!(took >= timeout, "{took:?}");
    assert!(took < timeout + Duration::from_millis(500), "{took:?}");
}

#[tokio::test]
async fn server_errors_open_the_breaker_and_stop_requests() {
    let (srv, url) = server(Mode::ServerError).await;
    let (sink, mut published) = sink();
    let e = Enricher::new(&config(url, Duration::from_secs(5)), sink, Metrics::new());
    // failure_threshold = 2.
    assert_eq!(e.enrich(&request()).await, Outcome::HttpError);
    assert_eq!(e.enrich(&request()).await, Outcome::HttpError);
    let reached = srv.requests();
    assert!(reached >= 2, "{reached}");
    // Open: even a healthy server is not asked any more.
    *srv.mode.lock().unwrap() = Mode::Good;
    for _ in 0..3 {
        assert_eq!(e.enrich(&request()).await, Outcome::CircuitOpen);
    }
    assert_eq!(srv.requests(), reached);
    assert!(published.try_recv().is_err());
}
