//! Caps on what HTTP clients can hold open: 2025-11-25 sessions and long-lived streams, counted
//! in total and per subject (issue #14, part 10).
//!
//! - Sessions: Streamable HTTP `Mcp-Session-Id` sessions (MCP 2025-11-25 basic/transports,
//!   "Session Management") and legacy HTTP+SSE sessions (`GET /sse`, MCP 2024-11-05) share one
//!   [`Counter`]: at most `max_sessions` in all and `max_sessions_per_subject` per subject. The
//!   subject is the authenticated caller's ([`capsule_auth::Principal::subject`]), or
//!   [`ANONYMOUS`] without authentication. A session idle for `session_idle_timeout` ends (rmcp's
//!   `SessionConfig::keep_alive` for Streamable HTTP, [`crate::transport::http::legacy_sse`] for
//!   HTTP+SSE); the client's next request gets `404` and it initializes again, as the spec says.
//! - Streams: `GET /mcp` SSE streams and `subscriptions/listen` streams held open at once, at
//!   most `max_streams_per_subject` per subject.
//!
//! Refusals carry a JSON-RPC error body naming the limit and the flag that raises it:
//! - over a per-subject cap: `429 Too Many Requests` (RFC 6585 §4: this client holds too much;
//!   it can free some itself), JSON-RPC code [`RATE_LIMITED`], `Retry-After`;
//! - over the global cap: `503 Service Unavailable` (RFC 9110 §15.6.4: the server as a whole is
//!   at capacity, temporarily), JSON-RPC code [`SERVER_BUSY`], `Retry-After`.
//!
//! Streamable HTTP sessions are created inside rmcp, which does not know the subject: the `/mcp`
//! middleware reserves a [`Slot`] for an `initialize` request and hands it to
//! [`CountedSessions::create_session`] through a task-local; the slot is released when rmcp closes
//! the session (DELETE, idle expiry, shutdown), and then the hub and the session-owner table
//! forget the session at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::WorkerTransport;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker,
};
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};
use serde_json::{Value, json};

use crate::hub::Hub;
use crate::transport::http::auth::SessionOwners;
use crate::transport::tasks_2025::Adapted;
use capsule_common::codes::{RATE_LIMITED, SERVER_BUSY};
use capsule_common::sync::lock;
use capsule_telemetry::metrics;

/// The subject of requests when authentication is off.
pub const ANONYMOUS: &str = "anonymous";

/// Seconds a refused client is told to wait (`Retry-After`).
const RETRY_AFTER_SECS: u64 = 5;

/// The caps of [`Counter`]s and the idle expiry of sessions, as configured.
#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// Open sessions in all (Streamable HTTP 2025-11-25 and HTTP+SSE together).
    pub max_sessions: usize,
    /// Open sessions of one subject.
    pub max_sessions_per_subject: usize,
    /// A session with no request for this long ends (its next request gets `404`).
    pub session_idle_timeout: Duration,
    /// `GET /mcp` and `subscriptions/listen` streams of one subject open at once.
    pub max_streams_per_subject: usize,
    /// Open TCP connections in all ([`super::connections`]).
    pub max_connections: usize,
    /// How long a connection may wait for a complete request head: from when it opens and,
    /// between HTTP/1.1 requests, from when the previous response ended ([`super::connections`]).
    pub header_timeout: Duration,
}

impl ClientLimits {
    pub const DEFAULT_MAX_SESSIONS: usize = 1000;
    pub const DEFAULT_MAX_SESSIONS_PER_SUBJECT: usize = 100;
    pub const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(600);
    pub const DEFAULT_MAX_STREAMS_PER_SUBJECT: usize = 50;
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            max_sessions_per_subject: Self::DEFAULT_MAX_SESSIONS_PER_SUBJECT,
            session_idle_timeout: Self::DEFAULT_SESSION_IDLE_TIMEOUT,
            max_streams_per_subject: Self::DEFAULT_MAX_STREAMS_PER_SUBJECT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
        }
    }
}

/// What a [`Counter`] counts, for its refusal messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// Plural noun: `sessions`, `open streams`.
    pub what: &'static str,
    /// The flag of the global cap, if there is one.
    pub global_flag: Option<&'static str>,
    /// The flag of the per-subject cap.
    pub subject_flag: &'static str,
    /// What the client can do to free one.
    pub remedy: &'static str,
}

/// Sessions of both transports.
pub const SESSIONS: Kind = Kind {
    what: "sessions",
    global_flag: Some("--max-sessions"),
    subject_flag: "--max-sessions-per-subject",
    remedy: "end sessions you no longer use (Streamable HTTP: DELETE /mcp with their \
             Mcp-Session-Id; HTTP+SSE: close the /sse stream) or wait for idle ones to expire",
};

/// `GET /mcp` and `subscriptions/listen` streams.
pub const STREAMS: Kind = Kind {
    what: "open streams (GET /mcp, subscriptions/listen)",
    global_flag: None,
    subject_flag: "--max-streams-per-subject",
    remedy: "close a stream you no longer read",
};

/// Why a [`Counter`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The global cap is reached.
    Global { limit: usize },
    /// The subject's cap is reached.
    Subject { limit: usize, subject: String },
}

/// Counts what is open, in total and per subject, within caps.
pub struct Counter {
    kind: Kind,
    global: usize,
    per_subject: usize,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

impl Counter {
    /// A counter of at most `global` in total (`usize::MAX`: no global cap) and `per_subject`
    /// per subject.
    pub fn new(kind: Kind, global: usize, per_subject: usize) -> Arc<Self> {
        Arc::new(Self {
            kind,
            global,
            per_subject,
            open: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<String, usize>)> {
        lock(&self.open)
    }

    /// Take one place for `subject`, held until the [`Slot`] is dropped. Errors: a cap is
    /// reached (the subject's is checked first, so a client over its own cap learns that).
    pub fn acquire(self: &Arc<Self>, subject: &str) -> Result<Slot, Refusal> {
        let mut guard = self.lock();
        let (total, subjects) = &mut *guard;
        let mine = subjects.get(subject).copied().unwrap_or(0);
        if mine >= self.per_subject {
            return Err(Refusal::Subject {
                limit: self.per_subject,
                subject: subject.to_string(),
            });
        }
        if *total >= self.global {
            return Err(Refusal::Global { limit: self.global });
        }
        *total += 1;
        subjects.insert(subject.to_string(), mine + 1);
        let mut slot = Slot {
            counter: self.clone(),
            subject: subject.to_string(),
            opened: None,
        };
        if self.kind == STREAMS {
            slot.opened = Some(Instant::now());
            metrics::streams_active(1);
        }
        Ok(slot)
    }

    /// How many are open in total.
    pub fn total(&self) -> usize {
        self.lock().0
    }

    /// The refusal as an HTTP response: `429` or `503` with `Retry-After` and a JSON-RPC error
    /// whose `id` is `id` (`null` when the request had none).
    pub fn refuse(&self, refusal: &Refusal, id: Option<&Value>) -> Response {
        let kind = self.kind;
        let (status, code, message, limit) = match refusal {
            Refusal::Subject { limit, subject } => (
                StatusCode::TOO_MANY_REQUESTS,
                RATE_LIMITED,
                format!(
                    "Too Many Requests: subject '{subject}' holds its limit of {limit} {} \
                     ({} raises it); {}",
                    kind.what, kind.subject_flag, kind.remedy
                ),
                *limit,
            ),
            Refusal::Global { limit } => (
                StatusCode::SERVICE_UNAVAILABLE,
                SERVER_BUSY,
                format!(
                    "Service Unavailable: the server holds its limit of {limit} {} ({} raises \
                     it); retry later",
                    kind.what,
                    kind.global_flag.unwrap_or("no flag")
                ),
                *limit,
            ),
        };
        let body = json!({
            "jsonrpc": "2.0",
            "id": id.cloned().unwrap_or(Value::Null),
            "error": {"code": code, "message": message, "data": {"limit": limit, "retryAfter": RETRY_AFTER_SECS}},
        });
        let mut response = super::jsonrpc_reply(status, &body);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        response
    }
}

/// One place in a [`Counter`], given back on drop.
pub struct Slot {
    counter: Arc<Counter>,
    subject: String,
    /// When the stream or session it holds opened (for the active gauges and
    /// `mcp.server.session.duration`); `None` for a place only reserved.
    opened: Option<Instant>,
}

impl Slot {
    /// The place now holds a session (not only a reservation): it counts among the active
    /// sessions, and its duration is recorded when it closes.
    pub fn open_session(&mut self) {
        if self.opened.is_none() {
            self.opened = Some(Instant::now());
            metrics::sessions_active(1, metrics::network_transport(false));
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(opened) = self.opened {
            if self.counter.kind == STREAMS {
                metrics::streams_active(-1);
            } else {
                let transport = metrics::network_transport(false);
                metrics::sessions_active(-1, transport);
                metrics::session(None, transport, opened.elapsed());
            }
        }
        let mut guard = self.counter.lock();
        let (total, subjects) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = subjects.get_mut(&self.subject) {
            *n -= 1;
            if *n == 0 {
                subjects.remove(&self.subject);
            }
        }
    }
}

tokio::task_local! {
    /// The slot reserved for the session an `initialize` request may create.
    static RESERVED: Arc<Mutex<Option<Slot>>>;
}

/// Run `request` (the rest of the `/mcp` handling) with `slot` reserved for the session it may
/// create; if it creates none, the slot is given back when it returns.
pub async fn with_reserved_slot<F: Future>(slot: Slot, request: F) -> F::Output {
    RESERVED
        .scope(Arc::new(Mutex::new(Some(slot))), request)
        .await
}

/// rmcp's [`LocalSessionManager`] with each session holding a [`Slot`] of the session counter,
/// and the hub and session-owner table told when a session closes.
pub struct CountedSessions {
    inner: LocalSessionManager,
    counter: Arc<Counter>,
    slots: Mutex<HashMap<SessionId, Slot>>,
    hub: Arc<Hub>,
    owners: Arc<SessionOwners>,
}

impl CountedSessions {
    pub fn new(
        inner: LocalSessionManager,
        counter: Arc<Counter>,
        hub: Arc<Hub>,
        owners: Arc<SessionOwners>,
    ) -> Self {
        Self {
            inner,
            counter,
            slots: Mutex::default(),
            hub,
            owners,
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Slot>> {
        lock(&self.slots)
    }
}

impl SessionManager for CountedSessions {
    type Error = LocalSessionManagerError;
    /// Outgoing messages pass the 2025-11-25 tasks adapter ([`Adapted`]).
    type Transport = Adapted<WorkerTransport<LocalSessionWorker>>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let reserved = RESERVED.try_with(|cell| lock(cell).take()).ok().flatten();
        // Without a reservation (not reached through the /mcp middleware) count it as
        // anonymous, over the cap or not: rmcp offers no way to refuse here but a 500.
        let slot = reserved.or_else(|| self.counter.acquire(ANONYMOUS).ok());
        let (id, transport) = self.inner.create_session().await?;
        if let Some(mut slot) = slot {
            slot.open_session();
            self.slots().insert(id.clone(), slot);
        }
        Ok((id, Adapted(transport)))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    /// Called by rmcp for `DELETE`, and again when the session's service ends (idle expiry,
    /// shutdown, a failed `initialize`).
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let closed = self.inner.close_session(id).await;
        self.slots().remove(id);
        self.owners.forget(id);
        self.hub.forget_closed_sessions();
        closed
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_cap_comes_before_the_global_cap_and_slots_are_given_back() {
        let counter = Counter::new(SESSIONS, 3, 2);
        let a1 = counter.acquire("alice").unwrap();
        let _a2 = counter.acquire("alice").unwrap();
        assert_eq!(
            counter.acquire("alice").err(),
            Some(Refusal::Subject {
                limit: 2,
                subject: "alice".into()
            })
        );
        let _b1 = counter.acquire("bob").unwrap();
        assert_eq!(
            counter.acquire("carol").err(),
            Some(Refusal::Global { limit: 3 })
        );
        drop(a1);
        assert_eq!(counter.total(), 2);
        let _c1 = counter.acquire("carol").unwrap();
        assert_eq!(counter.total(), 3);
    }

    #[tokio::test]
    async fn refusals_name_the_limit_and_the_flag() {
        let counter = Counter::new(SESSIONS, 1, 1);
        let refusal = Refusal::Subject {
            limit: 1,
            subject: ANONYMOUS.into(),
        };
        let response = counter.refuse(&refusal, Some(&json!(7)));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["id"], 7);
        assert_eq!(body["error"]["code"], RATE_LIMITED);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("limit of 1 sessions"), "{message}");
        assert!(message.contains("--max-sessions-per-subject"), "{message}");

        let response = counter.refuse(&Refusal::Global { limit: 1 }, None);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--max-sessions ")
        );
    }

    #[tokio::test]
    async fn a_reserved_slot_not_taken_is_given_back() {
        let counter = Counter::new(SESSIONS, 1, 1);
        let slot = counter.acquire(ANONYMOUS).unwrap();
        with_reserved_slot(slot, async {
            assert!(counter.acquire(ANONYMOUS).is_err());
        })
        .await;
        assert_eq!(counter.total(), 0);
    }
}
