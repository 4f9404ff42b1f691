//! The one loop every stage runs: poll → decode (rejects to the DLQ) → process → deliver →
//! produce (await acks) → write ClickHouse → commit. Nothing is committed before everything
//! it caused is acknowledged, and no work is held across a poll, so a rebalance or a crash
//! at any point loses nothing (at-least-once).

use crate::checkpoints::CheckpointStore;
use crate::config::PipelineConfig;
use crate::deliver::Deliverer;
use crate::events::{BatchCommitted, RecordRejected, RetryingAfterError, StageEvent};
use crate::metrics::{labels, Metrics};
use crate::stage::{InMessage, Outputs, PartitionId, Processor, TableRow};
use crate::transport::{Checkpoint, CommitPosition, Polled, Sink, Source};
use crate::warehouse::Warehouse;
use cloudsage_schemas::topics::dead_letter_topic;
use cloudsage_schemas::{DeadLetter, Message as _};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Processing-time clock in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Per input partition: where we are, and what the previous owner had already handled.
#[derive(Debug, Default, Clone)]
struct PartitionProgress {
    /// Offset after the last record handled.
    next: Option<i64>,
    /// Records below this offset were handled by a previous owner: replay them for state
    /// only, without emitting.
    replay_until: i64,
    /// Last committed position, to skip redundant commits.
    committed: Option<CommitPosition>,
    /// Committed offset (else the log start) at assignment, until the first record of the
    /// partition is seen.
    resume_from: Option<i64>,
    /// When the partition was assigned (for [`SILENT_RESUME_AFTER`]).
    assigned_at: Option<Instant>,
}

/// How long a partition assigned with a committed offset may stay silent, although it holds
/// records at or past that offset, before it is re-read (see [`crate::resume_gap`]).
const SILENT_RESUME_AFTER: Duration = Duration::from_secs(5);

pub struct Driver<P: Processor, S: Source, K: Sink, D: Deliverer> {
    pub processor: P,
    pub source: S,
    pub sink: K,
    pub warehouse: Option<Warehouse>,
    pub deliverer: D,
    pub metrics: Metrics,
    pub pipeline: PipelineConfig,
    /// How long a failing ClickHouse write is retried before the loop gives up (and the
    /// stage exits without committing, so the batch is replayed after restart).
    pub write_retry_for: Duration,
    pub shutdown: CancellationToken,
}

impl<P: Processor, S: Source, K: Sink, D: Deliverer> Driver<P, S, K, D> {
    /// Runs until shutdown (or the end of a finite input). Returns the processor, so
    /// embedded callers can inspect it.
    pub async fn run(mut self) -> anyhow::Result<P> {
        let stage = self.processor.name();
        let mut progress: HashMap<PartitionId, PartitionProgress> = HashMap::new();
        let mut last_tick = Instant::now();
        let mut last_lag = Instant::now();
        let mut last_commit: Option<Instant> = None;
        // Since when polls have been failing, if they are.
        let mut stalled_since: Option<Instant> = None;
        let mut out = Outputs::default();
        let store = match (&self.warehouse, self.source.group()) {
            (Some(w), Some(group)) => Some(CheckpointStore::new(w.clone(), group)),
            _ => None,
        };
        tracing::info!(stage, topics = ?self.processor.input_topics(), "stage started");
        loop {
            let polled = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                p = self.source.next_batch(self.pipeline.batch_size, self.pipeline.batch_linger) => p,
            };
            let polled = match polled {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(stage, error = %e, "poll failed");
                    stalled_since.get_or_insert_with(Instant::now);
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            };
            let started = Instant::now();
            let mut batch = match polled {
                Polled::Messages(m) => Some(m),
                Polled::Idle => Some(vec![]),
                Polled::End => None,
            };
            let rebalance = match self.source.take_rebalance().await {
                Ok(r) => r,
                Err(e) => {
                    // Without the committed offsets and checkpoints the batch's partitions
                    // have no known resume point: the rebalance stays pending in the source,
                    // the batch goes back, and both are tried again after the next poll.
                    tracing::warn!(stage, error = %e, "applying a rebalance failed; polling again");
                    // Nothing polled is handled meanwhile: the input stalls as when polls fail.
                    stalled_since.get_or_insert_with(Instant::now);
                    if let Some(b) = batch {
                        let firsts = first_offsets(&b);
                        if let Err(e) = self.source.unread(&firsts).await {
                            return Err(e.context(
                                "could not put back a batch polled with a pending rebalance",
                            ));
                        }
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            };
            if let Some(since) = stalled_since.take() {
                let stalled_ms = since.elapsed().as_millis() as i64;
                tracing::info!(stage, stalled_ms, "input readable again");
                self.processor.input_stalled(stalled_ms);
            }
            if let Some(r) = rebalance {
                for p in &r.revoked {
                    self.processor.forget(p);
                    progress.remove(p);
                }
                // Records of revoked partitions may predate the revoke: drop them. A partition
                // assigned again is re-read from its resume point below, as the dropped
                // records may also have been fetched under the new assignment.
                let mut dropped: Vec<PartitionId> = vec![];
                if let Some(b) = batch.as_mut() {
                    b.retain(|m| {
                        let p = m.partition_id();
                        if !r.revoked.contains(&p) {
                            return true;
                        }
                        if !dropped.contains(&p) {
                            dropped.push(p);
                        }
                        false
                    });
                }
                for a in r.assigned {
                    let mut pp = PartitionProgress {
                        // Without a committed offset the partition is read from its start.
                        resume_from: a.committed_offset.or(a.log_start),
                        // The silence check only for a committed offset: a silent re-read
                        // tells the re-read from leftovers by a record below its target, and
                        // nothing lies below a log start.
                        assigned_at: a.committed_offset.is_some().then(Instant::now),
                        ..Default::default()
                    };
                    let p = a.partition;
                    self.processor.forget(&p);
                    let checkpoint = match (a.checkpoint, a.committed_offset, &store) {
                        (Some(c), _, _) => Some(c),
                        (None, Some(offset), Some(store)) => store.load(&p, offset).await.unwrap_or_else(|e| {
                            tracing::warn!(stage, error = %e, "reading the checkpoint failed; replaying without it");
                            None
                        }),
                        _ => None,
                    };
                    tracing::info!(
                        stage,
                        partition = %format!("{}/{}", p.topic, p.partition),
                        committed_offset = ?a.committed_offset,
                        replay_until = ?checkpoint.as_ref().map(|c| c.done),
                        restored_state = checkpoint.as_ref().is_some_and(|c| c.state.is_some()),
                        "partition assigned"
                    );
                    if let Some(c) = checkpoint {
                        pp.replay_until = c.done;
                        if let Some(state) = &c.state {
                            self.processor.restore(&p, state);
                        }
                    }
                    if let (true, Some(from)) = (dropped.contains(&p), pp.resume_from) {
                        if let Err(e) = self.source.reread(&p, from).await {
                            tracing::warn!(stage, error = %e, "re-reading a partition assigned again failed");
                        }
                    }
                    progress.insert(p, pp);
                }
            }
            if let Some(b) = batch.as_mut() {
                self.check_resume_gaps(b, &mut progress).await;
            }
            // Only while caught up: behind a backlog, a partition may just be waiting its turn.
            if batch
                .as_ref()
                .is_some_and(|b| b.len() < self.pipeline.batch_size)
            {
                self.check_silent_resumes(&mut progress).await;
            }
            let now = crate::driver::now_ms();
            let handled = batch.as_ref().map_or(0, Vec::len);
            match batch {
                Some(messages) => {
                    // Slices are decoded ahead (on several threads, if the stage can), then
                    // processed in order; slicing bounds the decoded inputs held at once.
                    for slice in decode_slices(&messages) {
                        let wanted: Vec<&InMessage> =
                            slice.iter().filter(|m| !self.oversized(m)).collect();
                        let mut decoded = self.processor.decode_batch(&wanted).map(Vec::into_iter);
                        for m in slice {
                            let pp = progress.entry(m.partition_id()).or_default();
                            let replaying = m.offset < pp.replay_until;
                            pp.next = Some(m.offset + 1);
                            self.metrics
                                .records_in
                                .get_or_create(&labels(&[("stage", stage), ("topic", &m.topic)]))
                                .inc();
                            let input = match decoded.as_mut() {
                                Some(d) if !self.oversized(m) => d.next(),
                                _ => None,
                            };
                            if replaying {
                                // State only: the previous owner already emitted these outputs.
                                let mut scratch = Outputs::default();
                                self.handle(m, input, now, &mut scratch);
                            } else {
                                self.handle(m, input, now, &mut out);
                            }
                        }
                    }
                    // Timers (idle flushes) only run when the input is caught up: while a
                    // backlog is being read, a quiet series may just be waiting its turn. A
                    // batch that stopped short of its size (the linger ran out) means the
                    // source had nothing more: other producers' steady trickle on a shared
                    // topic must not postpone the flush forever.
                    let caught_up = messages.len() < self.pipeline.batch_size;
                    if caught_up && last_tick.elapsed() >= self.pipeline.tick {
                        self.processor.on_tick(now, &mut out);
                        last_tick = Instant::now();
                    }
                    self.apply(&mut out).await?;
                    if last_commit.is_none_or(|t| t.elapsed() >= self.pipeline.commit_interval) {
                        self.commit(&mut progress, store.as_ref()).await?;
                        last_commit = Some(Instant::now());
                    }
                }
                None => {
                    self.processor.finish(&mut out);
                    self.apply(&mut out).await?;
                    self.commit(&mut progress, store.as_ref()).await?;
                    tracing::info!(stage, "input ended");
                    return Ok(self.processor);
                }
            }
            if handled > 0 {
                BatchCommitted {
                    stage,
                    records_in: handled,
                    seconds: started.elapsed().as_secs_f64(),
                }
                .emit(&self.metrics);
            }
            if last_lag.elapsed() >= Duration::from_secs(10) {
                self.source.report_lag(&self.metrics);
                last_lag = Instant::now();
            }
        }
        // Graceful shutdown: everything handled so far is produced and written; commit it.
        self.commit(&mut progress, store.as_ref()).await?;
        tracing::info!(stage, "stage stopped");
        Ok(self.processor)
    }

    /// The first record after an assignment must be the committed one; if the broker skipped
    /// past it, drop the partition's records and have the source re-read from it.
    async fn check_resume_gaps(
        &mut self,
        batch: &mut Vec<InMessage>,
        progress: &mut HashMap<PartitionId, PartitionProgress>,
    ) {
        let mut rewound: Vec<PartitionId> = vec![];
        for m in batch.iter() {
            let p = m.partition_id();
            let Some(pp) = progress.get_mut(&p) else {
                continue;
            };
            let Some(from) = pp.resume_from.take() else {
                continue;
            };
            if m.offset > from {
                match self.source.rewind(&p, from, Some(m.offset)).await {
                    Ok(()) => rewound.push(p),
                    Err(e) => tracing::warn!(error = %e, "rewinding failed; reading on"),
                }
            }
        }
        if !rewound.is_empty() {
            batch.retain(|m| !rewound.contains(&m.partition_id()));
        }
    }

    /// A partition assigned with a committed offset that has sent nothing for
    /// [`SILENT_RESUME_AFTER`] although it holds records at or past that offset: the broker
    /// skipped the batch holding it and no later batch exists to reveal the gap. Re-read it.
    async fn check_silent_resumes(
        &mut self,
        progress: &mut HashMap<PartitionId, PartitionProgress>,
    ) {
        let due: Vec<(PartitionId, i64, i64)> = progress
            .iter()
            .filter_map(|(p, pp)| {
                let from = pp.resume_from?;
                let silent = pp.assigned_at?.elapsed() >= SILENT_RESUME_AFTER;
                silent.then(|| (p.clone(), from, pp.replay_until))
            })
            .collect();
        for (p, from, replay_until) in due {
            // The previous owner read up to `replay_until`, so records past `from` exist. Else
            // ask the broker (tansu reports the last *batch's* base offset + 1 as the high
            // watermark, so this alone can miss a skipped final batch).
            let end = if replay_until > from {
                Ok(Some(replay_until))
            } else {
                self.source.end_offset(&p).await
            };
            let Some(pp) = progress.get_mut(&p) else {
                continue;
            };
            match end {
                Ok(Some(end)) if end > from => {
                    pp.resume_from = None;
                    if let Err(e) = self.source.rewind(&p, from, None).await {
                        tracing::warn!(error = %e, "rewinding failed; reading on");
                    }
                }
                // Nothing at or past the committed offset yet: the next batch starts there.
                Ok(_) => pp.resume_from = None,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the partition's end offset failed");
                    pp.assigned_at = Some(Instant::now());
                }
            }
        }
    }

    /// Whether `m` is over `[pipeline] max_record_bytes` (key and payload).
    fn oversized(&self, m: &InMessage) -> bool {
        m.payload.len() + m.key.as_ref().map_or(0, Vec::len) > self.pipeline.max_record_bytes
    }

    /// Processes `m`, or dead-letters it. `decoded` is its input if decoded ahead.
    fn handle(
        &mut self,
        m: &InMessage,
        decoded: Option<Result<P::Input, String>>,
        now: i64,
        out: &mut Outputs,
    ) {
        let max = self.pipeline.max_record_bytes;
        let size = m.payload.len() + m.key.as_ref().map_or(0, Vec::len);
        let decoded = if size > max {
            if !self.processor.dead_letters(&m.topic) {
                // Another stage owns this topic's rejects; too big to look at here.
                return;
            }
            Err(format!(
                "oversized record: {size} bytes (key and payload), more than [pipeline] max_record_bytes = {max}"
            ))
        } else {
            decoded.unwrap_or_else(|| self.processor.decode(m))
        };
        match decoded {
            Ok(input) => self.processor.process(m, input, now, out),
            Err(reason) => {
                RecordRejected {
                    stage: self.processor.name(),
                    topic: &m.topic,
                    partition: m.partition,
                    offset: m.offset,
                    reason: &reason,
                }
                .emit(&self.metrics);
                let dead = DeadLetter {
                    source_topic: m.topic.clone(),
                    partition: m.partition,
                    offset: m.offset,
                    stage: self.processor.name().to_string(),
                    reason,
                    rejected_at_ms: now,
                    key: m.key.clone(),
                    payload: m.payload.clone(),
                };
                out.publish(
                    &dead_letter_topic(&m.topic),
                    m.key.clone().unwrap_or_default(),
                    dead.encode(),
                );
            }
        }
    }

    /// Delivers, produces and writes everything in `out`, retrying transient failures.
    async fn apply(&mut self, out: &mut Outputs) -> anyhow::Result<()> {
        let stage = self.processor.name();
        for alert in std::mem::take(&mut out.deliveries) {
            let report = self.deliverer.deliver(&alert).await;
            // Logged right away, not with the batch: a crash between a receiver's answer and
            // this write is the only way a notification can be sent twice, so keep it short.
            let logged: Vec<TableRow> = report
                .notifications
                .into_iter()
                .map(TableRow::Notification)
                .collect();
            self.write_rows(&logged).await?;
            if let Some(reason) = report.permanent_failure {
                let dead = DeadLetter {
                    source_topic: cloudsage_schemas::topics::ALERTS.into(),
                    partition: -1,
                    offset: -1,
                    stage: stage.to_string(),
                    reason,
                    rejected_at_ms: now_ms(),
                    key: Some(alert.fingerprint.clone().into_bytes()),
                    payload: alert.encode(),
                };
                out.publish(
                    &dead_letter_topic(cloudsage_schemas::topics::ALERTS),
                    alert.fingerprint.clone(),
                    dead.encode(),
                );
            }
        }
        if !out.records.is_empty() {
            for r in &out.records {
                self.metrics
                    .records_out
                    .get_or_create(&labels(&[("stage", stage), ("topic", &r.topic)]))
                    .inc();
            }
            let records = std::mem::take(&mut out.records);
            let mut attempt = 0;
            loop {
                match self.sink.send(records.clone()).await {
                    Ok(()) => break,
                    Err(e) => {
                        attempt += 1;
                        RetryingAfterError {
                            stage,
                            what: "produce",
                            error: &e.to_string(),
                            attempt,
                        }
                        .emit(&self.metrics);
                        if self.shutdown.is_cancelled() {
                            anyhow::bail!("shutting down with an unproduced batch: {e}");
                        }
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                }
            }
        }
        let rows = std::mem::take(&mut out.rows);
        self.write_rows(&rows).await?;
        for (event, count) in out.events.drain(..) {
            StageEvent {
                stage,
                event,
                count,
            }
            .emit(&self.metrics);
        }
        out.clear();
        Ok(())
    }

    /// Writes `rows` to ClickHouse (when configured), retrying for `write_retry_for`.
    async fn write_rows(&mut self, rows: &[TableRow]) -> anyhow::Result<()> {
        let stage = self.processor.name();
        if let (Some(wh), false) = (&self.warehouse, rows.is_empty()) {
            let started = Instant::now();
            let mut attempt = 0;
            loop {
                match wh.write(rows, now_ms() as u64).await {
                    Ok(n) => {
                        self.metrics
                            .rows_written
                            .get_or_create(&labels(&[("stage", stage)]))
                            .inc_by(n as u64);
                        if attempt > 0 {
                            self.metrics.clickhouse_writes_failing.dec();
                        }
                        break;
                    }
                    Err(e) => {
                        // Not ready until a write goes through. (A loop that gives up stays
                        // counted: it is about to stop.)
                        if attempt == 0 {
                            self.metrics.clickhouse_writes_failing.inc();
                        }
                        attempt += 1;
                        RetryingAfterError {
                            stage,
                            what: "clickhouse write",
                            error: &format!("{e:#}"),
                            attempt,
                        }
                        .emit(&self.metrics);
                        if started.elapsed() > self.write_retry_for || self.shutdown.is_cancelled()
                        {
                            anyhow::bail!(
                                "ClickHouse write failed for {:?}: {e:#}",
                                started.elapsed()
                            );
                        }
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Commits, per partition, the lowest offset the stage still needs, with a checkpoint
    /// recording how far it has handled.
    async fn commit(
        &mut self,
        progress: &mut HashMap<PartitionId, PartitionProgress>,
        store: Option<&CheckpointStore>,
    ) -> anyhow::Result<()> {
        let mut positions = vec![];
        for (p, pp) in progress.iter() {
            let Some(next) = pp.next else { continue };
            let offset = self
                .processor
                .retained_offset(p)
                .map_or(next, |r| r.min(next));
            let position = CommitPosition {
                partition: p.clone(),
                offset,
                checkpoint: Checkpoint {
                    done: next.max(pp.replay_until),
                    state: self.processor.checkpoint(p),
                },
            };
            if pp.committed.as_ref() != Some(&position) {
                positions.push(position);
            }
        }
        if positions.is_empty() {
            return Ok(());
        }
        if let Some(store) = store {
            let with_previous: Vec<_> = positions
                .iter()
                .map(|p| {
                    (
                        p.clone(),
                        progress
                            .get(&p.partition)
                            .and_then(|pp| pp.committed.clone()),
                    )
                })
                .collect();
            if let Err(e) = store.save(&with_previous).await {
                // No checkpoint, no commit: the next batch tries again (at-least-once).
                tracing::warn!(stage = self.processor.name(), error = %e, "saving checkpoints failed; commit postponed");
                return Ok(());
            }
        }
        if let Err(e) = self.source.commit(&positions).await {
            // Usually a rebalance took the partition away: its new owner replays from the
            // last good commit, which is at-least-once, so keep going.
            tracing::warn!(stage = self.processor.name(), error = %e, "commit failed");
            return Ok(());
        }
        for pos in positions {
            if let Some(pp) = progress.get_mut(&pos.partition) {
                pp.committed = Some(pos);
            }
        }
        Ok(())
    }
}

/// Pause before polling again after a failed poll or a rebalance that could not be applied.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Payload bytes decoded ahead at a time (see [`decode_slices`]).
const DECODE_AHEAD_BYTES: usize = 1 << 20;

/// Each partition's first offset in `messages`, in order of first appearance.
fn first_offsets(messages: &[InMessage]) -> Vec<(PartitionId, i64)> {
    let mut firsts: Vec<(PartitionId, i64)> = vec![];
    for m in messages {
        let p = m.partition_id();
        match firsts.iter_mut().find(|(q, _)| *q == p) {
            Some((_, first)) => *first = (*first).min(m.offset),
            None => firsts.push((p, m.offset)),
        }
    }
    firsts
}

/// `messages` in consecutive slices of about [`DECODE_AHEAD_BYTES`] of payload (at least one
/// record each).
fn decode_slices(messages: &[InMessage]) -> impl Iterator<Item = &[InMessage]> {
    let mut rest = messages;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && (n == 0 || bytes < DECODE_AHEAD_BYTES) {
            bytes += rest[n].payload.len();
            n += 1;
        }
        let (slice, tail) = rest.split_at(n);
        rest = tail;
        Some(slice)
    })
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(6)).min(5_000))
}
