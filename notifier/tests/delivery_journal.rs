//! The delivery journal closes the gap between a receiver's answer and the notification log:
//! a notifier that dies right after a delivery (here: dropped before any log row is written,
//! there is no ClickHouse) and starts again with the same journal does not notify twice.
//! Without a journal it does, which is what the journal is for.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use cloudsage_runtime::config::{NotifierConfig, Secret, WebhookReceiver};
use cloudsage_runtime::deliver::Deliverer;
use cloudsage_schemas::{Alert, AlertStatus, Severity};
use notifier::Receivers;
use std::sync::{Arc, Mutex};

/// A webhook that counts what it receives.
async fn start_hook() -> (Arc<Mutex<usize>>, String) {
    let hits = Arc::new(Mutex::new(0usize));
    async fn handle(State(hits): State<Arc<Mutex<usize>>>) -> StatusCode {
        *hits.lock().unwrap() += 1;
        StatusCode::OK
    }
    let app = Router::new()
        .route("/hook", post(handle))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hits, url)
}

fn alert() -> Alert {
    Alert {
        alert_id: "journal-1".into(),
        fingerprint: "fp".into(),
        project: "shop".into(),
        service: "checkout".into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary: "checkout risk 95".into(),
        score: 95.0,
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: None,
        window_id: Some("win-1".into()),
        forecast_id: None,
        labels: Default::default(),
    }
}

/// Deliveries the hook receives when the same alert is delivered by two notifier lifetimes.
async fn received_over_a_restart(journal: Option<std::path::PathBuf>) -> usize {
    let (hits, url) = start_hook().await;
    let c = NotifierConfig {
        console: false,
        webhooks: vec![WebhookReceiver {
            name: "ops".into(),
            url: Secret::new(url),
            max_per_minute: None,
        }],
        delivery_journal: journal,
        ..Default::default()
    };
    for _ in 0..2 {
        let receivers = Receivers::new(&c, None).unwrap();
        let report = receivers.deliver(&alert()).await;
        assert!(report.permanent_failure.is_none(), "{report:?}");
        // The process "dies" here: the report's log rows are never written.
    }
    let n = *hits.lock().unwrap();
    n
}

#[tokio::test]
async fn a_restarted_notifier_does_not_resend_what_its_journal_holds() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("notifier/deliveries.log");
    assert_eq!(received_over_a_restart(Some(journal.clone())).await, 1);
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        "journal-1\tops\n"
    );
    assert_eq!(received_over_a_restart(None).await, 2);
}
