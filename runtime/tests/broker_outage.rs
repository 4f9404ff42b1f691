//! The driver while the broker is away.
//!
//! A rebalance whose broker requests fail (committed offsets, log starts: the broker is
//! restarting) stays pending, and the batch polled with it is put back rather than handled
//! without resume points or dropped. Seen on tansu: the revoke reported while the broker was
//! down was lost with a timed-out request, and the 10 s request made the member exceed
//! `max.poll.interval.ms` and leave the group.
//!
//! Polls that fail (no broker reachable) stall the input: the driver tells the processor how
//! long, once reading works again, so that processing-time timers (the scorer's idle flush)
//! do not count the outage as the input's quiet.

use cloudsage_runtime::stage::{InMessage, Outputs, PartitionId, Processor};
use cloudsage_runtime::testkit::{scripted_driver, ScriptedSource};
use cloudsage_runtime::transport::{Assigned, Rebalance};

/// Keeps the (partition, offset) of every record handled, and which partitions it was told
/// to forget.
#[derive(Default)]
struct Recorder {
    handled: Vec<(i32, i64)>,
    forgotten: Vec<i32>,
    /// Input stalls reported: (records handled before, stall length).
    stalls: Vec<(usize, i64)>,
}

impl Processor for Recorder {
    type Input = ();

    fn name(&self) -> &'static str {
        "recorder"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec!["in"]
    }

    fn decode(&self, _msg: &InMessage) -> Result<(), String> {
        Ok(())
    }

    fn process(&mut self, msg: &InMessage, _input: (), _now_ms: i64, _out: &mut Outputs) {
        self.handled.push((msg.partition, msg.offset));
    }

    fn forget(&mut self, partition: &PartitionId) {
        self.forgotten.push(partition.partition);
    }

    fn input_stalled(&mut self, stalled_ms: i64) {
        self.stalls.push((self.handled.len(), stalled_ms));
    }
}

fn partition(n: i32) -> PartitionId {
    PartitionId {
        topic: "in".into(),
        partition: n,
    }
}

/// An empty record of partition `p` of `in` at `offset`.
fn at(p: i32, offset: i64) -> InMessage {
    InMessage {
        topic: "in".into(),
        partition: p,
        offset,
        key: None,
        payload: vec![],
        timestamp_ms: None,
    }
}

/// Records of partition 1 at offsets 0..3 and of partition 2 at 0..2, interleaved, then
/// partition 2 at 2..4.
fn records() -> Vec<InMessage> {
    vec![
        at(1, 0),
        at(2, 0),
        at(1, 1),
        at(2, 1),
        at(1, 2),
        at(2, 2),
        at(2, 3),
    ]
}

/// Runs the driver to the end of the script: batches of 5, and a rebalance (partition 3
/// revoked, 2 assigned from log start 0) whose requests fail `failures` times.
async fn run(failures: usize) -> (Recorder, Vec<(PartitionId, i64)>) {
    let mut source = ScriptedSource::new(&records(), 5);
    source.assignment = Some(Rebalance {
        revoked: vec![partition(3)],
        assigned: vec![Assigned {
            log_start: Some(0),
            ..Assigned::fresh(partition(2))
        }],
    });
    source.rebalance_failures = failures;
    let unreads = source.unreads.clone();
    let driver = scripted_driver(Recorder::default(), source);
    let recorder = driver.run().await.unwrap();
    let unreads = unreads.lock().unwrap().clone();
    (recorder, unreads)
}

#[tokio::test]
async fn a_batch_polled_with_a_failing_rebalance_is_put_back_and_handled_once_after_it() {
    let every_record: Vec<(i32, i64)> = records().iter().map(|m| (m.partition, m.offset)).collect();

    let (recorder, unreads) = run(2).await;
    // Each failed attempt put the first batch (offsets 0.. of both partitions) back.
    assert_eq!(
        unreads,
        vec![
            (partition(1), 0),
            (partition(2), 0),
            (partition(1), 0),
            (partition(2), 0)
        ]
    );
    // Every record handled exactly once, in order, and only after the rebalance was applied
    // (the revoke was not lost with the failed attempts).
    assert_eq!(recorder.handled, every_record);
    assert_eq!(recorder.forgotten, vec![3, 2]);
    // Nothing was handled while the rebalance failed (two 500 ms pauses): one stall, reported
    // before the first record.
    assert_eq!(recorder.stalls.len(), 1, "{:?}", recorder.stalls);
    assert_eq!(recorder.stalls[0].0, 0);
    assert!(recorder.stalls[0].1 >= 1_000, "{:?}", recorder.stalls);

    // The same without failures, for reference.
    let (recorder, unreads) = run(0).await;
    assert!(unreads.is_empty());
    assert!(recorder.stalls.is_empty());
    assert_eq!(recorder.handled, every_record);
    assert_eq!(recorder.forgotten, vec![3, 2]);
}

/// Runs the driver over records 0..4 of partition 0 in batches of 2, after
/// `failing_polls` failed polls.
async fn run_after_failing_polls(failing_polls: usize) -> Recorder {
    let records: Vec<InMessage> = (0..4).map(|offset| at(0, offset)).collect();
    let mut source = ScriptedSource::new(&records, 2);
    source.failing_polls = failing_polls;
    scripted_driver(Recorder::default(), source)
        .run()
        .await
        .unwrap()
}

#[tokio::test]
async fn failing_polls_are_reported_as_one_stall_before_the_next_records() {
    // Three failed polls, each followed by the driver's 500 ms pause: one stall of at least
    // 1.5 s, reported before any record is handled.
    let got = run_after_failing_polls(3).await;
    assert_eq!(got.stalls.len(), 1, "{:?}", got.stalls);
    let (handled_before, stalled_ms) = got.stalls[0];
    assert_eq!(handled_before, 0);
    assert!((1_500..10_000).contains(&stalled_ms), "{stalled_ms}");
    assert_eq!(got.handled.len(), 4);

    // Polls that work: no stall.
    let got = run_after_failing_polls(0).await;
    assert!(got.stalls.is_empty());
    assert_eq!(got.handled.len(), 4);
}
