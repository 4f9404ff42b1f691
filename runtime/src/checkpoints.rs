//! Stage checkpoints kept in ClickHouse (`stage_checkpoints`), written just before each
//! offset commit and read when a partition is assigned. See migration 0002 for why.

use crate::stage::PartitionId;
use crate::transport::{Checkpoint, CommitPosition};
use crate::warehouse::Warehouse;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
struct CheckpointRow {
    consumer_group: String,
    topic: String,
    partition: i32,
    committed_offset: i64,
    done: i64,
    state: String,
    has_state: u8,
    prev_committed_offset: i64,
    prev_done: i64,
    prev_state: String,
    prev_has_state: u8,
    version: u64,
}

fn split(c: &Checkpoint) -> (i64, String, u8) {
    (
        c.done,
        c.state.clone().unwrap_or_default(),
        u8::from(c.state.is_some()),
    )
}

fn join(done: i64, state: String, has_state: u8) -> Checkpoint {
    Checkpoint {
        done,
        state: (has_state == 1).then_some(state),
    }
}

/// Reads and writes one consumer group's checkpoints.
pub struct CheckpointStore {
    warehouse: Warehouse,
    group: String,
    /// Versions must grow even within one millisecond.
    last_version: AtomicU64,
}

impl CheckpointStore {
    pub fn new(warehouse: Warehouse, group: impl Into<String>) -> Self {
        Self {
            warehouse,
            group: group.into(),
            last_version: AtomicU64::new(0),
        }
    }

    fn next_version(&self) -> u64 {
        let now = crate::driver::now_ms().max(0) as u64 * 1000;
        let prev = self.last_version.fetch_max(now, Ordering::SeqCst).max(now);
        let v = prev + 1;
        self.last_version.fetch_max(v, Ordering::SeqCst);
        v
    }

    /// Saves `positions` (about to be committed) with the positions committed before them.
    pub async fn save(
        &self,
        positions: &[(CommitPosition, Option<CommitPosition>)],
    ) -> anyhow::Result<()> {
        if positions.is_empty() {
            return Ok(());
        }
        let mut insert = self
            .warehouse
            .client()
            .insert::<CheckpointRow>("stage_checkpoints")
            .await?;
        for (now, before) in positions {
            let (done, state, has_state) = split(&now.checkpoint);
            let (prev_offset, (prev_done, prev_state, prev_has_state)) = match before {
                Some(b) => (b.offset, split(&b.checkpoint)),
                None => (-1, (-1, String::new(), 0)),
            };
            insert
                .write(&CheckpointRow {
                    consumer_group: self.group.clone(),
                    topic: now.partition.topic.clone(),
                    partition: now.partition.partition,
                    committed_offset: now.offset,
                    done,
                    state,
                    has_state,
                    prev_committed_offset: prev_offset,
                    prev_done,
                    prev_state,
                    prev_has_state,
                    version: self.next_version(),
                })
                .await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// The checkpoint that goes with the offset the broker has committed for `partition`.
    pub async fn load(
        &self,
        partition: &PartitionId,
        committed_offset: i64,
    ) -> anyhow::Result<Option<Checkpoint>> {
        let rows: Vec<CheckpointRow> = self
            .warehouse
            .client()
            .query(
                "SELECT ?fields FROM stage_checkpoints FINAL \
                 WHERE consumer_group = ? AND topic = ? AND partition = ?",
            )
            .bind(&self.group)
            .bind(&partition.topic)
            .bind(partition.partition)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().next().and_then(|r| {
            if r.committed_offset == committed_offset {
                Some(join(r.done, r.state, r.has_state))
            } else if r.prev_committed_offset == committed_offset {
                Some(join(r.prev_done, r.prev_state, r.prev_has_state))
            } else {
                None
            }
        }))
    }
}
