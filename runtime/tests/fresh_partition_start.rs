//! A partition assigned without a committed offset is read from its log start: when the first
//! record the driver sees lies past it (the records before it were fetched just before a
//! rebalance and dropped with the revoked partition), the driver has the source re-read the
//! partition instead of skipping them for good. Seen on tansu: the first three alerts of a
//! partition never reached the delivery loop after a rebalance storm.

use cloudsage_runtime::config::PipelineConfig;
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, Outputs, PartitionId, Processor};
use cloudsage_runtime::testkit::{CapturingSink, ScriptedSource};
use cloudsage_runtime::transport::{Assigned, Rebalance};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Ignore;

impl Processor for Ignore {
    type Input = ();

    fn name(&self) -> &'static str {
        "ignore"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec!["in"]
    }

    fn decode(&self, _msg: &InMessage) -> Result<(), String> {
        Ok(())
    }

    fn process(&mut self, _msg: &InMessage, _input: (), _now_ms: i64, _out: &mut Outputs) {}
}

/// The partition's records `first..5`, after an assignment without a committed offset.
async fn rewinds_when_reading_from(first: i64, log_start: Option<i64>) -> Vec<(i64, Option<i64>)> {
    let partition = PartitionId {
        topic: "in".into(),
        partition: 2,
    };
    let messages: Vec<InMessage> = (first..5)
        .map(|offset| InMessage {
            topic: "in".into(),
            partition: 2,
            offset,
            key: None,
            payload: vec![],
            timestamp_ms: None,
        })
        .collect();
    let mut source = ScriptedSource::new(&messages, 10);
    source.assignment = Some(Rebalance {
        revoked: vec![],
        assigned: vec![Assigned {
            log_start,
            ..Assigned::fresh(partition.clone())
        }],
    });
    let rewinds = source.rewinds.clone();
    let driver = Driver {
        processor: Ignore,
        source,
        sink: CapturingSink::default(),
        warehouse: None,
        deliverer: NoDelivery,
        metrics: Metrics::new(),
        pipeline: PipelineConfig::default(),
        write_retry_for: Duration::from_secs(1),
        shutdown: CancellationToken::new(),
    };
    driver.run().await.unwrap();
    let got = rewinds.lock().unwrap().clone();
    got.into_iter()
        .map(|(p, offset, skipped_to)| {
            assert_eq!(p, partition);
            (offset, skipped_to)
        })
        .collect()
}

#[tokio::test]
async fn a_fresh_partition_whose_first_records_were_skipped_is_reread() {
    // Records 0..3 went missing: re-read from the log start.
    assert_eq!(
        rewinds_when_reading_from(3, Some(0)).await,
        vec![(0, Some(3))]
    );
    // Everything from the start: nothing to do.
    assert!(rewinds_when_reading_from(0, Some(0)).await.is_empty());
    // A source that does not know its log start (or reads from the end) is left alone.
    assert!(rewinds_when_reading_from(3, None).await.is_empty());
}
