//! Poison records on every stage input topic, over the real broker and ClickHouse, with the
//! scorer, forecaster and notifier binaries running: invalid Avro (right marker, unknown
//! fingerprint; truncated datum), oversized (over `[pipeline] max_record_bytes`), a valid
//! Avro record of another type, binary garbage and an empty payload, interleaved with valid
//! records. Each poison record must reach `<topic>.dlq` once per consuming stage, with its
//! original key and bytes and a reason naming the problem; valid records after the poison
//! must still be processed (their outputs appear). The run has its own topics
//! (`topic_prefix`), so parallel tests on the same broker do not interfere.

mod common;

use cloudsage_runtime::warehouse::Warehouse;
use cloudsage_runtime::Config;
use cloudsage_schemas::topics::{
    dead_letter_topic, ALERTS, FEEDBACK, FORECASTS, LOGS_RAW, WINDOWS_SCORED,
};
use cloudsage_schemas::{
    Alert, AlertStatus, DeadLetter, Feedback, FeedbackVerdict, Forecast, Message as _, RawLog,
    ScoredWindow, Severity,
};
use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message as _, Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `[pipeline] max_record_bytes` for the stages under test.
const MAX_RECORD_BYTES: usize = 64 * 1024;

fn config_toml(kafka: &str, ch: &str, run: &str, hook: &str, listen: u16) -> String {
    format!(
        r#"
[kafka]
brokers = "{kafka}"
group_prefix = "{run}"
# This run's own topics: other tests' records never reach these stages.
topic_prefix = "{run}."
[clickhouse]
url = "{ch}"
database = "{run}"
[http]
listen = "127.0.0.1:{listen}"
[pipeline]
tick = "500ms"
max_record_bytes = {MAX_RECORD_BYTES}
[scorer]
idle_flush = "3s"
[notifier]
console = false
webhooks = [{{ name = "poison", url = "{hook}" }}]
[[notifier.rules]]
name = "hot"
kind = "risk_threshold"
project = "{run}_.*"
threshold = 70
[[notifier.rules]]
name = "breach"
kind = "forecast_breach"
project = "{run}_forecasts"
threshold = 80
"#
    )
}

/// One poison record: what is wrong with it, its bytes, and what the reason must say.
struct Poison {
    kind: &'static str,
    payload: Vec<u8>,
    reason_mentions: &'static [&'static str],
}

fn truncated(valid: Vec<u8>) -> Vec<u8> {
    // The 10-byte header and a few bytes of the datum.
    valid[..13.min(valid.len())].to_vec()
}

/// The poison for a topic whose records are `valid` (encoded), `other` being a valid
/// record of another type, and `oversized` a record of the right type over the limit.
fn poisons(valid: Vec<u8>, other: Vec<u8>, oversized: Vec<u8>) -> Vec<Poison> {
    let mut unknown_fingerprint = vec![0xC3, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04];
    unknown_fingerprint.extend_from_slice(&valid[10..]);
    assert!(oversized.len() > MAX_RECORD_BYTES);
    vec![
        Poison {
            kind: "unknown-fingerprint",
            payload: unknown_fingerprint,
            reason_mentions: &["fingerprint"],
        },
        Poison {
            kind: "truncated",
            payload: truncated(valid),
            reason_mentions: &["invalid"],
        },
        Poison {
            kind: "oversized",
            payload: oversized,
            reason_mentions: &["oversized", "max_record_bytes"],
        },
        Poison {
            kind: "wrong-schema",
            payload: other,
            reason_mentions: &["expected a"],
        },
        Poison {
            kind: "garbage",
            // Not UTF-8 either: logs.raw also accepts JSON and text lines.
            payload: vec![
                0xff, 0xfe, 0x00, 0x9f, 0x80, 0xc3, 0x28, 0x17, 0xf0, 0x00, 0xff,
            ],
            reason_mentions: &["not avro", "neither avro"],
        },
        Poison {
            kind: "empty",
            payload: vec![],
            reason_mentions: &["empty"],
        },
    ]
}

fn now_ms() -> i64 {
    cloudsage_runtime::driver::now_ms()
}

fn raw_log(project: &str, line: String) -> RawLog {
    RawLog {
        project: project.into(),
        service: "api".into(),
        source: "poison-test".into(),
        received_at_ms: now_ms(),
        event_time_ms: Some(now_ms()),
        line: Some(line),
        fields: BTreeMap::new(),
        ingest_id: None,
    }
}

fn window(project: &str, id: &str, score: f64, label: String) -> ScoredWindow {
    let end = now_ms();
    ScoredWindow {
        window_id: id.into(),
        project: project.into(),
        service: "api".into(),
        window_start_ms: end - 60_000,
        window_end_ms: end,
        score,
        factors: vec![],
        labels: vec![label],
        top_factors: vec![],
        event_count: 100,
        error_count: 60,
        warn_count: 5,
        late_count: 0,
    }
}

fn forecast(project: &str, id: &str, chain: String) -> Forecast {
    Forecast {
        forecast_id: id.into(),
        project: project.into(),
        service: "api".into(),
        based_on_window_id: format!("{id}-w"),
        generated_at_ms: now_ms(),
        horizon_hours: 1,
        predicted_score: 97.0,
        lower: 90.0,
        upper: 99.0,
        confidence: 0.9,
        confidence_reason: "test".into(),
        trend_per_hour: 5.0,
        chain,
        chain_steps: vec![],
        actions: vec![],
    }
}

fn alert(project: &str, id: &str, summary: String) -> Alert {
    Alert {
        alert_id: id.into(),
        fingerprint: format!("fp-{id}"),
        project: project.into(),
        service: "api".into(),
        rule: "risk_threshold".into(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        summary,
        score: 95.0,
        starts_at_ms: now_ms(),
        ends_at_ms: None,
        window_id: None,
        forecast_id: None,
        labels: BTreeMap::from([("project".to_string(), project.to_string())]),
    }
}

fn feedback(project: &str, comment: String) -> Feedback {
    let mut f = Feedback {
        feedback_id: String::new(),
        project: project.into(),
        service: Some("api".into()),
        forecast_id: None,
        action_kind: Some("rollback".into()),
        verdict: FeedbackVerdict::Helpful,
        pattern: None,
        comment: Some(comment),
        user: None,
        received_at_ms: now_ms(),
    };
    f.feedback_id = f.derive_id();
    f
}

/// A poison record's original bytes and the words one of its reasons must contain.
type SentPoison = (Vec<u8>, &'static [&'static str]);

/// What goes onto one input topic, and which stages consume it.
struct TopicPlan {
    topic: &'static str,
    stages: &'static [&'static str],
    /// Valid records interleaved with the poison: (key, payload).
    valid: Vec<(String, Vec<u8>)>,
    poison: Vec<Poison>,
}

/// A valid record with junk appended up to past the limit: this run's stages must reject
/// it for its size alone, and stages of other runs (other limits) still reject it (trailing
/// bytes) instead of turning it into outputs under this run's projects.
fn padded(valid: Vec<u8>) -> Vec<u8> {
    let mut bytes = valid;
    bytes.resize(MAX_RECORD_BYTES + 1000, 0);
    bytes
}

fn plans(run: &str) -> Vec<TopicPlan> {
    let p = |suffix: &str| format!("{run}_{suffix}");
    let logs = (0..4)
        .map(|i| {
            let log = raw_log(&p("logs"), format!("ERROR payment failed attempt {i}"));
            (format!("{}/api", p("logs")), log.encode())
        })
        .collect();
    let windows = (0..3)
        .map(|i| {
            let w = window(
                &p("windows"),
                &format!("{run}-w{i}"),
                95.0,
                "High Error Rate".into(),
            );
            (format!("{}/api", p("windows")), w.encode())
        })
        .collect();
    let forecasts = (0..3)
        .map(|i| {
            let f = forecast(&p("forecasts"), &format!("{run}-f{i}"), "ok".into());
            (format!("{}/api", p("forecasts")), f.encode())
        })
        .collect();
    let alerts = (0..3)
        .map(|i| {
            let a = alert(
                &p("alerts"),
                &format!("{run}-a{i}"),
                format!("poison test alert {i}"),
            );
            (a.fingerprint.clone(), a.encode())
        })
        .collect();
    let feedbacks = (0..3)
        .map(|i| {
            let f = feedback(&p("feedback"), format!("valid {i}"));
            (p("feedback"), f.encode())
        })
        .collect();
    vec![
        TopicPlan {
            topic: LOGS_RAW,
            stages: &["scorer"],
            valid: logs,
            poison: poisons(
                raw_log(&p("logs"), "x".into()).encode(),
                feedback(&p("logs"), "other".into()).encode(),
                padded(raw_log(&p("logs"), "x".into()).encode()),
            ),
        },
        TopicPlan {
            topic: WINDOWS_SCORED,
            stages: &["forecaster", "notifier"],
            valid: windows,
            poison: poisons(
                window(&p("windows"), "w", 1.0, "x".into()).encode(),
                raw_log(&p("windows"), "other".into()).encode(),
                padded(window(&p("windows"), "w", 1.0, "x".into()).encode()),
            ),
        },
        TopicPlan {
            topic: FORECASTS,
            stages: &["notifier"],
            valid: forecasts,
            poison: poisons(
                forecast(&p("forecasts"), "f", "x".into()).encode(),
                window(&p("forecasts"), "w", 1.0, "other".into()).encode(),
                padded(forecast(&p("forecasts"), "f", "x".into()).encode()),
            ),
        },
        TopicPlan {
            topic: ALERTS,
            stages: &["delivery", "incidents"],
            valid: alerts,
            poison: poisons(
                alert(&p("alerts"), "a", "x".into()).encode(),
                forecast(&p("alerts"), "f", "other".into()).encode(),
                padded(alert(&p("alerts"), "a", "x".into()).encode()),
            ),
        },
        TopicPlan {
            topic: FEEDBACK,
            stages: &["forecaster"],
            valid: feedbacks,
            poison: poisons(
                feedback(&p("feedback"), "x".into()).encode(),
                alert(&p("feedback"), "a", "other".into()).encode(),
                padded(feedback(&p("feedback"), "x".into()).encode()),
            ),
        },
    ]
}

/// Reads the dead-letter topics from their current ends, in a thread, keeping this run's
/// records (keys starting with the run id).
fn start_dlq_reader(
    kafka: &str,
    run: &str,
    topics: &[String],
    stop: Arc<AtomicBool>,
) -> Arc<Mutex<Vec<DeadLetter>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("group.id", format!("{run}-dlq-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        let md = consumer
            .fetch_metadata(Some(t), Duration::from_secs(10))
            .unwrap();
        let partitions = md.topics()[0].partitions().len() as i32;
        assert!(partitions > 0, "{t} has no partitions");
        for p in 0..partitions {
            let (_, high) = consumer
                .fetch_watermarks(t, p, Duration::from_secs(10))
                .unwrap();
            tpl.add_partition_offset(t, p, Offset::Offset(high))
                .unwrap();
        }
    }
    consumer.assign(&tpl).unwrap();
    let found = Arc::new(Mutex::new(vec![]));
    let sink = found.clone();
    let run = run.to_string();
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let key = m.key().unwrap_or_default();
            if !key.starts_with(run.as_bytes()) {
                continue;
            }
            match DeadLetter::decode(m.payload().unwrap_or_default()) {
                Ok(d) => sink.lock().unwrap().push(d),
                Err(e) => panic!("a dead letter of this run does not decode: {e}"),
            }
        }
    });
    found
}

async fn count(wh: &Warehouse, sql: &str, project: &str) -> u64 {
    wh.client()
        .query(sql)
        .bind(project)
        .fetch_one::<u64>()
        .await
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_go_to_the_dlq_and_the_stages_keep_going() {
    let Some((kafka, ch)) = services() else {
        return;
    };
    let run = unique("poison");
    let (hooks, hook_addr) = WebhookReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut stages = vec![];
    for name in ["scorer", "forecaster", "notifier"] {
        let port = free_port();
        let toml = config_toml(&kafka, &ch, &run, &format!("http://{hook_addr}/hook"), port);
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, toml).unwrap();
        stages.push((name, port, spawn_stage(name, &path)));
    }
    for (name, port, _) in &stages {
        wait_healthy(name, *port).await;
    }

    let plans = plans(&run);
    // The raw clients below name topics as the broker knows them (`topic_prefix` applied).
    let dlq_topics: Vec<String> = plans
        .iter()
        .map(|p| format!("{run}.{}", dead_letter_topic(p.topic)))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let dead = start_dlq_reader(&kafka, &run, &dlq_topics, stop.clone());

    // Interleave: valid, poison, poison, valid, … so valid records follow poison.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &kafka)
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    // Every poison record sent: (topic, key) → its bytes and what its reason must mention.
    let mut sent: BTreeMap<(String, String), SentPoison> = BTreeMap::new();
    for plan in &plans {
        let mut valid = plan.valid.iter();
        let mut records: Vec<(String, Vec<u8>)> = vec![];
        for (i, poison) in plan.poison.iter().enumerate() {
            if i % 2 == 0 {
                if let Some(v) = valid.next() {
                    records.push(v.clone());
                }
            }
            let key = format!("{run}/{}/{}", plan.topic, poison.kind);
            sent.insert(
                (plan.topic.to_string(), key.clone()),
                (poison.payload.clone(), poison.reason_mentions),
            );
            records.push((key, poison.payload.clone()));
        }
        records.extend(valid.cloned());
        let physical_topic = format!("{run}.{}", plan.topic);
        for (key, payload) in records {
            producer
                .send(
                    FutureRecord::to(&physical_topic)
                        .key(&key)
                        .payload(&payload),
                    Duration::from_secs(30),
                )
                .await
                .unwrap_or_else(|(e, _)| panic!("producing to {}: {e}", plan.topic));
        }
    }

    // Expected: every poison record once per stage consuming its topic.
    let run_id = run.as_str();
    let expected: BTreeSet<(String, String, String)> = plans
        .iter()
        .flat_map(|plan| {
            plan.poison.iter().flat_map(move |poison| {
                plan.stages.iter().map(move |stage| {
                    (
                        plan.topic.to_string(),
                        format!("{run_id}/{}/{}", plan.topic, poison.kind),
                        stage.to_string(),
                    )
                })
            })
        })
        .collect();
    let wh = Warehouse::from_config(
        &Config::from_toml(&format!(
            "[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{run}\""
        ))
        .unwrap()
        .clickhouse,
    )
    .unwrap();
    let project = |s: &str| format!("{run}_{s}");
    let deadline = Instant::now() + Duration::from_secs(240);
    let produced_at = Instant::now();
    loop {
        let got: BTreeSet<(String, String, String)> = dead
            .lock()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d.source_topic.clone(),
                    String::from_utf8_lossy(d.key.as_deref().unwrap_or_default()).to_string(),
                    d.stage.clone(),
                )
            })
            .collect();
        let windows = count(
            &wh,
            "SELECT count() FROM risk_windows WHERE project = ?",
            &project("logs"),
        )
        .await;
        let forecasts = count(
            &wh,
            "SELECT count() FROM forecasts WHERE project = ?",
            &project("windows"),
        )
        .await;
        let window_alerts = count(
            &wh,
            "SELECT count() FROM alerts WHERE project = ?",
            &project("windows"),
        )
        .await;
        let forecast_alerts = count(
            &wh,
            "SELECT count() FROM alerts WHERE project = ?",
            &project("forecasts"),
        )
        .await;
        let feedback = count(
            &wh,
            "SELECT count() FROM feedback WHERE project = ?",
            &project("feedback"),
        )
        .await;
        let delivered: BTreeSet<String> = hooks
            .received()
            .iter()
            .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["alert_id"].as_str().map(str::to_string))
            .filter(|id| id.starts_with(&format!("{run}-a")))
            .collect();
        let outputs = [
            ("logs.raw → scorer: risk_windows", windows >= 1),
            ("windows.scored → forecaster: forecasts", forecasts >= 1),
            ("windows.scored → notifier: alerts", window_alerts >= 1),
            ("forecasts → notifier: alerts", forecast_alerts >= 1),
            ("feedback → forecaster: feedback", feedback >= 3),
            ("alerts → delivery: webhook", delivered.len() >= 3),
        ];
        if got.is_superset(&expected) && outputs.iter().all(|(_, ok)| *ok) {
            println!(
                "dead letters and outputs complete {:.1} s after producing",
                produced_at.elapsed().as_secs_f64()
            );
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = expected.difference(&got).collect();
            let not_out: Vec<_> = outputs
                .iter()
                .filter(|(_, ok)| !ok)
                .map(|(n, _)| n)
                .collect();
            // Which stages did reject this run's records at all, for the report.
            let seen_stages: BTreeSet<_> =
                got.iter().map(|(t, _, s)| (t.clone(), s.clone())).collect();
            panic!(
                "timed out. Missing dead letters: {missing:#?}\nrejections seen per (topic, stage): {seen_stages:?}\noutputs missing: {not_out:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Late duplicates would show up now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);

    // Every dead letter carries the original bytes; each poison record is rejected by
    // exactly the stages that consume its topic, and a rejection per stage names the
    // problem. (A record may be rejected twice after a rebalance: at-least-once.)
    let dead = dead.lock().unwrap().clone();
    let mut per_record: BTreeMap<(String, String, String), (usize, bool)> = BTreeMap::new();
    for d in &dead {
        let key = String::from_utf8_lossy(d.key.as_deref().unwrap_or_default()).to_string();
        let (original, mentions) = sent
            .get(&(d.source_topic.clone(), key.clone()))
            .unwrap_or_else(|| {
                panic!(
                    "a dead letter for a record this run did not poison: {key} on {} by {}: {}",
                    d.source_topic, d.stage, d.reason
                )
            });
        assert_eq!(&d.payload, original, "{key}: the original bytes");
        assert!(!d.reason.trim().is_empty(), "{key}: no reason");
        assert!(d.offset >= 0 && d.partition >= 0, "{key}: position {d:?}");
        let reason = d.reason.to_lowercase();
        let names_it = mentions.iter().any(|m| reason.contains(m));
        let entry = per_record
            .entry((d.source_topic.clone(), key, d.stage.clone()))
            .or_default();
        entry.0 += 1;
        entry.1 |= names_it;
    }
    let got: BTreeSet<_> = per_record.keys().cloned().collect();
    let unexpected: Vec<_> = got.difference(&expected).collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    assert!(
        unexpected.is_empty() && missing.is_empty(),
        "poison in = dead letters out, per consuming stage: unexpected {unexpected:#?}, missing {missing:#?}"
    );
    for ((topic, key, stage), (_, names_it)) in &per_record {
        let reasons: Vec<&str> = dead
            .iter()
            .filter(|d| d.source_topic == *topic && d.stage == *stage)
            .filter(|d| d.key.as_deref() == Some(key.as_bytes()))
            .map(|d| d.reason.as_str())
            .collect();
        let mentions = sent[&(topic.clone(), key.clone())].1;
        assert!(
            names_it,
            "{key} ({stage}): no reason mentions one of {mentions:?}: {reasons:?}"
        );
    }
    let duplicates: usize = per_record.values().map(|(n, _)| n - 1).sum();
    println!(
        "{} poison records on {} topics → {} (topic, record, stage) dead letters ({} repeated); valid records after them processed",
        sent.len(),
        plans.len(),
        per_record.len(),
        duplicates
    );
    for d in dead.iter().take(40) {
        println!("  {} {:>10} {}", d.source_topic, d.stage, d.reason);
    }
    drop(stages);
}
