//! Shared helpers of the integration tests: service addresses from the environment (a test
//! fails, never skips, when `CLOUDSAGE_REQUIRE_SERVICES=1`), stage binaries, a local webhook
//! receiver, free ports.

#![allow(dead_code)]

pub mod private_services;
pub mod scorer_run;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Kafka and ClickHouse addresses, or `None` (test skipped) when they are not configured and
/// not required. Panics when required but missing.
pub fn services() -> Option<(String, String)> {
    let kafka = std::env::var("CLOUDSAGE_KAFKA__BROKERS").ok();
    let clickhouse = std::env::var("CLOUDSAGE_CLICKHOUSE__URL").ok();
    let required = std::env::var("CLOUDSAGE_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    match (kafka, clickhouse) {
        (Some(k), Some(c)) => Some((k, c)),
        _ if required => panic!(
            "CLOUDSAGE_REQUIRE_SERVICES=1 but CLOUDSAGE_KAFKA__BROKERS / CLOUDSAGE_CLICKHOUSE__URL are not set: \
             start them with deploy/local/services.sh start and eval \"$(deploy/local/services.sh env)\""
        ),
        _ => {
            eprintln!("SKIPPED: no Kafka/ClickHouse configured (run deploy/local/test.sh for the real thing)");
            None
        }
    }
}

/// A name unique to this test run, for projects, databases and consumer groups.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Path of a workspace binary (cargo builds every package's binaries for `cargo test --workspace`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap(); // target/<profile>/deps/..
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// A child process killed on drop.
pub struct Stage(pub Child);

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn_stage(name: &str, config: &std::path::Path) -> Stage {
    let child = Command::new(binary(name))
        .env("CLOUDSAGE_CONFIG", config)
        .env_remove("CLOUDSAGE_KAFKA__BROKERS")
        .env_remove("CLOUDSAGE_CLICKHOUSE__URL")
        .env_remove("CLOUDSAGE_CLICKHOUSE__DATABASE")
        .env(
            "RUST_LOG",
            std::env::var("CLOUDSAGE_TEST_STAGE_LOG")
                .unwrap_or_else(|_| "info,rdkafka=warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    Stage(child)
}

/// Waits (up to 60 s) until the stage `name` answers 200 on `/health` at `port`: it is ready
/// once broker and ClickHouse answer.
pub async fn wait_healthy(name: &str, port: u16) {
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = http
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await;
        if r.as_ref().is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never became healthy: {r:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// A loopback port for a server a test starts, possibly more than once (a broker or a stage
/// killed and restarted on the same port). Taken below the kernel's ephemeral range, so that
/// no port-0 bind and no outgoing connection of a parallel test can occupy it while its
/// server is down, and reserved by a lock file this process holds until it exits, so that
/// no other test process picks it.
pub fn free_port() -> u16 {
    static HELD: Mutex<Vec<std::fs::File>> = Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("cloudsage-test-ports");
    std::fs::create_dir_all(&dir).unwrap();
    let (low, high) = (20_000u16, ephemeral_range_start().clamp(20_001, 32_768));
    for _ in 0..10_000 {
        let port = fastrand::u16(low..high);
        let lock = std::fs::File::create(dir.join(port.to_string())).unwrap();
        if lock.try_lock().is_err() {
            continue; // another test's
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            HELD.lock().unwrap().push(lock);
            return port;
        }
    }
    panic!("no free loopback port in {low}..{high}");
}

/// The first port the kernel hands out for port-0 binds and outgoing connections.
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Receives webhook posts and records their JSON bodies.
#[derive(Clone, Default)]
pub struct WebhookReceiver {
    pub bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl WebhookReceiver {
    pub async fn start() -> (WebhookReceiver, SocketAddr) {
        let r = WebhookReceiver::default();
        async fn hook(
            State(r): State<WebhookReceiver>,
            Json(body): Json<serde_json::Value>,
        ) -> StatusCode {
            r.bodies.lock().unwrap().push(body);
            StatusCode::OK
        }
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, addr)
    }

    pub fn received(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

/// A window as the tests compare it: id and score.
#[derive(Debug, clickhouse::Row, serde::Deserialize)]
pub struct WindowScore {
    pub window_id: String,
    pub score: f64,
}
