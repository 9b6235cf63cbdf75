//! The `[auth]` table of `capsule.toml`, parsed strictly (`[rate_limits]`: see [`super::ratelimit`]).
//!
//! ```toml
//! [auth]
//! mode = "oauth"                                  # "none" (default), "bearer" or "oauth"
//! resource = "https://mcp.example.com/mcp"        # canonical URI of this server (RFC 8707 audience)
//! # resource_name = "Capsule"                     # RFC 9728 resource_name
//! # scopes_supported = ["notes:read", ...]        # default: the scopes of [auth.scopes]
//! # challenge_scopes = ["notes:read"]             # scope= of a 401 challenge; default: scopes_supported
//! # tokens_file = "tokens.toml"                   # bearer mode: [[token]] entries, like [[auth.token]]
//!
//! [auth.oauth]
//! issuer = "https://idp.example.com/realms/mcp"   # discovery via RFC 8414 / OIDC
//! # authorization_servers = [issuer]              # advertised in the RFC 9728 metadata
//! # jwks_uri = "..."                              # skip discovery
//! # algorithms = ["RS256", "ES256", "EdDSA"]
//! # clock_skew = "30s"
//! # jwks_max_age = "10m"
//! # jwks_refetch_interval = "30s"                 # unknown kid → refetch at most this often
//! # tokens = "jwt"                                # or "introspection" (RFC 7662) for opaque tokens
//! # introspection_endpoint = "..."                # default: discovered
//! # client_id = "capsule"                         # Capsule's own client, for introspection
//! # client_secret_env = "CAPSULE_CLIENT_SECRET"   # or client_secret_file = "secret.txt"
//! # introspection_cache = "30s"
//! # ca_file = "idp-ca.pem"                        # extra trusted CA for the IdP
//!
//! [auth.scopes]                                   # see auth::scopes
//! "notes:read" = ["resources:notes", "tool:notes_search"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::bearer::{StaticToken, StaticTokens};
use super::fetch::{UrlError, check_url};
use super::jwt::{DEFAULT_ALGORITHMS, parse_algorithm};
use super::scopes::{Grant, ScopeMap, ScopeRule};
use capsule_common::Secret;
use capsule_common::env::EnvLookup;

pub use super::issue::Issue;
use super::issue::at;

/// Which authentication `capsule serve --http` applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// No authentication (only allowed on loopback addresses, or with --insecure-no-auth).
    #[default]
    None,
    /// Static bearer tokens from the config (stored as SHA-256 hashes).
    Bearer,
    /// OAuth 2.1 access tokens from an authorization server (JWT or introspection).
    Oauth,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Bearer => "bearer",
            Mode::Oauth => "oauth",
        }
    }
}

/// How OAuth access tokens are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenCheck {
    /// JWT access tokens (RFC 9068) against the issuer's JWKS.
    #[default]
    Jwt,
    /// Every token asked about at the introspection endpoint (RFC 7662).
    Introspection,
}

/// `[auth.oauth]`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthConfig {
    pub issuer: Option<String>,
    /// Advertised in the protected resource metadata; default `[issuer]`.
    pub authorization_servers: Vec<String>,
    pub jwks_uri: Option<String>,
    pub algorithms: Vec<Algorithm>,
    pub clock_skew: Duration,
    pub jwks_max_age: Duration,
    pub jwks_refetch_interval: Duration,
    pub tokens: TokenCheck,
    pub introspection_endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub introspection_cache: Duration,
    pub ca_file: Option<PathBuf>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            authorization_servers: Vec::new(),
            jwks_uri: None,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            clock_skew: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(600),
            jwks_refetch_interval: Duration::from_secs(30),
            tokens: TokenCheck::Jwt,
            introspection_endpoint: None,
            client_id: None,
            client_secret: None,
            introspection_cache: Duration::from_secs(30),
            ca_file: None,
        }
    }
}

/// `[auth]`, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthConfig {
    pub mode: Mode,
    /// The canonical URI of this MCP server: the audience tokens must carry (RFC 8707) and the
    /// `resource` of the protected resource metadata (RFC 9728).
    pub resource: Option<String>,
    pub resource_name: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub challenge_scopes: Option<Vec<String>>,
    pub scopes: ScopeMap,
    pub tokens: StaticTokens,
    pub oauth: OAuthConfig,
}

impl AuthConfig {
    /// `scopes_supported` of the metadata: configured, else the scope table's scopes.
    pub fn scopes_supported(&self) -> Vec<String> {
        self.scopes_supported
            .clone()
            .unwrap_or_else(|| self.scopes.scopes())
    }

    /// Cross-field checks, after command-line overrides.
    ///
    /// # Errors
    /// [`CheckError`]: what the chosen mode is missing, or a resource or issuer URL it refuses.
    pub fn check(&self) -> Result<(), CheckError> {
        match self.mode {
            Mode::None => Ok(()),
            Mode::Bearer => {
                if self.tokens.is_empty() {
                    return Err(CheckError::BearerWithoutTokens);
                }
                if let Some(resource) = &self.resource {
                    check_resource(resource)?;
                }
                Ok(())
            }
            Mode::Oauth => {
                let Some(resource) = &self.resource else {
                    return Err(CheckError::OauthWithoutResource);
                };
                check_resource(resource)?;
                let Some(issuer) = &self.oauth.issuer else {
                    return Err(CheckError::OauthWithoutIssuer);
                };
                check_url(issuer, "auth.oauth.issuer")?;
                if self.oauth.tokens == TokenCheck::Introspection
                    && (self.oauth.client_id.is_none() || self.oauth.client_secret.is_none())
                {
                    return Err(CheckError::IntrospectionWithoutCredentials);
                }
                Ok(())
            }
        }
    }
}

/// What [`AuthConfig::check`] finds missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// `mode = "bearer"` without any token.
    #[error(
        "auth mode \"bearer\" needs tokens: add [[auth.token]] entries to capsule.toml or pass \
         --auth-tokens FILE"
    )]
    BearerWithoutTokens,
    /// `mode = "oauth"` without `auth.resource`.
    #[error(
        "auth mode \"oauth\" needs the server's canonical URL: set auth.resource (e.g. \
         \"https://mcp.example.com/mcp\") or pass --auth-resource URL"
    )]
    OauthWithoutResource,
    /// `mode = "oauth"` without `auth.oauth.issuer`.
    #[error(
        "auth mode \"oauth\" needs the authorization server: set auth.oauth.issuer or pass \
         --auth-issuer URL"
    )]
    OauthWithoutIssuer,
    /// `tokens = "introspection"` without Capsule's client id and secret.
    #[error(
        "tokens = \"introspection\" needs Capsule's own client credentials: set \
         auth.oauth.client_id and client_secret_env (or client_secret_file)"
    )]
    IntrospectionWithoutCredentials,
    /// `auth.resource` is not a canonical resource URI.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// `auth.oauth.issuer` is not a URL Capsule will fetch from.
    #[error(transparent)]
    Issuer(#[from] UrlError),
}

/// Why `auth.resource` is not a canonical resource URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    /// Not https (or loopback http), no host, or a fragment.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// A query string.
    #[error("auth.resource '{0}' must not have a query")]
    Query(String),
}

/// The canonical resource URI: https (or loopback http), no fragment, no query (RFC 8707 §2,
/// MCP authorization spec "Canonical Server URI").
///
/// # Errors
/// [`ResourceError`] naming the rule `text` breaks.
pub fn check_resource(text: &str) -> Result<(), ResourceError> {
    let url = check_url(text, "auth.resource")?;
    if url.query().is_some() {
        return Err(ResourceError::Query(text.to_string()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// TOML

fn mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Mode>, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "none" => Ok(Some(Mode::None)),
        "bearer" => Ok(Some(Mode::Bearer)),
        "oauth" => Ok(Some(Mode::Oauth)),
        _ => Err(serde::de::Error::custom(format!(
            "unknown auth mode '{text}'; use \"none\", \"bearer\" or \"oauth\""
        ))),
    }
}

fn token_check<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TokenCheck>, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "jwt" => Ok(Some(TokenCheck::Jwt)),
        "introspection" => Ok(Some(TokenCheck::Introspection)),
        _ => Err(serde::de::Error::custom(format!(
            "unknown token check '{text}'; use \"jwt\" or \"introspection\""
        ))),
    }
}

/// One `[[auth.token]]` (or `[[token]]` in a tokens file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenToml {
    subject: String,
    sha256: Option<String>,
    env: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

/// `[auth.oauth]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthToml {
    issuer: Option<Spanned<String>>,
    authorization_servers: Option<Vec<Spanned<String>>>,
    jwks_uri: Option<Spanned<String>>,
    algorithms: Option<Vec<Spanned<String>>>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    clock_skew: Option<Duration>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    jwks_max_age: Option<Duration>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    jwks_refetch_interval: Option<Duration>,
    #[serde(default, deserialize_with = "token_check")]
    tokens: Option<TokenCheck>,
    introspection_endpoint: Option<Spanned<String>>,
    client_id: Option<String>,
    client_secret_env: Option<Spanned<String>>,
    client_secret_file: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    introspection_cache: Option<Duration>,
    ca_file: Option<Spanned<String>>,
}

/// `[auth]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthToml {
    #[serde(default, deserialize_with = "mode")]
    mode: Option<Mode>,
    resource: Option<Spanned<String>>,
    resource_name: Option<String>,
    scopes_supported: Option<Vec<String>>,
    challenge_scopes: Option<Vec<String>>,
    tokens_file: Option<Spanned<String>>,
    #[serde(default)]
    token: Vec<Spanned<TokenToml>>,
    oauth: Option<OAuthToml>,
    #[serde(default)]
    scopes: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}

/// Resolve `[[auth.token]]`-style entries.
fn tokens(
    entries: &[Spanned<TokenToml>],
    what: &str,
    env: EnvLookup,
) -> Result<StaticTokens, Issue> {
    let mut out = Vec::new();
    let mut subjects = BTreeSet::new();
    for entry in entries {
        let span = entry.span();
        let t = entry.get_ref();
        if !subjects.insert(t.subject.clone()) {
            return Err(at(
                span,
                format!("{what}: subject '{}' appears twice", t.subject),
            ));
        }
        let scopes: BTreeSet<String> = t.scopes.iter().cloned().collect();
        let token = match (&t.sha256, &t.env) {
            (Some(hash), None) => {
                StaticToken::from_hash(t.subject.clone(), hash, scopes).map_err(|e| e.to_string())
            }
            (None, Some(var)) => match env(var) {
                Some(value) => StaticToken::from_secret(t.subject.clone(), &value, scopes)
                    .map_err(|e| e.to_string()),
                None => Err(format!(
                    "token '{}': environment variable '{var}' is not set (or not UTF-8)",
                    t.subject
                )),
            },
            _ => Err(format!(
                "token '{}': give exactly one of sha256 = \"<hex>\" or env = \"VAR\"",
                t.subject
            )),
        };
        out.push(token.map_err(|m| at(span, format!("{what}: {m}")))?);
    }
    Ok(StaticTokens::new(out))
}

/// Why a tokens file was not loaded. Every message starts with the file's path (and `:LINE` when
/// the problem is on a line of it).
#[derive(Debug, thiserror::Error)]
pub enum TokensFileError {
    /// The file cannot be read.
    #[error("{}: cannot read the tokens file: {source}", file.display())]
    Read {
        /// The tokens file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// It is not TOML of the expected shape, or an entry is wrong (`line`: `:N` or empty).
    #[error("{}{line}: {message}", file.display())]
    Invalid {
        /// The tokens file.
        file: PathBuf,
        /// `:N` for the line the problem is on, or empty.
        line: String,
        /// What is wrong.
        message: String,
    },
}

/// A tokens file (`tokens_file`, `--auth-tokens`): `[[token]]` entries, each with a `subject`,
/// `scopes` and exactly one of `sha256` (hex) or `env` (a variable read through `env`).
///
/// # Errors
/// [`TokensFileError`]: the file cannot be read, does not parse, or an entry is invalid.
pub fn load_tokens_file(file: &Path, env: EnvLookup) -> Result<StaticTokens, TokensFileError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TokensFile {
        #[serde(default)]
        token: Vec<Spanned<TokenToml>>,
    }
    let source = std::fs::read_to_string(file).map_err(|source| TokensFileError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let line = |span: Option<Range<usize>>| {
        span.map(|s| {
            format!(
                ":{}",
                source[..s.start.min(source.len())].matches('\n').count() + 1
            )
        })
        .unwrap_or_default()
    };
    let invalid = |span: Option<Range<usize>>, message: &str| TokensFileError::Invalid {
        file: file.to_path_buf(),
        line: line(span),
        message: message.to_string(),
    };
    let parsed: TokensFile =
        toml::from_str(&source).map_err(|e| invalid(e.span(), e.message().trim()))?;
    tokens(&parsed.token, "token", env).map_err(|issue| invalid(issue.span, &issue.message))
}

fn resolve_path(base: &Path, text: &str) -> PathBuf {
    base.join(text)
}

impl AuthToml {
    /// Resolve against the config file's directory `base`, reading `env = "VAR"` token values
    /// and `client_secret_env` through `env`.
    ///
    /// # Errors
    /// The first wrong value, with its span.
    pub fn resolve(&self, base: &Path, env: EnvLookup) -> Result<AuthConfig, Issue> {
        let mut config = AuthConfig {
            mode: self.mode.unwrap_or_default(),
            resource: None,
            resource_name: self.resource_name.clone(),
            scopes_supported: self.scopes_supported.clone(),
            challenge_scopes: self.challenge_scopes.clone(),
            scopes: ScopeMap::default(),
            tokens: tokens(&self.token, "auth.token", env)?,
            oauth: OAuthConfig::default(),
        };
        if let Some(resource) = &self.resource {
            check_resource(resource.get_ref()).map_err(|m| at(resource.span(), m.to_string()))?;
            config.resource = Some(resource.get_ref().clone());
        }
        if let Some(file) = &self.tokens_file {
            let more = load_tokens_file(&resolve_path(base, file.get_ref()), env)
                .map_err(|m| at(file.span(), format!("auth.tokens_file: {m}")))?;
            config.tokens.extend(more);
        }
        // Scope rules in file order (a TOML table is unordered; the spans are not).
        let mut rules: Vec<(&Spanned<String>, &Vec<Spanned<String>>)> =
            self.scopes.iter().collect();
        rules.sort_by_key(|(scope, _)| scope.span().start);
        let mut resolved = Vec::new();
        for (scope, grants) in rules {
            let name = scope.get_ref();
            if name.is_empty() || name.contains(' ') || name.contains('"') || name.contains('\\') {
                return Err(at(
                    scope.span(),
                    format!(
                        "auth.scopes: '{name}' is not a valid scope token (RFC 6749 §3.3: no spaces, quotes or backslashes)"
                    ),
                ));
            }
            let mut parsed = Vec::new();
            for grant in grants {
                parsed.push(
                    Grant::parse(grant.get_ref())
                        .map_err(|m| at(grant.span(), format!("auth.scopes.\"{name}\": {m}")))?,
                );
            }
            resolved.push(ScopeRule {
                scope: name.clone(),
                grants: parsed,
            });
        }
        config.scopes = ScopeMap::new(resolved);
        if let Some(oauth) = &self.oauth {
            config.oauth = oauth.resolve(base, env)?;
        }
        Ok(config)
    }
}

impl OAuthToml {
    fn resolve(&self, base: &Path, env: EnvLookup) -> Result<OAuthConfig, Issue> {
        let mut c = OAuthConfig::default();
        let url = |v: &Spanned<String>, what: &str| -> Result<String, Issue> {
            check_url(v.get_ref(), what).map_err(|m| at(v.span(), m.to_string()))?;
            Ok(v.get_ref().clone())
        };
        if let Some(v) = &self.issuer {
            c.issuer = Some(url(v, "auth.oauth.issuer")?);
        }
        for v in self.authorization_servers.iter().flatten() {
            c.authorization_servers
                .push(url(v, "auth.oauth.authorization_servers")?);
        }
        if let Some(v) = &self.jwks_uri {
            c.jwks_uri = Some(url(v, "auth.oauth.jwks_uri")?);
        }
        if let Some(v) = &self.introspection_endpoint {
            c.introspection_endpoint = Some(url(v, "auth.oauth.introspection_endpoint")?);
        }
        if let Some(list) = &self.algorithms {
            c.algorithms.clear();
            for v in list {
                c.algorithms.push(
                    parse_algorithm(v.get_ref())
                        .map_err(|m| at(v.span(), format!("auth.oauth.algorithms: {m}")))?,
                );
            }
        }
        c.clock_skew = self.clock_skew.unwrap_or(c.clock_skew);
        c.jwks_max_age = self.jwks_max_age.unwrap_or(c.jwks_max_age);
        c.jwks_refetch_interval = self
            .jwks_refetch_interval
            .unwrap_or(c.jwks_refetch_interval);
        c.tokens = self.tokens.unwrap_or_default();
        c.client_id = self.client_id.clone();
        c.introspection_cache = self.introspection_cache.unwrap_or(c.introspection_cache);
        c.client_secret = match (&self.client_secret_env, &self.client_secret_file) {
            (Some(var), None) => Some(Secret::new(env(var.get_ref()).ok_or_else(|| {
                at(
                    var.span(),
                    format!(
                        "auth.oauth.client_secret_env: environment variable '{}' is not set",
                        var.get_ref()
                    ),
                )
            })?)),
            (None, Some(file)) => {
                let path = resolve_path(base, file.get_ref());
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    at(
                        file.span(),
                        format!("auth.oauth.client_secret_file '{}': {e}", path.display()),
                    )
                })?;
                Some(Secret::new(text.trim().to_string()))
            }
            (Some(var), Some(_)) => {
                return Err(at(
                    var.span(),
                    "give one of client_secret_env or client_secret_file, not both",
                ));
            }
            (None, None) => None,
        };
        if let Some(file) = &self.ca_file {
            let path = resolve_path(base, file.get_ref());
            if !path.is_file() {
                return Err(at(
                    file.span(),
                    format!("auth.oauth.ca_file: '{}' is not a file", path.display()),
                ));
            }
            c.ca_file = Some(path);
        }
        Ok(c)
    }
}
