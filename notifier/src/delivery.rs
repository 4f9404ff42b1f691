//! Delivery adapters: consume `alerts` and ask the runtime to deliver; the offset is
//! committed only after every receiver succeeded, was already notified (dedup), or failed
//! permanently (then the alert goes to `alerts.dlq`).
//!
//! - [`DeliveryProcessor`]: every alert to every receiver, at once (no routing);
//! - [`RoutedDelivery`]: routes, groups, silences and quiet hours ([`crate::routing`]). Alerts
//!   held in a group keep the committed offset at the oldest of them
//!   ([`Processor::retained_offset`]), so a restart reads them again and rebuilds the
//!   groups; the notification log keeps replays from notifying twice.

use crate::routing::{Emitted, Router};
use crate::silences::Silences;
use cloudsage_runtime::config::NotifierConfig;
use cloudsage_runtime::{InMessage, Outputs, PartitionId, Processor, TableRow};
use cloudsage_schemas::topics::ALERTS;
use cloudsage_schemas::{Alert, Message as _};

#[derive(Default)]
pub struct DeliveryProcessor;

impl DeliveryProcessor {
    /// The routing delivery loop for `c`, muting alerts matched by `silences`.
    pub fn routed(c: &NotifierConfig, silences: Silences) -> anyhow::Result<RoutedDelivery> {
        Ok(RoutedDelivery {
            router: Router::new(c, silences)?,
        })
    }
}

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

/// The delivery loop with routing (same consumer group as [`DeliveryProcessor`]).
pub struct RoutedDelivery {
    router: Router,
}

fn emit(e: Emitted, out: &mut Outputs) {
    out.deliveries.extend(e.notifications);
    out.rows
        .extend(e.records.into_iter().map(TableRow::Notification));
}

impl Processor for RoutedDelivery {
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

    fn process(&mut self, msg: &InMessage, alert: Alert, now_ms: i64, out: &mut Outputs) {
        let mut e = Emitted::default();
        self.router
            .ingest(&alert, (msg.partition_id(), msg.offset), now_ms, &mut e);
        emit(e, out);
    }

    fn on_tick(&mut self, now_ms: i64, out: &mut Outputs) {
        let mut e = Emitted::default();
        self.router.tick(now_ms, &mut e);
        emit(e, out);
    }

    fn finish(&mut self, out: &mut Outputs) {
        // End of a finite input: send what is due now. Groups still waiting stay unsent
        // (and uncommitted: their offsets are retained).
        let mut e = Emitted::default();
        self.router
            .tick(cloudsage_runtime::driver::now_ms(), &mut e);
        emit(e, out);
    }

    fn retained_offset(&self, p: &PartitionId) -> Option<i64> {
        self.router.retained_offset(p)
    }

    fn forget(&mut self, p: &PartitionId) {
        self.router.forget(p);
    }
}
