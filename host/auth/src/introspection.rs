//! Opaque access tokens, checked with the authorization server (RFC 7662 token introspection).
//!
//! `POST introspection_endpoint` with `token=…&token_type_hint=access_token`, authenticated as
//! Capsule's own client (`client_secret_basic`, RFC 7662 §2.1 requires the protected resource to
//! authenticate). The answer is accepted only when:
//! - `active` is `true` (RFC 7662 §2.2);
//! - `token_type`, if given, is not a refresh token;
//! - `iss`, if given, equals the configured issuer;
//! - `aud` contains this server's canonical resource URI (RFC 8707; an answer without `aud`
//!   is refused, since Capsule could not tell whom the token was minted for);
//! - `exp` (if given) is in the future and `nbf` (if given) in the past, with the clock skew.
//!
//! Answers are cached for `introspection_cache` (default 30 s) but never past the token's `exp`,
//! keyed by the SHA-256 of the token — the token itself is not kept. Refusals are cached too,
//! so a client retrying a bad token does not hammer the authorization server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::TokenError;
use super::bearer::sha256;
use super::discovery::Discovery;
use super::fetch::{Fetcher, check_url};
use super::principal::{Principal, Proof, split_scopes};
use capsule_common::Secret;
use capsule_common::sync::lock;

/// Most cached answers; when full, expired ones are dropped, then everything.
pub const MAX_CACHED: usize = 10_000;

/// Where the introspection endpoint is.
pub enum EndpointSource {
    Url(String),
    Discovered(Arc<Discovery>),
}

/// An introspection answer and when it was fetched, keyed by the token's SHA-256.
type CachedAnswer = (Instant, Result<Principal, TokenError>);

/// Checks opaque tokens with the authorization server.
pub struct Introspector {
    pub endpoint: EndpointSource,
    pub client_id: String,
    pub client_secret: Secret,
    pub issuer: String,
    pub audience: String,
    pub leeway: Duration,
    pub cache_ttl: Duration,
    pub fetcher: Fetcher,
    cache: std::sync::Mutex<HashMap<[u8; 32], CachedAnswer>>,
    calls: std::sync::atomic::AtomicU64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn audience_contains(aud: Option<&Value>, resource: &str) -> bool {
    match aud {
        Some(Value::String(a)) => a == resource,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(resource)),
        _ => false,
    }
}

/// Judge one introspection answer (see the module docs).
pub fn judge(
    answer: &Value,
    issuer: &str,
    audience: &str,
    leeway: u64,
    now: u64,
) -> Result<Principal, TokenError> {
    if answer.get("active") != Some(&Value::Bool(true)) {
        return Err(TokenError::invalid(
            "the authorization server says the token is not active (expired, revoked or unknown)",
        ));
    }
    if let Some(kind) = answer.get("token_type").and_then(Value::as_str)
        && kind.eq_ignore_ascii_case("refresh_token")
    {
        return Err(TokenError::invalid(
            "a refresh token is not an access token",
        ));
    }
    if let Some(iss) = answer.get("iss").and_then(Value::as_str)
        && iss != issuer
    {
        return Err(TokenError::invalid(format!(
            "the token was not issued by {issuer}"
        )));
    }
    if !audience_contains(answer.get("aud"), audience) {
        return Err(TokenError::invalid(format!(
            "the token's audience is not this server: request a token for resource {audience} (RFC 8707)"
        )));
    }
    if let Some(exp) = answer.get("exp").and_then(Value::as_u64)
        && exp + leeway <= now
    {
        return Err(TokenError::invalid("the token has expired"));
    }
    if let Some(nbf) = answer.get("nbf").and_then(Value::as_u64)
        && nbf > now + leeway
    {
        return Err(TokenError::invalid("the token is not valid yet (nbf)"));
    }
    let client_id = answer
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let subject = answer
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| client_id.clone())
        .or_else(|| {
            answer
                .get("username")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| {
            TokenError::invalid("the introspection answer names no subject or client")
        })?;
    Ok(Principal {
        subject,
        client_id,
        scopes: answer
            .get("scope")
            .and_then(Value::as_str)
            .map(split_scopes)
            .unwrap_or_default(),
        proof: Proof::Introspection,
    })
}

impl Introspector {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        endpoint: EndpointSource,
        client_id: String,
        client_secret: Secret,
        issuer: String,
        audience: String,
        leeway: Duration,
        cache_ttl: Duration,
        fetcher: Fetcher,
    ) -> Self {
        Self {
            endpoint,
            client_id,
            client_secret,
            issuer,
            audience,
            leeway,
            cache_ttl,
            fetcher,
            cache: Default::default(),
            calls: Default::default(),
        }
    }

    /// How many introspection requests were sent (for logs and tests).
    pub fn call_count(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Result<Principal, TokenError>> {
        let cache = lock(&self.cache);
        cache
            .get(key)
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, r)| r.clone())
    }

    fn remember(&self, key: [u8; 32], answer: &Value, result: &Result<Principal, TokenError>) {
        let mut ttl = self.cache_ttl;
        if let Some(exp) = answer.get("exp").and_then(Value::as_u64) {
            ttl = ttl.min(Duration::from_secs(exp.saturating_sub(now_secs())));
        }
        if ttl.is_zero() {
            return;
        }
        let mut cache = lock(&self.cache);
        if cache.len() >= MAX_CACHED {
            let now = Instant::now();
            cache.retain(|_, (until, _)| *until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now() + ttl, result.clone()));
    }

    async fn endpoint(&self) -> Result<String, TokenError> {
        match &self.endpoint {
            EndpointSource::Url(url) => Ok(url.clone()),
            EndpointSource::Discovered(discovery) => discovery
                .metadata()
                .await
                .map_err(TokenError::Unavailable)?
                .introspection_endpoint
                .clone()
                .ok_or_else(|| {
                    TokenError::Unavailable(
                        "the authorization server metadata has no introspection_endpoint; set \
                         auth.oauth.introspection_endpoint"
                            .into(),
                    )
                }),
        }
    }

    /// Validate an opaque (or any) token by introspection.
    pub async fn validate(&self, token: &str) -> Result<Principal, TokenError> {
        if token.len() > super::jwt::MAX_TOKEN {
            return Err(TokenError::invalid("the token is too large"));
        }
        let key = sha256(token.as_bytes());
        if let Some(result) = self.cached(&key) {
            return result;
        }
        let endpoint = self.endpoint().await?;
        check_url(&endpoint, "introspection_endpoint")
            .map_err(|e| TokenError::Unavailable(e.to_string()))?;
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (status, answer) = self
            .fetcher
            .post_form(
                &endpoint,
                &self.client_id,
                self.client_secret.expose(),
                &[("token", token), ("token_type_hint", "access_token")],
            )
            .await
            .map_err(|e| TokenError::Unavailable(format!("token introspection failed: {e}")))?;
        if status != 200 {
            tracing::error!(
                %endpoint,
                status,
                "token introspection refused Capsule's request; check auth.oauth.client_id and its secret"
            );
            return Err(TokenError::Unavailable(format!(
                "the introspection endpoint answered HTTP {status}"
            )));
        }
        let result = judge(
            &answer,
            &self.issuer,
            &self.audience,
            self.leeway.as_secs(),
            now_secs(),
        );
        self.remember(key, &answer, &result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://as.example";
    const AUD: &str = "https://mcp.example/mcp";

    #[test]
    fn active_tokens_for_this_resource_pass() {
        let p = judge(
            &json!({"active": true, "sub": "alice", "client_id": "app", "scope": "a b",
                    "aud": [AUD, "x"], "iss": ISS, "exp": 2000, "token_type": "Bearer"}),
            ISS,
            AUD,
            0,
            1000,
        )
        .unwrap();
        assert_eq!(p.subject, "alice");
        assert_eq!(p.client_id.as_deref(), Some("app"));
        assert!(p.has_scope("a") && p.has_scope("b"));
        assert_eq!(p.proof, Proof::Introspection);
    }

    #[test]
    fn everything_else_is_refused() {
        let base = json!({"active": true, "client_id": "app", "aud": AUD, "iss": ISS, "exp": 2000});
        let with = |k: &str, v: Value| {
            let mut a = base.clone();
            a[k] = v;
            a
        };
        for (answer, needle) in [
            (json!({"active": false}), "not active"),
            (with("active", json!("true")), "not active"),
            (with("aud", json!("https://other.example/mcp")), "audience"),
            (with("aud", Value::Null), "audience"),
            (with("iss", json!("https://evil.example")), "not issued by"),
            (with("exp", json!(999)), "expired"),
            (with("nbf", json!(1500)), "not valid yet"),
            (with("token_type", json!("refresh_token")), "refresh token"),
        ] {
            let err = judge(&answer, ISS, AUD, 0, 1000).unwrap_err();
            assert!(err.to_string().contains(needle), "{answer}: {err}");
        }
        // Without sub the client is the subject.
        assert_eq!(judge(&base, ISS, AUD, 0, 1000).unwrap().subject, "app");
    }
}
