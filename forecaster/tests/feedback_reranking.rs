//! Feedback changes the next forecast's actions: the forecaster is driven in-process over
//! `windows.scored` and `feedback`, as the runtime drives it, and what it learned survives a
//! restart through its `feedback` partition checkpoint.

use cloudsage_runtime::config::{ForecasterConfig, PipelineConfig};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, PartitionId};
use cloudsage_runtime::testkit::{CapturingSink, ScriptedSource};
use cloudsage_runtime::transport::{Assigned, CommitPosition, Rebalance};
use cloudsage_runtime::{Outputs, Processor, TableRow};
use cloudsage_schemas::topics::{dead_letter_topic, FEEDBACK, FORECASTS, WINDOWS_SCORED};
use cloudsage_schemas::{Feedback, FeedbackVerdict, Forecast, Message as _, ScoredWindow};
use forecaster::processor::ForecasterInput;
use forecaster::ForecasterProcessor;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn window(project: &str, n: i64, offset: i64) -> InMessage {
    let w = ScoredWindow {
        window_id: format!("{project}-checkout-{n}"),
        project: project.into(),
        service: "checkout".into(),
        window_start_ms: n * 60_000,
        window_end_ms: (n + 1) * 60_000,
        score: 60.0 + (n % 5) as f64,
        factors: vec![],
        labels: vec!["High Error Rate".into()],
        top_factors: vec!["error_rate".into()],
        event_count: 100,
        error_count: 30,
        warn_count: 2,
        late_count: 0,
    };
    InMessage {
        topic: WINDOWS_SCORED.into(),
        partition: 0,
        offset,
        key: Some(format!("{project}/checkout").into_bytes()),
        payload: w.encode(),
        timestamp_ms: None,
    }
}

fn feedback(offset: i64, kind: &str, verdict: FeedbackVerdict) -> InMessage {
    let mut f = Feedback {
        feedback_id: String::new(),
        project: "shop".into(),
        service: Some("checkout".into()),
        forecast_id: None,
        action_kind: Some(kind.into()),
        verdict,
        pattern: None,
        comment: None,
        user: Some("ana".into()),
        received_at_ms: 1_700_000_000_000 + offset,
    };
    f.feedback_id = f.derive_id();
    InMessage {
        topic: FEEDBACK.into(),
        partition: 0,
        offset,
        key: Some(b"shop".to_vec()),
        payload: f.encode(),
        timestamp_ms: None,
    }
}

/// Ten windows of `shop` (offsets 0..10), then three `not_helpful` on the top action
/// (investigate_errors) and one `helpful` on the fourth candidate (review_alert_thresholds).
fn before_and_feedback() -> Vec<InMessage> {
    let mut m: Vec<_> = (0..10).map(|n| window("shop", n, n)).collect();
    for i in 0..3 {
        m.push(feedback(
            i,
            "investigate_errors",
            FeedbackVerdict::NotHelpful,
        ));
    }
    m.push(feedback(
        3,
        "review_alert_thresholds",
        FeedbackVerdict::Helpful,
    ));
    m
}

/// Then a window, an ignore of rollback, another window, and a window of another project.
fn after() -> Vec<InMessage> {
    vec![
        window("shop", 10, 10),
        feedback(4, "rollback", FeedbackVerdict::IgnorePattern),
        window("shop", 11, 11),
        window("other", 11, 12),
    ]
}

async fn run(source: ScriptedSource, shutdown: CancellationToken) -> Vec<Forecast> {
    let sink = CapturingSink::default();
    Driver {
        processor: ForecasterProcessor::new(&ForecasterConfig {
            history_windows: 10,
            ..Default::default()
        }),
        source,
        sink: sink.clone(),
        warehouse: None,
        deliverer: NoDelivery,
        metrics: Metrics::new(),
        pipeline: PipelineConfig::default(),
        write_retry_for: Duration::from_secs(1),
        shutdown,
    }
    .run()
    .await
    .unwrap();
    sink.records()
        .iter()
        .filter(|r| r.topic == FORECASTS)
        .map(|r| Forecast::decode(&r.payload).unwrap())
        .collect()
}

fn kinds(f: &Forecast) -> Vec<&str> {
    f.actions.iter().map(|a| a.kind.as_str()).collect()
}

fn action_step(f: &Forecast) -> &str {
    &f.chain_steps
        .iter()
        .find(|s| s.name == "action_generation")
        .unwrap()
        .detail
}

fn last_of(commits: &[CommitPosition], topic: &str) -> CommitPosition {
    commits
        .iter()
        .rfind(|c| c.partition.topic == topic)
        .unwrap_or_else(|| panic!("no commit of {topic}"))
        .clone()
}

#[tokio::test]
async fn feedback_reranks_the_next_forecast_and_ignores_remove_a_kind() {
    let mut msgs = before_and_feedback();
    msgs.extend(after());
    let forecasts = run(ScriptedSource::new(&msgs, 4), CancellationToken::new()).await;
    assert_eq!(forecasts.len(), 13);

    let before = &forecasts[9];
    assert_eq!(
        kinds(before),
        ["investigate_errors", "rollback", "watch_trend"]
    );
    assert_eq!(
        action_step(before),
        "rule table: investigate_errors, rollback, watch_trend"
    );

    let reranked = &forecasts[10];
    assert_eq!(reranked.based_on_window_id, "shop-checkout-10");
    assert_eq!(
        kinds(reranked),
        ["review_alert_thresholds", "rollback", "watch_trend"]
    );
    let why = action_step(reranked);
    assert!(
        why.contains("review_alert_thresholds ranked up: 1 helpful / 0 not (0.67)"),
        "{why}"
    );
    assert!(
        why.contains("ranked out: investigate_errors: 0 helpful / 3 not (0.20)"),
        "{why}"
    );
    // Titles and deadlines are the rule table's, for the right service.
    assert!(reranked.actions[0].title.contains("checkout"));
    assert_eq!(reranked.actions[0].deadline_hours, 24.0);

    let ignored = &forecasts[11];
    assert_eq!(
        kinds(ignored),
        ["review_alert_thresholds", "watch_trend", "add_runbook"]
    );
    assert!(
        action_step(ignored).contains("ignored: rollback (ignore kind rollback on checkout)"),
        "{}",
        action_step(ignored)
    );

    // Another project's proposals are untouched.
    let other = &forecasts[12];
    assert_eq!(other.project, "other");
    assert_eq!(
        kinds(other),
        ["investigate_errors", "rollback", "watch_trend"]
    );
}

#[tokio::test]
async fn what_was_learned_survives_a_restart_through_the_feedback_checkpoint() {
    let mut msgs = before_and_feedback();
    msgs.extend(after());
    let whole = run(ScriptedSource::new(&msgs, 4), CancellationToken::new()).await;

    let first_part = before_and_feedback();
    let shutdown = CancellationToken::new();
    let first_src = ScriptedSource {
        crash_when_done: Some(shutdown.clone()),
        ..ScriptedSource::new(&first_part, 4)
    };
    let commits = first_src.commits.clone();
    let first = run(first_src, shutdown).await;
    let commits = commits.lock().unwrap().clone();
    let windows_at = last_of(&commits, WINDOWS_SCORED);
    let feedback_at = last_of(&commits, FEEDBACK);
    // Feedback is never replayed: its partition is committed past the last record, with
    // the learned state as the checkpoint.
    assert_eq!(feedback_at.offset, 4);
    assert!(feedback_at.checkpoint.state.is_some());

    let mut resumed: Vec<_> = first_part
        .iter()
        .filter(|m| m.topic == WINDOWS_SCORED && m.offset >= windows_at.offset)
        .cloned()
        .collect();
    resumed.extend(after());
    let assigned = |c: CommitPosition| Assigned {
        partition: c.partition,
        committed_offset: Some(c.offset),
        checkpoint: Some(c.checkpoint),
        log_start: None,
    };
    let second = run(
        ScriptedSource {
            assignment: Some(Rebalance {
                revoked: vec![],
                assigned: vec![assigned(windows_at), assigned(feedback_at)],
            }),
            ..ScriptedSource::new(&resumed, 4)
        },
        CancellationToken::new(),
    )
    .await;
    assert_eq!(
        kinds(&second[0]),
        ["review_alert_thresholds", "rollback", "watch_trend"],
        "the first forecast after the restart already uses the feedback"
    );
    let combined: Vec<_> = first.iter().chain(&second).map(kinds).collect();
    let expected: Vec<_> = whole.iter().map(kinds).collect();
    assert_eq!(combined, expected);

    // A checkpoint of another partition topic, or an unreadable one, is not fatal.
    let mut p = ForecasterProcessor::new(&ForecasterConfig::default());
    let fb = PartitionId {
        topic: FEEDBACK.into(),
        partition: 1,
    };
    p.restore(&fb, "{broken");
    assert!(p.learned("shop").is_none());
}

#[test]
fn feedback_is_stored_and_unusable_feedback_is_rejected() {
    let mut p = ForecasterProcessor::new(&ForecasterConfig::default());
    let msg = feedback(0, "rollback", FeedbackVerdict::Done);
    let input = p.decode(&msg).unwrap();
    assert!(matches!(input, ForecasterInput::Feedback(_)));
    let mut out = Outputs::default();
    p.process(&msg, input, 0, &mut out);
    assert!(out.records.is_empty(), "feedback produces nothing");
    let [TableRow::Feedback(stored)] = out.rows.as_slice() else {
        panic!("expected one feedback row, got {:?}", out.rows);
    };
    assert_eq!(stored.action_kind.as_deref(), Some("rollback"));
    assert_eq!(p.learned("shop").unwrap().tally("rollback").helpful, 1);

    // Valid Avro that breaks the rules, and a window on the feedback topic: both rejected
    // (the driver sends them to feedback.dlq).
    let mut bad = Feedback::decode(&msg.payload).unwrap();
    bad.action_kind = None;
    let bad_msg = InMessage {
        payload: bad.encode(),
        ..msg.clone()
    };
    assert!(p.decode(&bad_msg).unwrap_err().contains("action_kind"));
    let wrong = InMessage {
        topic: FEEDBACK.into(),
        ..window("shop", 0, 0)
    };
    assert!(p.decode(&wrong).is_err());
    assert_eq!(dead_letter_topic(FEEDBACK), "feedback.dlq");
    assert!(p.input_topics().contains(&FEEDBACK));
}
