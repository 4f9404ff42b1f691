//! The shared stage runtime: one consume → process → produce → write → commit loop
//! ([`driver::Driver`]) over Kafka or in-memory channels, with the same configuration,
//! health, metrics and shutdown behaviour for every CloudSage binary.

pub mod app;
pub mod checkpoints;
pub mod config;
pub mod deliver;
pub mod driver;
pub mod events;
pub mod kafka;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod migrations;
pub mod process;
pub mod resume_gap;
pub mod rows;
pub mod server;
pub mod shutdown;
pub mod stage;
pub mod testkit;
pub mod transport;
pub mod warehouse;

pub use config::Config;
pub use stage::{InMessage, Outputs, PartitionId, Processor, TableRow, WindowTemplate};
