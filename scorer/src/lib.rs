//! The scorer: turns `logs.raw` into one scored window per (project, service) and window.
//!
//! - [`event`]: a raw record → the event the windows count (pure).
//! - [`window`]: event-time tumbling windows with a watermark per input partition (pure).
//! - [`score`]: a closed window's counts → score, factors, labels (pure).
//! - [`processor`]: the adapter the shared runtime drives.

pub mod event;
pub mod processor;
pub mod score;
pub mod window;

pub use processor::ScorerProcessor;
