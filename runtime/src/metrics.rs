//! Prometheus metrics shared by every stage, served on `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};

type Labels = Vec<(String, String)>;

/// The metrics every stage exposes. Cheap to clone (all handles are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    /// Records read, by stage and topic.
    pub records_in: Family<Labels, Counter>,
    /// Records produced, by stage and topic.
    pub records_out: Family<Labels, Counter>,
    /// Records rejected to a dead-letter topic, by stage, topic and reason kind.
    pub records_rejected: Family<Labels, Counter>,
    /// Rows written to ClickHouse, by table.
    pub rows_written: Family<Labels, Counter>,
    /// Seconds from a batch's first record read to its commit.
    pub batch_seconds: Family<Labels, Histogram>,
    /// Consumer lag (high watermark minus committed position), by topic and partition.
    pub consumer_lag: Family<Labels, Gauge>,
    /// Stage-specific event counters (late events, deliveries, …), by stage and event.
    pub events: Family<Labels, Counter>,
    /// Stage loops whose ClickHouse writes are failing right now; `/health` is not ready
    /// while it is above zero (ClickHouse may answer a ping yet refuse inserts).
    pub clickhouse_writes_failing: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cloudsage");
        let records_in = Family::<Labels, Counter>::default();
        let records_out = Family::<Labels, Counter>::default();
        let records_rejected = Family::<Labels, Counter>::default();
        let rows_written = Family::<Labels, Counter>::default();
        let batch_seconds = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.001, 2.0, 16))) as fn() -> Histogram,
        );
        let consumer_lag = Family::<Labels, Gauge>::default();
        let events = Family::<Labels, Counter>::default();
        let clickhouse_writes_failing = Gauge::default();
        registry.register("records_in", "Records read", records_in.clone());
        registry.register("records_out", "Records produced", records_out.clone());
        registry.register(
            "records_rejected",
            "Records sent to a dead-letter topic",
            records_rejected.clone(),
        );
        registry.register(
            "rows_written",
            "Rows written to ClickHouse",
            rows_written.clone(),
        );
        registry.register(
            "batch_seconds",
            "Processing latency of a batch, read to commit",
            batch_seconds.clone(),
        );
        registry.register(
            "consumer_lag",
            "Consumer lag in records",
            consumer_lag.clone(),
        );
        registry.register("events", "Stage events", events.clone());
        registry.register(
            "clickhouse_writes_failing",
            "Stage loops whose ClickHouse writes are failing",
            clickhouse_writes_failing.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            records_in,
            records_out,
            records_rejected,
            rows_written,
            batch_seconds,
            consumer_lag,
            events,
            clickhouse_writes_failing,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

/// Label set helper: `labels(&[("stage", "scorer")])`.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
