//! The forecaster: after each scored window, where is this series' risk heading?
//!
//! - [`trend`]: least-squares trend with a prediction interval (pure).
//! - [`chain`]: which reasoning chain applies (pure).
//! - [`actions`]: the rule table that proposes three actions (pure).
//! - [`forecast`]: the whole decision for one window, with its chain steps (pure).
//! - [`processor`]: the adapter the shared runtime drives.

pub mod actions;
pub mod chain;
pub mod forecast;
pub mod processor;
pub mod trend;

pub use processor::ForecasterProcessor;
