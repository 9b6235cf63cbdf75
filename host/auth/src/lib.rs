//! Authentication and authorization: Capsule as an OAuth 2.1 resource server (MCP authorization
//! spec 2025-11-25 and 2026-07-28), scopes per plugin and tool, rate limits, and the audit log.
//!
//! Three modes (`[auth] mode` in `capsule.toml`, or `--auth`), for the HTTP transport only — stdio
//! serves the local user who started the process:
//! - `none`: no authentication; refused on non-loopback addresses unless `--insecure-no-auth`.
//! - `bearer`: static tokens ([`bearer`]), each with a subject and scopes.
//! - `oauth`: access tokens from an authorization server: JWTs checked locally against the
//!   issuer's JWKS ([`jwt`], [`jwks`], [`discovery`]; signatures verified by `ring`, [`verify`])
//!   or opaque tokens checked by RFC 7662 introspection ([`introspection`]); Protected Resource
//!   Metadata ([`metadata`], RFC 9728) and `WWW-Authenticate` challenges ([`challenge`]) tell
//!   clients where to get a token.
//!
//! Data flow: the server crate's HTTP layer (`capsule_server::transport::http::auth`, an axum
//! middleware around the MCP routes) authenticates every request through [`Authenticator`],
//! turns the token into a [`Principal`], strips the `Authorization` header (tokens are never
//! passed through to plugins or anywhere else), and screens calls: scope ([`scopes`], `403
//! insufficient_scope`) and rate limits ([`ratelimit`], `429`). The MCP server
//! (`capsule_server::server`) reads the principal from the request to filter lists and re-check calls, and
//! records every call in the [`audit`] log.

pub mod audit;
pub mod bearer;
pub mod challenge;
pub mod config;
pub mod discovery;
pub mod fetch;
pub mod introspection;
pub mod issue;
pub mod jwks;
pub mod jwt;
pub mod metadata;
pub mod principal;
pub mod ratelimit;
pub mod scopes;
pub mod verify;

use std::sync::{Arc, RwLock};

pub use config::{AuthConfig, Mode};
pub use principal::Principal;

use audit::AuditLog;
use bearer::StaticTokens;
use config::TokenCheck;
use discovery::Discovery;
use fetch::Fetcher;
use introspection::{EndpointSource, Introspector};
use jwks::{CachePolicy, JwksSource, KeyCache};
use jwt::JwtValidator;
use ratelimit::RateLimits;
use scopes::{Decision, ScopeMap, Target};

/// Why a token was not accepted.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token is not valid here: `401 invalid_token` (RFC 6750 §3.1).
    #[error("{0}")]
    Invalid(String),
    /// It could not be checked (the authorization server is unreachable or misconfigured):
    /// `503`, so that clients retry instead of discarding a good token.
    #[error("{0}")]
    Unavailable(String),
}

impl TokenError {
    pub fn invalid(message: impl Into<String>) -> Self {
        TokenError::Invalid(message.into())
    }
}

/// OAuth token checks: local JWT validation or introspection.
pub struct OAuthValidator {
    jwt: Option<JwtValidator>,
    introspection: Option<Introspector>,
    /// The JWKS cache (JWT mode), for diagnostics.
    pub keys: Option<Arc<KeyCache>>,
    pub discovery: Option<Arc<Discovery>>,
}

/// Turns a bearer token into a principal, per the configured mode.
pub enum Authenticator {
    None,
    Bearer(StaticTokens),
    OAuth(Box<OAuthValidator>),
}

impl Authenticator {
    /// Build the authenticator of `config` (already [`AuthConfig::check`]ed).
    pub fn new(config: &AuthConfig) -> anyhow::Result<Self> {
        match config.mode {
            Mode::None => Ok(Authenticator::None),
            Mode::Bearer => Ok(Authenticator::Bearer(config.tokens.clone())),
            Mode::Oauth => {
                let oauth = &config.oauth;
                let issuer = oauth.issuer.clone().unwrap_or_default();
                let audience = config.resource.clone().unwrap_or_default();
                let fetcher = Fetcher::new(oauth.ca_file.as_deref())?;
                let needs_discovery = match oauth.tokens {
                    TokenCheck::Jwt => oauth.jwks_uri.is_none(),
                    TokenCheck::Introspection => oauth.introspection_endpoint.is_none(),
                };
                let discovery = if needs_discovery {
                    Some(Arc::new(
                        Discovery::new(&issuer, fetcher.clone()).map_err(anyhow::Error::msg)?,
                    ))
                } else {
                    None
                };
                let mut validator = OAuthValidator {
                    jwt: None,
                    introspection: None,
                    keys: None,
                    discovery: discovery.clone(),
                };
                match oauth.tokens {
                    TokenCheck::Jwt => {
                        let source = match (&oauth.jwks_uri, &discovery) {
                            (Some(url), _) => JwksSource::Url(url.clone()),
                            (None, Some(d)) => JwksSource::Discovered(d.clone()),
                            (None, None) => {
                                unreachable!("discovery is set up when jwks_uri is not")
                            }
                        };
                        let keys = KeyCache::new(
                            source,
                            fetcher,
                            CachePolicy {
                                max_age: oauth.jwks_max_age,
                                refetch_interval: oauth.jwks_refetch_interval,
                            },
                        );
                        validator.keys = Some(keys.clone());
                        validator.jwt = Some(JwtValidator::new(
                            issuer,
                            audience,
                            oauth.algorithms.clone(),
                            oauth.clock_skew,
                            keys,
                        ));
                    }
                    TokenCheck::Introspection => {
                        let endpoint = match (&oauth.introspection_endpoint, &discovery) {
                            (Some(url), _) => EndpointSource::Url(url.clone()),
                            (None, Some(d)) => EndpointSource::Discovered(d.clone()),
                            (None, None) => {
                                unreachable!("discovery is set up when the endpoint is not")
                            }
                        };
                        validator.introspection = Some(Introspector::new(
                            endpoint,
                            oauth.client_id.clone().unwrap_or_default(),
                            oauth.client_secret.clone().ok_or_else(|| {
                                anyhow::anyhow!("introspection needs auth.oauth.client_secret_env")
                            })?,
                            issuer,
                            audience,
                            oauth.clock_skew,
                            oauth.introspection_cache,
                            fetcher,
                        ));
                    }
                }
                Ok(Authenticator::OAuth(Box::new(validator)))
            }
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            Authenticator::None => Mode::None,
            Authenticator::Bearer(_) => Mode::Bearer,
            Authenticator::OAuth(_) => Mode::Oauth,
        }
    }

    /// Check a presented bearer token.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, TokenError> {
        match self {
            Authenticator::None => Err(TokenError::invalid("authentication is not configured")),
            Authenticator::Bearer(tokens) => tokens
                .verify(token)
                .ok_or_else(|| TokenError::invalid("unknown token")),
            Authenticator::OAuth(v) => match (&v.jwt, &v.introspection) {
                (Some(jwt), _) => jwt.validate(token).await,
                (None, Some(introspection)) => introspection.validate(token).await,
                (None, None) => Err(TokenError::Unavailable("no token check configured".into())),
            },
        }
    }

    /// Fetch the authorization server metadata now, so configuration mistakes show in the log
    /// at start-up rather than at the first request. Failures are retried on demand.
    pub fn warm_up(self: &Arc<Self>) {
        if let Authenticator::OAuth(v) = self.as_ref()
            && let Some(discovery) = v.discovery.clone()
        {
            tokio::spawn(async move {
                let _ = discovery.metadata().await;
            });
        }
    }
}

/// Which transport a call came over (for the audit log and rate limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    /// Streamable HTTP (`/mcp`).
    Http,
    /// The 2024-11-05 HTTP+SSE transport (`/sse` + `/messages`).
    Sse,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
            Transport::Sse => "sse",
        }
    }
}

/// The principal of an HTTP+SSE session: set by `GET /sse`, refreshed by each `POST /messages`
/// of the same subject (a client may step up its scopes mid-session).
pub type SessionPrincipal = Arc<RwLock<Option<Arc<Principal>>>>;

/// Who is making a request, as the MCP server sees it.
#[derive(Clone, Debug)]
pub enum Caller {
    /// stdio, or HTTP without authentication: may use everything.
    Trusted(Transport),
    /// An authenticated HTTP client.
    Authenticated(Transport, Arc<Principal>),
    /// HTTP with authentication on, but no principal reached the server: may use nothing.
    /// (The auth layer makes this impossible; this is the fail-closed default.)
    Unknown(Transport),
}

impl Caller {
    pub fn transport(&self) -> Transport {
        match self {
            Caller::Trusted(t) | Caller::Authenticated(t, _) | Caller::Unknown(t) => *t,
        }
    }

    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Caller::Authenticated(_, p) => Some(p),
            _ => None,
        }
    }

    /// The key of per-subject rate limits.
    pub fn subject(&self) -> &str {
        match self {
            Caller::Authenticated(_, p) => &p.subject,
            Caller::Trusted(Transport::Stdio) => "stdio",
            _ => "anonymous",
        }
    }
}

/// What the server and the HTTP layer consult for every call: scopes, limits, audit.
pub struct Access {
    pub mode: Mode,
    pub scopes: ScopeMap,
    pub limits: RateLimits,
    pub audit: Option<AuditLog>,
}

impl Default for Access {
    fn default() -> Self {
        Self {
            mode: Mode::None,
            scopes: ScopeMap::default(),
            limits: RateLimits::new(&Default::default()),
            audit: None,
        }
    }
}

impl Access {
    /// May `caller` use `target`?
    pub fn decide(&self, caller: &Caller, target: &Target<'_>) -> Decision {
        match caller {
            Caller::Trusted(_) => Decision::Allowed,
            Caller::Authenticated(_, p) => self.scopes.decide(&p.scopes, target),
            Caller::Unknown(_) => Decision::Denied { needed: None },
        }
    }

    /// Write an audit record, if the log is on.
    pub fn record(&self, record: audit::Record) {
        if let Some(log) = &self.audit {
            log.write(&record);
        }
    }
}
