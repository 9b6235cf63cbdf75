//! The issuer's signing keys (JWKS, RFC 7517 §5), cached.
//!
//! - Fetched on first use from `jwks_uri` (configured, or from the issuer's metadata).
//! - Kept for `jwks_max_age`; after that the next token triggers a refresh in the background
//!   while the cached keys keep serving.
//! - A token whose `kid` is not in the cache triggers an immediate refetch (the issuer rotated
//!   its keys), at most once per `jwks_refetch_interval`: a flood of tokens with made-up key ids
//!   cannot turn Capsule into an amplifier against the authorization server.
//! - Only signature keys are used: `use` absent or `sig`, `key_ops` absent or containing
//!   `verify`, and never symmetric (`oct`) keys. A key's `alg`, when given, must equal the token's;
//!   an EC or OKP key's curve must fit the algorithm (P-256 for ES256, P-384 for ES384, Ed25519 for
//!   EdDSA). Keys Capsule cannot use are skipped, not fatal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;
use tokio::sync::Mutex;

use super::discovery::Discovery;
use super::fetch::{Fetcher, check_url};

/// One usable verification key.
pub struct Key {
    pub kid: Option<String>,
    /// The `alg` the JWK names, if any.
    alg: Option<Algorithm>,
    family: AlgorithmFamily,
    curve: Option<EllipticCurve>,
    pub key: DecodingKey,
}

impl Key {
    fn fits(&self, alg: Algorithm) -> bool {
        if self.alg.is_some_and(|a| a != alg) || self.family != alg_family(alg) {
            return false;
        }
        match alg {
            Algorithm::ES256 => self.curve == Some(EllipticCurve::P256),
            Algorithm::ES384 => self.curve == Some(EllipticCurve::P384),
            Algorithm::EdDSA => self.curve == Some(EllipticCurve::Ed25519),
            _ => true,
        }
    }
}

/// The family of `alg`.
pub fn alg_family(alg: Algorithm) -> AlgorithmFamily {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        _ => AlgorithmFamily::Rsa,
    }
}

/// Turn one JWK into a key, or say why it is skipped.
pub fn usable_key(jwk: &Jwk) -> Result<Key, String> {
    if let Some(usage) = &jwk.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        return Err("not a signature key (use)".into());
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return Err("key_ops does not include verify".into());
    }
    let (family, curve) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (AlgorithmFamily::Rsa, None),
        AlgorithmParameters::EllipticCurve(p) => (AlgorithmFamily::Ec, Some(p.curve.clone())),
        AlgorithmParameters::OctetKeyPair(p) => (AlgorithmFamily::Ed, Some(p.curve.clone())),
        AlgorithmParameters::OctetKey(_) => return Err("symmetric keys are never accepted".into()),
        _ => return Err("unsupported key type".into()),
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(
            a.to_string()
                .parse::<Algorithm>()
                .map_err(|_| format!("alg {a} is not a signature algorithm"))?,
        ),
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("malformed key: {e}"))?;
    Ok(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        family,
        curve,
        key,
    })
}

/// Parse a JWKS document: the usable keys (unusable ones are logged and skipped).
pub fn parse_jwks(doc: &Value, url: &str) -> Result<Vec<Key>, String> {
    let Some(keys) = doc.get("keys").and_then(Value::as_array) else {
        return Err(format!("{url}: not a JWK Set (no \"keys\" array)"));
    };
    let mut usable = Vec::new();
    for (i, raw) in keys.iter().enumerate() {
        let kid = raw.get("kid").and_then(Value::as_str).unwrap_or("-");
        match serde_json::from_value::<Jwk>(raw.clone())
            .map_err(|e| format!("unreadable ({e})"))
            .and_then(|jwk| usable_key(&jwk))
        {
            Ok(key) => usable.push(key),
            Err(why) => tracing::debug!(%url, index = i, kid, "JWKS key skipped: {why}"),
        }
    }
    Ok(usable)
}

struct KeySet {
    keys: Vec<Arc<Key>>,
    fetched: Option<Instant>,
    /// Bumped by every fetch: results verified with an older key set are stale.
    generation: u64,
}

/// Why no key was found for a token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The token names a key the issuer does not publish (or no key fits its algorithm).
    #[error("{0}")]
    NoKey(String),
    /// The keys could not be fetched.
    #[error("{0}")]
    Unavailable(String),
}

/// Where the JWKS lives.
pub enum JwksSource {
    Url(String),
    Discovered(Arc<Discovery>),
}

/// Tunables of the cache.
#[derive(Clone, Copy, Debug)]
pub struct CachePolicy {
    pub max_age: Duration,
    pub refetch_interval: Duration,
}

/// The cached JWKS.
pub struct KeyCache {
    source: JwksSource,
    fetcher: Fetcher,
    policy: CachePolicy,
    set: ArcSwap<KeySet>,
    /// Held while fetching; holds when the last fetch started.
    gate: Mutex<Option<Instant>>,
    refreshing: AtomicBool,
    fetches: std::sync::atomic::AtomicU64,
}

impl KeyCache {
    pub fn new(source: JwksSource, fetcher: Fetcher, policy: CachePolicy) -> Arc<Self> {
        Arc::new(Self {
            source,
            fetcher,
            policy,
            set: ArcSwap::from_pointee(KeySet {
                keys: Vec::new(),
                fetched: None,
                generation: 0,
            }),
            gate: Mutex::new(None),
            refreshing: AtomicBool::new(false),
            fetches: Default::default(),
        })
    }

    /// How many times the JWKS was fetched (for logs and tests).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Which key set is cached now: changes whenever the JWKS is fetched again.
    pub fn generation(&self) -> u64 {
        self.set.load().generation
    }

    fn find(set: &KeySet, kid: Option<&str>, alg: Algorithm) -> Result<Arc<Key>, String> {
        let fitting = set.keys.iter().filter(|k| k.fits(alg));
        match kid {
            Some(kid) => fitting
                .into_iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .cloned()
                .ok_or_else(|| format!("the issuer publishes no {alg:?} key with kid '{kid}'")),
            None => {
                let all: Vec<_> = fitting.collect();
                match all.as_slice() {
                    [one] => Ok((*one).clone()),
                    [] => Err(format!("the issuer publishes no {alg:?} key")),
                    _ => Err("the token has no kid and the issuer publishes several keys".into()),
                }
            }
        }
    }

    /// The key that verifies a token with header `kid` and `alg`.
    pub async fn key(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<Key>, KeyError> {
        let set = self.set.load();
        if let Ok(key) = Self::find(&set, kid, alg) {
            if set
                .fetched
                .is_some_and(|at| at.elapsed() > self.policy.max_age)
            {
                self.refresh_in_background();
            }
            return Ok(key);
        }
        // Unknown key: refetch now, unless a fetch started too recently.
        let mut gate = self.gate.lock().await;
        if let Ok(key) = Self::find(&self.set.load(), kid, alg) {
            return Ok(key); // another request refetched meanwhile
        }
        if let Some(last) = *gate
            && last.elapsed() < self.policy.refetch_interval
        {
            let set = self.set.load();
            let why = Self::find(&set, kid, alg).err().unwrap_or_default();
            return Err(KeyError::NoKey(why));
        }
        *gate = Some(Instant::now());
        self.fetch().await.map_err(KeyError::Unavailable)?;
        drop(gate);
        Self::find(&self.set.load(), kid, alg).map_err(KeyError::NoKey)
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut gate = this.gate.lock().await;
            if this
                .set
                .load()
                .fetched
                .is_some_and(|at| at.elapsed() > this.policy.max_age)
            {
                *gate = Some(Instant::now());
                if let Err(e) = this.fetch().await {
                    tracing::warn!("JWKS refresh failed; the cached keys keep serving: {e}");
                }
            }
            drop(gate);
            this.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetch the JWKS and replace the cache. Call with the gate held.
    async fn fetch(&self) -> Result<(), String> {
        let url = match &self.source {
            JwksSource::Url(url) => url.clone(),
            JwksSource::Discovered(discovery) => discovery.metadata().await?.jwks_uri.clone().ok_or_else(|| {
                "the authorization server metadata has no jwks_uri; set auth.oauth.jwks_uri, or use \
                 tokens = \"introspection\""
                    .to_string()
            })?,
        };
        check_url(&url, "jwks_uri").map_err(|e| e.to_string())?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let doc = self
            .fetcher
            .get_json(&url)
            .await
            .map_err(|e| format!("cannot fetch the JWKS: {e}"))?
            .ok_or_else(|| format!("cannot fetch the JWKS: {url}: 404"))?;
        let keys = parse_jwks(&doc, &url)?;
        tracing::info!(%url, keys = keys.len(), "JWKS fetched");
        let generation = self.set.load().generation + 1;
        self.set.store(Arc::new(KeySet {
            keys: keys.into_iter().map(Arc::new).collect(),
            fetched: Some(Instant::now()),
            generation,
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_signature_keys_that_fit_the_algorithm_are_used() {
        let doc = json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "kid": "ec",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "alg": "EdDSA",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "weird"}
        ]});
        let keys = parse_jwks(&doc, "u").unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.clone().unwrap()).collect();
        assert_eq!(kids, ["ec", "ed"]);
        let set = KeySet {
            keys: keys.into_iter().map(Arc::new).collect(),
            fetched: None,
            generation: 1,
        };
        assert!(KeyCache::find(&set, Some("ec"), Algorithm::ES256).is_ok());
        // P-256 key, ES384 token: refused (curve), and an RSA token never gets the EC key.
        assert!(KeyCache::find(&set, Some("ec"), Algorithm::ES384).is_err());
        assert!(KeyCache::find(&set, Some("ec"), Algorithm::RS256).is_err());
        assert!(KeyCache::find(&set, Some("hmac"), Algorithm::HS256).is_err());
        assert!(KeyCache::find(&set, None, Algorithm::EdDSA).is_ok());
        assert!(parse_jwks(&json!({"nokeys": 1}), "u").is_err());
    }
}
