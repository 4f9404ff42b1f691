//! The HTTP adapter. `POST /v1/logs` (text, NDJSON, JSON, or a `multipart/form-data` file
//! upload; optionally `Content-Encoding: gzip`) and `POST /v1/webhooks/<vendor>`: authenticate,
//! rate-limit per project, decode, produce to `logs.raw` (rejects to `logs.raw.dlq`), answer
//! 202 with counts. `POST /v1/feedback` (see [`crate::feedback`]) produces a user's verdict
//! on an action to `feedback`. Every error is a JSON body (`{"error": "...", "status": N}`) a person can
//! act on.

use crate::auth::TokenTable;
use crate::body::{parse_body, BodyFormat, Parsed, Rejected};
use crate::encoding::{gunzip_limited, ContentEncoding, GunzipError};
use crate::error::ApiError;
use crate::multipart::{is_multipart, read_upload};
use crate::ratelimit::{retry_after_secs, ProjectLimits};
use crate::webhooks::{self, Outcome, Vendor};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cloudsage_runtime::config::IngestorConfig;
use cloudsage_runtime::driver::now_ms;
use cloudsage_runtime::metrics::{labels, Metrics};
use cloudsage_runtime::stage::OutRecord;
use cloudsage_runtime::transport::Sink;
use cloudsage_schemas::topics::{dead_letter_topic, LOGS_RAW};
use cloudsage_schemas::{DeadLetter, Message as _, RawDefaults, RawLog};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub struct IngestState<S: Sink> {
    pub tokens: TokenTable,
    pub sink: S,
    /// Largest body as sent (compressed, if it is).
    pub max_body_bytes: usize,
    /// Largest body after `Content-Encoding: gzip` is undone.
    pub max_decompressed_bytes: usize,
    pub default_service: String,
    pub metrics: Metrics,
    /// Per-project request rate limits.
    pub limits: ProjectLimits,
    /// Client for confirming AWS SNS subscriptions; injectable so tests can use a local server.
    pub http: reqwest::Client,
    /// Hosts a `SubscribeURL` may point at (`.suffix` matches subdomains).
    pub sns_confirm_hosts: Vec<String>,
}

impl<S: Sink> IngestState<S> {
    /// The state for `[ingestor]`, producing to `sink`.
    pub fn from_config(c: &IngestorConfig, sink: S, metrics: Metrics) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(c.webhooks.sns_confirm_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        TokenTable::validate(c)?;
        Ok(Self {
            tokens: TokenTable::from_config(c),
            sink,
            max_body_bytes: c.max_body_bytes,
            max_decompressed_bytes: c.max_decompressed_bytes,
            default_service: c.default_service.clone(),
            metrics,
            limits: ProjectLimits::from_config(c),
            http,
            sns_confirm_hosts: c.webhooks.sns_confirm_hosts.clone(),
        })
    }
}

/// The key of a `logs.raw` record: `project/service`, so a series stays in one partition.
pub fn series_key(project: &str, service: &str) -> String {
    format!("{project}/{service}")
}

/// Records to produce for decoded logs.
pub fn log_records(logs: &[RawLog]) -> Vec<OutRecord> {
    logs.iter()
        .map(|r| OutRecord {
            topic: LOGS_RAW.to_string(),
            key: series_key(&r.project, &r.service).into_bytes(),
            payload: r.encode(),
        })
        .collect()
}

/// Dead-letter records for lines rejected at the HTTP edge. The dead letter's `key` is the
/// request's `Idempotency-Key`, if it sent one, and `offset` the line number: a retried request
/// produces its rejects again, and readers of `logs.raw.dlq` count (`key`, `offset`) once.
pub fn rejected_records(
    project: &str,
    rejected: &[Rejected],
    idempotency_key: Option<&str>,
) -> Vec<OutRecord> {
    rejected
        .iter()
        .map(|r| OutRecord {
            topic: dead_letter_topic(LOGS_RAW),
            key: project.as_bytes().to_vec(),
            payload: DeadLetter {
                source_topic: "http".into(),
                partition: -1,
                offset: r.line as i64,
                stage: "ingestor".into(),
                reason: r.reason.clone(),
                rejected_at_ms: now_ms(),
                key: idempotency_key.map(|k| k.as_bytes().to_vec()),
                payload: r.bytes.clone(),
            }
            .encode(),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct LogsQuery {
    /// Service for lines that name none.
    service: Option<String>,
}

/// The query, or a JSON 400 (axum's own rejection is plain text).
fn logs_query(q: Result<Query<LogsQuery>, QueryRejection>) -> Result<LogsQuery, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(format!(
            "unusable query string ({}): the only parameter is `service`, URL-encoded UTF-8",
            e.body_text()
        ))
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The project of the request's token, if it is within its rate limit.
pub(crate) fn authorize<S: Sink>(
    state: &IngestState<S>,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let project = state
        .tokens
        .project_for(header(headers, "authorization"))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or unknown bearer token: send `Authorization: Bearer <token>` with a token from [ingestor.projects.<name>]",
            )
        })?;
    if let Err(wait) = state.limits.check(project) {
        let secs = retry_after_secs(wait);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "project {project:?} is over its request rate limit: retry after {secs} s, send fewer, larger requests, or raise [ingestor.rate_limit]"
            ),
        )
        .with_retry_after(secs));
    }
    Ok(project.to_string())
}

/// The body, within the size caps, with its `Content-Encoding` undone.
pub(crate) async fn read_body<S: Sink>(
    state: &IngestState<S>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
    let encoding =
        ContentEncoding::from_header(header(headers, "content-encoding")).ok_or_else(|| {
            ApiError::unsupported(
                "unsupported Content-Encoding: send the body uncompressed or with `Content-Encoding: gzip`",
            )
        })?;
    let bytes = axum::body::to_bytes(body, state.max_body_bytes)
        .await
        .map_err(|e| {
            // Only the cap is the client's size problem; a body that ends early (shorter
            // than its Content-Length) or has broken chunking is malformed.
            if e.into_inner().is::<http_body_util::LengthLimitError>() {
                ApiError::too_large(format!(
                    "body larger than {} bytes: split it into smaller requests",
                    state.max_body_bytes
                ))
            } else {
                ApiError::bad_request(
                    "the request body could not be read (shorter than its Content-Length, or broken chunked encoding)",
                )
            }
        })?;
    match encoding {
        ContentEncoding::Identity => Ok(bytes),
        ContentEncoding::Gzip => {
            // Inflating up to the cap is CPU work: keep it off the async workers.
            let max = state.max_decompressed_bytes;
            let inflated = tokio::task::spawn_blocking(move || gunzip_limited(&bytes, max))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "gzip decoding task failed");
                    ApiError::bad_request("the gzip body could not be decoded")
                })?;
            match inflated {
                Ok(plain) => Ok(Bytes::from(plain)),
                Err(e @ GunzipError::TooLarge { .. }) => Err(ApiError::too_large(e.to_string())),
                Err(e @ GunzipError::Invalid(_)) => Err(ApiError::bad_request(e.to_string())),
            }
        }
    }
}

fn defaults<S: Sink>(
    state: &IngestState<S>,
    project: &str,
    service: Option<String>,
    headers: &HeaderMap,
) -> RawDefaults {
    RawDefaults {
        project: project.to_string(),
        service: service
            .filter(|s| !s.is_empty())
            .or_else(|| header(headers, "x-service").map(str::to_string))
            .unwrap_or_else(|| state.default_service.clone()),
        source: "http".into(),
        received_at_ms: now_ms(),
    }
}

/// The request's `Idempotency-Key`, if it sent one; a malformed one is a 400.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|v| crate::idempotency::parse_key(v.as_bytes()).map_err(ApiError::bad_request))
        .transpose()
}

/// Produces the records and rejects, and answers 202 with the counts. With an
/// `Idempotency-Key`, every line is tagged so that a retry of the request is scored once.
async fn deliver<S: Sink>(
    state: &IngestState<S>,
    project: &str,
    mut parsed: Parsed,
    idempotency_key: Option<String>,
) -> Result<Response, ApiError> {
    if let Some(key) = &idempotency_key {
        crate::idempotency::tag(&mut parsed.records, key);
    }
    let mut records = log_records(&parsed.records);
    records.extend(rejected_records(
        project,
        &parsed.rejected,
        idempotency_key.as_deref(),
    ));
    if let Err(e) = state.sink.send(records).await {
        tracing::error!(error = %e, "producing to logs.raw failed");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the log broker is unavailable; retry later",
        ));
    }
    state
        .metrics
        .records_out
        .get_or_create(&labels(&[("stage", "ingestor"), ("topic", LOGS_RAW)]))
        .inc_by(parsed.records.len() as u64);
    state
        .metrics
        .records_rejected
        .get_or_create(&labels(&[("stage", "ingestor"), ("topic", "http")]))
        .inc_by(parsed.rejected.len() as u64);
    let errors: Vec<_> = parsed
        .rejected
        .iter()
        .take(20)
        .map(|r| json!({ "line": r.line, "reason": r.reason }))
        .collect();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "accepted": parsed.records.len(),
            "rejected": parsed.rejected.len(),
            "errors": errors,
        })),
    )
        .into_response())
}

async fn post_logs<S: Sink + 'static>(
    State(state): State<Arc<IngestState<S>>>,
    q: Result<Query<LogsQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project = authorize(&state, &headers)?;
    let q = logs_query(q)?;
    let idempotency_key = idempotency_key(&headers)?;
    let content_type = header(&headers, "content-type");
    let multipart = is_multipart(content_type);
    let format = if multipart {
        BodyFormat::Text
    } else {
        BodyFormat::from_content_type(content_type).ok_or_else(|| {
            ApiError::unsupported(
                "unsupported Content-Type: use text/plain (one line per log), application/x-ndjson, application/json or multipart/form-data (field `file`)",
            )
        })?
    };
    let bytes = read_body(&state, &headers, body).await?;
    let (bytes, service) = if multipart {
        let upload = read_upload(content_type.unwrap_or_default(), bytes).await?;
        (upload.file, upload.service.or(q.service))
    } else {
        (bytes, q.service)
    };
    let defaults = defaults(&state, &project, service, &headers);
    let parsed = parse_body(format, &bytes, &defaults).map_err(ApiError::bad_request)?;
    if parsed.records.is_empty() && parsed.rejected.is_empty() {
        return Err(ApiError::bad_request("the body holds no log lines"));
    }
    deliver(&state, &project, parsed, idempotency_key).await
}

async fn post_webhook<S: Sink + 'static>(
    State(state): State<Arc<IngestState<S>>>,
    vendor: Result<Path<String>, PathRejection>,
    q: Result<Query<LogsQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A path that does not decode (e.g. `%ff`) names no vendor either.
    let vendor = vendor.map(|Path(v)| v).unwrap_or_default();
    let vendor = Vendor::from_name(&vendor).ok_or_else(|| {
        let known: Vec<_> = Vendor::ALL.iter().map(|v| v.name()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no webhook for {vendor:?}: use one of {}", known.join(", ")),
        )
    })?;
    let project = authorize(&state, &headers)?;
    let q = logs_query(q)?;
    let idempotency_key = idempotency_key(&headers)?;
    let bytes = read_body(&state, &headers, body).await?;
    let payload: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("{} webhook body is not JSON: {e}", vendor.name()))
    })?;
    let defaults = defaults(&state, &project, q.service, &headers);
    let event = header(&headers, "x-github-event");
    let parsed = match webhooks::normalize(vendor, &payload, event, &defaults) {
        Ok(Outcome::Records(records)) => Parsed {
            records: with_project(records, &project),
            rejected: vec![],
        },
        Ok(Outcome::Ignored(reason)) => {
            return Ok((
                StatusCode::OK,
                Json(json!({ "accepted": 0, "rejected": 0, "errors": [], "ignored": reason })),
            )
                .into_response())
        }
        Ok(Outcome::ConfirmSubscription { subscribe_url }) => {
            confirm_subscription(&state, &subscribe_url).await?;
            return Ok((
                StatusCode::OK,
                Json(json!({ "confirmed": true, "accepted": 0, "rejected": 0, "errors": [] })),
            )
                .into_response());
        }
        Err(reason) => Parsed {
            records: vec![],
            rejected: vec![Rejected {
                line: 1,
                reason,
                bytes: bytes.to_vec(),
            }],
        },
    };
    deliver(&state, &project, parsed, idempotency_key).await
}

fn with_project(mut records: Vec<RawLog>, project: &str) -> Vec<RawLog> {
    for r in &mut records {
        r.project = project.to_string();
    }
    records
}

/// Is `host` one of `allowed` (an entry starting with `.` matches the domain and subdomains)?
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allowed.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        match a.strip_prefix('.') {
            Some(domain) => host == domain || host.ends_with(&a),
            None => host == a,
        }
    })
}

/// Confirms an SNS subscription by fetching its `SubscribeURL` (http/https, allowed hosts).
async fn confirm_subscription<S: Sink>(state: &IngestState<S>, url: &str) -> Result<(), ApiError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::bad_request(format!("SNS SubscribeURL is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::bad_request(format!(
            "SNS SubscribeURL must be http or https, not {:?}",
            parsed.scheme()
        )));
    }
    let host = parsed.host_str().unwrap_or_default().to_string();
    if !host_allowed(&host, &state.sns_confirm_hosts) {
        return Err(ApiError::bad_request(format!(
            "SNS SubscribeURL host {host:?} is not allowed: add it to [ingestor.webhooks] sns_confirm_hosts"
        )));
    }
    let bad_gateway = |detail: String| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("confirming the SNS subscription failed ({detail}); SNS retries the confirmation, or confirm it in the AWS console"),
        )
    };
    let response = state
        .http
        .get(parsed)
        .send()
        .await
        .map_err(|e| bad_gateway(e.to_string()))?;
    if !response.status().is_success() {
        return Err(bad_gateway(format!(
            "SubscribeURL answered {}",
            response.status()
        )));
    }
    tracing::info!(%host, "confirmed an SNS subscription");
    Ok(())
}

/// The ingestor's API routes.
pub fn router<S: Sink + 'static>(state: Arc<IngestState<S>>) -> Router {
    Router::new()
        .route("/v1/logs", post(post_logs::<S>))
        .route("/v1/webhooks/{vendor}", post(post_webhook::<S>))
        .route("/v1/feedback", post(crate::feedback::post_feedback::<S>))
        // axum answers these with empty bodies; every answer of the API is a JSON error.
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such endpoint: POST /v1/logs, /v1/webhooks/<vendor> or /v1/feedback",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: the API only accepts POST",
            )
        })
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_hosts() {
        let allowed = vec![".amazonaws.com".to_string(), "127.0.0.1".to_string()];
        assert!(host_allowed("sns.eu-west-1.amazonaws.com", &allowed));
        assert!(host_allowed("amazonaws.com", &allowed));
        assert!(host_allowed("127.0.0.1", &allowed));
        assert!(!host_allowed("evilamazonaws.com", &allowed));
        assert!(!host_allowed("169.254.169.254", &allowed));
    }
}
