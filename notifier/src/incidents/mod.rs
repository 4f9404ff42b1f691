//! Incidents: alerts of one group close in time, with a severity and suggested remediation.
//!
//! Pure logic: [`signal`] turns `alerts` records and vendor records of `logs.raw` into one
//! [`signal::Signal`] shape, [`grouping`] folds signals into incidents by group key within
//! the configured window (event time), [`severity`] grades them and [`suggest`] proposes
//! actions. [`processor`] is the runtime adapter (the notifier's third loop), which also asks
//! the [`crate::decision`] engine what to do.
//!
//! External alerts: the ingestor records Datadog, CloudWatch and Sentry alerts on `logs.raw`
//! with `source` = the vendor and `fields["level"]`. The incident loop also reads `logs.raw`
//! and keeps only Avro records whose `source` is in `incidents.external_sources` and whose
//! level is `warn` or worse (firing) or `info` (recovered); everything else is skipped
//! without a dead letter (the scorer owns `logs.raw`'s DLQ). GitHub workflow runs whose
//! workflow or line mentions "deploy" and that succeeded are deploy markers for rollbacks.

pub mod grouping;
pub mod processor;
pub mod service;
pub mod severity;
pub mod signal;
pub mod suggest;

pub use grouping::{Grouper, Incident};
pub use processor::IncidentProcessor;
pub use signal::{Signal, SignalKind};
pub use suggest::Suggestion;
