//! `POST /v1/silences`, `GET /v1/silences`, `DELETE /v1/silences/{id}` on the notifier's
//! ops port. A new silence names its matchers (route syntax), its end (`ends_at`, RFC 3339,
//! or `duration`, e.g. `2h`), `created_by` and a `comment`; the answer carries its id.

use super::{new_id, store, Silence, Silences};
use crate::routing::matcher::parse_all;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use cloudsage_runtime::warehouse::Warehouse;
use serde::Deserialize;
use serde_json::json;
use std::time::UNIX_EPOCH;

/// The body of `POST /v1/silences`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Matchers, e.g. `["service=checkout", "severity=~warning|info"]` (at least one).
    pub matchers: Vec<String>,
    /// Start, RFC 3339; default now.
    pub starts_at: Option<String>,
    /// End, RFC 3339; or give `duration`.
    pub ends_at: Option<String>,
    /// Length from the start, e.g. `2h`.
    pub duration: Option<String>,
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
}

fn rfc3339_ms(s: &str) -> anyhow::Result<i64> {
    let t = humantime::parse_rfc3339_weak(s)
        .map_err(|e| anyhow::anyhow!("{s:?} is not an RFC 3339 time: {e}"))?;
    Ok(t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64))
}

impl NewSilence {
    /// Validates the request into a silence with a new id (pure: `now_ms` is passed in).
    pub fn into_silence(self, now_ms: i64) -> anyhow::Result<Silence> {
        let matchers = parse_all(&self.matchers)?;
        anyhow::ensure!(!matchers.is_empty(), "at least one matcher is needed");
        anyhow::ensure!(!self.created_by.trim().is_empty(), "created_by is required");
        let starts = self
            .starts_at
            .as_deref()
            .map(rfc3339_ms)
            .transpose()?
            .unwrap_or(now_ms);
        let ends = match (&self.ends_at, &self.duration) {
            (Some(e), None) => rfc3339_ms(e)?,
            (None, Some(d)) => {
                let d = humantime::parse_duration(d)
                    .map_err(|e| anyhow::anyhow!("duration {d:?}: {e}"))?;
                starts + d.as_millis() as i64
            }
            _ => anyhow::bail!("give exactly one of ends_at and duration"),
        };
        anyhow::ensure!(
            ends > starts && ends > now_ms,
            "the silence would end before it starts or now"
        );
        Ok(Silence {
            id: new_id(now_ms),
            matchers,
            starts_at_ms: starts,
            ends_at_ms: ends,
            created_by: self.created_by,
            comment: self.comment,
        })
    }
}

#[derive(Clone)]
struct ApiState {
    silences: Silences,
    warehouse: Option<Warehouse>,
}

fn error(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (code, Json(json!({ "error": msg.to_string() }))).into_response()
}

async fn create(State(s): State<ApiState>, body: axum::body::Bytes) -> Response {
    let now = cloudsage_runtime::driver::now_ms();
    let req: NewSilence = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let silence = match req.into_silence(now) {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    if let Some(w) = &s.warehouse {
        if let Err(e) = store::save(w, &silence, now).await {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("storing the silence failed: {e}"),
            );
        }
    }
    tracing::info!(id = %silence.id, created_by = %silence.created_by, matchers = ?silence.view(now).matchers, "silence created");
    let view = silence.view(now);
    s.silences.upsert(silence);
    (
        StatusCode::CREATED,
        Json(json!({ "id": view.id, "silence": view })),
    )
        .into_response()
}

async fn list(State(s): State<ApiState>) -> Response {
    Json(json!({ "silences": s.silences.list(cloudsage_runtime::driver::now_ms()) }))
        .into_response()
}

async fn expire(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let now = cloudsage_runtime::driver::now_ms();
    let Some(silence) = s.silences.expire(&id, now) else {
        return error(StatusCode::NOT_FOUND, format!("no silence {id}"));
    };
    if let (Some(w), false) = (&s.warehouse, id.starts_with("config-")) {
        if let Err(e) = store::save(w, &silence, now).await {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("storing the expiry failed: {e}"),
            );
        }
    }
    tracing::info!(%id, "silence expired");
    Json(json!({ "id": id, "silence": silence.view(now) })).into_response()
}

/// The silences API, to merge into the ops router.
pub fn router(silences: Silences, warehouse: Option<Warehouse>) -> Router {
    Router::new()
        .route("/v1/silences", get(list).post(create))
        .route("/v1/silences/{id}", delete(expire))
        .with_state(ApiState {
            silences,
            warehouse,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> anyhow::Result<Silence> {
        serde_json::from_value::<NewSilence>(json)?.into_silence(1_000_000)
    }

    #[test]
    fn duration_or_end_make_the_span() {
        let s = req(json!({"matchers": ["service=cart"], "duration": "1h", "created_by": "ana"}))
            .unwrap();
        assert_eq!(
            (s.starts_at_ms, s.ends_at_ms),
            (1_000_000, 1_000_000 + 3_600_000)
        );
        let s = req(json!({"matchers": ["service=cart"], "ends_at": "2030-01-01T00:00:00Z", "created_by": "ana"})).unwrap();
        assert_eq!(s.ends_at_ms, 1_893_456_000_000);
    }

    #[test]
    fn bad_requests_are_refused() {
        for bad in [
            json!({"matchers": [], "duration": "1h", "created_by": "a"}),
            json!({"matchers": ["x=1"], "created_by": "a"}),
            json!({"matchers": ["x=1"], "duration": "1h", "ends_at": "2030-01-01T00:00:00Z", "created_by": "a"}),
            json!({"matchers": ["x=1"], "duration": "1h", "created_by": " "}),
            json!({"matchers": ["x=~("], "duration": "1h", "created_by": "a"}),
            json!({"matchers": ["x=1"], "ends_at": "1970-01-01T00:00:01Z", "created_by": "a"}),
        ] {
            assert!(req(bad.clone()).is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<NewSilence>(
            json!({"matchers": [], "created_by": "a", "x": 1})
        )
        .is_err());
    }
}
