//! Outgoing `wasi:http`, policed: the [`WasiHttpHooks`] of every call.
//!
//! wasi-http does not go through `wasi:sockets`, so `socket_addr_check` never sees its requests;
//! [`CheckedHooks::send_request`] is the only door. For each request (and so for each redirect
//! hop: wasi-http never follows redirects, the guest must send a new request) it
//!
//! 1. checks scheme, host and port against the plugin's effective `[network].allow`
//!    ([`NetworkGuard::check_origin`]); a miss is `HTTP-request-denied`;
//! 2. resolves the host once and refuses special-use addresses unless allowed
//!    ([`NetworkGuard::resolve`]); that is `destination-IP-prohibited`;
//! 3. connects to exactly the checked addresses (wasmtime-wasi-http's default sender resolves
//!    the name again inside `TcpStream::connect`, which would let a DNS answer change between
//!    check and use, so this module sends itself): TCP, then TLS (webpki roots, SNI and
//!    certificate name = the requested host), then HTTP/1.1 with hyper. The `Host` header is the
//!    authority the guest asked for (wasi-http sets it and guests cannot override it).
//!
//! Before all of this, a request whose authority carries user information (`user@host`, RFC 3986
//! §3.2.1) is refused with `HTTP-request-URI-invalid` and a denial naming why (`no_userinfo`):
//! wasi-http would copy the whole authority, user information included, into `Host`, so
//! `evil.example:80@127.0.0.1:8080` would reach a granted server as
//! `Host: evil.example:80@127.0.0.1:8080`. Refusing (rather than stripping) keeps what is sent
//! exactly what the guest asked for; credentials belong in an `Authorization` header.
//!
//! Every wait is bounded by the call's deadline, because a guest blocked in a host call is not
//! interrupted by the epoch deadline until it returns.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use capsule_telemetry::trace::{
    self, Context as TraceContext, Injector, KeyValue, SpanKind, TraceContextExt as _,
};

use super::handles::{FdBudget, Held, Kind};
use crate::grants::{NetworkGuard, Refusal, Scheme, Target, TargetError, TargetHost};

/// Largest write to an outgoing body's stream, and so what the host buffers per body (wasmtime's
/// default is 1 MiB): see [`crate::runtime::http_budget`], which charges it to the call's memory.
pub const BODY_CHUNK: usize = 64 << 10;

/// Client spans one call may add to the trace (its first outgoing requests); later requests
/// carry the export call's context in their `traceparent` instead and are counted in its
/// `capsule.http.untraced_requests` attribute. The span queue is shared by every plugin: this
/// keeps one call's requests from crowding out the others' spans.
pub const MAX_CLIENT_SPANS_PER_CALL: u32 = 100;

/// What `send_request` resolves to: the response and the future that drives the connection.
type Sent = Result<(http::Response<WasiBody>, IoFuture), Error>;
type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// The `wasi:http` hooks of one call: everything default except sending and the size of body
/// chunks ([`BODY_CHUNK`]).
pub struct CheckedHooks {
    guard: NetworkGuard,
    /// Each connection holds one socket of the call's budget (`[limits] max_sockets`).
    budget: FdBudget,
    /// The parent of each request's client span (empty when tracing is off).
    trace: TraceContext,
    /// Requests of this call seen so far under `trace` ([`MAX_CLIENT_SPANS_PER_CALL`]).
    traced: u32,
}

impl CheckedHooks {
    /// Hooks checking requests with `guard`, charging sockets to `budget`, tracing requests as
    /// children of `trace`.
    pub fn new(guard: NetworkGuard, budget: FdBudget, trace: TraceContext) -> Self {
        Self {
            guard,
            budget,
            trace,
            traced: 0,
        }
    }

    /// From now on, requests are children of `trace` (the export call's span once the instance
    /// is created).
    pub fn set_trace(&mut self, trace: TraceContext) {
        self.trace = trace;
        self.traced = 0;
    }

    /// The network checks of this call (also used for name lookups).
    pub fn guard(&self) -> &NetworkGuard {
        &self.guard
    }

    /// The call's open files and sockets.
    pub fn budget(&self) -> &FdBudget {
        &self.budget
    }
}

impl WasiHttpHooks for CheckedHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        let guard = self.guard.clone();
        let budget = self.budget.clone();
        self.traced = self.traced.saturating_add(1);
        let span = if self.traced <= MAX_CLIENT_SPANS_PER_CALL {
            client_span(&self.trace, &mut request)
        } else {
            untraced(
                &self.trace,
                self.traced - MAX_CLIENT_SPANS_PER_CALL,
                &mut request,
            )
        };
        Box::new(async move {
            let sent = send_checked(guard, budget, request, options).await;
            match &sent {
                Ok((response, _)) => {
                    let status = response.status();
                    span.set("http.response.status_code", i64::from(status.as_u16()));
                    if status.is_client_error() || status.is_server_error() {
                        span.fail(status.as_str());
                    }
                }
                Err(e) => span.fail(&error_type(e)),
            }
            sent
        })
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK
    }
}

/// The client span of one outgoing request (OpenTelemetry semantic conventions, HTTP client
/// span: named by the method, `http.request.method`, `server.address`, `server.port`,
/// `url.full` without its query, which may hold secrets), with the request's `traceparent`
/// (and `tracestate`) header set to it (W3C Trace Context), replacing any the plugin set: the
/// trace continues in the server the plugin calls. Inert when tracing is off.
fn client_span(parent: &TraceContext, request: &mut http::Request<WasiBody>) -> trace::Span {
    if !parent.has_active_span() {
        // Not traced: the plugin's own headers go out as they are.
        return trace::Span::default();
    }
    let method = request.method().as_str().to_string();
    let uri = request.uri();
    let port = uri
        .port_u16()
        .or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        })
        .map(i64::from);
    let url = format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map_or("", |a| a.as_str()),
        uri.path()
    );
    let host = uri.host().unwrap_or_default().to_string();
    let span = trace::start_child(parent, method.clone(), SpanKind::Client, || {
        let mut attributes = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("server.address", host),
            KeyValue::new("url.full", url),
        ];
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", port));
        }
        attributes
    });
    set_trace_headers(&span.context(), request);
    span
}

/// A request past [`MAX_CLIENT_SPANS_PER_CALL`]: no span of its own, the parent's context in its
/// `traceparent` (the trace still continues downstream), and the parent's
/// `capsule.http.untraced_requests` set to `count`.
fn untraced(
    parent: &TraceContext,
    count: u32,
    request: &mut http::Request<WasiBody>,
) -> trace::Span {
    if parent.has_active_span() {
        parent.span().set_attribute(KeyValue::new(
            "capsule.http.untraced_requests",
            i64::from(count),
        ));
        set_trace_headers(parent, request);
    }
    trace::Span::default()
}

/// Replace `request`'s `traceparent` and `tracestate` (whatever the plugin set) with `cx`'s.
fn set_trace_headers(cx: &TraceContext, request: &mut http::Request<WasiBody>) {
    let headers = request.headers_mut();
    for name in ["traceparent", "tracestate"] {
        headers.remove(name);
    }
    trace::inject(cx, &mut HeaderInjector(headers));
}

/// Request headers as a trace-context carrier.
struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// `error.type` of a failed request: the name of its `wasi:http` error code as the host names it
/// (`ConnectionRefused`, `HttpRequestDenied`, `ConnectionLimitReached`...), without details.
fn error_type(error: &Error) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("error")
        .to_string()
}

/// Check `request` against the plugin's grants, then send it to the checked addresses.
async fn send_checked(
    guard: NetworkGuard,
    budget: FdBudget,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Sent {
    let uri = request.uri();
    if let Err(why) = no_userinfo(uri) {
        guard.denials.record(
            &guard.plugin,
            format!("HTTP request denied for plugin \"{}\": {why}", guard.plugin),
        );
        return Err(Error::HttpRequestUriInvalid);
    }
    let target = match (uri.scheme_str(), uri.host()) {
        (Some(scheme), Some(host)) => Target::http(scheme, host, uri.port_u16()),
        _ => Err(TargetError::NoSchemeOrHost),
    };
    let target = target.map_err(|e| {
        tracing::debug!(plugin = %guard.plugin, "refusing a malformed request: {e}");
        Error::HttpRequestUriInvalid
    })?;
    let addrs = {
        let pattern = guard.check_origin(&target).map_err(refusal)?;
        guard.resolve(&target, pattern).await.map_err(refusal)?
    };
    let timeouts = Timeouts::new(guard.deadline, options);
    // The connection's socket, held until the connection is done (its future is dropped).
    let held = budget.acquire(Kind::Socket).map_err(|e| {
        guard.denials.record(
            &guard.plugin,
            format!(
                "HTTP request to {target} refused for plugin \"{}\": {e}",
                guard.plugin
            ),
        );
        Error::ConnectionLimitReached
    })?;
    send_to(&target, &addrs, request, timeouts, held).await
}

/// A request URI whose authority has user information; `host` is what follows the last `@`.
/// The message names the host but never the user information, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[error(
    "the authority of the request to host '{host}' has user information ('user@host', \
     RFC 3986 §3.2.1), which would be sent in the Host header; such requests are refused \
     (send credentials in an Authorization header)"
)]
struct UserInfo {
    host: String,
}

/// Refuse a URI whose authority has user information (`userinfo@host[:port]`, RFC 3986 §3.2.1).
///
/// # Errors
/// [`UserInfo`], naming the host.
fn no_userinfo(uri: &http::Uri) -> Result<(), UserInfo> {
    let Some(authority) = uri.authority() else {
        return Ok(());
    };
    match authority.as_str().rsplit_once('@') {
        None => Ok(()),
        Some((_, host)) => Err(UserInfo {
            host: host.to_string(),
        }),
    }
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::Denied => Error::HttpRequestDenied,
        Refusal::Prohibited => Error::DestinationIpProhibited,
        Refusal::DnsTimeout => Error::DnsTimeout,
        Refusal::Unresolvable(why) => Error::DnsError {
            rcode: Some(why),
            info_code: None,
        },
    }
}

/// The guest's request options, each capped by what is left of the call.
#[derive(Clone, Copy)]
struct Timeouts {
    deadline: Instant,
    connect: Option<Duration>,
    first_byte: Option<Duration>,
    between_bytes: Option<Duration>,
}

impl Timeouts {
    fn new(deadline: Instant, options: Option<RequestOptions>) -> Self {
        let o = options.unwrap_or_default();
        Self {
            deadline,
            connect: o.connect_timeout,
            first_byte: o.first_byte_timeout,
            between_bytes: o.between_bytes_timeout,
        }
    }

    /// `wanted`, but never past the call's deadline.
    fn cap(&self, wanted: Option<Duration>) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        wanted.map_or(left, |w| w.min(left))
    }
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Connect to the first of `addrs` that answers.
async fn connect(addrs: &[SocketAddr], timeouts: &Timeouts) -> Result<TcpStream, Error> {
    let mut last = Error::ConnectionRefused;
    for addr in addrs {
        match tokio::time::timeout(timeouts.cap(timeouts.connect), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = Error::Connect(e),
            Err(_) => last = Error::ConnectionTimeout,
        }
    }
    Err(last)
}

/// TLS client settings: the webpki root certificates, ring, TLS 1.2 and 1.3.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, rustls::Error>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
        })
        .clone()
        .map_err(|e| Error::InternalError(Some(format!("TLS setup: {e}"))))
}

/// Send `request` to `target` over a connection to one of `addrs` (already checked).
async fn send_to(
    target: &Target,
    addrs: &[SocketAddr],
    mut request: http::Request<WasiBody>,
    timeouts: Timeouts,
    held: Held,
) -> Sent {
    let tcp = connect(addrs, &timeouts).await?;
    let stream: Box<dyn Stream> = if target.scheme == Some(Scheme::Https) {
        let name = match &target.host {
            TargetHost::Name(name) => ServerName::try_from(name.clone())?,
            TargetHost::Ip(ip) => ServerName::IpAddress((*ip).into()),
        };
        let tls = tokio_rustls::TlsConnector::from(tls_config()?);
        match tokio::time::timeout(timeouts.cap(timeouts.connect), tls.connect(name, tcp)).await {
            Ok(Ok(stream)) => Box::new(stream),
            Ok(Err(e)) => return Err(Error::Tls(e)),
            Err(_) => return Err(Error::ConnectionTimeout),
        }
    } else {
        Box::new(tcp)
    };
    let (mut sender, conn) = tokio::time::timeout(
        timeouts.cap(timeouts.connect),
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // Origin form on the wire (RFC 9112 §3.2.1): the authority travels in `Host`.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    // Drive the connection while waiting for the response head.
    let mut conn = Some(Box::pin(conn));
    let exchange = async {
        let mut response = std::pin::pin!(sender.send_request(request));
        loop {
            let Some(driving) = conn.as_mut() else {
                return response.await.map_err(Error::from);
            };
            tokio::select! {
                r = &mut response => return r.map_err(Error::from),
                ended = driving => {
                    conn = None;
                    ended?;
                }
            }
        }
    };
    let response = tokio::time::timeout(timeouts.cap(timeouts.first_byte), exchange)
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;

    let io: IoFuture = Box::new(async move {
        let _socket = held;
        match conn {
            Some(conn) => conn.await.map_err(Error::from),
            None => Ok(()),
        }
    });
    let response = response.map(|incoming| {
        TimedBody {
            incoming,
            timeouts,
            timer: Box::pin(tokio::time::sleep(timeouts.cap(timeouts.between_bytes))),
        }
        .boxed_unsync()
    });
    Ok((response, io))
}

/// A response body that fails when no data arrives for `between_bytes` or the call's deadline
/// passes.
struct TimedBody {
    incoming: Incoming,
    timeouts: Timeouts,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next =
                    tokio::time::Instant::now() + self.timeouts.cap(self.timeouts.between_bytes);
                self.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::no_userinfo;

    #[test]
    fn userinfo_is_refused_without_echoing_it() {
        for ok in [
            "http://127.0.0.1:8080/x",
            "https://example.com",
            "/path?q=a@b",
        ] {
            assert!(no_userinfo(&ok.parse().unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example:80@127.0.0.1:8080/",
            "https://user:s3cret@example.com/",
            "http://@example.com/",
        ] {
            let why = no_userinfo(&bad.parse().unwrap()).unwrap_err().to_string();
            assert!(why.contains("user information"), "{bad}: {why}");
            assert!(
                !why.contains("s3cret") && !why.contains("evil"),
                "{bad}: {why}"
            );
        }
    }
}
