//! The runtime's recovery contract with the real scorer: a scorer that stops mid-stream and a
//! new one that resumes from the committed position (offset + checkpoint) together emit
//! exactly the windows one uninterrupted scorer emits — none lost, none twice.

use cloudsage_runtime::config::{PipelineConfig, ScorerConfig};
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, OutRecord, PartitionId};
use cloudsage_runtime::transport::{Checkpoint, CommitPosition, Polled, Rebalance, Sink, Source};
use cloudsage_schemas::topics::{LOGS_RAW, WINDOWS_SCORED};
use cloudsage_schemas::{Message as _, ScoredWindow};
use scorer::ScorerProcessor;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Plays fixed batches from one partition, starting at an offset, then either ends the input
/// or "crashes" (cancels the driver without finishing).
struct ScriptedSource {
    batches: VecDeque<Vec<InMessage>>,
    assignment: Option<Rebalance>,
    crash_when_done: Option<CancellationToken>,
    commits: Arc<Mutex<Vec<CommitPosition>>>,
}

impl Source for ScriptedSource {
    async fn next_batch(&mut self, _max: usize, _linger: Duration) -> anyhow::Result<Polled> {
        match self.batches.pop_front() {
            Some(b) => Ok(Polled::Messages(b)),
            None => match &self.crash_when_done {
                Some(t) => {
                    t.cancel();
                    Ok(Polled::Idle)
                }
                None => Ok(Polled::End),
            },
        }
    }

    async fn take_rebalance(&mut self) -> anyhow::Result<Option<Rebalance>> {
        Ok(self.assignment.take())
    }

    async fn commit(&mut self, positions: &[CommitPosition]) -> anyhow::Result<()> {
        self.commits.lock().unwrap().extend_from_slice(positions);
        Ok(())
    }
}

#[derive(Clone, Default)]
struct CapturingSink(Arc<Mutex<Vec<OutRecord>>>);

impl Sink for CapturingSink {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        self.0.lock().unwrap().extend(records);
        Ok(())
    }
}

fn partition() -> PartitionId {
    PartitionId { topic: LOGS_RAW.into(), partition: 0 }
}

/// Interleaved services; the quiet one keeps its windows open while the busy one closes many.
fn messages() -> Vec<InMessage> {
    let mut out = vec![];
    for i in 0..600i64 {
        let (service, t) = if i % 10 == 0 { ("quiet", i * 1000) } else { ("busy", i * 1000 + 7) };
        let level = if i % 7 == 0 { "ERROR" } else { "INFO" };
        out.push(InMessage {
            topic: LOGS_RAW.into(),
            partition: 0,
            offset: i,
            key: Some(format!("p/{service}").into_bytes()),
            payload: format!(r#"{{"timestamp":{},"level":"{level}","msg":"m{i}"}}"#, 1_700_000_000_000i64 + t).into_bytes(),
            timestamp_ms: Some(0),
        });
    }
    out
}

fn batches(msgs: &[InMessage], size: usize) -> VecDeque<Vec<InMessage>> {
    msgs.chunks(size).map(<[InMessage]>::to_vec).collect()
}

async fn run(source: ScriptedSource, shutdown: CancellationToken) -> Vec<ScoredWindow> {
    let sink = CapturingSink::default();
    let driver = Driver {
        processor: ScorerProcessor::new(&ScorerConfig::default()),
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
    let records = sink.0.lock().unwrap().clone();
    records
        .iter()
        .filter(|r| r.topic == WINDOWS_SCORED)
        .map(|r| ScoredWindow::decode(&r.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn stop_and_resume_emits_each_window_exactly_once() {
    let msgs = messages();
    let commits = Arc::new(Mutex::new(vec![]));
    let whole = run(
        ScriptedSource { batches: batches(&msgs, 50), assignment: None, crash_when_done: None, commits: commits.clone() },
        CancellationToken::new(),
    )
    .await;
    assert!(whole.len() > 15, "{}", whole.len());

    for crash_after in [3usize, 7, 11] {
        let first_commits = Arc::new(Mutex::new(vec![]));
        let shutdown = CancellationToken::new();
        let first = run(
            ScriptedSource {
                batches: batches(&msgs[..crash_after * 50], 50),
                assignment: Some(Rebalance { revoked: vec![], assigned: vec![(partition(), None)] }),
                crash_when_done: Some(shutdown.clone()),
                commits: first_commits.clone(),
            },
            shutdown,
        )
        .await;
        let last = first_commits.lock().unwrap().last().cloned().expect("a commit");
        assert!(last.offset < (crash_after * 50) as i64, "the open quiet window pins the offset");
        assert_eq!(last.checkpoint.done, (crash_after * 50) as i64);

        let second = run(
            ScriptedSource {
                batches: batches(&msgs[last.offset as usize..], 50),
                assignment: Some(Rebalance {
                    revoked: vec![],
                    assigned: vec![(partition(), Some(Checkpoint::decode(&last.checkpoint.encode()).unwrap()))],
                }),
                crash_when_done: None,
                commits: Arc::new(Mutex::new(vec![])),
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
