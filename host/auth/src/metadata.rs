//! OAuth 2.0 Protected Resource Metadata (RFC 9728), which MCP clients read to find the
//! authorization server (MCP authorization spec 2025-11-25 and 2026-07-28, "Authorization Server
//! Discovery").
//!
//! Served without authentication at
//! - `/.well-known/oauth-protected-resource` + the path of the canonical resource URI (RFC 9728
//!   §3.1 path insertion, e.g. `/.well-known/oauth-protected-resource/mcp`),
//! - the same for Capsule's own endpoints `/mcp` and `/sse`, and
//! - the root `/.well-known/oauth-protected-resource`, for clients that try it as a fallback.
//!
//! The document:
//!
//! ```json
//! {"resource": "https://mcp.example.com/mcp",
//!  "authorization_servers": ["https://idp.example.com/realms/mcp"],
//!  "scopes_supported": ["notes:read", "notes:write"],
//!  "bearer_methods_supported": ["header"],
//!  "resource_name": "Capsule"}
//! ```
//!
//! `resource` is the canonical URI the tokens' audience must equal (RFC 8707); the 401 challenge's
//! `resource_metadata` points at the path-inserted URL.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use reqwest::Url;
use serde_json::{Value, json};

use super::config::AuthConfig;

/// The well-known prefix (RFC 9728 §3).
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The metadata URL of `resource`: the well-known path inserted between its authority and path.
pub fn metadata_url(resource: &str) -> Option<String> {
    let url = Url::parse(resource).ok()?;
    let path = url.path().trim_end_matches('/');
    Some(format!(
        "{}{WELL_KNOWN}{path}",
        url.origin().ascii_serialization()
    ))
}

/// The metadata document of `config` (OAuth mode).
pub fn document(config: &AuthConfig) -> Value {
    let mut servers = config.oauth.authorization_servers.clone();
    if servers.is_empty() {
        servers.extend(config.oauth.issuer.clone());
    }
    let mut doc = json!({
        "resource": config.resource,
        "authorization_servers": servers,
        "bearer_methods_supported": ["header"],
    });
    let scopes = config.scopes_supported();
    if !scopes.is_empty() {
        doc["scopes_supported"] = json!(scopes);
    }
    doc["resource_name"] = json!(config.resource_name.as_deref().unwrap_or("Capsule"));
    doc
}

/// Routes serving `doc` (see the module docs for the paths).
pub fn routes(config: &AuthConfig) -> Router {
    let body = document(config).to_string();
    let serve = move || {
        let body = body.clone();
        async move { json_doc(body) }
    };
    let mut paths = vec![
        WELL_KNOWN.to_string(),
        format!("{WELL_KNOWN}/mcp"),
        format!("{WELL_KNOWN}/sse"),
    ];
    if let Some(path) = config
        .resource
        .as_deref()
        .and_then(|r| Url::parse(r).ok())
        .map(|u| u.path().trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
    {
        paths.push(format!("{WELL_KNOWN}{path}"));
    }
    paths.sort();
    paths.dedup();
    let mut router = Router::new();
    for path in paths {
        router = router.route(&path, get(serve.clone()));
    }
    router
}

fn json_doc(body: String) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    // A public document: browser-based clients (e.g. the MCP Inspector) may read it.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_path() {
        assert_eq!(
            metadata_url("https://mcp.example.com/mcp").as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource")
        );
    }

    #[test]
    fn the_document_names_resource_servers_and_scopes() {
        let mut config = AuthConfig {
            resource: Some("https://mcp.example.com/mcp".into()),
            ..Default::default()
        };
        config.oauth.issuer = Some("https://idp.example.com".into());
        config.scopes_supported = Some(vec!["a".into(), "b".into()]);
        let doc = document(&config);
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://idp.example.com"])
        );
        assert_eq!(doc["scopes_supported"], json!(["a", "b"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
}
