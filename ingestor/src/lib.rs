//! The ingestor: puts logs (and metric samples, and vendor alerts) onto `logs.raw`.
//!
//! - [`body`]: a request body (text lines, NDJSON, JSON array or object) → records and rejects
//!   (pure).
//! - [`metric`]: the metric-sample convention (`fields["metric.name"]`, `fields["metric.value"]`).
//! - [`encoding`]: `Content-Encoding: gzip` with a cap on the decompressed size.
//! - [`multipart`]: `multipart/form-data` file uploads (field `file`, optional `service`).
//! - [`webhooks`]: Datadog, CloudWatch (SNS), Sentry and GitHub payloads → records (pure).
//! - [`auth`]: bearer token → project (pure).
//! - [`idempotency`]: the `Idempotency-Key` header; a retried request's lines are scored once.
//! - [`ratelimit`]: per-project request rate limits.
//! - [`error`]: the JSON error answer.
//! - [`api`]: the HTTP adapter (`POST /v1/logs`, `POST /v1/webhooks/<vendor>`).
//! - [`feedback`]: `POST /v1/feedback`, users' verdicts on actions → `feedback`.

pub mod api;
pub mod auth;
pub mod body;
pub mod encoding;
pub mod error;
pub mod feedback;
pub mod idempotency;
pub mod metric;
pub mod multipart;
pub mod ratelimit;
pub mod webhooks;

pub use api::{router, IngestState};
