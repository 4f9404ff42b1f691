//! Drives the router in-process with a capturing `Sink` and checks what reaches `logs.raw`
//! and `logs.raw.dlq`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use cloudsage_runtime::config::{IngestorConfig, ProjectAuth, RateQuota};
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_schemas::{DeadLetter, Message as _, RawLog};
use flate2::write::GzEncoder;
use flate2::Compression;
use ingestor::{router, IngestState};
use serde_json::{json, Value};
use std::io::Write;
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

impl Capture {
    fn logs(&self) -> Vec<RawLog> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.topic == "logs.raw")
            .map(|r| RawLog::decode(&r.payload).unwrap())
            .collect()
    }
    fn keys(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.topic == "logs.raw")
            .map(|r| String::from_utf8(r.key.clone()).unwrap())
            .collect()
    }
    fn dead(&self) -> Vec<DeadLetter> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.topic == "logs.raw.dlq")
            .map(|r| {
                assert_eq!(r.key, b"shop");
                DeadLetter::decode(&r.payload).unwrap()
            })
            .collect()
    }
}

fn config() -> IngestorConfig {
    let mut c = IngestorConfig::default();
    c.projects.insert(
        "shop".into(),
        ProjectAuth {
            tokens: vec!["tok".into()],
        },
    );
    c.max_body_bytes = 64 * 1024;
    c.max_decompressed_bytes = 256 * 1024;
    c.webhooks.sns_confirm_hosts = vec!["127.0.0.1".into(), ".amazonaws.com".into()];
    c
}

fn app_with(c: &IngestorConfig) -> (axum::Router, Capture) {
    let sink = Capture::default();
    let state = IngestState::from_config(c, sink.clone(), Metrics::new()).unwrap();
    (router(Arc::new(state)), sink)
}

fn app() -> (axum::Router, Capture) {
    app_with(&config())
}

fn post(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header("authorization", "Bearer tok")
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let r: Response = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, retry, serde_json::from_slice(&body).unwrap())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
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
async fn gzip_bodies_are_decompressed() {
    let (app, sink) = app();
    let body = gzip(b"2024-05-01T10:00:00Z ERROR payment failed\nok line\n\xff\xfe\n");
    let req = post("/v1/logs?service=checkout")
        .header("content-encoding", "gzip")
        .header("content-type", "text/plain")
        .body(Body::from(body))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    let logs = sink.logs();
    assert_eq!(
        logs[0].line.as_deref(),
        Some("2024-05-01T10:00:00Z ERROR payment failed")
    );
    assert_eq!(logs[0].service, "checkout");
    assert_eq!(sink.keys(), vec!["shop/checkout", "shop/checkout"]);
    let dead = sink.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].payload, b"\xff\xfe");
    assert_eq!(dead[0].offset, 3);
    assert_eq!(dead[0].source_topic, "http");
}

#[tokio::test]
async fn gzip_bombs_are_413_and_bad_gzip_is_400() {
    let (app, sink) = app();
    // 10 MiB of zeros compresses to ~10 KiB: under the 64 KiB body cap, over the 256 KiB cap.
    let bomb = gzip(&vec![b'0'; 10 << 20]);
    assert!(bomb.len() < 64 * 1024);
    let req = post("/v1/logs")
        .header("content-encoding", "gzip")
        .body(Body::from(bomb))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&v, 413, "expands to more than 262144 bytes");

    let req = post("/v1/logs")
        .header("content-encoding", "gzip")
        .body(Body::from("not gzip at all"))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 400, "not valid gzip");

    // The compressed size is capped before anything is decompressed.
    let req = post("/v1/logs")
        .header("content-encoding", "gzip")
        .body(Body::from(vec![0u8; 70_000]))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&v, 413, "body larger than 65536 bytes");

    let req = post("/v1/logs")
        .header("content-encoding", "br")
        .body(Body::from("x"))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&v, 415, "Content-Encoding");
    assert!(sink.0.lock().unwrap().is_empty());
}

fn form(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in parts {
        let filename = if *name == "file" {
            "; filename=\"app.log\""
        } else {
            ""
        };
        b.extend_from_slice(
            format!("--B0undary\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\nContent-Type: text/plain\r\n\r\n").as_bytes(),
        );
        b.extend_from_slice(value);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"--B0undary--\r\n");
    b
}

#[tokio::test]
async fn multipart_uploads_turn_each_line_into_a_record() {
    let (app, sink) = app();
    let file: &[u8] = b"081109 203615 148 INFO dfs.DataNode: Receiving block\n{\"msg\":\"db down\",\"level\":\"error\",\"service\":\"db\"}\n\n\xc3\x28\n{\"metric\":\"cpu.utilization\",\"value\":97.5}\n";
    let req = post("/v1/logs")
        .header("content-type", "multipart/form-data; boundary=B0undary")
        .body(Body::from(form(&[("file", file), ("service", b"hdfs")])))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["accepted"], 3);
    assert_eq!(v["rejected"], 1);
    assert_eq!(v["errors"][0]["line"], 4);
    let logs = sink.logs();
    assert_eq!(logs[0].service, "hdfs");
    assert_eq!(logs[0].source, "http");
    assert_eq!(logs[1].service, "db");
    assert_eq!(logs[1].fields["level"], "error");
    assert_eq!(logs[2].fields["metric.name"], "cpu.utilization");
    assert_eq!(logs[2].fields["metric.value"], "97.5");
    assert_eq!(sink.keys(), vec!["shop/hdfs", "shop/db", "shop/hdfs"]);
    assert_eq!(sink.dead()[0].payload, b"\xc3\x28");

    // gzip-compressed multipart works too; a form without `file` is a 400.
    let req = post("/v1/logs")
        .header("content-type", "multipart/form-data; boundary=B0undary")
        .header("content-encoding", "gzip")
        .body(Body::from(gzip(&form(&[("service", b"x")]))))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 400, "no `file` field");
}

#[tokio::test]
async fn metric_samples_carry_name_and_value() {
    let (app, sink) = app();
    let body = "{\"metric\":\"http.latency_ms\",\"value\":1840,\"timestamp\":1714557600,\"service\":\"checkout\"}\n{\"name\":\"memory.used_bytes\",\"value\":\"1.2e9\"}\n";
    let req = post("/v1/logs")
        .header("content-type", "application/x-ndjson")
        .body(Body::from(body))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let logs = sink.logs();
    assert_eq!(logs[0].service, "checkout");
    assert_eq!(logs[0].event_time_ms, Some(1_714_557_600_000));
    assert_eq!(logs[0].fields["metric.name"], "http.latency_ms");
    assert_eq!(logs[0].fields["metric.value"], "1840");
    assert_eq!(logs[1].service, "default");
    assert_eq!(logs[1].fields["metric.value"], "1.2e9");
}

#[tokio::test]
async fn projects_over_their_rate_limit_get_429_with_retry_after() {
    let mut c = config();
    c.rate_limit.requests_per_second = 1;
    c.rate_limit.burst = 2;
    c.projects.insert(
        "bulk".into(),
        ProjectAuth {
            tokens: vec!["bulk-tok".into()],
        },
    );
    c.rate_limit.projects.insert(
        "bulk".into(),
        RateQuota {
            requests_per_second: 1000,
            burst: 1000,
        },
    );
    let (app, _sink) = app_with(&c);
    let req = || post("/v1/logs").body(Body::from("line")).unwrap();
    assert_eq!(call(&app, req()).await.0, StatusCode::ACCEPTED);
    assert_eq!(call(&app, req()).await.0, StatusCode::ACCEPTED);
    let (status, retry, v) = call(&app, req()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("1"));
    assert_error(&v, 429, "rate limit");
    for _ in 0..5 {
        let req = Request::post("/v1/logs")
            .header("authorization", "Bearer bulk-tok")
            .body(Body::from("line"))
            .unwrap();
        assert_eq!(call(&app, req).await.0, StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn auth_and_routing_errors_are_json() {
    let (app, _) = app();
    let req = Request::post("/v1/webhooks/datadog")
        .header("authorization", "Bearer wrong")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&v, 401, "bearer token");
    let (status, _, v) = call(
        &app,
        post("/v1/webhooks/pagerduty")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&v, 404, "datadog, cloudwatch, sentry, github");
    let (status, _, v) = call(
        &app,
        post("/v1/webhooks/sentry")
            .body(Body::from("{oops"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 400, "not JSON");
    let (status, _, v) = call(
        &app,
        post("/v1/logs")
            .header("content-type", "image/png")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&v, 415, "multipart/form-data");
}

async fn webhook(
    app: &axum::Router,
    vendor: &str,
    payload: Value,
    event: Option<&str>,
) -> (StatusCode, Value) {
    let mut req =
        post(&format!("/v1/webhooks/{vendor}")).header("content-type", "application/json");
    if let Some(e) = event {
        req = req.header("x-github-event", e);
    }
    let (status, _, v) = call(app, req.body(Body::from(payload.to_string())).unwrap()).await;
    (status, v)
}

#[tokio::test]
async fn datadog_sentry_and_github_webhooks_become_records() {
    let (app, sink) = app();
    let datadog = json!({
        "id": "7180963436347467812", "title": "[Triggered] High error rate on checkout",
        "body": "%%%\nError rate above 5%\n%%%", "event_type": "query_alert_monitor",
        "date": "1714557600000", "last_updated": "1714557600000", "alert_id": "12345",
        "alert_type": "error", "alert_transition": "Triggered", "priority": "normal",
        "hostname": "web-1", "tags": "env:prod,service:checkout",
        "org": {"id": "1", "name": "Shop"}
    });
    assert_eq!(
        webhook(&app, "datadog", datadog, None).await.0,
        StatusCode::ACCEPTED
    );
    let sentry = json!({
        "action": "triggered",
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "event": {
                "event_id": "e4874d664c3540c1a32eab185f12c5ab", "issue_id": "1117540176",
                "level": "error", "title": "KeyError: 'sku'", "message": "",
                "datetime": "2024-05-01T10:00:01.000000Z", "platform": "python",
                "tags": [["environment", "production"], ["service", "catalog"]],
                "web_url": "https://sentry.io/organizations/shop/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
            },
            "triggered_rule": "New issue"
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}
    });
    assert_eq!(
        webhook(&app, "sentry", sentry, None).await.0,
        StatusCode::ACCEPTED
    );
    let run = |conclusion: &str| {
        json!({
            "action": "completed",
            "workflow_run": {
                "id": 9001234567i64, "name": "Deploy", "head_branch": "main",
                "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "run_number": 77,
                "display_title": "Bump checkout", "event": "push", "status": "completed",
                "conclusion": conclusion, "updated_at": "2024-05-01T10:00:02Z",
                "html_url": "https://github.com/shop/checkout/actions/runs/9001234567"
            },
            "repository": {"id": 1, "name": "checkout", "full_name": "shop/checkout"},
            "sender": {"login": "octocat"}
        })
    };
    assert_eq!(
        webhook(&app, "github", run("failure"), Some("workflow_run"))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        webhook(&app, "github", run("success"), Some("workflow_run"))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let (status, v) = webhook(
        &app,
        "github",
        json!({"zen": "Design for failure."}),
        Some("ping"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["ignored"].is_string());

    let logs = sink.logs();
    let summary: Vec<_> = logs
        .iter()
        .map(|l| {
            (
                l.source.as_str(),
                l.service.as_str(),
                l.fields["level"].as_str(),
                l.project.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("datadog", "checkout", "error", "shop"),
            ("sentry", "catalog", "error", "shop"),
            ("github", "checkout", "error", "shop"),
            ("github", "checkout", "info", "shop"),
        ]
    );
    assert_eq!(
        logs[0].line.as_deref(),
        Some("[Triggered] High error rate on checkout: %%%\nError rate above 5%\n%%%")
    );
    assert_eq!(logs[1].line.as_deref(), Some("KeyError: 'sku'"));
    assert_eq!(logs[1].event_time_ms, Some(1_714_557_601_000));
    assert!(logs[2]
        .line
        .as_deref()
        .unwrap()
        .contains("\"Deploy\" run #77 on main: failure"));
    assert_eq!(
        sink.keys(),
        vec![
            "shop/checkout",
            "shop/catalog",
            "shop/checkout",
            "shop/checkout"
        ]
    );
}

#[tokio::test]
async fn unusable_webhook_payloads_go_to_the_dlq() {
    let (app, sink) = app();
    let payload = json!({"alert_type": "error"});
    let (status, v) = webhook(&app, "datadog", payload.clone(), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        (v["accepted"].as_u64(), v["rejected"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(v["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("$EVENT_TITLE"));
    let dead = sink.dead();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].stage, "ingestor");
    assert_eq!(
        serde_json::from_slice::<Value>(&dead[0].payload).unwrap(),
        payload
    );
    assert!(sink.logs().is_empty());
}

fn alarm_message(state: &str) -> String {
    json!({
        "AlarmName": "orders-queue-depth", "AlarmDescription": "orders backlog",
        "AWSAccountId": "123456789012", "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [5120.0 (01/05/24 09:59:00)] was greater than the threshold (1000.0).",
        "StateChangeTime": "2024-05-01T10:00:03.000+0000", "Region": "EU (Ireland)",
        "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-queue-depth",
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
            "StatisticType": "Statistic", "Statistic": "MAXIMUM", "Unit": null,
            "Dimensions": [{"value": "orders", "name": "QueueName"}],
            "Period": 60, "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1000.0
        }
    })
    .to_string()
}

#[tokio::test]
async fn cloudwatch_notifications_become_records() {
    let (app, sink) = app();
    let n = json!({
        "Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:cloudsage",
        "Subject": "ALARM: \"orders-queue-depth\" in EU (Ireland)",
        "Message": alarm_message("ALARM"), "Timestamp": "2024-05-01T10:00:03.500Z",
        "SignatureVersion": "1", "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:cloudsage:1"
    });
    // SNS posts with `Content-Type: text/plain; charset=UTF-8`.
    let req = post("/v1/webhooks/cloudwatch")
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(Body::from(n.to_string()))
        .unwrap();
    let (status, _, v) = call(&app, req).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let logs = sink.logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].source, "cloudwatch");
    assert_eq!(logs[0].service, "orders");
    assert_eq!(logs[0].fields["level"], "error");
    assert_eq!(logs[0].event_time_ms, Some(1_714_557_603_000));
    assert!(logs[0]
        .line
        .as_deref()
        .unwrap()
        .starts_with("orders-queue-depth is ALARM: Threshold Crossed"));
    assert_eq!(sink.keys(), vec!["shop/orders"]);
}

#[tokio::test]
async fn sns_subscriptions_are_confirmed_with_a_get_to_allowed_hosts_only() {
    use axum::extract::{Query, State};
    use std::collections::HashMap;
    // A stand-in for SNS: records the confirmation request.
    type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;
    let seen: Seen = Arc::default();
    let sns = axum::Router::new()
        .route(
            "/",
            axum::routing::get(
                |State(seen): State<Seen>, Query(q): Query<HashMap<String, String>>| async move {
                    seen.lock().unwrap().push(q);
                    "<ConfirmSubscriptionResponse/>"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, sns).await.unwrap() });

    let (app, sink) = app();
    let confirmation = |url: String| {
        json!({
            "Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:cloudsage",
            "Message": "You have chosen to subscribe to the topic arn:aws:sns:eu-west-1:123456789012:cloudsage.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
            "SubscribeURL": url, "Timestamp": "2024-05-01T09:00:00.000Z",
            "SignatureVersion": "1", "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem"
        })
    };
    let url = format!("http://{addr}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:cloudsage&Token=2336412f");
    let (status, v) = webhook(&app, "cloudwatch", confirmation(url), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["confirmed"], true);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["Action"], "ConfirmSubscription");
    assert_eq!(seen[0]["Token"], "2336412f");

    let (status, v) = webhook(
        &app,
        "cloudwatch",
        confirmation("http://169.254.169.254/latest/meta-data/".into()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 400, "sns_confirm_hosts");
    let (status, v) = webhook(
        &app,
        "cloudwatch",
        confirmation("file:///etc/passwd".into()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&v, 400, "http or https");
    // Nothing listens on port 9 of 127.0.0.1: the failure is reported, not swallowed.
    let (status, v) = webhook(
        &app,
        "cloudwatch",
        confirmation("http://127.0.0.1:9/".into()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_error(&v, 502, "confirming the SNS subscription failed");
    assert!(sink.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn idempotency_keys_tag_every_line_and_bad_ones_are_400() {
    let (app, sink) = app();
    let send = |key: Option<&'static [u8]>| {
        let mut req = post("/v1/logs?service=api").header("content-type", "text/plain");
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        req.body(Body::from(&b"one\ntwo\n\xff\nthree\n"[..]))
            .unwrap()
    };
    // Sent twice, as a client retrying after a lost answer would: the same ids both times.
    for _ in 0..2 {
        let (status, _, v) = call(&app, send(Some(b"\"req-42\""))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    }
    let ids: Vec<(String, i64)> = sink
        .logs()
        .into_iter()
        .map(|l| {
            let id = l.ingest_id.expect("tagged");
            (id.request, id.seq)
        })
        .collect();
    let once: Vec<(String, i64)> = (0..3).map(|seq| ("req-42".to_string(), seq)).collect();
    assert_eq!(ids, [once.clone(), once].concat());
    // The rejected line (invalid UTF-8, line 3) is dead-lettered by both attempts under the
    // same (key, line), so DLQ readers can count it once.
    let rejects = |dead: Vec<DeadLetter>| -> Vec<(Option<Vec<u8>>, i64)> {
        dead.into_iter().map(|d| (d.key, d.offset)).collect()
    };
    let once_rejected = (Some(b"req-42".to_vec()), 3);
    assert_eq!(
        rejects(sink.dead()),
        vec![once_rejected.clone(), once_rejected]
    );

    // Without the header nothing is tagged.
    let (status, _, _) = call(&app, send(None)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(sink.logs()[6..].iter().all(|l| l.ingest_id.is_none()));
    assert_eq!(rejects(sink.dead())[2..], [(None, 3)]);

    for bad in [&b""[..], b"\"unterminated", b"back\\slash"] {
        let produced = sink.logs().len();
        let (status, _, v) = call(&app, send(Some(bad))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_error(&v, 400, "Idempotency-Key");
        assert_eq!(
            sink.logs().len(),
            produced,
            "nothing produced for a bad key"
        );
    }
}
