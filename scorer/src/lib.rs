//! The scorer: turns `logs.raw` into one scored window per (project, service) and window.
//!
//! - [`event`]: a raw record → the event the windows count (pure).
//! - [`window`]: event-time tumbling windows with a watermark per input partition (pure).
//! - [`stats`]: what an open window accumulates (counts, latency histogram, templates).
//! - [`baseline`]: what a series has learned from its closed windows (pure).
//! - [`score`]: a closed window's statistics against the baseline → score, factors,
//!   labels (pure).
//! - [`dedup`]: the lines of a retried HTTP request, recognised by their ingest ids (pure).
//! - [`rules`]: per-project weights, thresholds and ignored patterns.
//! - [`processor`]: the adapter the shared runtime drives.

pub mod baseline;
pub mod dedup;
pub mod event;
pub mod processor;
pub mod rules;
pub mod score;
pub mod stats;
pub mod window;

pub use processor::ScorerProcessor;
