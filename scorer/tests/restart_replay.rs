//! The runtime's recovery contract with the real scorer: a scorer that stops mid-stream and a
//! new one that resumes from the committed position (offset + checkpoint) together emit
//! exactly the windows one uninterrupted scorer emits — none lost, none twice.

use cloudsage_runtime::config::{PipelineConfig, ScorerConfig};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, PartitionId};
use cloudsage_runtime::testkit::{CapturingSink, ScriptedSource};
use cloudsage_runtime::transport::{Assigned, Checkpoint, Rebalance};
use cloudsage_schemas::topics::{LOGS_RAW, WINDOWS_SCORED};
use cloudsage_schemas::{Message as _, ScoredWindow};
use scorer::ScorerProcessor;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn partition() -> PartitionId {
    PartitionId {
        topic: LOGS_RAW.into(),
        partition: 0,
    }
}

/// Interleaved services; the quiet one keeps its windows open while the busy one closes many.
fn messages() -> Vec<InMessage> {
    let mut out = vec![];
    for i in 0..600i64 {
        let (service, t) = if i % 10 == 0 {
            ("quiet", i * 1000)
        } else {
            ("busy", i * 1000 + 7)
        };
        let level = if i % 7 == 0 { "ERROR" } else { "INFO" };
        out.push(InMessage {
            topic: LOGS_RAW.into(),
            partition: 0,
            offset: i,
            key: Some(format!("p/{service}").into_bytes()),
            payload: format!(
                r#"{{"timestamp":{},"level":"{level}","msg":"m{i}"}}"#,
                1_700_000_000_000i64 + t
            )
            .into_bytes(),
            timestamp_ms: Some(0),
        });
    }
    out
}

async fn run(source: ScriptedSource, shutdown: CancellationToken) -> Vec<ScoredWindow> {
    let sink = CapturingSink::default();
    let driver = Driver {
        processor: ScorerProcessor::new(&ScorerConfig::default()).unwrap(),
        source,
        sink: sink.clone(),
        warehouse: None,
        deliverer: NoDelivery,
        metrics: Metrics::new(),
        pipeline: PipelineConfig::default(),
        write_retry_for: Duration::from_secs(1),
        shutdown,
    };
    driver.run().await.unwrap();
    sink.records()
        .iter()
        .filter(|r| r.topic == WINDOWS_SCORED)
        .map(|r| ScoredWindow::decode(&r.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn stop_and_resume_emits_each_window_exactly_once() {
    let msgs = messages();
    let whole = run(ScriptedSource::new(&msgs, 50), CancellationToken::new()).await;
    assert!(whole.len() > 15, "{}", whole.len());

    for crash_after in [3usize, 7, 11] {
        let first_commits = Arc::new(Mutex::new(vec![]));
        let shutdown = CancellationToken::new();
        let first = run(
            ScriptedSource {
                assignment: Some(Rebalance {
                    revoked: vec![],
                    assigned: vec![Assigned::fresh(partition())],
                }),
                crash_when_done: Some(shutdown.clone()),
                commits: first_commits.clone(),
                ..ScriptedSource::new(&msgs[..crash_after * 50], 50)
            },
            shutdown,
        )
        .await;
        let last = ScriptedSource::last_commit(&first_commits).expect("a commit");
        assert!(
            last.offset < (crash_after * 50) as i64,
            "the open quiet window pins the offset"
        );
        assert_eq!(last.checkpoint.done, (crash_after * 50) as i64);

        let second = run(
            ScriptedSource {
                assignment: Some(Rebalance {
                    revoked: vec![],
                    assigned: vec![Assigned {
                        partition: partition(),
                        committed_offset: Some(last.offset),
                        checkpoint: Some(Checkpoint::decode(&last.checkpoint.encode()).unwrap()),
                        log_start: None,
                    }],
                }),
                ..ScriptedSource::new(&msgs[last.offset as usize..], 50)
            },
            CancellationToken::new(),
        )
        .await;
        let mut combined: Vec<ScoredWindow> = first.into_iter().chain(second).collect();
        let mut expected = whole.clone();
        combined.sort_by(|a, b| a.window_id.cmp(&b.window_id));
        expected.sort_by(|a, b| a.window_id.cmp(&b.window_id));
        assert_eq!(combined, expected, "crash after batch {crash_after}");
    }
}
