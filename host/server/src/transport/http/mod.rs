//! MCP over HTTP: Streamable HTTP at `/mcp` (both protocol eras), the 2024-11-05 HTTP+SSE
//! transport at `/sse` + `/messages`, and the operations endpoints `/healthz` and `/readyz`.
//!
//! Routes:
//!
//! | path | what | guard |
//! |---|---|---|
//! | `POST/GET/DELETE /mcp` | rmcp's `StreamableHttpService`: 2025-11-25 clients get sessions (`Mcp-Session-Id`, GET stream, DELETE answered `200`, `Last-Event-ID` resumption from a bounded per-stream replay buffer); 2026-07-28 requests are served statelessly, `subscriptions/listen` included | Host/Origin, auth, screening |
//! | `GET /sse`, `POST /messages` | [`legacy_sse`] | Host/Origin, auth |
//! | `GET /.well-known/oauth-protected-resource[/…]` | RFC 9728 metadata (`oauth` mode only; [`capsule_auth::metadata`]) | none |
//! | `GET /healthz` | liveness: `200 ok` while the process serves | none |
//! | `GET /readyz` | readiness: `200` with the catalog's counts; `503` while shutting down | none |
//! | `GET /metrics` | Prometheus metrics, when on (`--metrics`) | as `/mcp` |
//!
//! The MCP routes form one sub-router ([`mcp_routes`]) wrapped by the Host/Origin guard and,
//! inside it, the authentication layer ([`crate::transport::http::auth`]): tokens, scopes, rate limits.
//!
//! Every `POST /mcp` body is read (up to the limit, else `413`) and screened before rmcp sees it
//! ([`admission`]):
//! a body that is not one JSON-RPC 2.0 message gets `400` with a JSON-RPC error (`-32700` for
//! invalid JSON, `-32600` for a batch array or a non-message), where rmcp would answer a bare
//! `415`.
//!
//! A response sent before its request body was read to the end (a refusal decided from the
//! head) says `Connection: close` ([`unread_body`]), so clients do not reuse a connection the
//! server is closing.
//!
//! What clients can hold open is bounded ([`limits`], [`connections`]): sessions in total and
//! per subject, with idle expiry; long-lived streams per subject; open connections; the time a
//! connection may take to send a request head (and stay idle between requests).
//!
//! Shutdown ([`serve`] after its token is cancelled): stop accepting connections, close idle
//! ones, report not ready, let calls in flight finish (up to the shutdown timeout), then refuse
//! what still arrives on open connections with `503` and `Connection: close` (a load balancer
//! retries it on another replica: it was not run), wait for what was admitted just before, end
//! every session and stream, and return once the connections are closed (those still open
//! [`FLUSH_GRACE`] later are cut: nothing is in flight on them any more).

pub mod admission;
pub mod auth;
pub mod connections;
pub mod guard;
pub mod legacy_sse;
pub mod limits;
pub mod metrics;
pub mod session_close;
pub mod tls;
pub mod unread_body;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::server::CapsuleServer;
use crate::server::Shared;
use crate::transport::http::auth::{AuthLayer, SessionOwners};
use crate::transport::jsonrpc::{Screened, error_response, screen};
use capsule_auth::challenge::Challenges;
use capsule_auth::{Access, AuthConfig, Authenticator, Mode, Transport, metadata};
use capsule_common::codes::PARSE_ERROR;
use connections::Gate;
use guard::Allowlist;
use legacy_sse::LegacySse;
use limits::{ClientLimits, CountedSessions, Counter, SESSIONS, STREAMS};

/// Default limit of one request body: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 << 20;

/// Server-sent events buffered per stream for `Last-Event-ID` resumption (2025-11-25
/// sessions); older events of a stream are dropped first.
pub const REPLAY_EVENTS_PER_STREAM: usize = 64;

/// After the shutdown timeout has ended every stream, how long connections get to close before
/// they are cut.
const CONNECTION_GRACE: Duration = Duration::from_secs(2);

/// After every call has finished and every stream has ended at shutdown, how long connections
/// get to send what they still have before they are cut.
pub const FLUSH_GRACE: Duration = Duration::from_millis(500);

/// How the HTTP listener behaves.
#[derive(Clone)]
pub struct HttpOptions {
    /// Accepted `Host` and `Origin` values.
    pub allow: Allowlist,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<TlsFiles>,
    /// Largest request body, in bytes (`413` beyond).
    pub max_body: usize,
    /// How long shutdown waits for calls in flight before closing every stream.
    pub shutdown_timeout: Duration,
    /// Who may call (`none`, `bearer`, `oauth`), and the config it came from.
    pub auth: Arc<Authenticator>,
    pub auth_config: Arc<AuthConfig>,
    /// Scopes, rate limits and the audit log.
    pub access: Arc<Access>,
    /// Caps on sessions, streams and connections, and the timeouts of idle ones.
    pub limits: ClientLimits,
    /// Serve `GET /metrics` (behind the same authentication as `/mcp`), when metrics are on.
    pub metrics: Option<Arc<capsule_telemetry::PrometheusMetrics>>,
}

impl HttpOptions {
    /// Options with no authentication, no limits and no audit log.
    pub fn open(allow: Allowlist, max_body: usize, shutdown_timeout: Duration) -> Self {
        Self {
            allow,
            tls: None,
            max_body,
            shutdown_timeout,
            auth: Arc::new(Authenticator::None),
            auth_config: Arc::default(),
            access: Arc::default(),
            limits: ClientLimits::default(),
            metrics: None,
        }
    }
}

/// PEM files of the TLS certificate chain and its private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Bind `addr` now, so a port already in use is reported before plugins load.
pub fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A JSON-RPC error object as an HTTP response.
pub fn jsonrpc_reply(status: StatusCode, error: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        error.to_string(),
    )
        .into_response()
}

/// Screen one HTTP request body: `Err` holds the JSON-RPC error to answer with.
pub fn screen_body(body: &[u8]) -> Result<(), Value> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(error_response(
            Value::Null,
            PARSE_ERROR,
            "Parse error: the body is not UTF-8 text".into(),
        ));
    };
    match screen(text) {
        Screened::Forward { .. } => Ok(()),
        Screened::Skip => Err(error_response(
            Value::Null,
            PARSE_ERROR,
            "Parse error: the body is empty; send one JSON-RPC 2.0 message".into(),
        )),
        Screened::Reject(error) => Err(error),
    }
}

/// What `/readyz` reports.
struct Readiness {
    hub: Arc<Hub>,
    draining: AtomicBool,
    legacy: Arc<LegacySse>,
    connections: Gate,
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(ready): State<Arc<Readiness>>) -> Response {
    let catalog = ready.hub.catalog();
    let plugins = catalog.plugins();
    let body = json!({
        "status": if ready.draining.load(Ordering::Relaxed) { "shutting-down" } else { "ready" },
        "plugins": plugins.len(),
        "tools": plugins.iter().map(|p| p.tools.len()).sum::<usize>(),
        "legacySseSessions": ready.legacy.session_count(),
        "sessions": ready.legacy.sessions().total(),
        "connections": ready.connections.open(),
    });
    let status = if ready.draining.load(Ordering::Relaxed) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, axum::Json(body)).into_response()
}

/// The MCP endpoints (`/mcp`, `/sse`, `/messages`), behind the Host/Origin guard. An
/// authentication layer goes on this router. `streams` ends every session and stream when
/// cancelled; `refusing`, cancelled at shutdown before it, makes `/mcp` answer `503`.
pub fn mcp_routes(
    shared: Arc<Shared>,
    live: bool,
    options: &HttpOptions,
    streams: CancellationToken,
    refusing: CancellationToken,
) -> (Router, Arc<LegacySse>) {
    let limits = &options.limits;
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.channel_capacity = REPLAY_EVENTS_PER_STREAM;
    // rmcp ends a session with no event for this long; its next request gets 404.
    sessions.session_config.keep_alive = Some(limits.session_idle_timeout);
    let session_count = Counter::new(
        SESSIONS,
        limits.max_sessions,
        limits.max_sessions_per_subject,
    );
    let stream_count = Counter::new(STREAMS, usize::MAX, limits.max_streams_per_subject);
    let owners = Arc::new(SessionOwners::default());
    let hub = shared.hub().clone();
    let sessions =
        CountedSessions::new(sessions, session_count.clone(), hub.clone(), owners.clone());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allow.rmcp_hosts())
        .with_allowed_origins(options.allow.rmcp_origins())
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.max_body)
        .with_json_response(true)
        .with_cancellation_token(streams.clone());
    let factory_shared = shared.clone();
    let legacy_shared = shared.clone();
    let (http_access, sse_access) = (options.access.clone(), options.access.clone());
    let streamable = StreamableHttpService::new(
        move || {
            Ok(CapsuleServer::new(factory_shared.clone(), live)
                .with_access(http_access.clone(), Transport::Http))
        },
        Arc::new(sessions),
        config,
    );
    let legacy = LegacySse::new(
        move || {
            CapsuleServer::new(legacy_shared.clone(), live)
                .with_access(sse_access.clone(), Transport::Sse)
        },
        streams,
        session_count.clone(),
        limits.session_idle_timeout,
    );
    let mcp = Router::new()
        .route_service("/mcp", streamable)
        .layer(middleware::from_fn(session_close::ok_when_closed))
        .layer(middleware::from_fn_with_state(
            admission::Admission {
                max_body: options.max_body,
                in_flight: shared.in_flight().clone(),
                refusing,
                sessions: session_count,
                streams: stream_count,
            },
            admission::admit,
        ));
    let sse = Router::new()
        .route("/sse", get(legacy_sse::open))
        .route("/messages", post(legacy_sse::message))
        .layer(DefaultBodyLimit::max(options.max_body))
        .with_state(legacy.clone());
    let config = &options.auth_config;
    let challenges = Challenges {
        resource_metadata: match config.mode {
            Mode::Oauth => config.resource.as_deref().and_then(metadata::metadata_url),
            _ => None,
        },
        // Scopes to ask for first (MCP "Scope Selection Strategy"); OAuth only.
        initial_scope: Some(
            config
                .challenge_scopes
                .clone()
                .unwrap_or_else(|| config.scopes_supported())
                .join(" "),
        )
        .filter(|s| !s.is_empty() && config.mode == Mode::Oauth),
    };
    let auth = Arc::new(AuthLayer {
        authenticator: options.auth.clone(),
        access: options.access.clone(),
        hub: hub.clone(),
        challenges,
        max_body: options.max_body,
        sessions: owners,
    });
    let mut routes = mcp.merge(sse);
    if let Some(exported) = &options.metrics {
        routes = routes.merge(metrics::routes(exported.clone()));
    }
    let routes = routes
        // route_layer: unknown paths stay 404 rather than asking for a token.
        .route_layer(middleware::from_fn_with_state(
            auth,
            crate::transport::http::auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::new(options.allow.clone()),
            guard::check,
        ));
    (routes, legacy)
}

/// Serve MCP over HTTP(S) on `listener` until `shutdown` is cancelled, then shut down gracefully
/// (see the module docs). Errors: the TLS files cannot be loaded, or the listener fails.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    live: bool,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let streams = CancellationToken::new();
    let refusing = CancellationToken::new();
    let (mcp, legacy) = mcp_routes(
        shared.clone(),
        live,
        &options,
        streams.clone(),
        refusing.clone(),
    );
    let limits = &options.limits;
    let gate = Gate::new(
        limits.max_connections,
        limits.header_timeout,
        shutdown.clone(),
        options.tls.is_some(),
    );
    let readiness = Arc::new(Readiness {
        hub: shared.hub().clone(),
        draining: AtomicBool::new(false),
        legacy,
        connections: gate.clone(),
    });
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(readiness.clone()))
        .merge(mcp);
    if options.auth_config.mode == Mode::Oauth {
        app = app.merge(metadata::routes(&options.auth_config));
        options.auth.warm_up();
    }
    // Outermost, so that it sees every refusal the layers inside decide from the head alone.
    let app = app.layer(middleware::from_fn(unread_body::close_when_unread));

    let handle = axum_server::Handle::new();
    let controller = {
        let handle = handle.clone();
        let in_flight = shared.in_flight().clone();
        let timeout = options.shutdown_timeout;
        tokio::spawn(async move {
            shutdown.cancelled().await;
            readiness.draining.store(true, Ordering::Relaxed);
            tracing::info!("shutting down: no new connections; waiting for calls in flight");
            // Connections get a little longer than the calls, so that ending the streams below
            // (not the connection cut) is what stops a call that overruns.
            handle.graceful_shutdown(Some(timeout + CONNECTION_GRACE));
            if let Err(overrun) = in_flight.drain(timeout).await {
                tracing::warn!("{overrun}; closing anyway");
            }
            // Requests still arriving on open connections are refused from now on; those
            // admitted a moment ago finish first (ending the streams would answer them 500).
            refusing.cancel();
            let _ = in_flight.drain(CONNECTION_GRACE).await;
            streams.cancel();
            // Nothing is in flight any more: what is still open is idle, or a request head
            // that is still arriving. Give answers being written a moment, then cut.
            let flushed = async {
                while handle.connection_count() > 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            let _ = tokio::time::timeout(FLUSH_GRACE, flushed).await;
            handle.shutdown();
        })
    };

    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let served = match &options.tls {
        Some(files) => {
            let config = tls::load(files).await?;
            tls::reload_on_sighup(files.clone(), config.clone());
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config).acceptor(gate);
            let mut server = axum_server::from_tcp(listener)?.acceptor(acceptor);
            header_timeout(server.http_builder(), limits.header_timeout);
            tracing::info!("listening on {scheme}://{addr}/mcp (legacy HTTP+SSE: /sse)");
            server.handle(handle).serve(app.into_make_service()).await
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?.acceptor(gate);
            header_timeout(server.http_builder(), limits.header_timeout);
            tracing::info!("listening on {scheme}://{addr}/mcp (legacy HTTP+SSE: /sse)");
            server.handle(handle).serve(app.into_make_service()).await
        }
    };
    controller.abort();
    served.with_context(|| format!("serving HTTP on {addr}"))
}

/// hyper's HTTP/1 header-read timeout: a connection whose request head is not complete within
/// `timeout` of hyper starting to wait for it (after the first byte, or after the previous
/// response on a kept-alive connection) is closed.
fn header_timeout(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout);
}
