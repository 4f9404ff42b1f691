//! `logparse`: the parsing library of CloudSage's scorer hot path.
//!
//! * [`level`]: severity detection and the OpenTelemetry severity mapping;
//! * [`format`]: per-line format detection and parsing into a
//!   [`ParsedEvent`] (JSON, logfmt, syslog RFC 3164 / RFC 5424, access logs,
//!   plain text), with [`timestamp`] parsing;
//! * [`features`]: per-event numeric signals (latency, memory, CPU, HTTP
//!   status class, error signatures);
//! * [`multiline`]: a streaming joiner for stack traces;
//! * [`mask`] and [`drain`]: variable masking and a streaming Drain-class
//!   template miner with stable template ids;
//! * [`accuracy`]: the grouping accuracy metric used to benchmark the miner.

pub mod accuracy;
pub mod drain;
pub mod mask;

pub use accuracy::grouping_accuracy;
pub use drain::{ClusterId, MatchResult, MinerConfig, TemplateId, TemplateInfo, TemplateMiner};
