//! The operations endpoint every binary serves: `/health` (ready only when the broker and
//! ClickHouse answer) and `/metrics` (Prometheus text).

use crate::kafka::KafkaSink;
use crate::metrics::Metrics;
use crate::warehouse::Warehouse;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What `/health` checks.
#[derive(Clone)]
pub struct Health {
    pub broker: Option<Arc<KafkaSink>>,
    pub warehouse: Option<Warehouse>,
}

impl Health {
    /// `Ok` with per-dependency states when every configured dependency answers.
    pub async fn check(&self) -> (bool, serde_json::Value) {
        let broker = match &self.broker {
            None => "not configured".to_string(),
            Some(b) => {
                let b = b.clone();
                match tokio::task::spawn_blocking(move || b.ping()).await {
                    Ok(Ok(())) => "ok".into(),
                    Ok(Err(e)) => format!("unreachable: {e}"),
                    Err(e) => format!("check failed: {e}"),
                }
            }
        };
        let clickhouse = match &self.warehouse {
            None => "not configured".to_string(),
            Some(w) => match w.ping().await {
                Ok(()) => "ok".into(),
                Err(e) => format!("unreachable: {e}"),
            },
        };
        let ready = [&broker, &clickhouse]
            .iter()
            .all(|s| *s == "ok" || *s == "not configured");
        let body = serde_json::json!({
            "status": if ready { "ready" } else { "not ready" },
            "kafka": broker,
            "clickhouse": clickhouse,
        });
        (ready, body)
    }
}

#[derive(Clone)]
struct OpsState {
    health: Health,
    metrics: Metrics,
}

async fn health_handler(State(s): State<OpsState>) -> impl IntoResponse {
    let (mut ready, mut body) = s.health.check().await;
    // A ping can succeed while inserts fail (or fail between two pings): what the stage's
    // own writes report counts too.
    if s.metrics.clickhouse_writes_failing.get() > 0 {
        ready = false;
        body["status"] = "not ready".into();
        body["clickhouse_writes"] = "failing".into();
    }
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

async fn metrics_handler(State(s): State<OpsState>) -> impl IntoResponse {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

/// `/health` and `/metrics`, to merge into a binary's own router.
pub fn ops_router(health: Health, metrics: Metrics) -> Router {
    Router::new()
        .route("/health", get(health_handler))
        .route("/metrics", get(metrics_handler))
        .with_state(OpsState { health, metrics })
}

/// Serves `router` until `shutdown` fires.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "http listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn health_status(metrics: &Metrics) -> StatusCode {
        let state = OpsState {
            health: Health {
                broker: None,
                warehouse: None,
            },
            metrics: metrics.clone(),
        };
        health_handler(State(state)).await.into_response().status()
    }

    #[tokio::test]
    async fn not_ready_while_clickhouse_writes_fail() {
        let metrics = Metrics::new();
        assert_eq!(health_status(&metrics).await, StatusCode::OK);
        metrics.clickhouse_writes_failing.inc();
        assert_eq!(
            health_status(&metrics).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        metrics.clickhouse_writes_failing.dec();
        assert_eq!(health_status(&metrics).await, StatusCode::OK);
    }
}
