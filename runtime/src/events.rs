//! Internal events: one small struct per thing that happens, each emitting both a tracing
//! line and a metric, so logs and dashboards always agree (Vector's convention).

use crate::metrics::{labels, Metrics};

/// A record could not be used and went to the dead-letter topic.
pub struct RecordRejected<'a> {
    pub stage: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub reason: &'a str,
}

impl RecordRejected<'_> {
    pub fn emit(&self, metrics: &Metrics) {
        tracing::warn!(
            stage = self.stage,
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            reason = self.reason,
            "record rejected to dead-letter topic"
        );
        metrics
            .records_rejected
            .get_or_create(&labels(&[("stage", self.stage), ("topic", self.topic)]))
            .inc();
    }
}

/// A batch was produced, written and committed.
pub struct BatchCommitted<'a> {
    pub stage: &'a str,
    pub records_in: usize,
    pub seconds: f64,
}

impl BatchCommitted<'_> {
    pub fn emit(&self, metrics: &Metrics) {
        tracing::debug!(
            stage = self.stage,
            records_in = self.records_in,
            seconds = self.seconds,
            "batch committed"
        );
        metrics
            .batch_seconds
            .get_or_create(&labels(&[("stage", self.stage)]))
            .observe(self.seconds);
    }
}

/// A stage-specific occurrence worth counting (late event, delivery, …).
pub struct StageEvent<'a> {
    pub stage: &'a str,
    pub event: &'a str,
    pub count: u64,
}

impl StageEvent<'_> {
    pub fn emit(&self, metrics: &Metrics) {
        tracing::debug!(
            stage = self.stage,
            event = self.event,
            count = self.count,
            "stage event"
        );
        metrics
            .events
            .get_or_create(&labels(&[("stage", self.stage), ("event", self.event)]))
            .inc_by(self.count);
    }
}

/// A transient failure that the loop retries (broker or ClickHouse unavailable).
pub struct RetryingAfterError<'a> {
    pub stage: &'a str,
    pub what: &'a str,
    pub error: &'a str,
    pub attempt: u32,
}

impl RetryingAfterError<'_> {
    pub fn emit(&self, metrics: &Metrics) {
        tracing::warn!(
            stage = self.stage,
            what = self.what,
            error = self.error,
            attempt = self.attempt,
            "transient failure, retrying"
        );
        metrics
            .events
            .get_or_create(&labels(&[("stage", self.stage), ("event", "retry")]))
            .inc();
    }
}
