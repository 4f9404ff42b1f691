//! Test support for stages: a scripted source that plays fixed batches (and can "crash"),
//! and a sink that captures what was produced. Used by the stages' recovery tests.

use crate::stage::{InMessage, OutRecord, PartitionId};
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
