//! DNS-rebinding and cross-origin protection: the `Host` and `Origin` allowlists.
//!
//! MCP 2025-11-25 and 2026-07-28 (Streamable HTTP, "Security Warning") require servers to
//! validate `Origin` and, for local servers, to guard against DNS rebinding. Every MCP endpoint
//! (`/mcp`, `/sse`, `/messages`) passes through [`check`]:
//! - `Host` (or the HTTP/2 `:authority`) must name an allowed host: by default `localhost`,
//!   `127.0.0.1` or `::1` on any port; `--allowed-host NAME[:PORT]` adds more. Otherwise 403.
//! - `Origin`, when present, must be an allowed origin: by default `http(s)://localhost`,
//!   `127.0.0.1` or `[::1]` on any port; `--allowed-origin SCHEME://HOST[:PORT|:*]` adds more (no
//!   port means the scheme's default port, `:*` any port). A malformed or `null` origin is
//!   refused unless `null` is allowed. Otherwise 403. Requests without `Origin` (non-browser
//!   clients) pass.
//!
//! rmcp's own check on `/mcp` is configured with the same lists ([`Allowlist::rmcp_hosts`],
//! [`Allowlist::rmcp_origins`]), so both layers agree.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Hosts every server accepts: the loopback names.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// An allowed `Host`: a name or address, and optionally the one port it may carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRule {
    /// Lower case, IPv6 without brackets.
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

/// The port part of an allowed origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortRule {
    /// `:*`
    Any,
    /// An explicit port, or the scheme's default (80 for http, 443 for https).
    Exact(u16),
}

/// An allowed `Origin` (RFC 6454 tuple), or the opaque `null` origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginRule {
    Null,
    Tuple {
        scheme: String,
        host: String,
        port: PortRule,
    },
}

/// A parse error of an allowlist entry, for the command line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(String);

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Split `host[:port]` / `[v6]:port`; the host lower-cased without brackets.
fn split_authority(authority: &str) -> Option<(String, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        return Some((host.to_ascii_lowercase(), port));
    }
    match authority.rsplit_once(':') {
        // A bare IPv6 address (several colons, no brackets) has no port.
        Some((host, _)) if host.contains(':') => Some((authority.to_ascii_lowercase(), None)),
        Some((host, port)) => Some((host.to_ascii_lowercase(), Some(port))),
        None => Some((authority.to_ascii_lowercase(), None)),
    }
}

fn parse_port(port: &str) -> Option<u16> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse().ok()
}

impl std::str::FromStr for HostRule {
    type Err = RuleError;

    /// `NAME`, `NAME:PORT`, `IPV4[:PORT]`, `[IPV6][:PORT]` or a bare IPv6 address.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RuleError(format!("'{s}' is not a host, host:port or [ipv6]:port"));
        let (host, port) = split_authority(s.trim()).ok_or_else(bad)?;
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad());
        }
        let port = match port {
            Some(p) => Some(parse_port(p).ok_or_else(bad)?),
            None => None,
        };
        Ok(Self { host, port })
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => f.write_str(&host),
        }
    }
}

/// Parse an `Origin` header value or an allowlist entry without a wildcard.
fn parse_origin(value: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = split_authority(rest)?;
    let port = match port {
        Some(p) => Some(parse_port(p)?),
        None => None,
    };
    Some((scheme.to_ascii_lowercase(), host, port))
}

impl std::str::FromStr for OriginRule {
    type Err = RuleError;

    /// `null`, `SCHEME://HOST` (the scheme's default port), `SCHEME://HOST:PORT` or
    /// `SCHEME://HOST:*` (any port).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "null" {
            return Ok(Self::Null);
        }
        let bad = || {
            RuleError(format!(
                "'{s}' is not an origin: expected SCHEME://HOST[:PORT|:*], e.g. https://app.example.com"
            ))
        };
        let (base, any_port) = match s.strip_suffix(":*") {
            Some(base) => (base, true),
            None => (s, false),
        };
        let (scheme, host, port) = parse_origin(base).ok_or_else(bad)?;
        let port = match (any_port, port) {
            (true, None) => PortRule::Any,
            (true, Some(_)) => return Err(bad()),
            (false, Some(port)) => PortRule::Exact(port),
            (false, None) => PortRule::Exact(default_port(&scheme).ok_or_else(|| {
                RuleError(format!("'{s}': give a port (or :*) for scheme '{scheme}'"))
            })?),
        };
        Ok(Self::Tuple { scheme, host, port })
    }
}

impl fmt::Display for OriginRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Tuple { scheme, host, port } => {
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                match port {
                    PortRule::Any => write!(f, "{scheme}://{host}:*"),
                    PortRule::Exact(p) => write!(f, "{scheme}://{host}:{p}"),
                }
            }
        }
    }
}

/// What `Host` and `Origin` values the MCP endpoints accept.
#[derive(Clone, Debug)]
pub struct Allowlist {
    hosts: Vec<HostRule>,
    origins: Vec<OriginRule>,
}

impl Allowlist {
    /// The loopback defaults plus `hosts` and `origins` from the command line.
    pub fn new(hosts: Vec<HostRule>, origins: Vec<OriginRule>) -> Self {
        let mut all_hosts: Vec<HostRule> = LOOPBACK_HOSTS
            .iter()
            .map(|h| HostRule {
                host: (*h).to_owned(),
                port: None,
            })
            .collect();
        all_hosts.extend(hosts);
        let mut all_origins = Vec::new();
        for scheme in ["http", "https"] {
            for host in LOOPBACK_HOSTS {
                all_origins.push(OriginRule::Tuple {
                    scheme: scheme.into(),
                    host: host.into(),
                    port: PortRule::Any,
                });
            }
        }
        all_origins.extend(origins);
        Self {
            hosts: all_hosts,
            origins: all_origins,
        }
    }

    /// Whether hosts beyond the loopback defaults were added.
    pub fn has_extra_hosts(&self) -> bool {
        self.hosts.len() > LOOPBACK_HOSTS.len()
    }

    /// The host list in the form rmcp's `StreamableHttpServerConfig::allowed_hosts` reads.
    pub fn rmcp_hosts(&self) -> Vec<String> {
        self.hosts.iter().map(ToString::to_string).collect()
    }

    /// The origin list in the form rmcp's `allowed_origins` reads (ports always explicit).
    pub fn rmcp_origins(&self) -> Vec<String> {
        self.origins.iter().map(ToString::to_string).collect()
    }

    fn host_allowed(&self, authority: &str) -> bool {
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        let port = match port {
            Some(p) => match parse_port(p) {
                Some(p) => Some(p),
                None => return false,
            },
            None => None,
        };
        self.hosts
            .iter()
            .any(|rule| rule.host == host && rule.port.is_none_or(|p| Some(p) == port))
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        if origin == "null" {
            return self.origins.contains(&OriginRule::Null);
        }
        let Some((scheme, host, port)) = parse_origin(origin) else {
            return false;
        };
        let port = port.or_else(|| default_port(&scheme));
        self.origins.iter().any(|rule| match rule {
            OriginRule::Null => false,
            OriginRule::Tuple {
                scheme: s,
                host: h,
                port: p,
            } => {
                *s == scheme
                    && *h == host
                    && match p {
                        PortRule::Any => true,
                        PortRule::Exact(p) => Some(*p) == port,
                    }
            }
        })
    }

    /// Check a request's `Host` and `Origin`. `Err` carries the reason for the 403.
    pub fn verify(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), String> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
        match host {
            None => return Err("the request has no Host header".into()),
            Some(host) if !self.host_allowed(&host) => {
                return Err(format!(
                    "Host '{host}' is not allowed (DNS rebinding protection); start capsule with \
                     --allowed-host {host} to accept it"
                ));
            }
            Some(_) => {}
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("<not text>");
            if !self.origin_allowed(origin) {
                return Err(format!(
                    "Origin '{origin}' is not allowed; start capsule with --allowed-origin \
                     {origin} to accept it"
                ));
            }
        }
        Ok(())
    }
}

/// axum middleware: 403 with the reason unless [`Allowlist::verify`] passes.
pub async fn check(State(allow): State<Arc<Allowlist>>, request: Request, next: Next) -> Response {
    match allow.verify(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(reason) => {
            tracing::warn!(path = %request.uri().path(), "refused: {reason}");
            (StatusCode::FORBIDDEN, format!("Forbidden: {reason}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(hosts: &[&str], origins: &[&str]) -> Allowlist {
        Allowlist::new(
            hosts.iter().map(|h| h.parse().unwrap()).collect(),
            origins.iter().map(|o| o.parse().unwrap()).collect(),
        )
    }

    fn verify(allow: &Allowlist, host: &str, origin: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        allow.verify(&Uri::from_static("/mcp"), &headers).is_ok()
    }

    #[test]
    fn loopback_hosts_pass_by_default_and_others_do_not() {
        let allow = list(&[], &[]);
        for host in [
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:9",
            "LOCALHOST",
            "127.0.0.1",
        ] {
            assert!(verify(&allow, host, None), "{host}");
        }
        for host in [
            "evil.example:8080",
            "127.0.0.2",
            "localhost.evil.example",
            "[::2]:80",
        ] {
            assert!(!verify(&allow, host, None), "{host}");
        }
    }

    #[test]
    fn added_hosts_respect_their_port() {
        let allow = list(&["mcp.example.com:8443", "box"], &[]);
        assert!(verify(&allow, "mcp.example.com:8443", None));
        assert!(!verify(&allow, "mcp.example.com:8444", None));
        assert!(!verify(&allow, "mcp.example.com", None));
        assert!(verify(&allow, "box:1", None));
        assert!(verify(&allow, "box", None));
    }

    #[test]
    fn origins_are_tuples_with_default_ports() {
        let allow = list(&[], &["https://app.example.com", "http://tool.example:*"]);
        assert!(verify(&allow, "localhost", Some("http://localhost:6274")));
        assert!(verify(&allow, "localhost", Some("https://[::1]")));
        assert!(verify(&allow, "localhost", Some("https://app.example.com")));
        assert!(verify(
            &allow,
            "localhost",
            Some("https://app.example.com:443")
        ));
        assert!(!verify(
            &allow,
            "localhost",
            Some("https://app.example.com:8443")
        ));
        assert!(!verify(&allow, "localhost", Some("http://app.example.com")));
        assert!(verify(
            &allow,
            "localhost",
            Some("http://tool.example:9999")
        ));
        assert!(!verify(&allow, "localhost", Some("https://evil.example")));
        assert!(!verify(&allow, "localhost", Some("null")));
        assert!(!verify(&allow, "localhost", Some("not an origin")));
        assert!(!verify(
            &allow,
            "localhost",
            Some("http://localhost.evil.example")
        ));
        assert!(verify(&list(&[], &["null"]), "localhost", Some("null")));
    }

    #[test]
    fn rules_parse_and_print_for_rmcp() {
        assert!("".parse::<HostRule>().is_err());
        assert!("a:b".parse::<HostRule>().is_err());
        assert!("ftp://x".parse::<OriginRule>().is_err());
        assert!("https://x:1:*".parse::<OriginRule>().is_err());
        let allow = list(&["[2001:db8::1]:80"], &["https://a.example"]);
        assert!(allow.rmcp_hosts().contains(&"[2001:db8::1]:80".to_string()));
        assert!(
            allow
                .rmcp_origins()
                .contains(&"https://a.example:443".to_string())
        );
        assert!(
            allow
                .rmcp_origins()
                .contains(&"http://localhost:*".to_string())
        );
    }
}
