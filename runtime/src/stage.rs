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
    /// A user's feedback on an action (table `feedback`, an audit trail).
    Feedback(cloudsage_schemas::Feedback),
    Incident(IncidentRecord),
    Decision(DecisionRecord),
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

/// An incident: alerts of one group (project, service[, rule]) close in time (table
/// `incidents`, ReplacingMergeTree on `incident_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// Deterministic: a hash of the group key and the first alert's time.
    pub incident_id: String,
    pub project: String,
    pub service: String,
    /// The group key the alerts share.
    pub fingerprint: String,
    pub title: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    pub alert_ids: Vec<String>,
    /// Where the alerts came from: `cloudsage` (risk rules) or a vendor name.
    pub sources: Vec<String>,
    pub opened_at_ms: i64,
    pub updated_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    /// Suggested remediation actions, best first: kind, confidence (0..1), why.
    pub actions: Vec<(String, f64, String)>,
}

/// One decision about an incident and its outcome (table `decisions`, ReplacingMergeTree on
/// `decision_id`, versioned by `updated_at_ms` so an outcome replaces the pending row).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRecord {
    /// Deterministic: a hash of the incident, its severity and the action.
    pub decision_id: String,
    pub incident_id: String,
    pub project: String,
    pub service: String,
    /// `AUTO_REMEDIATE`, `SCHEDULE_MAINTENANCE` or `ESCALATE_HUMAN`.
    pub verdict: String,
    pub action: String,
    pub confidence: f64,
    pub severity: String,
    pub impact: String,
    /// The matrix row that decided, for people.
    pub reason: String,
    pub dry_run: bool,
    /// `recorded` (no call needed), `dry_run`, `pending`, `success`, `failure` or `skipped`.
    pub outcome: String,
    pub outcome_detail: String,
    pub decided_at_ms: i64,
    /// When this row's state last changed; orders its versions.
    pub updated_at_ms: i64,
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
    /// Stage events to count in `cloudsage_events_total{stage, event}` (e.g. the scorer's
    /// late events); dropped for replayed records, which their first reader counted.
    pub events: Vec<(&'static str, u64)>,
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

    /// Counts `n` occurrences of the stage event `event`.
    pub fn count(&mut self, event: &'static str, n: u64) {
        match self.events.iter_mut().find(|(e, _)| *e == event) {
            Some((_, total)) => *total += n,
            None => self.events.push((event, n)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.rows.is_empty() && self.deliveries.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.rows.clear();
        self.deliveries.clear();
        self.events.clear();
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

    /// Decodes the records of a batch slice, in order, possibly on several threads (what makes
    /// a stage with costly decoding use more than one core). `None`, the default, has the
    /// driver call [`Processor::decode`] for each record just before processing it; a stage
    /// whose decoding reads nothing [`Processor::process`] changes may decode ahead. Records
    /// the driver rejects as oversized are not passed.
    fn decode_batch(&self, _msgs: &[&InMessage]) -> Option<Vec<Result<Self::Input, String>>> {
        None
    }

    /// Handles one decoded record.
    fn process(&mut self, msg: &InMessage, input: Self::Input, now_ms: i64, out: &mut Outputs);

    /// Timers: called at most every pipeline tick, with processing time, and only when a
    /// poll found no new input (the stage is caught up), e.g. for idle flushes.
    fn on_tick(&mut self, _now_ms: i64, _out: &mut Outputs) {}

    /// The input could not be read for `stalled_ms` (polls failed: no broker reachable; or
    /// a rebalance could not be applied, and what was polled went back unhandled).
    /// Processing-time timers that measure the input's quiet should not count that time:
    /// the records may have been waiting on the broker all along.
    fn input_stalled(&mut self, _stalled_ms: i64) {}

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

    /// Whether this stage dead-letters the records of `topic` over `[pipeline]
    /// max_record_bytes` (the driver rejects those before [`Processor::decode`]). A stage
    /// that only side-reads a topic another stage owns answers `false` and they are skipped,
    /// so the owner's rejects are not dead-lettered twice (its `decode` likewise skips what
    /// it cannot use).
    fn dead_letters(&self, _topic: &str) -> bool {
        true
    }
}
