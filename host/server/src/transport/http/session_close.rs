//! `DELETE /mcp` (MCP 2025-11-25, basic/transports, "Session Management": a client that no longer
//! needs its session sends `DELETE` with its `Mcp-Session-Id`) answers `200 OK` with an empty body.
//!
//! rmcp answers a successful close with `202 Accepted`, which the specification does not name and
//! clients do not expect: the official Python SDK accepts `200` and `204` only and logs "Session
//! termination failed: 202" on every close (issue #21). Refusals (`404` unknown session, `400`,
//! `405`) pass through unchanged.

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Middleware (`axum::middleware::from_fn`): a `DELETE` answered `202 Accepted` becomes
/// `200 OK`; everything else passes through.
pub async fn ok_when_closed(request: Request, next: Next) -> Response {
    let delete = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    if delete && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}
