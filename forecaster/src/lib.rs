//! The forecaster: after each scored window, where is this series' risk heading?
//!
//! - [`model`]: damped Holt / Holt-Winters with per-series parameters and intervals (pure).
//! - [`history`]: a series' bounded history, recent windows and hourly means (pure).
//! - [`fitting`]: which model the history supports, lead times in model steps (pure).
//! - [`backtest`]: rolling forecast error per lead time (pure).
//! - [`confidence`]: confidence and its explanation (pure).
//! - [`chain`]: which reasoning chain applies (pure).
//! - [`actions`]: the rule table that proposes three actions (pure).
//! - [`feedback`]: learning from users' verdicts on actions, re-ranking them (pure).
//! - [`forecast`]: the whole decision for one window, with its chain steps (pure).
//! - [`series`]: one series' state and what a new window does to it (pure).
//! - [`processor`]: the adapter the shared runtime drives.
//! - [`enrich`]: optional LLM enrichment of forecasts, off the pipeline's path.

pub mod actions;
pub mod backtest;
pub mod chain;
pub mod confidence;
pub mod enrich;
pub mod feedback;
pub mod fitting;
pub mod forecast;
pub mod history;
pub mod model;
pub mod processor;
pub mod series;

pub use processor::ForecasterProcessor;
