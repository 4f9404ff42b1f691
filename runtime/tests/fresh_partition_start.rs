//! A partition assigned without a committed offset is read from its log start: when the first
//! record the driver sees lies past it (the records before it were fetched just before a
//! rebalance and dropped with the revoked partition), the driver has the source re-read the
//! partition instead of skipping them for good. Seen on tansu: the first three alerts of a
//! partition never reached the delivery loop after a rebalance storm.

use cloudsage_runtime::stage::{InMessage, Outputs, PartitionId, Processor};
use cloudsage_runtime::testkit::{scripted_driver, ScriptedSource};
use cloudsage_runtime::transport::{Assigned, Rebalance};

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

/// Empty records of partition 2 of `in` at `offsets`.
fn records_of_partition_2(offsets: std::ops::Range<i64>) -> Vec<InMessage> {
    offsets
        .map(|offset| InMessage {
            topic: "in".into(),
            partition: 2,
            offset,
            key: None,
            payload: vec![],
            timestamp_ms: None,
        })
        .collect()
}

/// Runs the driver over `source` to the end of its batches.
async fn run(source: ScriptedSource) {
    let driver = scripted_driver(Ignore, source);
    driver.run().await.unwrap();
}

/// The partition's records `first..5`, after an assignment without a committed offset.
async fn rewinds_when_reading_from(first: i64, log_start: Option<i64>) -> Vec<(i64, Option<i64>)> {
    let partition = PartitionId {
        topic: "in".into(),
        partition: 2,
    };
    let mut source = ScriptedSource::new(&records_of_partition_2(first..5), 10);
    source.assignment = Some(Rebalance {
        revoked: vec![],
        assigned: vec![Assigned {
            log_start,
            ..Assigned::fresh(partition.clone())
        }],
    });
    let rewinds = source.rewinds.clone();
    run(source).await;
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

/// The polled batch holds records 0..5 of partition 2, which the rebalance taken after the
/// poll revoked and assigned again (committed at `committed`, log start 0): the records are
/// dropped (they may predate the revoke) and the partition is re-read from its resume point.
async fn rereads_after_reassignment(committed: Option<i64>, revoke_also: bool) -> Vec<(i32, i64)> {
    let partition = |n| PartitionId {
        topic: "in".into(),
        partition: n,
    };
    let mut source = ScriptedSource::new(&records_of_partition_2(0..5), 10);
    source.assignment = Some(Rebalance {
        revoked: if revoke_also {
            vec![partition(2), partition(3)]
        } else {
            vec![partition(3)]
        },
        assigned: vec![Assigned {
            committed_offset: committed,
            log_start: committed.is_none().then_some(0),
            ..Assigned::fresh(partition(2))
        }],
    });
    let rereads = source.rereads.clone();
    run(source).await;
    let got = rereads.lock().unwrap().clone();
    got.into_iter().map(|(p, o)| (p.partition, o)).collect()
}

#[tokio::test]
async fn a_partition_assigned_again_with_dropped_records_is_reread() {
    // Seen on tansu: the records dropped with the revoked partition had been fetched under
    // the new assignment, and nothing else came to reveal the gap.
    assert_eq!(rereads_after_reassignment(None, true).await, vec![(2, 0)]);
    assert_eq!(
        rereads_after_reassignment(Some(3), true).await,
        vec![(2, 3)]
    );
    // Not revoked, nothing dropped: the batch is handled as it is.
    assert!(rereads_after_reassignment(None, false).await.is_empty());
}
