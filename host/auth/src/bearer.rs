//! Static bearer tokens (`auth.mode = "bearer"`), for simple deployments without an
//! authorization server.
//!
//! Each token has a subject and its own scopes. The host never stores a token in clear: a token
//! is configured as its SHA-256 (`sha256 = "…"`, printed by `capsule auth hash-token`) or read
//! from an environment variable at start-up and hashed at once. A presented token is hashed and
//! compared with every configured hash in constant time (`subtle`), so neither the comparison
//! nor the number of tokens checked reveals how much of a guess was right. Tokens travel as
//! `Authorization: Bearer …` (RFC 6750 §2.1) only.
//!
//! ```toml
//! [[auth.token]]
//! subject = "ci-bot"
//! sha256 = "4f1c…"                 # capsule auth hash-token < token.txt
//! scopes = ["notes:read"]
//!
//! [[auth.token]]
//! subject = "alice"
//! env = "CAPSULE_TOKEN_ALICE"      # the token itself, in the server's environment
//! scopes = ["notes:read", "notes:write"]
//! ```

use std::collections::BTreeSet;
use std::fmt;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::principal::{Principal, Proof};

/// Shortest token accepted from the environment (bytes): a guessable token is no protection.
pub const MIN_TOKEN_LEN: usize = 20;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// One configured token.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticToken {
    pub subject: String,
    hash: [u8; 32],
    pub scopes: BTreeSet<String>,
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken")
            .field("subject", &self.subject)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A configured static token Capsule refuses; the message names the token by its subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaticTokenError {
    /// `sha256` is not 64 hex digits.
    #[error(
        "token '{subject}': sha256 must be 64 hex digits (the SHA-256 of the token; `capsule \
         auth hash-token` prints it)"
    )]
    BadHash {
        /// The token's configured subject.
        subject: String,
    },
    /// A clear-text token shorter than [`MIN_TOKEN_LEN`] bytes (`len`).
    #[error(
        "token '{subject}' is {len} bytes long; use at least {min} random bytes (`capsule auth \
         new-token` makes one)",
        min = MIN_TOKEN_LEN
    )]
    TooShort {
        /// The token's configured subject.
        subject: String,
        /// Its length (bytes).
        len: usize,
    },
    /// A clear-text token with characters outside RFC 6750 §2.1 `b64token`.
    #[error(
        "token '{subject}' has characters a bearer token cannot carry (RFC 6750 §2.1 allows \
         letters, digits and -._~+/ with trailing =)"
    )]
    NotToken68 {
        /// The token's configured subject.
        subject: String,
    },
}

impl StaticToken {
    /// A token given by its SHA-256 in hex (64 digits, either case).
    ///
    /// # Errors
    /// [`StaticTokenError::BadHash`].
    pub fn from_hash(
        subject: String,
        sha256_hex: &str,
        scopes: BTreeSet<String>,
    ) -> Result<Self, StaticTokenError> {
        let Some(hash) = unhex(&sha256_hex.to_ascii_lowercase()) else {
            return Err(StaticTokenError::BadHash { subject });
        };
        Ok(Self {
            subject,
            hash,
            scopes,
        })
    }

    /// A token given in clear (from the environment): hashed now, the clear text is dropped.
    ///
    /// # Errors
    /// [`StaticTokenError::TooShort`] or [`StaticTokenError::NotToken68`].
    pub fn from_secret(
        subject: String,
        token: &str,
        scopes: BTreeSet<String>,
    ) -> Result<Self, StaticTokenError> {
        let token = token.trim();
        if token.len() < MIN_TOKEN_LEN {
            return Err(StaticTokenError::TooShort {
                subject,
                len: token.len(),
            });
        }
        if !is_token68(token) {
            return Err(StaticTokenError::NotToken68 { subject });
        }
        Ok(Self {
            subject,
            hash: sha256(token.as_bytes()),
            scopes,
        })
    }
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The configured static tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticTokens {
    tokens: Vec<StaticToken>,
}

impl StaticTokens {
    pub fn new(tokens: Vec<StaticToken>) -> Self {
        Self { tokens }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn extend(&mut self, more: StaticTokens) {
        self.tokens.extend(more.tokens);
    }

    /// Every scope some token carries.
    pub fn scopes(&self) -> BTreeSet<String> {
        self.tokens
            .iter()
            .flat_map(|t| t.scopes.iter().cloned())
            .collect()
    }

    /// The principal of `presented`, if it is one of the configured tokens. Every configured
    /// hash is compared, in constant time, whatever matches.
    pub fn verify(&self, presented: &str) -> Option<Principal> {
        let hash = sha256(presented.as_bytes());
        let mut found: Option<&StaticToken> = None;
        for token in &self.tokens {
            let equal: bool = token.hash.ct_eq(&hash).into();
            if equal && found.is_none() {
                found = Some(token);
            }
        }
        found.map(|t| Principal {
            subject: t.subject.clone(),
            client_id: None,
            scopes: t.scopes.clone(),
            proof: Proof::StaticToken,
        })
    }
}

/// A new random token: 32 bytes from the OS, base64url without padding (43 characters).
pub fn new_token() -> std::io::Result<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hashed_and_env_tokens_verify_and_others_do_not() {
        let secret = "tok_0123456789abcdefghijkl";
        let tokens = StaticTokens::new(vec![
            StaticToken::from_hash(
                "ci".into(),
                &hex(&sha256(b"another-token-0123456789")),
                scopes(&["a"]),
            )
            .unwrap(),
            StaticToken::from_secret("alice".into(), secret, scopes(&["a", "b"])).unwrap(),
        ]);
        let alice = tokens.verify(secret).unwrap();
        assert_eq!(alice.subject, "alice");
        assert_eq!(alice.scopes, scopes(&["a", "b"]));
        assert_eq!(
            tokens.verify("another-token-0123456789").unwrap().subject,
            "ci"
        );
        assert!(tokens.verify("tok_0123456789abcdefghijk").is_none());
        assert!(tokens.verify("").is_none());
        assert!(!format!("{tokens:?}").contains(&hex(&sha256(secret.as_bytes()))));
    }

    #[test]
    fn weak_or_malformed_tokens_are_refused_at_start_up() {
        assert!(
            StaticToken::from_secret("x".into(), "short", scopes(&[]))
                .unwrap_err()
                .to_string()
                .contains("at least 20")
        );
        assert!(
            StaticToken::from_secret("x".into(), "has spaces in it 0123456789", scopes(&[]))
                .is_err()
        );
        assert!(
            StaticToken::from_hash("x".into(), "abc", scopes(&[]))
                .unwrap_err()
                .to_string()
                .contains("64 hex digits")
        );
        let upper = hex(&sha256(b"x")).to_uppercase();
        assert!(StaticToken::from_hash("x".into(), &upper, scopes(&[])).is_ok());
        assert_eq!(
            StaticToken::from_secret("x".into(), "short", scopes(&[]))
                .unwrap_err()
                .to_string(),
            "token 'x' is 5 bytes long; use at least 20 random bytes (`capsule auth new-token` \
             makes one)"
        );
    }

    #[test]
    fn new_tokens_are_long_random_token68() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(is_token68(&a));
        assert!(StaticToken::from_secret("x".into(), &a, scopes(&[])).is_ok());
    }
}
