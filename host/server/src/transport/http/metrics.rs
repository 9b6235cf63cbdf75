//! `GET /metrics`: every metric in the Prometheus text format, on the MCP listener (behind its
//! authentication, like `/mcp`) or on a listener of its own (`--metrics-addr`, for stdio
//! deployments and scrapers that cannot hold a token).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use capsule_telemetry::{CONTENT_TYPE, PrometheusMetrics};
use tokio_util::sync::CancellationToken;

async fn render(State(metrics): State<Arc<PrometheusMetrics>>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()).into_response()
}

/// The `/metrics` route, to merge into a router.
pub fn routes(metrics: Arc<PrometheusMetrics>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(metrics)
}

/// Serve `/metrics` alone on `listener` until `shutdown`.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<PrometheusMetrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?addr, "serving Prometheus metrics at /metrics");
    axum::serve(listener, routes(metrics))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
