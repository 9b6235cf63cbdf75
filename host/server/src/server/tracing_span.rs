//! The server span of one MCP request (OpenTelemetry semantic conventions for MCP,
//! semantic-conventions-genai v0.1.0, "Server" span): its name, attributes and remote parent.
//!
//! The parent is the W3C trace context of `params._meta` (`traceparent`, `tracestate`,
//! `baggage`: SEP-414), else of the HTTP request's headers (Streamable HTTP).

use axum::http::{HeaderMap, HeaderName};
use rmcp::service::{RequestContext, RoleServer};

use capsule_telemetry::trace::{self, Context, Extractor, KeyValue, Span, SpanKind};

/// `params._meta` as a trace-context carrier (string values only).
struct MetaCarrier<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// HTTP request headers as a trace-context carrier.
struct HeaderCarrier<'a>(&'a HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The server span of `ctx`'s request: named `{method} {target}` (`target` is the published tool
/// or prompt name, when the catalog has it) or `{method}`, under the request's remote parent.
/// Inert when tracing is off.
pub(super) fn request_span(
    ctx: &RequestContext<RoleServer>,
    method: &'static str,
    target: Option<&str>,
    stdio: bool,
) -> Span {
    if !trace::enabled() {
        return Span::default();
    }
    let headers = ctx
        .extensions
        .get::<axum::http::request::Parts>()
        .map(|parts| &parts.headers);
    let parent = trace::extract(&MetaCarrier(&ctx.meta.0.0))
        .or_else(|| headers.and_then(|h| trace::extract(&HeaderCarrier(h))))
        .unwrap_or_default();
    let name = match target {
        Some(target) => format!("{method} {target}"),
        None => method.to_string(),
    };
    trace::start(&parent, name, SpanKind::Server, || {
        let mut attributes = vec![
            KeyValue::new("mcp.method.name", method),
            KeyValue::new("jsonrpc.request.id", ctx.id.to_string()),
            KeyValue::new(
                "network.transport",
                capsule_telemetry::metrics::network_transport(stdio),
            ),
        ];
        if let Some(version) = ctx.protocol_version() {
            attributes.push(KeyValue::new("mcp.protocol.version", version.to_string()));
        }
        if let Some(session) = headers
            .and_then(|h| h.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok())
        {
            attributes.push(KeyValue::new("mcp.session.id", session.to_string()));
        }
        if !stdio {
            attributes.push(KeyValue::new("network.protocol.name", "http"));
        }
        attributes
    })
}

/// The current context, for a plugin call's spans; empty when tracing is off.
pub(super) fn current() -> Context {
    if trace::enabled() {
        Context::current()
    } else {
        Context::default()
    }
}
