//! Two forecaster replicas in one consumer group, on the real broker, store exactly the
//! forecasts (same ids, same predictions) of one forecaster fed the same windows in process:
//! the series are split between the replicas, and whatever a rebalance moves is rebuilt by
//! replaying the retained windows.

mod common;

use cloudsage_runtime::kafka::{ensure_topics, KafkaSink};
use cloudsage_runtime::stage::{InMessage, OutRecord, Outputs};
use cloudsage_runtime::transport::Sink;
use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::{Config, Processor};
use cloudsage_schemas::topics::{FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Forecast, Message as _, ScoredWindow};
use common::private_services::metric_sum;
use common::*;
use forecaster::processor::ForecasterInput;
use forecaster::ForecasterProcessor;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SERIES: i64 = 12;
const WINDOWS_PER_SERIES: i64 = 40;

/// Windows of `SERIES` services, in event-time order; each series has its own level, trend
/// and wobble so their forecasts differ.
fn windows(run: &str) -> Vec<ScoredWindow> {
    let mut out = vec![];
    let start = 1_795_161_600_000i64;
    for n in 0..WINDOWS_PER_SERIES {
        for s in 0..SERIES {
            let service = format!("svc{s}");
            let score = (10.0
                + 3.0 * s as f64
                + n as f64 * (s % 4) as f64 * 0.8
                + ((n * 7 + s * 13) % 11) as f64)
                .min(100.0);
            out.push(ScoredWindow {
                window_id: format!("{run}-{service}-{n}"),
                project: run.into(),
                service,
                window_start_ms: start + n * 60_000,
                window_end_ms: start + (n + 1) * 60_000,
                score,
                factors: vec![],
                labels: vec![],
                top_factors: vec![],
                event_count: 100,
                error_count: (score / 10.0) as i64,
                warn_count: 0,
                late_count: 0,
            });
        }
    }
    out
}

/// Forecast id → predicted score of one forecaster fed `windows` in order.
fn expected_forecasts(cfg: &Config, windows: &[ScoredWindow]) -> BTreeMap<String, f64> {
    let mut p = ForecasterProcessor::new(&cfg.forecaster);
    let mut out = Outputs::default();
    for (i, w) in windows.iter().enumerate() {
        let m = InMessage {
            topic: WINDOWS_SCORED.into(),
            partition: 0,
            offset: i as i64,
            key: Some(format!("{}/{}", w.project, w.service).into_bytes()),
            payload: w.encode(),
            timestamp_ms: None,
        };
        p.process(&m, ForecasterInput::Window(w.clone()), 0, &mut out);
    }
    out.records
        .iter()
        .filter(|r| r.topic == FORECASTS)
        .map(|r| Forecast::decode(&r.payload).unwrap())
        .map(|f| (f.forecast_id, f.predicted_score))
        .collect()
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct StoredForecast {
    forecast_id: String,
    predicted_score: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_forecaster_replicas_forecast_like_one() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("fctwin");
    let dir = tempfile::tempdir().unwrap();
    let mut paths = vec![];
    let mut ports = vec![];
    for name in ["a", "b"] {
        let port = free_port();
        let toml = format!(
            "[kafka]\nbrokers = \"{kafka}\"\ngroup_prefix = \"{run}\"\ntopic_prefix = \"{run}.\"\n\
             [clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
             [pipeline]\nbatch_size = 50\ntick = \"500ms\"\n"
        );
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, &toml).unwrap();
        paths.push(path);
        ports.push(port);
    }
    let cfg = Config::from_toml(&std::fs::read_to_string(&paths[0]).unwrap()).unwrap();
    ensure_topics(&cfg.kafka, &cloudsage_schemas::topics::all_topics())
        .await
        .unwrap();
    let wh = Warehouse::from_config(&cfg.clickhouse).unwrap();
    wh.migrate().await.unwrap();

    let input = windows(&run);
    let want = expected_forecasts(&cfg, &input);
    assert!(
        want.len() as i64 >= SERIES * (WINDOWS_PER_SERIES - 5),
        "oracle: {} forecasts",
        want.len()
    );

    let _a = spawn_stage("forecaster", &paths[0]);
    let _b = spawn_stage("forecaster", &paths[1]);
    // Produce in slices, so the second replica's join (and the rebalances tansu goes
    // through) happen while input is flowing.
    let sink = KafkaSink::new(&cfg.kafka).unwrap();
    for chunk in input.chunks(SERIES as usize * 4) {
        let records: Vec<OutRecord> = chunk
            .iter()
            .map(|w| OutRecord {
                topic: WINDOWS_SCORED.into(),
                key: format!("{}/{}", w.project, w.service).into_bytes(),
                payload: w.encode(),
            })
            .collect();
        sink.send(records).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    let deadline = Instant::now() + Duration::from_secs(240);
    let got: BTreeMap<String, f64> = loop {
        let rows: Vec<StoredForecast> = wh
            .client()
            .query("SELECT forecast_id, predicted_score FROM forecasts FINAL WHERE project = ?")
            .bind(&run)
            .fetch_all()
            .await
            .unwrap_or_default();
        if rows.len() >= want.len() || Instant::now() > deadline {
            break rows
                .into_iter()
                .map(|r| (r.forecast_id, r.predicted_score))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let records_in: Vec<Option<f64>> = ports
        .iter()
        .map(|p| metric_sum(*p, "cloudsage_records_in_total", ""))
        .collect();
    let lost = want.keys().filter(|k| !got.contains_key(*k)).count();
    let wrong = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| (g - *v).abs() > 1e-9))
        .count();
    let unexpected = got.keys().filter(|k| !want.contains_key(*k)).count();
    println!(
        "forecasts expected {}, found {}, lost {lost}, wrong prediction {wrong}, unexpected {unexpected}; records read per replica {records_in:?}",
        want.len(),
        got.len()
    );
    assert_eq!((lost, wrong, unexpected), (0, 0, 0));
    wh.client()
        .query(&format!("DROP DATABASE {run}"))
        .execute()
        .await
        .unwrap();
}
