//! Side effects that are not "produce a record": delivering alerts to people. The notifier
//! implements [`Deliverer`]; every other stage uses [`NoDelivery`].

use crate::stage::NotificationRecord;
use cloudsage_schemas::Alert;
use std::future::Future;

/// The outcome of delivering one alert to every receiver it routes to.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// One record per receiver attempted (history and the dedup log).
    pub notifications: Vec<NotificationRecord>,
    /// Set when a receiver failed permanently: the alert goes to `alerts.dlq` with it.
    pub permanent_failure: Option<String>,
}

pub trait Deliverer: Send + Sync + 'static {
    /// Delivers, retrying transient failures itself; returns only when each receiver either
    /// succeeded, was already notified earlier (dedup), or failed permanently.
    fn deliver(&self, alert: &Alert) -> impl Future<Output = DeliveryReport> + Send;
}

/// For stages that deliver nothing.
pub struct NoDelivery;

impl Deliverer for NoDelivery {
    async fn deliver(&self, _alert: &Alert) -> DeliveryReport {
        DeliveryReport::default()
    }
}
