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
//! * [`prepared`]: masking and hashing ahead of a miner, e.g. on other
//!   threads ([`TemplateMiner::add_prepared`]);
//! * [`accuracy`]: the grouping accuracy metric used to benchmark the miner.
//!
//! Typical hot path:
//!
//! ```
//! use logparse::{extract_features, parse_line, ParseConfig, TemplateMiner};
//!
//! let cfg = ParseConfig::default();
//! let mut miner = TemplateMiner::default();
//! let line = "2024-01-02 03:04:05,123 ERROR [main] app.Db: query took 350 ms";
//! let ev = parse_line(line, &cfg);
//! let feats = extract_features(&ev);
//! let m = miner.add(&ev.message);
//! assert_eq!(feats.latency_ms, Some(350.0));
//! assert_eq!(m.template, "query took <*>");
//! println!("{} {}", m.template_id, m.template);
//! ```
//!
//! [`TemplateMiner::add_with_features`] (features and mining) and
//! [`extract_features_and_mask`] (features and the masked message, what the
//! scorer keeps) give the same results as the separate calls, splitting the
//! message into words once for both.

pub mod accuracy;
pub mod drain;
#[cfg(test)]
mod every_word;
pub mod features;
pub mod format;
pub mod level;
pub mod mask;
pub mod multiline;
pub mod prepared;
pub mod timestamp;
#[cfg(target_arch = "x86_64")]
mod token_scan;

#[doc(hidden)]
pub mod fuzzing;

pub use accuracy::grouping_accuracy;
pub use drain::{ClusterId, MatchResult, MinerConfig, TemplateId, TemplateInfo, TemplateMiner};
pub use features::{extract_features, extract_features_and_mask, Features};
pub use format::{
    detect_format, parse_line, Field, Fields, Format, ParseConfig, ParsedEvent, Parser,
};
pub use level::{detect_level, map_level_name, Severity};
pub use multiline::{MultilineConfig, MultilineJoiner};
pub use prepared::PreparedMessages;
pub use timestamp::TimeConfig;
