//! Per-project bearer tokens on every endpoint of the ingestor's router (`POST /v1/logs`,
//! `POST /v1/webhooks/<vendor>`, `POST /v1/feedback`): a token writes only into its own
//! project, whatever the body, query or headers claim; unknown, malformed and revoked tokens
//! are refused with a JSON 401 and produce nothing. The ingestor serves no read endpoints,
//! so "reading another project" is checked as: other methods on the same paths are JSON
//! 405s that produce nothing and echo no data.
//!
//! Tokens are read at start-up (there is no live reload): revoking one means removing it
//! from `[ingestor.projects.<name>] tokens` and restarting, which is what these tests do by
//! building a fresh router from the edited configuration.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use cloudsage_runtime::config::{IngestorConfig, ProjectAuth};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_schemas::{DeadLetter, Feedback, Message as _, RawLog};
use ingestor::{router, IngestState};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const ALPHA_TOKEN: &str = "alpha-token-0123456789";
const BETA_TOKEN: &str = "beta-token-9876543210";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<OutRecord>>>);

impl Sink for Capture {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        self.0.lock().unwrap().extend(records);
        Ok(())
    }
}

impl Capture {
    fn take(&self) -> Vec<OutRecord> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn config_with(projects: &[(&str, &[&str])]) -> IngestorConfig {
    let mut c = IngestorConfig::default();
    for (project, tokens) in projects {
        c.projects.insert(
            project.to_string(),
            ProjectAuth {
                tokens: tokens.iter().map(|t| t.to_string()).collect(),
            },
        );
    }
    // Enough for every request of a test; rate limits have their own test in http_api.rs.
    c.rate_limit.requests_per_second = 0;
    c
}

fn two_projects() -> IngestorConfig {
    config_with(&[("alpha", &[ALPHA_TOKEN]), ("beta", &[BETA_TOKEN])])
}

fn app(c: &IngestorConfig) -> (axum::Router, Capture) {
    let sink = Capture::default();
    let state = IngestState::from_config(c, sink.clone(), Metrics::new()).unwrap();
    (router(Arc::new(state)), sink)
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{status}: body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, v)
}

/// One request to one endpoint, with a body that tries to name project "beta" wherever the
/// format has room for it.
struct Attempt {
    name: &'static str,
    path: &'static str,
    content_type: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    /// Status for a valid token of another project (202, or 400 when the body itself is
    /// refused for naming a project).
    expected: StatusCode,
}

fn datadog() -> Value {
    json!({
        "id": "1", "title": "[Triggered] High error rate", "body": "rate above 5%",
        "date": "1714557600000", "alert_type": "error", "alert_transition": "Triggered",
        "tags": "env:prod,service:checkout,project:beta", "project": "beta"
    })
}

fn sentry() -> Value {
    json!({
        "action": "triggered", "project": "beta",
        "data": {"event": {
            "event_id": "e4874d664c3540c1a32eab185f12c5ab", "level": "error",
            "title": "KeyError: 'sku'", "datetime": "2024-05-01T10:00:01Z",
            "tags": [["service", "catalog"], ["project", "beta"]]
        }}
    })
}

fn github() -> Value {
    json!({
        "action": "completed", "project": "beta",
        "workflow_run": {
            "id": 1, "name": "Deploy", "conclusion": "failure", "status": "completed",
            "head_branch": "main", "updated_at": "2024-05-01T10:00:02Z",
            "html_url": "https://github.com/beta/x/actions/runs/1"
        },
        "repository": {"name": "checkout", "full_name": "beta/checkout"}
    })
}

fn cloudwatch() -> Value {
    let alarm = json!({
        "AlarmName": "beta-queue-depth", "NewStateValue": "ALARM", "project": "beta",
        "NewStateReason": "Threshold Crossed", "StateChangeTime": "2024-05-01T10:00:03.000+0000",
        "Trigger": {"MetricName": "Depth", "Namespace": "AWS/SQS",
                    "Dimensions": [{"value": "orders", "name": "QueueName"}]}
    });
    json!({
        "Type": "Notification", "MessageId": "m-1", "project": "beta",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:beta",
        "Subject": "ALARM", "Message": alarm.to_string(), "Timestamp": "2024-05-01T10:00:03.500Z"
    })
}

fn multipart() -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in [
        ("project", "beta"),
        ("service", "upload"),
        ("file", "ERROR from the upload\n"),
    ] {
        let filename = if name == "file" {
            "; filename=\"app.log\""
        } else {
            ""
        };
        b.extend_from_slice(
            format!("--Bnd\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    b.extend_from_slice(b"--Bnd--\r\n");
    b
}

fn attempts() -> Vec<Attempt> {
    let json_ct = "application/json";
    let spoof = vec![
        ("x-project", "beta"),
        ("x-cloudsage-project", "beta"),
        ("x-service", "svc"),
    ];
    vec![
        Attempt {
            name: "logs text",
            path: "/v1/logs?project=beta&service=web",
            content_type: "text/plain",
            headers: spoof.clone(),
            body: b"2024-05-01T10:00:00Z ERROR project=beta payment failed\n".to_vec(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "logs ndjson with project fields",
            path: "/v1/logs?project=beta",
            content_type: "application/x-ndjson",
            headers: spoof.clone(),
            body: concat!(
                r#"{"msg":"a","project":"beta","service":"web"}"#,
                "\n",
                r#"{"message":"b","fields":{"project":"beta"},"Project":"beta"}"#,
                "\n",
                r#"{"metric":"cpu","value":97,"project":"beta","service":"db"}"#,
                "\nnot json\n"
            )
            .as_bytes()
            .to_vec(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "logs json array",
            path: "/v1/logs",
            content_type: json_ct,
            headers: spoof.clone(),
            body: br#"[{"message":"x","project":"beta"}, "plain project=beta", 7]"#.to_vec(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "logs json object",
            path: "/v1/logs?project=beta",
            content_type: json_ct,
            headers: spoof.clone(),
            body: br#"{"message":"x","project":"beta","level":"error"}"#.to_vec(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "upload with a project field",
            path: "/v1/logs?project=beta",
            content_type: "multipart/form-data; boundary=Bnd",
            headers: spoof.clone(),
            body: multipart(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "datadog webhook",
            path: "/v1/webhooks/datadog?project=beta",
            content_type: json_ct,
            headers: spoof.clone(),
            body: datadog().to_string().into_bytes(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "sentry webhook",
            path: "/v1/webhooks/sentry?project=beta",
            content_type: json_ct,
            headers: spoof.clone(),
            body: sentry().to_string().into_bytes(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "github webhook",
            path: "/v1/webhooks/github?project=beta",
            content_type: json_ct,
            headers: [spoof.clone(), vec![("x-github-event", "workflow_run")]].concat(),
            body: github().to_string().into_bytes(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "cloudwatch webhook",
            path: "/v1/webhooks/cloudwatch?project=beta",
            content_type: "text/plain; charset=UTF-8",
            headers: [
                spoof.clone(),
                vec![("x-amz-sns-message-type", "Notification")],
            ]
            .concat(),
            body: cloudwatch().to_string().into_bytes(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "webhook that cannot be normalized (goes to the DLQ)",
            path: "/v1/webhooks/datadog?project=beta",
            content_type: json_ct,
            headers: spoof.clone(),
            body: br#"{"project":"beta"}"#.to_vec(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "feedback",
            path: "/v1/feedback?project=beta",
            content_type: json_ct,
            headers: spoof.clone(),
            body: br#"{"verdict":"helpful","action_kind":"rollback","service":"web"}"#.to_vec(),
            expected: StatusCode::ACCEPTED,
        },
        Attempt {
            name: "feedback naming a project",
            path: "/v1/feedback",
            content_type: json_ct,
            headers: spoof.clone(),
            body: br#"{"verdict":"helpful","action_kind":"rollback","project":"beta"}"#.to_vec(),
            expected: StatusCode::BAD_REQUEST,
        },
    ]
}

fn request(a: &Attempt, authorization: Option<&str>) -> Request<Body> {
    let mut req = Request::post(a.path).header("content-type", a.content_type);
    for (k, v) in &a.headers {
        req = req.header(*k, *v);
    }
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    req.body(Body::from(a.body.clone())).unwrap()
}

/// The project every produced record belongs to, checked per topic: the payload's own
/// project field and the record key must agree.
fn projects_of(records: &[OutRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let key = String::from_utf8(r.key.clone()).unwrap();
            match r.topic.as_str() {
                "logs.raw" => {
                    let log = RawLog::decode(&r.payload).unwrap();
                    assert_eq!(
                        key.split_once('/').map(|(p, _)| p),
                        Some(log.project.as_str()),
                        "key {key:?} of {log:?}"
                    );
                    log.project
                }
                "logs.raw.dlq" => {
                    DeadLetter::decode(&r.payload).unwrap();
                    key
                }
                "feedback" => {
                    let f = Feedback::decode(&r.payload).unwrap();
                    assert_eq!(key, f.project);
                    f.project
                }
                other => panic!("unexpected topic {other}"),
            }
        })
        .collect()
}

#[tokio::test]
async fn a_token_writes_only_into_its_own_project_on_every_endpoint() {
    let (app, sink) = app(&two_projects());
    for (token, project) in [(ALPHA_TOKEN, "alpha"), (BETA_TOKEN, "beta")] {
        for a in attempts() {
            let (status, v) = call(&app, request(&a, Some(&format!("Bearer {token}")))).await;
            assert_eq!(status, a.expected, "{} with {project}'s token: {v}", a.name);
            let records = sink.take();
            if status == StatusCode::ACCEPTED {
                assert!(
                    !records.is_empty(),
                    "{}: 202 but nothing produced: {v}",
                    a.name
                );
            } else {
                assert_eq!(v["status"], status.as_u16(), "{}: {v}", a.name);
                assert!(records.is_empty(), "{}: refused but produced", a.name);
            }
            let projects = projects_of(&records);
            assert!(
                projects.iter().all(|p| p == project),
                "{} with {project}'s token produced into {projects:?}",
                a.name
            );
        }
    }
}

#[tokio::test]
async fn unknown_malformed_and_missing_tokens_are_json_401s_on_every_endpoint() {
    let (app, sink) = app(&two_projects());
    let refused = [
        None,
        Some(String::new()),
        Some("Bearer".to_string()),
        Some("Bearer ".to_string()),
        Some(ALPHA_TOKEN.to_string()),
        Some(format!("Basic {ALPHA_TOKEN}")),
        Some(format!("Bearer {}", ALPHA_TOKEN.to_uppercase())),
        Some(format!("Bearer {}", &ALPHA_TOKEN[..ALPHA_TOKEN.len() - 1])),
        Some(format!("Bearer {ALPHA_TOKEN}x")),
        Some(format!("Bearer {ALPHA_TOKEN},{BETA_TOKEN}")),
        Some("Bearer alpha".to_string()),
    ];
    for a in attempts() {
        for auth in &refused {
            let (status, v) = call(&app, request(&a, auth.as_deref())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{} with {auth:?}", a.name);
            assert_eq!(v["status"], 401, "{v}");
            assert!(v["error"].as_str().unwrap().contains("bearer token"), "{v}");
            let text = v.to_string();
            assert!(
                !text.contains(ALPHA_TOKEN) && !text.contains(BETA_TOKEN),
                "the answer must not echo tokens: {text}"
            );
        }
    }
    assert!(sink.take().is_empty(), "refused requests produced records");
}

#[tokio::test]
async fn other_methods_and_unknown_paths_read_nothing_and_answer_json() {
    let (app, sink) = app(&two_projects());
    for path in [
        "/v1/logs?project=beta",
        "/v1/webhooks/datadog?project=beta",
        "/v1/feedback?project=beta",
    ] {
        for method in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
            let req = Request::builder()
                .method(method.clone())
                .uri(path)
                .header("authorization", format!("Bearer {ALPHA_TOKEN}"))
                .body(Body::empty())
                .unwrap();
            let (status, v) = call(&app, req).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(v["status"], 405, "{v}");
        }
    }
    for path in [
        "/v1/projects/beta/logs",
        "/v1/logs/beta",
        "/v1/feedback/beta",
    ] {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {ALPHA_TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (status, v) = call(&app, req).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(v["status"], 404, "{v}");
    }
    assert!(sink.take().is_empty());
}

#[tokio::test]
async fn revoked_tokens_are_refused_after_the_configuration_changes() {
    // Rotation: alpha had an old and a new token; the old one is removed and the ingestor
    // restarted (tokens are read at start-up).
    let before = config_with(&[("alpha", &["alpha-old-token", ALPHA_TOKEN])]);
    let after = config_with(&[("alpha", &[ALPHA_TOKEN])]);
    let logs = |token: &str| {
        Request::post("/v1/logs")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from("ERROR something"))
            .unwrap()
    };
    let (app_before, _) = app(&before);
    assert_eq!(
        call(&app_before, logs("alpha-old-token")).await.0,
        StatusCode::ACCEPTED
    );
    let (app_after, sink) = app(&after);
    for a in attempts() {
        let (status, v) = call(&app_after, request(&a, Some("Bearer alpha-old-token"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {v}", a.name);
        assert_eq!(v["status"], 401);
    }
    assert!(sink.take().is_empty(), "a revoked token produced records");
    assert_eq!(
        call(&app_after, logs(ALPHA_TOKEN)).await.0,
        StatusCode::ACCEPTED
    );
    // A project removed altogether takes its tokens with it.
    let (app_without_beta, sink) = app(&config_with(&[("alpha", &[ALPHA_TOKEN])]));
    assert_eq!(
        call(&app_without_beta, logs(BETA_TOKEN)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(sink.take().is_empty());
}

#[test]
fn ambiguous_or_empty_tokens_are_configuration_errors() {
    // One token in two projects would silently write into whichever the table kept.
    let shared = config_with(&[("alpha", &["shared-token"]), ("beta", &["shared-token"])]);
    let err = IngestState::from_config(&shared, Capture::default(), Metrics::new())
        .err()
        .expect("a token shared by two projects must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains("alpha") && msg.contains("beta"),
        "the error names the projects: {msg}"
    );
    assert!(
        !msg.contains("shared-token"),
        "the error must not print the token: {msg}"
    );
    for blank in ["", "   "] {
        let c = config_with(&[("alpha", &[blank])]);
        assert!(
            IngestState::from_config(&c, Capture::default(), Metrics::new()).is_err(),
            "blank token {blank:?} must be refused"
        );
    }
}
