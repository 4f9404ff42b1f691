//! The `cloudsage` command's library: the all-in-one run, file ingestion, the sample
//! generator and the run report. `main.rs` is only argument parsing.

pub mod generate;
pub mod ingest;
pub mod report;
pub mod run;
pub mod templates;
