//! Requests to the authorization server: metadata (RFC 8414 / OpenID Connect Discovery), the
//! JWKS (RFC 7517), and token introspection (RFC 7662).
//!
//! One `reqwest` client on rustls with the `ring` provider and the Mozilla roots (plus an
//! operator CA file for a private IdP). Every request has a deadline, answers are capped in size,
//! and URLs must be `https` unless they point at a loopback address (OAuth 2.1 §1.5 requires TLS
//! for every endpoint; loopback is allowed for local development and tests).

use std::path::Path;
use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

/// Deadline of one request to the authorization server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer read from the authorization server.
pub const MAX_RESPONSE: usize = 1 << 20;

/// Why a request to the authorization server failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
}

fn fail(url: &str, message: impl Into<String>) -> FetchError {
    FetchError::Failed {
        url: url.to_string(),
        message: message.into(),
    }
}

/// Whether `host` (from a URL) is a loopback name or address.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a URL does not parse (`url::ParseError`, named through reqwest's re-exported `Url`).
pub type UrlParseError = <Url as std::str::FromStr>::Err;

/// A URL Capsule will not use to reach an authorization server or as its own resource URI.
/// `what` names the setting or document field; `text` is the URL as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// It does not parse as an absolute URL.
    #[error("{what} '{text}' is not an absolute URL ({source})")]
    NotAbsolute {
        /// The setting or document field holding the URL.
        what: String,
        /// The URL as given.
        text: String,
        /// The underlying error.
        #[source]
        source: UrlParseError,
    },
    /// Plain `http` to a host that is not loopback.
    #[error(
        "{what} '{text}' must use https (plain http is only accepted for loopback addresses such \
         as 127.0.0.1 or localhost)"
    )]
    PlainHttp {
        /// The setting or document field holding the URL.
        what: String,
        /// The URL as given.
        text: String,
    },
    /// Neither `https` nor `http`.
    #[error("{what} '{text}': the scheme must be https, not '{scheme}'")]
    Scheme {
        /// The setting or document field holding the URL.
        what: String,
        /// The URL as given.
        text: String,
        /// The scheme it has.
        scheme: String,
    },
    /// No host, or an empty one.
    #[error("{what} '{text}' has no host")]
    NoHost {
        /// The setting or document field holding the URL.
        what: String,
        /// The URL as given.
        text: String,
    },
    /// A `#fragment` (RFC 8707 §2, RFC 8414 §2 forbid one).
    #[error("{what} '{text}' must not have a #fragment")]
    Fragment {
        /// The setting or document field holding the URL.
        what: String,
        /// The URL as given.
        text: String,
    },
}

/// Check that `text` is an absolute `https` URL (or `http` to a loopback host) without a
/// fragment; `what` names it in the error.
///
/// # Errors
/// [`UrlError`], saying which rule `text` breaks.
pub fn check_url(text: &str, what: &str) -> Result<Url, UrlError> {
    let (what, text_owned) = (|| what.to_string(), || text.to_string());
    let url = Url::parse(text).map_err(|source| UrlError::NotAbsolute {
        what: what(),
        text: text_owned(),
        source,
    })?;
    let loopback = url.host_str().is_some_and(is_loopback_host);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(UrlError::PlainHttp {
                what: what(),
                text: text_owned(),
            });
        }
        other => {
            return Err(UrlError::Scheme {
                what: what(),
                text: text_owned(),
                scheme: other.to_string(),
            });
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost {
            what: what(),
            text: text_owned(),
        });
    }
    if url.fragment().is_some() {
        return Err(UrlError::Fragment {
            what: what(),
            text: text_owned(),
        });
    }
    Ok(url)
}

/// The HTTP client for the authorization server.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// A client trusting the Mozilla roots, plus the PEM certificates in `ca_file`.
    pub fn new(ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("capsule/", env!("CARGO_PKG_VERSION")));
        if let Some(file) = ca_file {
            let pem = std::fs::read(file).map_err(|e| {
                anyhow::anyhow!("cannot read the CA file '{}': {e}", file.display())
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                anyhow::anyhow!("'{}' is not a PEM certificate bundle: {e}", file.display())
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Self {
            client: builder.build()?,
        })
    }

    /// GET a JSON document. `Ok(None)` when the server answers 404 (for discovery fallbacks).
    pub async fn get_json(&self, url: &str) -> Result<Option<Value>, FetchError> {
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fail(url, describe(&e)))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(fail(url, format!("HTTP {}", response.status())));
        }
        read_json(url, response).await.map(Some)
    }

    /// POST a form with HTTP Basic client authentication (RFC 6749 §2.3.1); returns the status
    /// and the JSON body.
    pub async fn post_form(
        &self,
        url: &str,
        client_id: &str,
        client_secret: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Value), FetchError> {
        // RFC 6749 §2.3.1: the client id and secret are form-urlencoded before Basic encoding.
        let id = form_urlencode(client_id);
        let secret = form_urlencode(client_secret);
        let response = self
            .client
            .post(url)
            .basic_auth(id, Some(secret))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(
                form.iter()
                    .map(|(k, v)| format!("{}={}", form_urlencode(k), form_urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
            .send()
            .await
            .map_err(|e| fail(url, describe(&e)))?;
        let status = response.status().as_u16();
        let body = read_json(url, response).await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {REQUEST_TIMEOUT:?}")
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else {
        // The innermost cause says the most (DNS, TLS, ...).
        let mut source: &dyn std::error::Error = error;
        while let Some(next) = source.source() {
            source = next;
        }
        source.to_string()
    }
}

async fn read_json(url: &str, mut response: reqwest::Response) -> Result<Value, FetchError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fail(url, describe(&e)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(fail(
                url,
                format!("the answer exceeds {MAX_RESPONSE} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| fail(url, format!("the answer is not JSON ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(check_url("https://idp.example.com/realms/x", "issuer").is_ok());
        assert!(check_url("http://127.0.0.1:8080", "issuer").is_ok());
        assert!(check_url("http://localhost:8080/x", "issuer").is_ok());
        assert!(check_url("http://[::1]:8080/x", "issuer").is_ok());
        let err = check_url("http://idp.example.com", "issuer")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must use https"), "{err}");
        assert!(
            check_url("https://x.example/#frag", "issuer")
                .unwrap_err()
                .to_string()
                .contains("fragment")
        );
        assert!(
            check_url("idp.example.com", "issuer")
                .unwrap_err()
                .to_string()
                .contains("not an absolute URL")
        );
        assert!(
            check_url("ftp://x.example", "issuer")
                .unwrap_err()
                .to_string()
                .contains("scheme")
        );
    }

    #[test]
    fn url_messages_are_unchanged() {
        assert_eq!(
            check_url("http://idp.example.com", "auth.oauth.issuer")
                .unwrap_err()
                .to_string(),
            "auth.oauth.issuer 'http://idp.example.com' must use https (plain http is only \
             accepted for loopback addresses such as 127.0.0.1 or localhost)"
        );
        assert_eq!(
            check_url("ftp://x.example", "jwks_uri")
                .unwrap_err()
                .to_string(),
            "jwks_uri 'ftp://x.example': the scheme must be https, not 'ftp'"
        );
        let error = check_url("x", "auth.resource").unwrap_err();
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(
            error.to_string(),
            "auth.resource 'x' is not an absolute URL (relative URL without a base)"
        );
    }

    #[test]
    fn form_values_are_urlencoded() {
        assert_eq!(form_urlencode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
