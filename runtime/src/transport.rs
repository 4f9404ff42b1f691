//! The two ends of the loop, so one driver serves Kafka and in-memory channels alike.

use crate::stage::{InMessage, OutRecord, PartitionId};
use std::future::Future;
use std::time::Duration;

/// What one poll of a source gave.
#[derive(Debug)]
pub enum Polled {
    Messages(Vec<InMessage>),
    /// Nothing arrived within the linger time.
    Idle,
    /// A finite input has ended (in-memory runs); Kafka never ends.
    End,
}

/// What a previous owner committed for a partition: the offset consumption restarts from,
/// the first offset it had not yet handled (`done`), and its stage checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub done: i64,
    pub state: Option<String>,
}

impl Checkpoint {
    pub fn encode(&self) -> String {
        serde_json::json!({ "done": self.done, "state": self.state }).to_string()
    }

    /// Parses committed metadata; anything else (empty, foreign tools) is no checkpoint.
    pub fn decode(metadata: &str) -> Option<Checkpoint> {
        let v: serde_json::Value = serde_json::from_str(metadata).ok()?;
        Some(Checkpoint {
            done: v.get("done")?.as_i64()?,
            state: v.get("state").and_then(|s| s.as_str()).map(str::to_string),
        })
    }
}

/// A partition newly owned, with what the broker knows of the previous owner's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub partition: PartitionId,
    /// The committed offset consumption restarts from, if any.
    pub committed_offset: Option<i64>,
    /// The checkpoint from the commit metadata, if the broker kept it.
    pub checkpoint: Option<Checkpoint>,
    /// Without a committed offset, where the partition's log starts: a consumer reading from
    /// the earliest record must begin there, which the driver checks like a committed offset
    /// (a batch fetched just before a rebalance and dropped with the revoked partition would
    /// otherwise be skipped for good).
    pub log_start: Option<i64>,
}

impl Assigned {
    /// A partition with no previous progress.
    pub fn fresh(partition: PartitionId) -> Self {
        Self {
            partition,
            committed_offset: None,
            checkpoint: None,
            log_start: None,
        }
    }
}

/// Partition ownership changes since the last call.
#[derive(Debug, Default)]
pub struct Rebalance {
    pub revoked: Vec<PartitionId>,
    pub assigned: Vec<Assigned>,
}

/// A position to commit: consumption restarts at `offset`; `checkpoint` travels with it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitPosition {
    pub partition: PartitionId,
    pub offset: i64,
    pub checkpoint: Checkpoint,
}

pub trait Source: Send {
    /// Up to `max` records, waiting at most `linger` after the first for more.
    fn next_batch(
        &mut self,
        max: usize,
        linger: Duration,
    ) -> impl Future<Output = anyhow::Result<Polled>> + Send;

    /// Ownership changes the driver must apply before handling the batch just polled.
    fn take_rebalance(&mut self) -> impl Future<Output = anyhow::Result<Option<Rebalance>>> + Send;

    /// Stores positions (synchronously acknowledged by the broker).
    fn commit(
        &mut self,
        positions: &[CommitPosition],
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Called when the first record read after an assignment (at `skipped_to`) lies past the
    /// committed `offset`, or when nothing arrived although the partition holds records at or
    /// past it (`skipped_to` = `None`): re-read the partition from `offset` (see
    /// [`crate::resume_gap`]).
    fn rewind(
        &mut self,
        _partition: &PartitionId,
        _offset: i64,
        _skipped_to: Option<i64>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Called for a partition revoked and assigned again within one poll when the polled batch
    /// held records of it (dropped, as they may predate the revoke): read it again from
    /// `offset`, its committed offset or log start. Without this, records fetched under the
    /// new assignment and dropped would be skipped for good.
    fn reread(
        &mut self,
        _partition: &PartitionId,
        _offset: i64,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Puts polled records back unhandled: the next polls return each listed partition's
    /// records again from its offset on. For a batch polled with a rebalance that could not
    /// be applied yet (the partitions' resume points are unknown until it is). Partitions
    /// this member no longer owns are skipped: their next owner resumes from the committed
    /// offset. A transport that cannot do it fails, and the stage stops (to resume from its
    /// committed offsets when restarted) rather than skip records.
    fn unread(
        &mut self,
        _positions: &[(PartitionId, i64)],
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { anyhow::bail!("this transport cannot put polled records back") }
    }

    /// The offset the next record appended to `partition` will get (the high watermark), if
    /// the transport knows it.
    fn end_offset(
        &self,
        _partition: &PartitionId,
    ) -> impl Future<Output = anyhow::Result<Option<i64>>> + Send {
        async { Ok(None) }
    }

    /// The consumer group, for transports whose progress outlives the process.
    fn group(&self) -> Option<String> {
        None
    }

    /// Refreshes lag gauges, if the transport knows them.
    fn report_lag(&self, _metrics: &crate::metrics::Metrics) {}
}

pub trait Sink: Send + Sync {
    /// Produces records and resolves once the broker acknowledged every one.
    fn send(&self, records: Vec<OutRecord>) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl<T: Sink> Sink for std::sync::Arc<T> {
    fn send(&self, records: Vec<OutRecord>) -> impl Future<Output = anyhow::Result<()>> + Send {
        (**self).send(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_ignores_foreign_metadata() {
        let c = Checkpoint {
            done: 42,
            state: Some("wm=1".into()),
        };
        assert_eq!(Checkpoint::decode(&c.encode()), Some(c));
        assert_eq!(Checkpoint::decode(""), None);
        assert_eq!(Checkpoint::decode("{\"x\":1}"), None);
    }
}
