//! The bundled sample through the four separate stage binaries over the real broker and
//! ClickHouse; the results must equal the embedded run's, and the webhook must receive the
//! alerts.

mod common;

use cloudsage::run::{bundled_sample, run_embedded};
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn config_toml(kafka: &str, ch: &str, db: &str, group: &str, hook: &str, listen: u16) -> String {
    format!(
        r#"
[kafka]
brokers = "{kafka}"
group_prefix = "{group}"
topic_prefix = "{group}."
[clickhouse]
url = "{ch}"
database = "{db}"
[http]
listen = "127.0.0.1:{listen}"
[pipeline]
tick = "500ms"
[scorer]
idle_flush = "4s"
[notifier]
console = false
webhooks = [{{ name = "it", url = "{hook}" }}]
[ingestor.projects.PROJECT]
tokens = ["it-token"]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_through_four_stages_over_kafka_and_clickhouse() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("it");
    let (hooks, hook_addr) = WebhookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut stages = vec![];
    let ingest_port = free_port();
    for (name, port) in [
        ("ingestor", ingest_port),
        ("scorer", free_port()),
        ("forecaster", free_port()),
        ("notifier", free_port()),
    ] {
        let toml = config_toml(
            &kafka,
            &ch,
            &run,
            &run,
            &format!("http://{hook_addr}/hook"),
            port,
        )
        .replace("PROJECT", &run);
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, toml).unwrap();
        stages.push((name, port, spawn_stage(name, &path)));
    }

    // Every stage reports ready once broker and ClickHouse answer.
    for (name, port, _) in &stages {
        wait_healthy(name, *port).await;
    }
    let http = reqwest::Client::new();

    // The oracle: the same file through the embedded pipeline (no Kafka, no ClickHouse).
    let sample = bundled_sample();
    let mut embedded_cfg = Config::from_toml("[notifier]\nconsole = false").unwrap();
    embedded_cfg.scorer.idle_flush = Duration::from_secs(4);
    let (expected, lines) = run_embedded(&embedded_cfg, &sample, &run, "app")
        .await
        .unwrap();
    assert!(lines > 1000, "sample too small: {lines}");
    assert!(
        !expected.alerts.is_empty(),
        "the sample must raise at least one alert"
    );

    // Ingest the sample over HTTP, in chunks, as a user would.
    let text = std::fs::read_to_string(&sample).unwrap();
    let all: Vec<&str> = text.lines().collect();
    let started = Instant::now();
    for chunk in all.chunks(2000) {
        let r = http
            .post(format!(
                "http://127.0.0.1:{ingest_port}/v1/logs?service=app"
            ))
            .bearer_auth("it-token")
            .header("content-type", "text/plain")
            .body(chunk.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }

    // Wait until ClickHouse holds every expected window, forecast and alert.
    let wh = Warehouse::from_config(
        &Config::from_toml(&format!(
            "[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\""
        ))
        .unwrap()
        .clickhouse,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let count = |table: &'static str| {
        let wh = wh.clone();
        let run = run.clone();
        async move {
            wh.client()
                .query(&format!(
                    "SELECT count() FROM (SELECT * FROM {table} FINAL WHERE project = ?)"
                ))
                .bind(run)
                .fetch_one::<u64>()
                .await
                .unwrap_or(0)
        }
    };
    loop {
        let (w, f, a) = (
            count("risk_windows").await,
            count("forecasts").await,
            count("alerts").await,
        );
        let delivered = hooks
            .received()
            .iter()
            .filter(|b| b["commonLabels"]["project"] == run.as_str())
            .count();
        if w as usize >= expected.windows.len()
            && f as usize >= expected.forecasts.len()
            && a as usize >= expected.alerts.len()
            && delivered >= expected.alerts.len()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: windows {w}/{}, forecasts {f}/{}, alerts {a}/{}, webhooks {delivered}",
            expected.windows.len(),
            expected.forecasts.len(),
            expected.alerts.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "{} lines → {} windows, {} forecasts, {} alerts over Kafka+ClickHouse in {:.1} s",
        lines,
        expected.windows.len(),
        expected.forecasts.len(),
        expected.alerts.len(),
        elapsed.as_secs_f64()
    );

    // Same windows with the same scores as the embedded run: exactly once after FINAL.
    let got: Vec<WindowScore> = wh
        .client()
        .query(
            "SELECT window_id, score FROM risk_windows FINAL WHERE project = ? ORDER BY window_id",
        )
        .bind(&run)
        .fetch_all()
        .await
        .unwrap();
    let got: BTreeMap<String, f64> = got.into_iter().map(|w| (w.window_id, w.score)).collect();
    let want: BTreeMap<String, f64> = expected
        .windows
        .iter()
        .map(|w| (w.window_id.clone(), w.score))
        .collect();
    assert_eq!(got, want);

    // Alert ids equal the embedded run's, and each firing alert reached the webhook once.
    let alert_ids: Vec<String> = wh
        .client()
        .query("SELECT alert_id FROM alerts FINAL WHERE project = ? ORDER BY alert_id")
        .bind(&run)
        .fetch_all()
        .await
        .unwrap();
    let mut want_ids: Vec<String> = expected.alerts.iter().map(|a| a.alert_id.clone()).collect();
    want_ids.sort();
    assert_eq!(alert_ids, want_ids);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The topics are shared with earlier runs on the same broker: keep this run's project.
    let bodies: Vec<_> = hooks
        .received()
        .into_iter()
        .filter(|b| b["commonLabels"]["project"] == run.as_str())
        .collect();
    let mut delivered: Vec<String> = bodies
        .iter()
        .map(|b| b["alerts"][0]["alert_id"].as_str().unwrap().to_string())
        .collect();
    delivered.sort();
    assert_eq!(delivered, want_ids, "each alert delivered exactly once");
    let firing = bodies
        .iter()
        .find(|b| b["status"] == "firing")
        .expect("a firing notification");
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["commonLabels"]["project"], run.as_str());

    // Operations endpoints.
    let metrics = http
        .get(format!("http://127.0.0.1:{}/metrics", stages[1].1))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("cloudsage_records_in_total{stage=\"scorer\",topic=\"logs.raw\"}"),
        "{metrics}"
    );
    drop(stages);
}
