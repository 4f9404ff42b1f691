//! `cloudsage feedback` and `cloudsage forecast` on known rows in a fresh ClickHouse database
//! (migrated by the runtime, so the `feedback` migration is exercised on the real server):
//! replayed writes count once, `--since` filters, the latest forecast per service is shown.
//! And the whole loop over the real broker: feedback POSTed to a spawned ingestor changes the
//! next forecast of a spawned forecaster.

mod common;

use cloudsage_runtime::kafka::KafkaSink;
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::stage::TableRow;
use cloudsage_runtime::transport::Sink as _;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::WINDOWS_SCORED;
use cloudsage_schemas::{Action, ChainStep, Feedback, FeedbackVerdict, Forecast};
use cloudsage_schemas::{Message as _, ScoredWindow};
use common::*;
use std::time::{Duration, Instant};

fn warehouse(ch: &str, db: &str) -> Warehouse {
    let cfg = Config::from_toml(&format!(
        "[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{db}\""
    ))
    .unwrap();
    Warehouse::from_config(&cfg.clickhouse).unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn feedback(project: &str, kind: &str, verdict: FeedbackVerdict, at_ms: i64) -> Feedback {
    let mut f = Feedback {
        feedback_id: String::new(),
        project: project.into(),
        service: Some("checkout".into()),
        forecast_id: Some("fc1".into()),
        action_kind: Some(kind.into()),
        verdict,
        pattern: None,
        comment: Some(format!("{kind} {}", verdict.name())),
        user: Some("ana".into()),
        received_at_ms: at_ms,
    };
    f.feedback_id = f.derive_id();
    f
}

fn forecast(project: &str, service: &str, at_s: i64, predicted: f64, kinds: &[&str]) -> Forecast {
    Forecast {
        forecast_id: format!("{service}-{at_s}"),
        project: project.into(),
        service: service.into(),
        based_on_window_id: format!("w-{service}-{at_s}"),
        generated_at_ms: at_s * 1000,
        horizon_hours: 24,
        predicted_score: predicted,
        lower: predicted - 10.0,
        upper: predicted + 10.0,
        confidence: 0.5,
        confidence_reason: format!("reason {service} {at_s}"),
        trend_per_hour: 1.25,
        chain: "preventive_forecast".into(),
        chain_steps: vec![
            ChainStep {
                name: "risk_assessment".into(),
                detail: "backtest MAE 1 h ahead 2.50 over 30 checks".into(),
                duration_us: 10,
            },
            ChainStep {
                name: "action_generation".into(),
                detail: "rule table re-ranked by feedback: ...".into(),
                duration_us: 5,
            },
        ],
        actions: kinds
            .iter()
            .map(|k| Action {
                kind: k.to_string(),
                title: format!("do {k} on {service}"),
                evidence: "score 80".into(),
                deadline_hours: 2.0,
            })
            .collect(),
    }
}

#[tokio::test]
async fn feedback_and_forecast_commands_read_clickhouse() {
    let Some((_, ch)) = services() else {
        return;
    };
    let db = unique("fbcli");
    let wh = warehouse(&ch, &db);
    wh.migrate().await.unwrap();
    let project = unique("shop");
    let now = now_ms();
    let old = now - 3 * 24 * 3600 * 1000;
    let mut rows = vec![TableRow::Feedback(feedback(
        &project,
        "rollback",
        FeedbackVerdict::NotHelpful,
        old,
    ))];
    for i in 0..4 {
        rows.push(TableRow::Feedback(feedback(
            &project,
            "restart_pods",
            FeedbackVerdict::Helpful,
            now - 60_000 + i,
        )));
    }
    rows.push(TableRow::Feedback(feedback(
        &project,
        "restart_pods",
        FeedbackVerdict::NotHelpful,
        now - 1000,
    )));
    rows.push(TableRow::Feedback(feedback(
        "another",
        "rollback",
        FeedbackVerdict::Done,
        now,
    )));
    rows.push(TableRow::Forecast(forecast(
        &project,
        "checkout",
        1_767_225_600,
        50.0,
        &["a", "b", "c"],
    )));
    rows.push(TableRow::Forecast(forecast(
        &project,
        "checkout",
        1_767_229_200,
        72.5,
        &["restart_pods", "watch_trend", "add_runbook"],
    )));
    rows.push(TableRow::Forecast(forecast(
        &project,
        "api",
        1_767_225_600,
        20.0,
        &["watch_trend"],
    )));
    // A replay writes everything again: still one row each.
    wh.write(&rows, 1).await.unwrap();
    wh.write(&rows, 2).await.unwrap();

    let cloudsage = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudsage"))
            .args(args)
            .env("CLOUDSAGE_CLICKHOUSE__URL", &ch)
            .env("CLOUDSAGE_CLICKHOUSE__DATABASE", &db)
            .env_remove("CLOUDSAGE_KAFKA__BROKERS")
            .env_remove("CLOUDSAGE_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    let all = cloudsage(&["feedback", &project]);
    assert!(all.contains("(6 records)"), "{all}");
    assert!(all.contains("rollback not_helpful"), "{all}");
    assert!(
        all.contains("restart_pods             4 helpful / 1 not (0.71)"),
        "{all}"
    );
    assert!(
        !all.contains("rollback done"),
        "other projects stay out: {all}"
    );
    let recent = cloudsage(&["feedback", &project, "--since", "1h"]);
    assert!(recent.contains("(5 records)"), "{recent}");
    assert!(!recent.contains("rollback not_helpful"), "{recent}");

    let latest = cloudsage(&["forecast", &project]);
    assert!(
        latest.contains(&format!("{project}/checkout: forecast checkout-1767229200")),
        "{latest}"
    );
    assert!(!latest.contains("checkout-1767225600"), "{latest}");
    assert!(latest.contains(&format!("{project}/api: forecast api-1767225600")));
    assert!(latest.contains("predicted 72.5 (95 % interval 62.5 to 82.5)"));
    assert!(latest.contains("confidence 0.50: reason checkout 1767229200"));
    assert!(latest.contains("backtest MAE 1 h ahead 2.50 over 30 checks"));
    assert!(latest.contains("1. [restart_pods] do restart_pods on checkout (within 2 h)"));
    let one = cloudsage(&["forecast", &project, "--service", "api"]);
    assert!(
        one.contains("/api:") && !one.contains("/checkout:"),
        "{one}"
    );
    let none = cloudsage(&["forecast", "nobody-here"]);
    assert!(
        none.contains("no forecasts for project nobody-here"),
        "{none}"
    );

    wh.client()
        .query(&format!("DROP DATABASE {db}"))
        .execute()
        .await
        .unwrap();
}

fn window(project: &str, n: i64) -> OutRecord {
    let w = ScoredWindow {
        window_id: format!("{project}-checkout-{n}"),
        project: project.into(),
        service: "checkout".into(),
        window_start_ms: 1_767_225_600_000 + n * 60_000,
        window_end_ms: 1_767_225_600_000 + (n + 1) * 60_000,
        score: 60.0 + (n % 5) as f64,
        factors: vec![],
        labels: vec!["High Error Rate".into()],
        top_factors: vec!["error_rate".into()],
        event_count: 100,
        error_count: 30,
        warn_count: 2,
        late_count: 0,
    };
    OutRecord {
        topic: WINDOWS_SCORED.into(),
        key: format!("{project}/checkout").into_bytes(),
        payload: w.encode(),
    }
}

/// Polls `sql` (one UInt64) until it reaches `want`.
async fn wait_for(wh: &Warehouse, sql: &str, want: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = wh.client().query(sql).fetch_one::<u64>().await.unwrap_or(0);
        if n >= want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {n}/{want}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_posted_to_the_ingestor_reranks_the_forecasters_next_actions() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("fbit");
    let dir = tempfile::tempdir().unwrap();
    let mut stages = vec![];
    let ports = [("ingestor", free_port()), ("forecaster", free_port())];
    for (name, port) in ports {
        let toml = format!(
            "[kafka]\nbrokers = \"{kafka}\"\ngroup_prefix = \"{run}\"\ntopic_prefix = \"{run}.\"\n\
             [clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\"\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n[pipeline]\ntick = \"500ms\"\n\
             [ingestor.projects.{run}]\ntokens = [\"fb-token\"]\n"
        );
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, toml).unwrap();
        stages.push(spawn_stage(name, &path));
    }
    for (name, port) in ports {
        wait_healthy(name, port).await;
    }
    let http = reqwest::Client::new();
    let cfg = Config::from_toml(&format!(
        "[kafka]\nbrokers = \"{kafka}\"\ntopic_prefix = \"{run}.\"\n[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\""
    ))
    .unwrap();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    let producer = KafkaSink::new(&cfg.kafka).unwrap();
    producer
        .send((0..10).map(|n| window(&run, n)).collect())
        .await
        .unwrap();
    let forecasts =
        format!("SELECT count() FROM (SELECT * FROM forecasts FINAL WHERE project = '{run}')");
    wait_for(&wh, &forecasts, 10, "the first forecasts").await;
    let kinds_of = |window: &str| {
        let wh = wh.clone();
        let run = run.clone();
        let window = window.to_string();
        async move {
            wh.client()
                .query(
                    "SELECT action_kinds FROM forecasts FINAL \
                     WHERE project = ? AND based_on_window_id = ?",
                )
                .bind(run)
                .bind(window)
                .fetch_one::<Vec<String>>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        kinds_of(&format!("{run}-checkout-9")).await,
        ["investigate_errors", "rollback", "watch_trend"]
    );

    let mut bodies = vec![
        serde_json::json!({"verdict": "not_helpful", "action_kind": "investigate_errors", "service": "checkout"});
        3
    ];
    bodies.push(serde_json::json!({"verdict": "helpful", "action_kind": "review_alert_thresholds", "comment": "spot on"}));
    bodies.push(serde_json::json!({"verdict": "ignore_pattern", "pattern": "ROLL BACK"}));
    for (i, b) in bodies.iter().enumerate() {
        let r = http
            .post(format!("http://127.0.0.1:{}/v1/feedback", ports[0].1))
            .bearer_auth("fb-token")
            .json(b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        // Distinct receive times, so the three equal verdicts are three feedbacks.
        if i < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // The forecaster writes each feedback to ClickHouse after learning from it.
    let stored =
        format!("SELECT count() FROM (SELECT * FROM feedback FINAL WHERE project = '{run}')");
    wait_for(&wh, &stored, 5, "the feedback rows").await;

    producer.send(vec![window(&run, 10)]).await.unwrap();
    wait_for(&wh, &forecasts, 11, "the forecast after feedback").await;
    assert_eq!(
        kinds_of(&format!("{run}-checkout-10")).await,
        ["review_alert_thresholds", "watch_trend", "add_runbook"],
        "investigate_errors ranked out, rollback ignored (its title says \"roll back\")"
    );
    drop(stages);
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
