//! Delivery adapter: consumes `alerts` and asks the runtime to deliver each one; the offset
//! is committed only after every receiver succeeded, was already notified (dedup), or failed
//! permanently (then the alert goes to `alerts.dlq`).

use cloudsage_runtime::{InMessage, Outputs, Processor};
use cloudsage_schemas::topics::ALERTS;
use cloudsage_schemas::{Alert, Message as _};

#[derive(Default)]
pub struct DeliveryProcessor;

impl Processor for DeliveryProcessor {
    type Input = Alert;

    fn name(&self) -> &'static str {
        "delivery"
    }

    fn input_topics(&self) -> Vec<&'static str> {
        vec![ALERTS]
    }

    fn decode(&self, msg: &InMessage) -> Result<Alert, String> {
        Alert::decode(&msg.payload).map_err(|e| e.to_string())
    }

    fn process(&mut self, _msg: &InMessage, alert: Alert, _now_ms: i64, out: &mut Outputs) {
        out.deliveries.push(alert);
    }
}
