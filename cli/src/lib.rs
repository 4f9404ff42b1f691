//! The `cloudsage` command's library: the all-in-one run, file ingestion, the sample
//! generator and the run report. `main.rs` is only argument parsing.

pub mod alerts;
pub mod analytics;
pub mod bench;
pub mod detect;
pub mod export;
pub mod feedback;
pub mod follow;
pub mod forecast_cmd;
pub mod generate;
pub mod ingest;
pub mod report;
pub mod risk;
pub mod run;
pub mod scenarios;
pub mod soak;
pub mod templates;
