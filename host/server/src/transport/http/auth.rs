//! The authentication layer around the MCP routes (`/mcp`, `/sse`, `/messages`).
//!
//! For every request (except CORS preflights):
//! 1. Authenticate (modes `bearer` and `oauth`): the token comes from `Authorization: Bearer`
//!    only (RFC 6750 §2.1; never from the query string, as the MCP authorization spec requires).
//!    None → `401` with a challenge that leads to the metadata; invalid → `401 invalid_token`;
//!    unverifiable now → `503`.
//! 2. Remove the `Authorization` header, so the token goes no further (no token passthrough), and
//!    attach the [`Principal`] to the request for the MCP server.
//! 3. Bind Streamable HTTP sessions to their subject: a request naming an `Mcp-Session-Id` that
//!    another subject opened gets `404`, as if the session did not exist (MCP security best
//!    practices, "Session Hijacking").
//! 4. Screen calls (`tools/call`, `resources/read`, `prompts/get` in a POST body): outside the
//!    token's scopes → `403 insufficient_scope` naming the scope to request; over a rate limit →
//!    `429` with `Retry-After`. Each refusal is written to the audit log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::hub::Hub;
use capsule_auth::audit::{Record, arguments_digest};
use capsule_auth::challenge::Challenges;
use capsule_auth::scopes::{Decision, Target};
use capsule_auth::{Access, Authenticator, Caller, Mode, Principal, TokenError, Transport};
use capsule_common::sync::lock;

/// Sessions remembered for subject binding; the oldest are forgotten beyond this.
pub const MAX_BOUND_SESSIONS: usize = 100_000;

/// `Mcp-Session-Id` → the subject that opened it.
#[derive(Default)]
pub struct SessionOwners {
    inner: Mutex<(HashMap<String, String>, VecDeque<String>)>,
}

impl SessionOwners {
    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, String>, VecDeque<String>)> {
        lock(&self.inner)
    }

    /// `false` when `session` belongs to another subject.
    pub fn allows(&self, session: &str, subject: &str) -> bool {
        self.lock()
            .0
            .get(session)
            .is_none_or(|owner| owner == subject)
    }

    pub fn bind(&self, session: &str, subject: &str) {
        let mut guard = self.lock();
        let (owners, order) = &mut *guard;
        if owners
            .insert(session.to_string(), subject.to_string())
            .is_none()
        {
            order.push_back(session.to_string());
        }
        while order.len() > MAX_BOUND_SESSIONS {
            if let Some(old) = order.pop_front() {
                owners.remove(&old);
            }
        }
    }

    pub fn forget(&self, session: &str) {
        let mut guard = self.lock();
        guard.0.remove(session);
        guard.1.retain(|s| s != session);
    }
}

/// State of [`authenticate`].
pub struct AuthLayer {
    pub authenticator: Arc<Authenticator>,
    pub access: Arc<Access>,
    pub hub: Arc<Hub>,
    pub challenges: Challenges,
    pub max_body: usize,
    pub sessions: Arc<SessionOwners>,
}

/// The token of `Authorization: Bearer <token>`. `Ok(None)`: no Authorization header (or not a
/// Bearer one); `Err`: a malformed Bearer header.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("several Authorization headers");
    }
    let text = value
        .to_str()
        .map_err(|_| "the Authorization header is not ASCII")?;
    let Some((scheme, token)) = text.split_once(' ') else {
        return if text.eq_ignore_ascii_case("bearer") {
            Err("the Authorization header has no token")
        } else {
            Ok(None)
        };
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    if !capsule_auth::bearer::is_token68(token) {
        return Err("the bearer token is malformed (RFC 6750 §2.1)");
    }
    Ok(Some(token.to_string()))
}

/// What the layer reads of a JSON-RPC request body. Read through a `Value`, as the MCP layer
/// reads it, so that both see the same fields (a duplicated key cannot make the screen see one
/// tool and the server another).
struct Peek {
    id: Option<Value>,
    method: String,
    name: Option<String>,
    uri: Option<String>,
    arguments: Option<Value>,
}

impl Peek {
    fn parse(body: &[u8]) -> Option<Self> {
        let Value::Object(mut message) = serde_json::from_slice::<Value>(body).ok()? else {
            return None;
        };
        let method = message.remove("method")?.as_str()?.to_string();
        let mut params = match message.remove("params") {
            Some(Value::Object(params)) => params,
            _ => Default::default(),
        };
        let mut text = |key: &str| match params.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let (name, uri) = (text("name"), text("uri"));
        Some(Self {
            id: message.remove("id"),
            method,
            name,
            uri,
            arguments: params.remove("arguments"),
        })
    }
}

fn transport_of(path: &str) -> Transport {
    if path == "/sse" || path == "/messages" {
        Transport::Sse
    } else {
        Transport::Http
    }
}

impl AuthLayer {
    fn audit_refusal(&self, request: &Request, principal: Option<&Principal>, reason: String) {
        if self.access.audit.is_none() {
            return;
        }
        let mut record = Record::new(
            "auth",
            transport_of(request.uri().path()).as_str(),
            principal,
        );
        record.method = format!("{} {}", request.method(), request.uri().path());
        record.outcome = "denied";
        record.reason = Some(reason);
        self.access.record(record);
    }

    /// Screen one call: `Some(response)` refuses it.
    fn screen(&self, body: &[u8], caller: &Caller) -> Option<Response> {
        let started = Instant::now();
        let peek = Peek::parse(body)?;
        let method = peek.method.as_str();
        let params = &peek;
        let catalog = self.hub.catalog();
        let target = match method {
            "tools/call" => {
                let name = params.name.as_deref()?;
                let entry = catalog.tool(name)?;
                Target::Tool {
                    plugin: entry.plugin.name(),
                    name,
                }
            }
            "prompts/get" => {
                let name = params.name.as_deref()?;
                let entry = catalog.prompt(name)?;
                Target::Prompt {
                    plugin: entry.plugin.name(),
                    name,
                }
            }
            "resources/read" => {
                let uri = params.uri.as_deref()?;
                let owner = catalog.resource_owner(uri).ok()?;
                // The owner's name lives in the catalog's image, kept alive by `catalog`.
                let plugin = catalog
                    .plugins()
                    .iter()
                    .find(|p| p.name == owner.name())
                    .map(|p| p.name.as_str())?;
                Target::Resource { plugin, uri }
            }
            _ => return None,
        };
        let record = |outcome: &'static str, reason: String| {
            let mut r = Record::new("call", caller.transport().as_str(), caller.principal());
            r.request_id = peek.id.clone();
            r.method = method.to_string();
            r.plugin = Some(target.plugin().to_string());
            match target {
                Target::Tool { name, .. } => r.tool = Some(name.to_string()),
                Target::Prompt { name, .. } => r.prompt = Some(name.to_string()),
                Target::Resource { uri, .. } => r.resource = Some(uri.to_string()),
            }
            if let Some(args) = &params.arguments {
                r.arguments_sha256 = Some(arguments_digest(args));
                if self.access.audit.as_ref().is_some_and(|a| a.raw_arguments) {
                    r.arguments = Some(args.clone());
                }
            }
            r.outcome = outcome;
            r.reason = Some(reason);
            self.access.record(r.took(started.elapsed()));
        };
        if let Decision::Denied { needed } = self.access.decide(caller, &target) {
            let description = match &needed {
                Some(scope) => format!("{} requires scope '{scope}'", target.describe()),
                None => format!("no scope grants {}", target.describe()),
            };
            record("denied", format!("insufficient_scope: {description}"));
            return Some(self.challenges.insufficient_scope(
                needed.as_deref(),
                &description,
                peek.id.as_ref(),
            ));
        }
        let tool = match target {
            Target::Tool { name, .. } => Some(name),
            _ => None,
        };
        if let Err(limited) = self.access.limits.check(caller.subject(), tool) {
            let message = limited.message(caller.subject(), tool);
            record("limited", message.clone());
            return Some(self.challenges.rate_limited(
                &message,
                limited.retry_after_secs(),
                peek.id.as_ref(),
            ));
        }
        None
    }
}

/// The middleware (see the module docs).
pub async fn authenticate(
    State(layer): State<Arc<AuthLayer>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let transport = transport_of(request.uri().path());
    let principal: Option<Arc<Principal>> = match layer.authenticator.mode() {
        Mode::None => None,
        Mode::Bearer | Mode::Oauth => {
            let token = match bearer_token(request.headers()) {
                Ok(Some(token)) => token,
                Ok(None) => {
                    capsule_telemetry::metrics::auth_failure("missing_token");
                    layer.audit_refusal(&request, None, "no access token".into());
                    return layer.challenges.unauthorized(None);
                }
                Err(why) => {
                    capsule_telemetry::metrics::auth_failure("invalid_token");
                    let error = TokenError::invalid(why);
                    layer.audit_refusal(&request, None, format!("invalid_token: {why}"));
                    return layer.challenges.unauthorized(Some(&error));
                }
            };
            match layer.authenticator.authenticate(&token).await {
                Ok(principal) => Some(Arc::new(principal)),
                Err(error @ TokenError::Invalid(_)) => {
                    capsule_telemetry::metrics::auth_failure("invalid_token");
                    tracing::info!(path = %request.uri().path(), "token refused: {error}");
                    layer.audit_refusal(&request, None, format!("invalid_token: {error}"));
                    return layer.challenges.unauthorized(Some(&error));
                }
                Err(TokenError::Unavailable(why)) => {
                    tracing::error!("cannot check an access token: {why}");
                    layer.audit_refusal(&request, None, format!("unavailable: {why}"));
                    return layer.challenges.unavailable();
                }
            }
        }
    };
    // No token passthrough: nothing after this layer sees the token.
    request.headers_mut().remove(header::AUTHORIZATION);

    let session = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let (Some(p), Some(session)) = (&principal, &session)
        && !layer.sessions.allows(session, &p.subject)
    {
        tracing::warn!(subject = %p.subject, "refused a request for a session another subject opened");
        layer.audit_refusal(
            &request,
            Some(p),
            "session belongs to another subject".into(),
        );
        return (StatusCode::NOT_FOUND, "Not Found: unknown session\n").into_response();
    }

    let caller = match &principal {
        Some(p) => Caller::Authenticated(transport, p.clone()),
        None => Caller::Trusted(transport),
    };
    if let Some(p) = &principal {
        request.extensions_mut().insert(p.clone());
    }

    let screen = request.method() == Method::POST
        && (!layer.access.limits.is_empty()
            || (principal.is_some() && !layer.access.scopes.is_empty()));
    if screen {
        let (parts, body) = request.into_parts();
        let bytes: Bytes = match axum::body::to_bytes(body, layer.max_body).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "Payload Too Large: the request body exceeds {} bytes\n",
                        layer.max_body
                    ),
                )
                    .into_response();
            }
        };
        if let Some(refusal) = layer.screen(&bytes, &caller) {
            return refusal;
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }

    let is_delete = request.method() == Method::DELETE;
    let response = next.run(request).await;
    if let Some(p) = &principal {
        match (
            &session,
            response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok()),
        ) {
            (None, Some(new)) => layer.sessions.bind(new, &p.subject),
            (Some(old), _) if is_delete && response.status().is_success() => {
                layer.sessions.forget(old)
            }
            _ => {}
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_tokens_come_from_one_authorization_header() {
        assert_eq!(bearer_token(&headers(&[])), Ok(None));
        assert_eq!(bearer_token(&headers(&["Basic dXNlcjpwYXNz"])), Ok(None));
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def-ghi_~+/="])),
            Ok(Some("abc.def-ghi_~+/=".into()))
        );
        assert_eq!(
            bearer_token(&headers(&["bearer abc"])),
            Ok(Some("abc".into()))
        );
        assert!(bearer_token(&headers(&["Bearer"])).is_err());
        assert!(bearer_token(&headers(&["Bearer a b"])).is_err());
        assert!(bearer_token(&headers(&["Bearer a", "Bearer b"])).is_err());
    }

    #[test]
    fn the_screen_reads_a_duplicated_key_as_the_mcp_layer_does() {
        let peek = Peek::parse(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a","name":"b","arguments":{}}}"#,
        )
        .unwrap();
        assert_eq!(peek.name.as_deref(), Some("b"));
        assert_eq!(peek.id, Some(serde_json::json!(3)));
        // rmcp either refuses such a message or reads the same (last) name.
        let direct = serde_json::from_slice::<rmcp::model::ClientJsonRpcMessage>(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a","name":"b","arguments":{}}}"#,
        );
        if let Ok(direct) = direct {
            assert!(
                serde_json::to_string(&direct)
                    .unwrap()
                    .contains(r#""name":"b""#)
            );
        }
        assert!(Peek::parse(b"[1]").is_none());
        assert!(Peek::parse(br#"{"id":1}"#).is_none());
    }

    #[test]
    fn sessions_stay_with_their_subject() {
        let owners = SessionOwners::default();
        assert!(owners.allows("s1", "alice"));
        owners.bind("s1", "alice");
        assert!(owners.allows("s1", "alice"));
        assert!(!owners.allows("s1", "mallory"));
        owners.forget("s1");
        assert!(owners.allows("s1", "mallory"));
    }
}
