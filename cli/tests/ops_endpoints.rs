//! The ingestor binary against the real broker: readiness reflects its dependencies, every
//! API error is JSON with the right status, and SIGTERM stops it cleanly.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_errors_and_graceful_shutdown() {
    let Some((kafka, _ch)) = services() else {
        return;
    };
    let port = free_port();
    let dead_clickhouse = free_port(); // nothing listens here
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ingestor.toml");
    std::fs::write(
        &path,
        format!(
            "[kafka]\nbrokers = \"{kafka}\"\n[clickhouse]\nurl = \"http://127.0.0.1:{dead_clickhouse}\"\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n[ingestor]\nmax_body_bytes = 1000\n\
             [ingestor.projects.ops]\ntokens = [\"t1\"]\n"
        ),
    )
    .unwrap();
    let mut ingestor = spawn_stage("ingestor", &path);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await {
            break r;
        }
        assert!(Instant::now() < deadline, "ingestor did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Not ready: ClickHouse is unreachable, though the broker answers.
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["kafka"], "ok");
    assert!(
        body["clickhouse"]
            .as_str()
            .unwrap()
            .starts_with("unreachable"),
        "{body}"
    );

    let post = |token: Option<&str>, ctype: &str, body: Vec<u8>| {
        let mut r = http
            .post(format!("{base}/v1/logs"))
            .header("content-type", ctype)
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    for (token, ctype, body, status) in [
        (None, "text/plain", b"x".to_vec(), 401),
        (Some("wrong"), "text/plain", b"x".to_vec(), 401),
        (Some("t1"), "image/png", b"x".to_vec(), 415),
        (Some("t1"), "text/plain", vec![b'a'; 5000], 413),
        (Some("t1"), "application/json", b"[1,".to_vec(), 400),
        (Some("t1"), "text/plain", b"\n\n".to_vec(), 400),
    ] {
        let r = post(token, ctype, body).await.unwrap();
        assert_eq!(r.status(), status, "{token:?} {ctype}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(e["status"], status);
        assert!(e["error"].as_str().is_some_and(|m| m.len() > 10), "{e}");
    }
    let ok = post(
        Some("t1"),
        "text/plain",
        b"2026-01-01T00:00:00Z ERROR one\nfine\n".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 202);
    let counts: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(
        (counts["accepted"].as_u64(), counts["rejected"].as_u64()),
        (Some(2), Some(0))
    );

    // SIGTERM: exits by itself, successfully, within a few seconds.
    let pid = ingestor.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = ingestor.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "ingestor ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
}
