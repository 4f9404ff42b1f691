//! Stage events a processor counts in its outputs reach `/metrics` as
//! `cloudsage_events_total{stage, event}`.

use cloudsage_runtime::config::PipelineConfig;
use cloudsage_runtime::deliver::NoDelivery;
use cloudsage_runtime::driver::Driver;
use cloudsage_runtime::metrics::Metrics;
use cloudsage_runtime::stage::{InMessage, Outputs, Processor};
use cloudsage_runtime::testkit::{CapturingSink, ScriptedSource};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Counts the records with an odd offset.
struct OddCounter;

impl Processor for OddCounter {
    type Input = ();

    fn name(&self) -> &'static str {
        "odd-counter"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec!["in"]
    }

    fn decode(&self, _msg: &InMessage) -> Result<(), String> {
        Ok(())
    }

    fn process(&mut self, msg: &InMessage, _input: (), _now_ms: i64, out: &mut Outputs) {
        if msg.offset % 2 == 1 {
            out.count("odd_offset", 1);
        }
    }
}

#[tokio::test]
async fn counted_events_are_exported() {
    let messages: Vec<InMessage> = (0..7)
        .map(|offset| InMessage {
            topic: "in".into(),
            partition: 0,
            offset,
            key: None,
            payload: vec![],
            timestamp_ms: None,
        })
        .collect();
    let metrics = Metrics::new();
    let driver = Driver {
        processor: OddCounter,
        source: ScriptedSource::new(&messages, 3),
        sink: CapturingSink::default(),
        warehouse: None,
        deliverer: NoDelivery,
        metrics: metrics.clone(),
        pipeline: PipelineConfig::default(),
        write_retry_for: Duration::from_secs(1),
        shutdown: CancellationToken::new(),
    };
    driver.run().await.unwrap();
    let text = metrics.render();
    let line = text
        .lines()
        .find(|l| l.starts_with("cloudsage_events_total") && l.contains("event=\"odd_offset\""))
        .unwrap_or_else(|| panic!("no odd_offset counter in\n{text}"));
    assert!(line.contains("stage=\"odd-counter\""), "{line}");
    assert!(line.ends_with(" 3"), "offsets 1, 3, 5: {line}");
}
