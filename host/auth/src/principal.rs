//! Who is calling: the identity an access token proves, as the rest of the host sees it.
//!
//! A [`Principal`] is built from a validated token (a static bearer token, a JWT access token per
//! RFC 9068, or an RFC 7662 introspection answer). It carries the subject, the OAuth client, and
//! the granted scopes — never the token itself: tokens stop at the authentication layer and are
//! not passed on to plugins (MCP authorization spec, "Token Passthrough" is forbidden).

use std::collections::BTreeSet;
use std::fmt;

/// How a principal was authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// A static bearer token from the host config (`auth.mode = "bearer"`).
    StaticToken,
    /// A JWT access token (RFC 9068) checked against the issuer's JWKS.
    Jwt,
    /// An opaque token the authorization server vouched for (RFC 7662).
    Introspection,
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::StaticToken => "static-token",
            Proof::Jwt => "jwt",
            Proof::Introspection => "introspection",
        }
    }
}

/// An authenticated caller.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub` of the token (for client-credentials tokens without `sub`, the client id); the
    /// configured subject of a static token.
    pub subject: String,
    /// The OAuth client the token was issued to (`client_id`, else `azp`), if known.
    pub client_id: Option<String>,
    /// Granted scopes (`scope`, space-delimited, RFC 8693 §4.2 / RFC 9068 §2.2.3; or `scp`).
    pub scopes: BTreeSet<String>,
    pub proof: Proof,
}

impl Principal {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("proof", &self.proof)
            .finish()
    }
}

/// Split a space-delimited `scope` value (RFC 6749 §3.3) into scope tokens.
pub fn split_scopes(value: &str) -> BTreeSet<String> {
    value
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
