//! The HTTP+SSE transport of MCP 2024-11-05, for clients that predate Streamable HTTP.
//!
//! Protocol (MCP 2024-11-05, "Transports" → "HTTP with SSE"):
//! - `GET /sse` opens a server-sent-event stream. Its first event is `endpoint`, whose data is
//!   the URL to POST messages to: `messages?sessionId=<id>` (relative, so it keeps working behind
//!   a reverse proxy that mounts Capsule under a path prefix). Every later event is `message`,
//!   one JSON-RPC message each: responses, notifications and server requests.
//! - `POST /messages?sessionId=<id>` carries one JSON-RPC message from the client and is answered
//!   `202 Accepted`; the reply travels on the stream. Unknown session → 404; a body that is not
//!   one JSON-RPC 2.0 message → 400 with a JSON-RPC error; over the size limit → 413.
//!
//! rmcp has no server for this transport. Each stream is bridged onto an ordinary rmcp server
//! session ([`CapsuleServer`] over a sink/stream pair), so it serves exactly what stdio and
//! Streamable HTTP serve, list-changed notifications included. The session ends when the client
//! closes the stream or the server shuts down.
//!
//! Sessions count against the session caps of [`super::limits`] (with Streamable HTTP
//! sessions): `GET /sse` over a cap is refused with `429`/`503` and a JSON-RPC error. A session
//! with no message in either direction for the idle timeout ends: its stream closes and a later
//! `POST /messages` gets `404`.
//!
//! With authentication on, the session acts for the principal that opened it with `GET /sse`.
//! Each `POST /messages` is authenticated too: its subject must be the session's (else `404`, as
//! if the session did not exist), and its principal replaces the session's, so a client that
//! stepped up to more scopes gets them at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt as _};
use rmcp::ServiceExt as _;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::limits::{ANONYMOUS, Counter, Slot};
use super::{jsonrpc_reply, screen_body};
use crate::server::CapsuleServer;
use crate::transport::jsonrpc::error_response;
use crate::transport::tasks_2025::{advertise, route_body};
use capsule_auth::{Principal, SessionPrincipal};
use capsule_common::codes::INVALID_REQUEST;
use capsule_common::sync::{lock, write};

/// Messages buffered per direction before the sender waits.
const CHANNEL_CAPACITY: usize = 64;

/// Comment lines on an idle stream, so proxies keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One open HTTP+SSE session: where its client messages go, and whom it acts for.
#[derive(Clone)]
struct Session {
    sender: mpsc::Sender<ClientJsonRpcMessage>,
    principal: SessionPrincipal,
    activity: Arc<Activity>,
}

/// When a session last carried a message, for its idle expiry.
struct Activity(Mutex<Instant>);

impl Activity {
    fn touch(&self) {
        *lock(&self.0) = Instant::now();
    }

    fn last(&self) -> Instant {
        *lock(&self.0)
    }

    /// Completes once no message has passed for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let deadline = self.last() + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

type Sessions = HashMap<String, Session>;

/// The open HTTP+SSE sessions, by id.
pub struct LegacySse {
    sessions: Mutex<Sessions>,
    new_server: Box<dyn Fn() -> CapsuleServer + Send + Sync>,
    /// Cancelled at shutdown: every stream ends.
    shutdown: CancellationToken,
    /// Open sessions, shared with Streamable HTTP.
    counter: Arc<Counter>,
    /// A session with no message for this long ends.
    idle_timeout: Duration,
}

/// Removes the session from the table when its stream is dropped (client gone or shutdown).
struct SessionGuard {
    id: String,
    state: Arc<LegacySse>,
    _slot: Slot,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        lock(&self.state.sessions).remove(&self.id);
        tracing::debug!(session = %self.id, "HTTP+SSE session closed");
    }
}

/// Query of `POST /messages`.
#[derive(serde::Deserialize)]
pub struct MessageQuery {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

impl LegacySse {
    /// `new_server` makes the handler of one session; `shutdown` ends every stream; each
    /// session holds a place of `counter`, and ends after `idle_timeout` without a message.
    pub fn new(
        new_server: impl Fn() -> CapsuleServer + Send + Sync + 'static,
        shutdown: CancellationToken,
        counter: Arc<Counter>,
        idle_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            sessions: Mutex::default(),
            new_server: Box::new(new_server),
            shutdown,
            counter,
            idle_timeout,
        })
    }

    /// The session counter (both transports).
    pub fn sessions(&self) -> &Arc<Counter> {
        &self.counter
    }

    /// How many HTTP+SSE sessions are open.
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).len()
    }
}

/// `GET /sse`: open a session and stream its messages.
pub async fn open(
    State(state): State<Arc<LegacySse>>,
    principal: Option<Extension<Arc<Principal>>>,
) -> Response {
    if state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down\n",
        )
            .into_response();
    }
    let subject = principal
        .as_ref()
        .map_or(ANONYMOUS, |Extension(p)| p.subject.as_str());
    let slot = match state.counter.acquire(subject) {
        Ok(mut slot) => {
            slot.open_session();
            slot
        }
        Err(refusal) => return state.counter.refuse(&refusal, None),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let activity = Arc::new(Activity(Mutex::new(Instant::now())));
    let (client_tx, client_rx) = mpsc::channel::<ClientJsonRpcMessage>(CHANNEL_CAPACITY);
    let (server_tx, server_rx) =
        futures::channel::mpsc::channel::<ServerJsonRpcMessage>(CHANNEL_CAPACITY);
    let principal: SessionPrincipal =
        Arc::new(std::sync::RwLock::new(principal.map(|Extension(p)| p)));
    lock(&state.sessions).insert(
        id.clone(),
        Session {
            sender: client_tx,
            principal: principal.clone(),
            activity: activity.clone(),
        },
    );

    let server = (state.new_server)().with_session_principal(principal);
    let session = id.clone();
    tokio::spawn(async move {
        match server
            .serve((server_tx, ReceiverStream::new(client_rx)))
            .await
        {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(error) => {
                tracing::info!(%session, %error, "HTTP+SSE session ended before initialization");
            }
        }
    });
    tracing::debug!(session = %id, "HTTP+SSE session opened");
    let id_for_log = id.clone();

    let guard = SessionGuard {
        id: id.clone(),
        state: state.clone(),
        _slot: slot,
    };
    let endpoint = futures::stream::once(async move {
        Ok::<_, Infallible>(
            Event::default()
                .event("endpoint")
                .data(format!("messages?sessionId={id}")),
        )
    });
    let touched = activity.clone();
    let messages = server_rx.map(move |message| {
        let _keep = &guard;
        touched.touch();
        let data = serde_json::to_string(&advertise(message)).unwrap_or_else(|e| {
            tracing::error!("cannot serialize a server message: {e}");
            String::from("{}")
        });
        Ok::<_, Infallible>(Event::default().event("message").data(data))
    });
    let shutdown = state.shutdown.clone();
    let idle_timeout = state.idle_timeout;
    let session = id_for_log;
    let ended = async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = activity.idle_for(idle_timeout) => {
                tracing::info!(%session, "HTTP+SSE session idle for {idle_timeout:?}: closed");
            }
        }
    };
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(endpoint.chain(messages).take_until(ended));
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// `POST /messages?sessionId=…`: one client message into its session.
pub async fn message(
    State(state): State<Arc<LegacySse>>,
    Query(query): Query<MessageQuery>,
    principal: Option<Extension<Arc<Principal>>>,
    body: Bytes,
) -> Response {
    let Some(session) = query.session_id else {
        return (
            StatusCode::BAD_REQUEST,
            "missing sessionId: POST to the endpoint URL the /sse stream announced\n",
        )
            .into_response();
    };
    let unknown = || {
        (
            StatusCode::NOT_FOUND,
            "unknown or closed session: open a new one with GET /sse\n",
        )
            .into_response()
    };
    let Some(Session {
        sender,
        principal: session_principal,
        activity,
    }) = lock(&state.sessions).get(&session).cloned()
    else {
        return unknown();
    };
    {
        let mut current = write(&session_principal);
        let owner = current.as_ref().map(|p| p.subject.as_str());
        let poster = principal.as_ref().map(|Extension(p)| p.subject.as_str());
        if owner != poster {
            tracing::warn!(%session, "refused a message for an HTTP+SSE session another subject opened");
            return unknown();
        }
        if let Some(Extension(p)) = principal {
            *current = Some(p);
        }
    }
    if let Err(error) = screen_body(&body) {
        return jsonrpc_reply(StatusCode::BAD_REQUEST, &error);
    }
    // A 2025-11-25 client's task request goes to the server's own handling (rmcp 3.9 has none).
    let body = route_body(body, None);
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => {
            let error = error_response(
                serde_json::Value::Null,
                INVALID_REQUEST,
                format!("Invalid Request: not an MCP client message ({e})"),
            );
            return jsonrpc_reply(StatusCode::BAD_REQUEST, &error);
        }
    };
    activity.touch();
    match sender.send(message).await {
        Ok(()) => (StatusCode::ACCEPTED, "Accepted").into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            "the session has ended: open a new one with GET /sse\n",
        )
            .into_response(),
    }
}
