//! Test support for stages: a scripted source that plays fixed batches (and can "crash"),
//! and a sink that captures what was produced. Used by the stages' recovery tests.

use crate::config::PipelineConfig;
use crate::deliver::NoDelivery;
use crate::driver::Driver;
use crate::metrics::Metrics;
use crate::stage::{InMessage, OutRecord, PartitionId, Processor};
use crate::transport::{CommitPosition, Polled, Rebalance, Sink, Source};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A rewind the driver asked for: partition, offset, and where the broker had skipped to.
pub type RewindRequest = (PartitionId, i64, Option<i64>);

/// Plays fixed batches, then either ends the input or "crashes": cancels the driver, which
/// stops without flushing its state (as a killed process would).
pub struct ScriptedSource {
    pub batches: VecDeque<Vec<InMessage>>,
    pub assignment: Option<Rebalance>,
    pub crash_when_done: Option<CancellationToken>,
    pub commits: Arc<Mutex<Vec<CommitPosition>>>,
    /// Set to exercise the ClickHouse checkpoint store.
    pub group: Option<String>,
    /// Every `rewind(partition, offset, skipped_to)` the driver asked for.
    pub rewinds: Arc<Mutex<Vec<RewindRequest>>>,
    /// Every `reread(partition, offset)` the driver asked for.
    pub rereads: Arc<Mutex<Vec<(PartitionId, i64)>>>,
    /// How many times `take_rebalance` fails (as on a broker that does not answer) before
    /// handing out `assignment`.
    pub rebalance_failures: usize,
    /// How many polls fail (as with no broker reachable) before the batches are played.
    pub failing_polls: usize,
    /// Every `unread(positions)` the driver asked for.
    pub unreads: Arc<Mutex<Vec<(PartitionId, i64)>>>,
    /// The batch last played, which `unread` puts back.
    pub last_batch: Vec<InMessage>,
}

impl ScriptedSource {
    /// `messages` in batches of `size`.
    pub fn new(messages: &[InMessage], size: usize) -> Self {
        Self {
            batches: messages
                .chunks(size.max(1))
                .map(<[InMessage]>::to_vec)
                .collect(),
            assignment: None,
            crash_when_done: None,
            commits: Arc::default(),
            group: None,
            rewinds: Arc::default(),
            rereads: Arc::default(),
            rebalance_failures: 0,
            failing_polls: 0,
            unreads: Arc::default(),
            last_batch: vec![],
        }
    }

    /// The last position committed.
    pub fn last_commit(commits: &Arc<Mutex<Vec<CommitPosition>>>) -> Option<CommitPosition> {
        commits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
    }
}

impl Source for ScriptedSource {
    async fn next_batch(&mut self, _max: usize, _linger: Duration) -> anyhow::Result<Polled> {
        if self.failing_polls > 0 {
            self.failing_polls -= 1;
            anyhow::bail!("no broker reachable");
        }
        match self.batches.pop_front() {
            Some(b) => {
                self.last_batch = b.clone();
                Ok(Polled::Messages(b))
            }
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
        if self.assignment.is_some() && self.rebalance_failures > 0 {
            self.rebalance_failures -= 1;
            anyhow::bail!("committed offsets: request timed out");
        }
        Ok(self.assignment.take())
    }

    /// Plays the last batch's records of the listed partitions again, from their offsets.
    async fn unread(&mut self, positions: &[(PartitionId, i64)]) -> anyhow::Result<()> {
        self.unreads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(positions);
        let again: Vec<InMessage> = self
            .last_batch
            .iter()
            .filter(|m| {
                positions
                    .iter()
                    .any(|(p, from)| *p == m.partition_id() && m.offset >= *from)
            })
            .cloned()
            .collect();
        if !again.is_empty() {
            self.batches.push_front(again);
        }
        Ok(())
    }

    async fn rewind(
        &mut self,
        partition: &PartitionId,
        offset: i64,
        skipped_to: Option<i64>,
    ) -> anyhow::Result<()> {
        self.rewinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((partition.clone(), offset, skipped_to));
        Ok(())
    }

    async fn reread(&mut self, partition: &PartitionId, offset: i64) -> anyhow::Result<()> {
        self.rereads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((partition.clone(), offset));
        Ok(())
    }

    fn group(&self) -> Option<String> {
        self.group.clone()
    }

    async fn commit(&mut self, positions: &[CommitPosition]) -> anyhow::Result<()> {
        self.commits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(positions);
        Ok(())
    }
}

/// Keeps every produced record.
#[derive(Clone, Default)]
pub struct CapturingSink(pub Arc<Mutex<Vec<OutRecord>>>);

impl CapturingSink {
    pub fn records(&self) -> Vec<OutRecord> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Sink for CapturingSink {
    async fn send(&self, records: Vec<OutRecord>) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(records);
        Ok(())
    }
}

/// A driver over `source` for tests: captured outputs, no ClickHouse, no deliveries,
/// default pipeline settings; set other fields on the result as needed.
pub fn scripted_driver<P: Processor>(
    processor: P,
    source: ScriptedSource,
) -> Driver<P, ScriptedSource, CapturingSink, NoDelivery> {
    Driver {
        processor,
        source,
        sink: CapturingSink::default(),
        warehouse: None,
        deliverer: NoDelivery,
        metrics: Metrics::new(),
        pipeline: PipelineConfig::default(),
        write_retry_for: Duration::from_secs(1),
        shutdown: CancellationToken::new(),
    }
}
