//! The middleware on `/mcp` that admits a request before rmcp sees it: body limit and screening,
//! the session and stream caps of [`super::limits`], and in-flight accounting for graceful
//! shutdown.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde_json::Value;

use super::limits::{self, ANONYMOUS, Counter, Slot};
use super::{jsonrpc_reply, screen_body};
use crate::shutdown::InFlight;
use crate::transport::tasks_2025::route_body;
use capsule_auth::Principal;
use tokio_util::sync::CancellationToken;

/// State of [`admit`].
#[derive(Clone)]
pub struct Admission {
    pub max_body: usize,
    /// Each admitted request counts as in flight until its response has been sent.
    pub in_flight: InFlight,
    /// Cancelled at shutdown once the calls in flight have finished: every request is then
    /// refused with `503`, `Connection: close` and nothing run.
    pub refusing: CancellationToken,
    pub sessions: Arc<Counter>,
    pub streams: Arc<Counter>,
}

/// The subject a request acts for: the authenticated principal's, else [`ANONYMOUS`].
fn subject_of(request: &Request) -> String {
    request
        .extensions()
        .get::<Arc<Principal>>()
        .map_or_else(|| ANONYMOUS.to_string(), |p| p.subject.clone())
}

/// Keep `held` until the body of `response` has been sent (or dropped).
fn hold_until_sent<T: Send + Sync + 'static>(response: Response, held: T) -> Response {
    let (parts, body) = response.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _held_until_the_body_ends = &held;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// The answer to a request that arrives while the server shuts down: `503 Service Unavailable`
/// with `Connection: close` and `Retry-After: 1` (RFC 9110 §15.6.4, §10.2.3). Nothing of it was
/// run, so a load balancer may send it to another replica.
fn shutting_down() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (axum::http::header::CONNECTION, "close"),
            (axum::http::header::RETRY_AFTER, "1"),
        ],
        "Service Unavailable: the server is shutting down; retry the request (another replica \
         will take it)\n",
    )
        .into_response()
}

/// What [`admit`] reads of a POST body.
#[derive(serde::Deserialize)]
struct Head {
    method: Option<String>,
    id: Option<Value>,
}

/// Middleware on `/mcp`:
/// - `GET` (an SSE stream): holds a place of the subject's streams ([`limits::STREAMS`]) while
///   the stream is open, or is refused (`429`);
/// - `POST`: read the body within the limit (`413`), screen it (`400`); an `initialize` without
///   `Mcp-Session-Id` reserves a session place ([`limits::SESSIONS`]; refused with `429`/`503`),
///   a `subscriptions/listen` a stream place; and count the request as in flight until its
///   response body has been sent, so that graceful shutdown waits for a request that arrived
///   before the signal even if no plugin call has started yet.
pub async fn admit(State(admission): State<Admission>, request: Request, next: Next) -> Response {
    // Counted first, then checked: shutdown cancels `refusing` and then waits for what is in
    // flight, so a request is either refused here or waited for.
    let in_flight = admission.in_flight.token();
    if admission.refusing.is_cancelled() {
        return shutting_down();
    }
    if request.method() == Method::GET {
        return match admission.streams.acquire(&subject_of(&request)) {
            Ok(slot) => hold_until_sent(next.run(request).await, slot),
            Err(refusal) => admission.streams.refuse(&refusal, None),
        };
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let max_body = admission.max_body;
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, max_body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Payload Too Large: the request body exceeds {max_body} bytes\n"),
            )
                .into_response();
        }
    };
    if let Err(error) = screen_body(&bytes) {
        return jsonrpc_reply(StatusCode::BAD_REQUEST, &error);
    }
    // A 2025-11-25 client's task request goes to the server's own handling (rmcp 3.9 has none).
    let version = parts
        .headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok());
    let bytes = route_body(bytes, version);
    let head: Head = serde_json::from_slice(&bytes).unwrap_or(Head {
        method: None,
        id: None,
    });
    let request = Request::from_parts(parts, Body::from(bytes));
    let subject = subject_of(&request);
    let mut stream_slot: Option<Slot> = None;
    let mut session_slot: Option<Slot> = None;
    match head.method.as_deref() {
        Some("subscriptions/listen") => match admission.streams.acquire(&subject) {
            Ok(slot) => stream_slot = Some(slot),
            Err(refusal) => return admission.streams.refuse(&refusal, head.id.as_ref()),
        },
        Some("initialize") if !request.headers().contains_key("mcp-session-id") => {
            match admission.sessions.acquire(&subject) {
                Ok(slot) => session_slot = Some(slot),
                Err(refusal) => return admission.sessions.refuse(&refusal, head.id.as_ref()),
            }
        }
        _ => {}
    }
    let response = match session_slot {
        Some(slot) => limits::with_reserved_slot(slot, next.run(request)).await,
        None => next.run(request).await,
    };
    hold_until_sent(response, (in_flight, stream_slot))
}
