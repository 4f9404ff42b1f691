//! The notifier, in two loops joined by the `alerts` topic (the record of truth):
//!
//! - rule evaluation: [`rules`] (`[[notifier.rules]]` as pure functions and a pending/firing
//!   state machine) driven by [`evaluator`], consuming `windows.scored` and `forecasts` and
//!   producing alert state changes to `alerts`;
//! - delivery: [`delivery`] consumes `alerts` and hands each to the [`receivers`], committing
//!   only after success or a permanent failure (then `alerts.dlq`); [`payload`] renders the
//!   Alertmanager-compatible webhook body.

pub mod decision;
pub mod delivery;
pub mod evaluator;
pub mod incidents;
pub mod payload;
pub mod receivers;
pub mod routing;
pub mod rules;
pub mod silences;

pub use delivery::DeliveryProcessor;
pub use delivery::RoutedDelivery;
pub use evaluator::EvaluatorProcessor;
pub use receivers::Receivers;
