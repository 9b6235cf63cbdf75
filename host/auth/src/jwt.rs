//! JWT access tokens (RFC 9068), validated locally against the issuer's keys.
//!
//! A token is accepted only when all of these hold:
//! - it is a JWS in compact form whose `alg` is one the operator allows (default RS256, ES256,
//!   EdDSA). `none` and HMAC algorithms are never accepted, so neither an unsigned token nor
//!   a token "signed" with a public key as an HMAC secret can pass (RFC 8725 §2.1, §3.1);
//! - it has no `crit` header Capsule would have to understand (RFC 7515 §4.1.11);
//! - its signature verifies with the issuer's key named by `kid` ([`super::jwks`]);
//! - `iss` equals the configured issuer (RFC 9068 §4, RFC 8725 §3.8);
//! - `aud` contains this server's canonical resource URI (RFC 8707 §2, RFC 9068 §4; the MCP
//!   authorization spec, "Token Audience Binding and Validation"): a token minted for another
//!   resource is refused, which is what stops token reuse across servers;
//! - `exp` is present and in the future, and `nbf` (if present) in the past, both with the
//!   configured clock skew (RFC 7519 §4.1.4, §4.1.5).
//!
//! Signature checks are done by `jsonwebtoken` with `ring` as its crypto provider
//! ([`super::verify`]); nothing here is hand-written crypto.
//!
//! Clients send the same token with every request until it expires, so a token that passed is
//! remembered (by its SHA-256, never the token itself) until the earlier of its `exp` and
//! [`VERIFIED_TTL`], and only while the key set it was verified with is the cached one: a JWKS
//! refetch (key rotation) forgets every result. A remembered token skips the signature check
//! (~50–90 µs) and costs a hash and a map lookup (~2 µs).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::TokenError;
use super::bearer::sha256;
use super::jwks::{KeyCache, KeyError};
use super::principal::{Principal, Proof, split_scopes};
use capsule_common::sync::lock;

/// Largest token considered (bytes); larger ones are refused unparsed.
pub const MAX_TOKEN: usize = 16 * 1024;

/// Longest a verified token is remembered.
pub const VERIFIED_TTL: Duration = Duration::from_secs(300);

/// Most tokens remembered; when full, expired ones are dropped, then all.
pub const MAX_VERIFIED: usize = 10_000;

/// Algorithms accepted when the operator does not choose.
pub const DEFAULT_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// An algorithm name `auth.oauth.algorithms` does not accept (RFC 7518 §3.1 names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    /// A name the JWT library does not know, though it is in the accepted list.
    #[error("unknown algorithm '{0}'")]
    Unsupported(String),
    /// `HS256`, `HS384` or `HS512`: a shared secret, never the issuer's private key.
    #[error(
        "'{0}' is a shared-secret algorithm; access tokens must be signed with the issuer's \
         private key (RS*, PS*, ES256, ES384 or EdDSA)"
    )]
    SharedSecret(String),
    /// `none`: unsigned tokens.
    #[error("'none' means unsigned tokens, which are never accepted")]
    None,
    /// Any other name.
    #[error(
        "unknown algorithm '{0}' (use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA)"
    )]
    Unknown(String),
}

/// Parse an algorithm name for `auth.oauth.algorithms`: asymmetric JWS algorithms only.
///
/// # Errors
/// [`AlgorithmError`]: a shared-secret algorithm, `none`, or an unknown name.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, AlgorithmError> {
    match name {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "EdDSA" => {
            name.parse()
                .map_err(|_| AlgorithmError::Unsupported(name.to_string()))
        }
        "HS256" | "HS384" | "HS512" => Err(AlgorithmError::SharedSecret(name.to_string())),
        "none" => Err(AlgorithmError::None),
        _ => Err(AlgorithmError::Unknown(name.to_string())),
    }
}

/// The claims Capsule reads.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    /// A NumericDate may have a fraction (RFC 7519 §2).
    exp: Option<f64>,
    client_id: Option<String>,
    azp: Option<String>,
    scope: Option<String>,
    /// Some issuers (Microsoft Entra, Okta) put scopes in `scp`, as a string or an array.
    scp: Option<Value>,
}

/// Scopes from `scope` and `scp`.
fn scopes_of(scope: Option<&str>, scp: Option<&Value>) -> BTreeSet<String> {
    let mut scopes = scope.map(split_scopes).unwrap_or_default();
    match scp {
        Some(Value::String(s)) => scopes.extend(split_scopes(s)),
        Some(Value::Array(items)) => {
            scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
        }
        _ => {}
    }
    scopes
}

/// Validates JWT access tokens for one issuer and one resource.
pub struct JwtValidator {
    pub issuer: String,
    pub audience: String,
    pub algorithms: Vec<Algorithm>,
    pub leeway: Duration,
    pub keys: Arc<KeyCache>,
    /// SHA-256 of a verified token → (valid until, key set generation, principal).
    verified: Mutex<HashMap<[u8; 32], (u64, u64, Principal)>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whether `token` looks like a compact JWS (three base64url parts, a JSON header).
pub fn looks_like_jwt(token: &str) -> bool {
    token.len() <= MAX_TOKEN && token.split('.').count() == 3 && token.starts_with("eyJ")
}

impl JwtValidator {
    pub fn new(
        issuer: String,
        audience: String,
        algorithms: Vec<Algorithm>,
        leeway: Duration,
        keys: Arc<KeyCache>,
    ) -> Self {
        Self {
            issuer,
            audience,
            algorithms,
            leeway,
            keys,
            verified: Mutex::default(),
        }
    }

    fn remembered(&self, digest: &[u8; 32]) -> Option<Principal> {
        let verified = lock(&self.verified);
        let (until, generation, principal) = verified.get(digest)?;
        (now_secs() < *until && *generation == self.keys.generation()).then(|| principal.clone())
    }

    fn remember(&self, digest: [u8; 32], exp: Option<u64>, generation: u64, principal: &Principal) {
        let now = now_secs();
        let until = exp.unwrap_or(0).min(now + VERIFIED_TTL.as_secs());
        if until <= now {
            return;
        }
        let mut verified = lock(&self.verified);
        if verified.len() >= MAX_VERIFIED {
            verified.retain(|_, (u, _, _)| *u > now);
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
        }
        verified.insert(digest, (until, generation, principal.clone()));
    }

    /// Validate `token`; see the module docs for the rules.
    pub async fn validate(&self, token: &str) -> Result<Principal, TokenError> {
        super::verify::install();
        if token.len() > MAX_TOKEN {
            return Err(TokenError::invalid("the token is too large"));
        }
        let digest = sha256(token.as_bytes());
        if let Some(principal) = self.remembered(&digest) {
            return Ok(principal);
        }
        if token.split('.').count() != 3 {
            return Err(TokenError::invalid(
                "the token is not a JWT (expected header.payload.signature)",
            ));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName | ErrorKind::Json(_) => TokenError::invalid(
                "the token header is malformed or names an algorithm that is not accepted \
                 (unsigned 'none' tokens never are)",
            ),
            _ => TokenError::invalid("the token header cannot be decoded"),
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(TokenError::invalid(format!(
                "the token is signed with {:?}, which this server does not accept",
                header.alg
            )));
        }
        if header.crit.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(TokenError::invalid(
                "the token has critical header parameters this server does not understand",
            ));
        }
        let generation = self.keys.generation();
        let key = self
            .keys
            .key(header.kid.as_deref(), header.alg)
            .await
            .map_err(|e| match e {
                KeyError::NoKey(why) => {
                    TokenError::invalid(format!("no key to verify the token: {why}"))
                }
                KeyError::Unavailable(why) => TokenError::Unavailable(why),
            })?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = self.leeway.as_secs();
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|e| {
            TokenError::invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_string(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_string(),
                ErrorKind::InvalidIssuer => format!("the token was not issued by {}", self.issuer),
                ErrorKind::InvalidAudience => format!(
                    "the token's audience is not this server: request a token for resource {} \
                     (RFC 8707)",
                    self.audience
                ),
                ErrorKind::InvalidSignature => "the token's signature does not verify".to_string(),
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("the token has no '{claim}' claim")
                }
                ErrorKind::InvalidAlgorithm => {
                    "the token's algorithm does not fit its key".to_string()
                }
                _ => "the token cannot be verified".to_string(),
            })
        })?;
        let claims = data.claims;
        let client_id = claims.client_id.or(claims.azp);
        let subject = claims
            .sub
            .or_else(|| client_id.clone())
            .ok_or_else(|| TokenError::invalid("the token has neither 'sub' nor 'client_id'"))?;
        let principal = Principal {
            subject,
            client_id,
            scopes: scopes_of(claims.scope.as_deref(), claims.scp.as_ref()),
            proof: Proof::Jwt,
        };
        // Remembered under the generation read before the key lookup: if that lookup refetched
        // the JWKS, the entry is already stale and the next request verifies again.
        self.remember(digest, claims.exp.map(|e| e as u64), generation, &principal);
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_asymmetric_algorithms_can_be_configured() {
        assert_eq!(parse_algorithm("ES256").unwrap(), Algorithm::ES256);
        assert_eq!(parse_algorithm("EdDSA").unwrap(), Algorithm::EdDSA);
        assert!(
            parse_algorithm("HS256")
                .unwrap_err()
                .to_string()
                .contains("shared-secret")
        );
        assert!(
            parse_algorithm("none")
                .unwrap_err()
                .to_string()
                .contains("never accepted")
        );
        assert!(
            parse_algorithm("RS1")
                .unwrap_err()
                .to_string()
                .contains("unknown")
        );
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let s = scopes_of(Some("a b  c"), Some(&json!(["d", 1])));
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        let s = scopes_of(None, Some(&json!("x y")));
        assert_eq!(s.into_iter().collect::<Vec<_>>(), ["x", "y"]);
    }
}
