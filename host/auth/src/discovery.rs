//! Authorization server metadata: where the issuer publishes its keys and its introspection
//! endpoint.
//!
//! Tried in the order the MCP authorization spec (2025-11-25, "Authorization Server Metadata
//! Discovery") gives clients:
//! 1. RFC 8414 §3.1: `/.well-known/oauth-authorization-server` inserted before the issuer's path;
//! 2. OpenID Connect Discovery 1.0 with path insertion: `/.well-known/openid-configuration` + path;
//! 3. OpenID Connect Discovery 1.0 §4: the issuer + `/.well-known/openid-configuration`.
//!
//! The document's `issuer` must equal the configured issuer exactly (RFC 8414 §3.3), or it is
//! not used. Endpoints it names must be `https` (or loopback). Configured `jwks_uri` and
//! `introspection_endpoint` skip discovery. A failed discovery is retried on a later request, at
//! most once every [`RETRY_AFTER`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::Value;
use tokio::sync::Mutex;

use super::fetch::{Fetcher, UrlError, check_url};

/// After a failed discovery, how long requests fail fast before it is tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What Capsule uses from the authorization server metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMetadata {
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub introspection_endpoint: Option<String>,
}

/// The well-known URLs of `issuer`, in the order they are tried.
pub fn metadata_urls(issuer: &Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    let mut urls = vec![format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    )];
    if !path.is_empty() {
        urls.push(format!("{origin}/.well-known/openid-configuration{path}"));
    }
    urls.push(format!("{origin}{path}/.well-known/openid-configuration"));
    urls
}

fn endpoint(doc: &Value, key: &str, url: &str) -> Result<Option<String>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => check_url(text, &format!("{key} in {url}"))
            .map(|_| Some(text.clone()))
            .map_err(|e| e.to_string()),
        Some(_) => Err(format!("{url}: {key} is not a string")),
    }
}

/// Read one metadata document; `issuer` must match.
pub fn parse(doc: &Value, issuer: &str, url: &str) -> Result<ServerMetadata, String> {
    let found = doc
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if found != issuer {
        return Err(format!(
            "{url} names issuer '{found}', not the configured '{issuer}' (RFC 8414 §3.3: they must \
             be identical; check auth.oauth.issuer, including any trailing slash)"
        ));
    }
    Ok(ServerMetadata {
        issuer: issuer.to_string(),
        jwks_uri: endpoint(doc, "jwks_uri", url)?,
        introspection_endpoint: endpoint(doc, "introspection_endpoint", url)?,
    })
}

#[derive(Default)]
struct State {
    found: Option<Arc<ServerMetadata>>,
    failed_at: Option<(Instant, String)>,
}

/// The issuer's metadata, fetched on first use and kept.
pub struct Discovery {
    issuer: String,
    url: Url,
    fetcher: Fetcher,
    state: Mutex<State>,
}

impl Discovery {
    /// Discovery of `issuer`'s metadata (RFC 8414 §3, OpenID Connect Discovery 1.0 §4), fetched
    /// on first use.
    ///
    /// # Errors
    /// [`UrlError`] when `issuer` is not an https URL (or http to a loopback host) without a
    /// fragment.
    pub fn new(issuer: &str, fetcher: Fetcher) -> Result<Self, UrlError> {
        Ok(Self {
            issuer: issuer.to_string(),
            url: check_url(issuer, "auth.oauth.issuer")?,
            fetcher,
            state: Mutex::default(),
        })
    }

    /// The metadata (fetched now if not yet known).
    pub async fn metadata(&self) -> Result<Arc<ServerMetadata>, String> {
        let mut state = self.state.lock().await;
        if let Some(found) = &state.found {
            return Ok(found.clone());
        }
        if let Some((at, error)) = &state.failed_at
            && at.elapsed() < RETRY_AFTER
        {
            return Err(error.clone());
        }
        match self.discover().await {
            Ok(found) => {
                let found = Arc::new(found);
                tracing::info!(
                    issuer = %self.issuer,
                    jwks_uri = found.jwks_uri.as_deref().unwrap_or("-"),
                    introspection_endpoint = found.introspection_endpoint.as_deref().unwrap_or("-"),
                    "authorization server metadata discovered"
                );
                state.found = Some(found.clone());
                state.failed_at = None;
                Ok(found)
            }
            Err(error) => {
                tracing::warn!(issuer = %self.issuer, "authorization server discovery failed: {error}");
                state.failed_at = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    async fn discover(&self) -> Result<ServerMetadata, String> {
        let mut tried = Vec::new();
        for url in metadata_urls(&self.url) {
            match self.fetcher.get_json(&url).await {
                Ok(Some(doc)) => return parse(&doc, &self.issuer, &url),
                Ok(None) => tried.push(format!("{url}: 404")),
                Err(e) => tried.push(e.to_string()),
            }
        }
        Err(format!(
            "no authorization server metadata for issuer '{}' ({})",
            self.issuer,
            tried.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn well_known_urls_insert_before_the_path() {
        let url = Url::parse("https://idp.example.com/realms/mcp").unwrap();
        assert_eq!(
            metadata_urls(&url),
            [
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/mcp",
                "https://idp.example.com/.well-known/openid-configuration/realms/mcp",
                "https://idp.example.com/realms/mcp/.well-known/openid-configuration",
            ]
        );
        let root = Url::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            metadata_urls(&root),
            [
                "http://127.0.0.1:9000/.well-known/oauth-authorization-server",
                "http://127.0.0.1:9000/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        let doc = json!({"issuer": "https://idp.example.com/", "jwks_uri": "https://idp.example.com/jwks"});
        let err = parse(&doc, "https://idp.example.com", "u").unwrap_err();
        assert!(err.contains("RFC 8414"), "{err}");
        let ok = parse(&doc, "https://idp.example.com/", "u").unwrap();
        assert_eq!(ok.jwks_uri.as_deref(), Some("https://idp.example.com/jwks"));
        let insecure = json!({"issuer": "https://i", "jwks_uri": "http://evil.example/jwks"});
        assert!(
            parse(&insecure, "https://i", "u")
                .unwrap_err()
                .contains("https")
        );
    }
}
