//! Sealed `requestState` values of multi round-trip requests (MCP 2026-07-28, SEP-2322 "Multi
//! Round-Trip Requests"): the key that seals them, what each is bound to, and how long it lives.
//!
//! A plugin that answers `input-required` may keep a state for its next round. In 2026-07-28 the
//! server keeps nothing between requests, so the state travels to the client in `requestState`
//! and comes back with the retry. [`RequestStates`] seals it (HMAC-SHA256 through rmcp's
//! `RequestStateCodec`, with a time limit) and binds it to the request ([`Binding`]: method, tool
//! or prompt name, caller), so that a client can neither read nor alter it, nor replay it on
//! another request. The protocol flow around it is [`crate::mrtr`].

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rmcp::ErrorData as McpError;
use rmcp::model::{RequestStateCodec, SealOptions};

/// How long a sealed state stays valid unless configured (`--request-state-ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Seals and opens `requestState` values (2026-07-28).
pub struct RequestStates {
    codec: RequestStateCodec,
    ttl: Duration,
}

/// What a sealed state is bound to: a state issued for one request cannot be replayed on
/// another method, another tool or prompt, or by another caller.
pub struct Binding<'a> {
    /// `tools/call` or `prompts/get`.
    pub method: &'a str,
    /// The tool or prompt name as the client sent it.
    pub name: &'a str,
    /// The caller's subject (`""` for an unauthenticated or local caller).
    pub subject: &'a str,
}

impl Binding<'_> {
    fn associated_data(&self) -> Vec<u8> {
        // NUL cannot occur in a method name, and names and subjects are length-prefixed.
        format!(
            "capsule-mrtr-v1\0{}\0{}:{}\0{}:{}",
            self.method,
            self.name.len(),
            self.name,
            self.subject.len(),
            self.subject
        )
        .into_bytes()
    }
}

/// The sealed payload: the plugin's state, base64url (absent when the plugin kept none).
#[derive(serde::Serialize, serde::Deserialize)]
struct Sealed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

impl RequestStates {
    /// A sealer with HMAC key `key` (at least 32 bytes) whose states expire after `ttl`.
    ///
    /// # Errors
    /// When the key is shorter than 32 bytes.
    pub fn new(key: &[u8], ttl: Duration) -> anyhow::Result<Self> {
        let codec = RequestStateCodec::try_new(key.to_vec())
            .map_err(|e| anyhow::anyhow!("request-state key: {e}"))?;
        Ok(Self { codec, ttl })
    }

    /// A sealer with a random key of this process (states do not survive a restart, and
    /// replicas behind one load balancer need a shared key: `--request-state-key`).
    pub fn generated(ttl: Duration) -> Self {
        use ring::rand::SecureRandom;
        let mut key = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut key)
            .expect("the system random generator works");
        Self::new(&key, ttl).expect("a 32-byte key is long enough")
    }

    /// How long a sealed state stays valid.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Seal the plugin's `state` for `binding`.
    pub fn seal(&self, binding: &Binding<'_>, state: Option<&[u8]>) -> String {
        let payload = Sealed {
            state: state.map(|s| URL_SAFE_NO_PAD.encode(s)),
        };
        let ad = binding.associated_data();
        self.codec
            .seal_json_with(
                &payload,
                &SealOptions::new().associated_data(&ad).ttl(self.ttl),
            )
            .expect("the sealed payload serializes")
    }

    /// Open a `requestState` the client sent back for `binding`: the plugin's state.
    ///
    /// # Errors
    /// `-32602` (invalid params) when the value was not issued by this server for this request,
    /// was altered, or has expired; the details go to the log only (one message for every cause,
    /// as the codec's documentation asks).
    pub fn open(&self, binding: &Binding<'_>, sealed: &str) -> Result<Option<Vec<u8>>, McpError> {
        let refused = || {
            McpError::invalid_params(
                format!(
                    "requestState is not valid for this {} of '{}': it was altered, has expired \
                     (after {} s), or belongs to another request; call again without \
                     requestState and inputResponses to start over",
                    binding.method,
                    binding.name,
                    self.ttl.as_secs()
                ),
                None,
            )
        };
        let payload: Sealed = self
            .codec
            .open_json_with(sealed, &binding.associated_data())
            .map_err(|error| {
                tracing::info!(method = binding.method, name = binding.name, %error, "refused a requestState");
                refused()
            })?;
        match payload.state {
            None => Ok(None),
            Some(text) => URL_SAFE_NO_PAD
                .decode(text)
                .map(Some)
                .map_err(|_| refused()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(name: &'a str, subject: &'a str) -> Binding<'a> {
        Binding {
            method: "tools/call",
            name,
            subject,
        }
    }

    #[test]
    fn a_sealed_state_opens_only_for_its_request() {
        let states = RequestStates::generated(Duration::from_secs(60));
        let sealed = states.seal(&binding("t", "alice"), Some(b"step 2"));
        assert_eq!(
            states.open(&binding("t", "alice"), &sealed).unwrap(),
            Some(b"step 2".to_vec())
        );
        // Another tool, another caller, another method, another server key: refused.
        assert!(states.open(&binding("u", "alice"), &sealed).is_err());
        assert!(states.open(&binding("t", "bob"), &sealed).is_err());
        let prompt = Binding {
            method: "prompts/get",
            name: "t",
            subject: "alice",
        };
        assert!(states.open(&prompt, &sealed).is_err());
        let other = RequestStates::generated(Duration::from_secs(60));
        assert!(other.open(&binding("t", "alice"), &sealed).is_err());
    }

    #[test]
    fn an_altered_or_expired_state_is_refused() {
        let states = RequestStates::generated(Duration::from_secs(60));
        let sealed = states.seal(&binding("t", ""), None);
        assert_eq!(states.open(&binding("t", ""), &sealed).unwrap(), None);
        let mut bytes = sealed.clone().into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        let error = states.open(&binding("t", ""), &altered).unwrap_err();
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert!(states.open(&binding("t", ""), "garbage").is_err());
        let expired = RequestStates::generated(Duration::ZERO);
        let sealed = expired.seal(&binding("t", ""), Some(b"x"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(expired.open(&binding("t", ""), &sealed).is_err());
    }
}
