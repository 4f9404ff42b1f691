//! The ingestor: puts logs onto `logs.raw`.
//!
//! - [`body`]: a request body (text lines, NDJSON, JSON array) → records and rejects (pure).
//! - [`auth`]: bearer token → project (pure).
//! - [`api`]: the HTTP adapter (`POST /v1/logs`) and its JSON errors.

pub mod api;
pub mod auth;
pub mod body;

pub use api::{router, IngestState};
