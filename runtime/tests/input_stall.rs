//! Polls that fail (no broker reachable) stall the input: the driver tells the processor how
//! long, once reading works again, so that processing-time timers (the scorer's idle flush)
//! do not count the outage as the input's quiet.

use cloudsage_runtime::stage::{InMessage, Outputs, Processor};
use cloudsage_runtime::testkit::{scripted_driver, ScriptedSource};

/// Keeps every stall reported and how many records it had handled by then.
#[derive(Default)]
struct StallRecorder {
    handled: usize,
    stalls: Vec<(usize, i64)>,
}

impl Processor for StallRecorder {
    type Input = ();

    fn name(&self) -> &'static str {
        "stall-recorder"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec!["in"]
    }

    fn decode(&self, _msg: &InMessage) -> Result<(), String> {
        Ok(())
    }

    fn process(&mut self, _msg: &InMessage, _input: (), _now_ms: i64, _out: &mut Outputs) {
        self.handled += 1;
    }

    fn input_stalled(&mut self, stalled_ms: i64) {
        self.stalls.push((self.handled, stalled_ms));
    }
}

async fn run(failing_polls: usize) -> StallRecorder {
    let records: Vec<InMessage> = (0..4)
        .map(|offset| InMessage {
            topic: "in".into(),
            partition: 0,
            offset,
            key: None,
            payload: vec![],
            timestamp_ms: None,
        })
        .collect();
    let mut source = ScriptedSource::new(&records, 2);
    source.failing_polls = failing_polls;
    let driver = scripted_driver(StallRecorder::default(), source);
    driver.run().await.unwrap()
}

#[tokio::test]
async fn failing_polls_are_reported_as_one_stall_before_the_next_records() {
    // Three failed polls, each followed by the driver's 500 ms pause: one stall of at least
    // 1.5 s, reported before any record is handled.
    let got = run(3).await;
    assert_eq!(got.stalls.len(), 1, "{:?}", got.stalls);
    let (handled_before, stalled_ms) = got.stalls[0];
    assert_eq!(handled_before, 0);
    assert!((1_500..10_000).contains(&stalled_ms), "{stalled_ms}");
    assert_eq!(got.handled, 4);

    // Polls that work: no stall.
    let got = run(0).await;
    assert!(got.stalls.is_empty());
    assert_eq!(got.handled, 4);
}
