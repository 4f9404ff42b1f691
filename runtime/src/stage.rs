//! What a stage is: a pure processor of decoded records that says what to produce, what to
//! store and what to deliver. The driver (`driver.rs`) does all I/O around it.

use cloudsage_schemas::{Alert, Forecast, ScoredWindow};

/// Where a record came from. Offsets are per (topic, partition).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId {
    pub topic: String,
    pub partition: i32,
}

/// One record read from an input topic (Kafka or an in-memory channel).
#[derive(Debug, Clone)]
pub struct InMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// Broker timestamp, if any.
    pub timestamp_ms: Option<i64>,
}

impl InMessage {
    pub fn partition_id(&self) -> PartitionId {
        PartitionId {
            topic: self.topic.clone(),
            partition: self.partition,
        }
    }
}

/// One record to produce.
#[derive(Debug, Clone)]
pub struct OutRecord {
    pub topic: String,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
}

/// A row for ClickHouse. Each variant maps to one table (see `warehouse.rs`).
#[derive(Debug, Clone)]
pub enum TableRow {
    RiskWindow(ScoredWindow),
    Forecast(Forecast),
    Alert(Alert),
    Notification(NotificationRecord),
    WindowTemplate(WindowTemplate),
}

/// One message template's share of a closed window (table `window_templates`).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTemplate {
    pub project: String,
    pub service: String,
    pub window_start_ms: i64,
    pub window_id: String,
    /// Stable id of the template text (hex).
    pub template_id: String,
    /// The message with its variable parts masked as `<*>`.
    pub template: String,
    pub events: u64,
    pub errors: u64,
    /// The series had not shown this template before.
    pub is_new: bool,
}

/// The outcome of one delivery attempt series, kept as notification history and as the
/// dedup log that stops replays from notifying twice.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub alert_id: String,
    pub receiver: String,
    pub project: String,
    pub status: String,
    pub result: String,
    pub attempts: u32,
    pub sent_at_ms: i64,
}

/// What a stage asks the driver to do for a batch.
#[derive(Debug, Default)]
pub struct Outputs {
    pub records: Vec<OutRecord>,
    pub rows: Vec<TableRow>,
    /// Alerts to hand to the configured deliverer (notifier delivery loop only).
    pub deliveries: Vec<Alert>,
}

impl Outputs {
    pub fn publish(&mut self, topic: &str, key: impl Into<Vec<u8>>, payload: Vec<u8>) {
        self.records.push(OutRecord {
            topic: topic.to_string(),
            key: key.into(),
            payload,
        });
    }

    pub fn store(&mut self, row: TableRow) {
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.rows.is_empty() && self.deliveries.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.rows.clear();
        self.deliveries.clear();
    }
}

/// A stage's logic as the driver sees it. Implementations keep their decisions pure: they
/// get values and return outputs; no I/O happens here.
///
/// Recovery contract (at-least-once without a state store): the driver commits, per input
/// partition, the lowest offset the stage still needs to rebuild its state
/// ([`Processor::retained_offset`]) together with a checkpoint string. After a restart or a
/// rebalance, the records from that offset are replayed; outputs of records the previous
/// owner had already handled are suppressed by the driver, so replays rebuild state without
/// emitting twice.
pub trait Processor: Send + 'static {
    /// The decoded input record.
    type Input;

    /// Stage name: consumer group suffix, metric label.
    fn name(&self) -> &'static str;

    /// Topics this stage consumes.
    fn input_topics(&self) -> Vec<&'static str>;

    /// Decodes a record; `Err(reason)` sends it to the topic's dead-letter topic.
    fn decode(&self, msg: &InMessage) -> Result<Self::Input, String>;

    /// Handles one decoded record.
    fn process(&mut self, msg: &InMessage, input: Self::Input, now_ms: i64, out: &mut Outputs);

    /// Timers: called at most every pipeline tick, with processing time, and only when a
    /// poll found no new input (the stage is caught up), e.g. for idle flushes.
    fn on_tick(&mut self, _now_ms: i64, _out: &mut Outputs) {}

    /// End of a finite input (in-memory runs): flush everything still open.
    fn finish(&mut self, _out: &mut Outputs) {}

    /// The lowest offset of `partition` still needed to rebuild state; `None` when the stage
    /// holds nothing from it.
    fn retained_offset(&self, _partition: &PartitionId) -> Option<i64> {
        None
    }

    /// Stage state to store with the committed offset (e.g. a watermark).
    fn checkpoint(&self, _partition: &PartitionId) -> Option<String> {
        None
    }

    /// Restores what [`Processor::checkpoint`] stored, when a partition is assigned.
    fn restore(&mut self, _partition: &PartitionId, _checkpoint: &str) {}

    /// Drops all state held for a partition that was revoked (its new owner replays it).
    fn forget(&mut self, _partition: &PartitionId) {}
}
