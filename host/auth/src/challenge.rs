//! Refusals over HTTP: `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9728 §5.1) and the
//! status codes of the MCP authorization spec (2025-11-25 and 2026-07-28, "Error Handling").
//!
//! | status | when | `WWW-Authenticate` |
//! |---|---|---|
//! | 401 | no token | `Bearer resource_metadata="…", scope="…"` |
//! | 401 | invalid, expired, wrong issuer or audience, bad signature | `Bearer error="invalid_token", error_description="…", resource_metadata="…"` |
//! | 403 | the token lacks the scope of the tool, resource or prompt called | `Bearer error="insufficient_scope", scope="<needed>", resource_metadata="…", error_description="…"` |
//! | 429 | a rate limit | — (`Retry-After: <seconds>`) |
//! | 503 | the authorization server cannot be reached to check a token | — (`Retry-After`) |
//!
//! In bearer mode there is no metadata document, and challenges carry `realm="capsule"`
//! instead. 403 and 429 answer a JSON-RPC request, so their body is a JSON-RPC error response
//! with the request's id ([`FORBIDDEN`], [`RATE_LIMITED`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::TokenError;

use capsule_common::codes::{FORBIDDEN, RATE_LIMITED};

/// Make `text` safe inside a quoted `error_description` / `scope` (RFC 6750 §3: printable ASCII
/// except `"` and `\`).
pub fn quote_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

/// Builds the challenges of one server.
#[derive(Clone, Debug, Default)]
pub struct Challenges {
    /// The RFC 9728 metadata URL (OAuth mode).
    pub resource_metadata: Option<String>,
    /// `scope` of a 401 without a token: what to ask for first.
    pub initial_scope: Option<String>,
}

impl Challenges {
    /// The `WWW-Authenticate` value.
    pub fn header(&self, error: Option<(&str, &str)>, scope: Option<&str>) -> String {
        let mut params = Vec::new();
        if self.resource_metadata.is_none() {
            params.push("realm=\"capsule\"".to_string());
        }
        if let Some((code, description)) = error {
            params.push(format!("error=\"{code}\""));
            params.push(format!("error_description=\"{}\"", quote_safe(description)));
        }
        if let Some(scope) = scope.filter(|s| !s.is_empty()) {
            params.push(format!("scope=\"{}\"", quote_safe(scope)));
        }
        if let Some(url) = &self.resource_metadata {
            params.push(format!("resource_metadata=\"{}\"", quote_safe(url)));
        }
        format!("Bearer {}", params.join(", "))
    }

    /// 401: no token (`error` is `None`) or an invalid one.
    pub fn unauthorized(&self, error: Option<&TokenError>) -> Response {
        let (value, body) = match error {
            None => (
                self.header(None, self.initial_scope.as_deref()),
                json!({"error": "unauthorized", "error_description": "an access token is required (Authorization: Bearer ...)"}),
            ),
            Some(e) => {
                let description = e.to_string();
                (
                    self.header(Some(("invalid_token", &description)), None),
                    json!({"error": "invalid_token", "error_description": description}),
                )
            }
        };
        respond(StatusCode::UNAUTHORIZED, Some(value), None, body)
    }

    /// 403 `insufficient_scope` for the JSON-RPC request `id`; `needed` is the scope to request.
    pub fn insufficient_scope(
        &self,
        needed: Option<&str>,
        description: &str,
        id: Option<&Value>,
    ) -> Response {
        let value = self.header(Some(("insufficient_scope", description)), needed);
        let body = rpc_error(
            id,
            FORBIDDEN,
            &format!("insufficient_scope: {description}"),
            json!({"scope": needed}),
        );
        respond(StatusCode::FORBIDDEN, Some(value), None, body)
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(&self, message: &str, retry_after: u64, id: Option<&Value>) -> Response {
        let body = rpc_error(
            id,
            RATE_LIMITED,
            message,
            json!({"retryAfter": retry_after}),
        );
        respond(StatusCode::TOO_MANY_REQUESTS, None, Some(retry_after), body)
    }

    /// 503: the token could not be checked now.
    pub fn unavailable(&self) -> Response {
        respond(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            Some(5),
            json!({"error": "temporarily_unavailable", "error_description": "the server cannot check access tokens right now; retry shortly"}),
        )
    }
}

fn rpc_error(id: Option<&Value>, code: i32, message: &str, data: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.cloned().unwrap_or(Value::Null),
        "error": {"code": code, "message": message, "data": data},
    })
}

fn respond(
    status: StatusCode,
    challenge: Option<String>,
    retry_after: Option<u64>,
    body: Value,
) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Some(value) = challenge.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750_and_9728() {
        let c = Challenges {
            resource_metadata: Some(
                "https://mcp.example/.well-known/oauth-protected-resource/mcp".into(),
            ),
            initial_scope: Some("notes:read".into()),
        };
        assert_eq!(
            c.header(None, Some("notes:read")),
            "Bearer scope=\"notes:read\", resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource/mcp\""
        );
        assert_eq!(
            c.header(Some(("invalid_token", "bad \"sig\"\n")), None),
            "Bearer error=\"invalid_token\", error_description=\"bad 'sig'?\", resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource/mcp\""
        );
        let bearer = Challenges::default();
        assert_eq!(bearer.header(None, None), "Bearer realm=\"capsule\"");
        let r = c.rate_limited("slow down", 7, Some(&json!(3)));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        let r = c.insufficient_scope(Some("notes:write"), "needs notes:write", Some(&json!("a")));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let v = r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            v.contains("error=\"insufficient_scope\"") && v.contains("scope=\"notes:write\""),
            "{v}"
        );
    }
}
