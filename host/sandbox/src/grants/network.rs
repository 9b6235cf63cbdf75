//! Network grants: which HTTP origins and raw TCP addresses a plugin may reach, and which
//! resolved addresses are off limits (ARCHITECTURE.md §3).
//!
//! Three kinds of text meet here:
//!
//! - **Origins** (`[network] allow` in policy, `requests.network` in metadata): `scheme://host[:port]`
//!   as in RFC 6454 §4 (scheme, host, port; no user info, path, query or fragment; one trailing `/`
//!   is tolerated). The scheme is `http` or `https`; a missing port is the scheme's default (80,
//!   443). The host is a DNS name (RFC 1123 labels, ASCII: write IDNs as punycode), an IPv4
//!   address, an IPv6 address in brackets (RFC 3986 §3.2.2), or a wildcard `*.example.com` that
//!   matches every name *below* `example.com` (`a.example.com`, `a.b.example.com`) but not
//!   `example.com` itself nor `evilexample.com`.
//! - **TCP addresses** (`[network] tcp` in policy): `host:port`, the host a DNS name or an IP
//!   address (IPv6 in brackets), the port explicit. Requested in metadata as `tcp://host:port`.
//! - **The request `*`**: "whatever the operator grants". A generic client (the `fetch`
//!   example) cannot know its origins in advance; it requests `*` and gets exactly the grants.
//!
//! Effective = requested ∩ granted ([`NetworkGrants::effective`]): for each grant, the narrower of
//! the grant and every request it overlaps (a pattern covers another when it is equal or a
//! wildcard above it), so a plugin never gets more than it asked for nor more than was granted.
//!
//! After DNS resolution, addresses in special-purpose ranges ([`special_use`]: loopback,
//! private, link-local, CGNAT, unspecified, cloud metadata, multicast, ...) are refused unless the
//! matching grant names that IP address literally or the policy sets `allow_private = true`.

mod guard;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use guard::{Denials, NetworkAccess, NetworkGuard, Refusal};

/// The scheme of an HTTP origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The default port of the scheme (RFC 9110 §4.2).
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        })
    }
}

/// The host part of an origin pattern or TCP grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// A DNS name, lower case, without a trailing dot.
    Name(String),
    /// `*.suffix`: any name with at least one more label in front of `suffix` (stored without
    /// the `*.`).
    Wildcard(String),
    /// An IP address, written literally: the only way to reach a special-use address without
    /// `allow_private`.
    Ip(IpAddr),
}

impl HostPattern {
    /// Whether `host` is this host or, for a wildcard, a name below it.
    fn matches(&self, host: &TargetHost) -> bool {
        match (self, host) {
            (HostPattern::Name(a), TargetHost::Name(b)) => a == b,
            (HostPattern::Wildcard(suffix), TargetHost::Name(name)) => below(name, suffix),
            (HostPattern::Ip(a), TargetHost::Ip(b)) => a == b,
            _ => false,
        }
    }

    /// Whether every host `other` matches, this one matches too.
    fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Wildcard(a), HostPattern::Wildcard(b)) => a == b || below(b, a),
            (HostPattern::Wildcard(a), HostPattern::Name(b)) => below(b, a),
            (a, b) => a == b,
        }
    }
}

/// `name` has at least one label in front of `suffix`: `a.b.example.com` is below `example.com`,
/// `example.com` and `evilexample.com` are not.
fn below(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() + 1
        && name.ends_with(suffix)
        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Wildcard(suffix) => write!(f, "*.{suffix}"),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// An HTTP origin pattern: `scheme://host:port`, the host possibly a wildcard.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginPattern {
    pub scheme: Scheme,
    pub host: HostPattern,
    /// Always set: the scheme's default when the text has none.
    pub port: u16,
}

/// Shown as written canonically: lower case, the port only when it is not the default.
impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Which form a network grant or request was parsed as, for the hint in an [`AddressError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressForm {
    /// `scheme://host[:port]` ([`OriginPattern::parse`]).
    Origin,
    /// `host:port` ([`TcpGrant::parse`]).
    Tcp,
}

impl AddressForm {
    fn expected(self) -> &'static str {
        match self {
            AddressForm::Origin => {
                "expected an origin like \"https://api.example.com\", \
                 \"https://*.example.com:8443\" or \"http://127.0.0.1:8080\""
            }
            AddressForm::Tcp => {
                "expected host:port, e.g. \"db.example.com:5432\" or \"127.0.0.1:6379\""
            }
        }
    }
}

/// A network grant or request that does not parse: `'TEXT': WHAT IS WRONG (expected ...)`. The
/// [`AddressFault`] is also its source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{text}': {fault} ({})", .form.expected())]
pub struct AddressError {
    /// The text as written.
    pub text: String,
    /// The form it was parsed as.
    pub form: AddressForm,
    /// What is wrong with it.
    #[source]
    pub fault: AddressFault,
}

/// What is wrong with the text of an origin, a TCP address or one of their parts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressFault {
    /// An origin without `scheme://`.
    #[error("missing 'scheme://'")]
    NoScheme,
    /// An origin whose scheme is neither http nor https.
    #[error("the scheme must be http or https")]
    UnknownScheme,
    /// An origin with a path, query or fragment.
    #[error("an origin has no path, query or fragment")]
    PathInOrigin,
    /// An origin with `user@`.
    #[error("an origin has no user info")]
    UserInfoInOrigin,
    /// A TCP address without its port.
    #[error("the port is missing")]
    NoPort,
    /// Text other than `:port` after `[v6]`.
    #[error("unexpected text after the IPv6 address")]
    AfterIpv6,
    /// `[` without `]`.
    #[error("unclosed '[' in the IPv6 address")]
    UnclosedBracket,
    /// An IPv6 address written without brackets.
    #[error("write an IPv6 address in brackets, e.g. [::1]")]
    UnbracketedIpv6,
    /// The port (as written) is 0 or above 65535.
    #[error("port '{0}' is not in 1..=65535")]
    PortOutOfRange(String),
    /// The port (as written) is not a decimal number.
    #[error("port '{0}' is not a number")]
    PortNotANumber(String),
    /// Text in brackets that is no IPv6 address; the parser's error is the source.
    #[error("'{text}' is not an IPv6 address")]
    NotIpv6 {
        text: String,
        #[source]
        error: std::net::AddrParseError,
    },
    /// A wildcard host where only names and addresses are allowed (TCP addresses).
    #[error("wildcards are not allowed here")]
    WildcardNotAllowed,
    /// A `*` anywhere but as the whole first label.
    #[error("a wildcard must be the whole first label, as in *.example.com")]
    MisplacedWildcard,
    /// No host at all (or only a trailing dot).
    #[error("the host is empty")]
    EmptyHost,
    /// A DNS name over 253 characters.
    #[error("the host name is longer than 253 characters")]
    NameTooLong,
    /// A label of a DNS name (as written) that RFC 1123 does not allow.
    #[error(
        "'{0}' is not a valid DNS label (letters, digits and inner '-', 1 to 63 characters; \
         write international names in punycode)"
    )]
    BadLabel(String),
    /// A name (lower-cased) whose last label does not start with a letter.
    #[error(
        "'{0}' is neither an IP address nor a DNS name (its last label must start with a letter)"
    )]
    NotAName(String),
}

/// Why a guest's HTTP request has no [`Target`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The scheme (as written) is neither http nor https.
    #[error("scheme '{0}' is not http or https")]
    UnknownScheme(String),
    /// The URI's host is empty.
    #[error("the request has no host")]
    NoHost,
    /// The URI lacks a scheme or a host altogether.
    #[error("the request has no scheme or host")]
    NoSchemeOrHost,
}

impl OriginPattern {
    /// Parse `scheme://host[:port]` (see the module docs).
    ///
    /// # Errors
    /// [`AddressError`] saying what is wrong and what is expected, e.g.
    /// `'https://x.com/path': an origin has no path, query or fragment (expected an origin like
    /// "https://api.example.com", ...)`.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let fail = |fault| AddressError {
            text: text.to_string(),
            form: AddressForm::Origin,
            fault,
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(fail(AddressFault::NoScheme));
        };
        let Some(scheme) = Scheme::parse(scheme) else {
            return Err(fail(AddressFault::UnknownScheme));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(fail(AddressFault::PathInOrigin));
        }
        if authority.contains('@') {
            return Err(fail(AddressFault::UserInfoInOrigin));
        }
        let (host, port) = split_host_port(authority).map_err(fail)?;
        let host = parse_host(host, true).map_err(fail)?;
        Ok(OriginPattern {
            scheme,
            host,
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// Whether a request to `target` is allowed by this pattern.
    pub fn matches(&self, target: &Target) -> bool {
        target.scheme == Some(self.scheme)
            && self.port == target.port
            && self.host.matches(&target.host)
    }

    /// Whether every target `other` matches, this pattern matches too.
    pub fn covers(&self, other: &OriginPattern) -> bool {
        self.scheme == other.scheme && self.port == other.port && self.host.covers(&other.host)
    }

    /// The origins both patterns match, if they can be written as one pattern: the narrower
    /// pattern when one covers the other, else nothing (two different names, or wildcards that do
    /// not nest, have no origin in common).
    pub fn intersect(&self, other: &OriginPattern) -> Option<OriginPattern> {
        if self.covers(other) {
            Some(other.clone())
        } else if other.covers(self) {
            Some(self.clone())
        } else {
            None
        }
    }
}

/// A raw TCP destination a plugin may connect to: `host:port`, no wildcards.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TcpGrant {
    /// A DNS name or an IP address, never a wildcard.
    pub host: HostPattern,
    pub port: u16,
}

impl fmt::Display for TcpGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl TcpGrant {
    /// Parse `host:port` (IPv6 in brackets).
    ///
    /// # Errors
    /// [`AddressError`] saying what is wrong and what is expected.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        let fail = |fault| AddressError {
            text: text.to_string(),
            form: AddressForm::Tcp,
            fault,
        };
        let (host, port) = split_host_port(text).map_err(fail)?;
        let Some(port) = port else {
            return Err(fail(AddressFault::NoPort));
        };
        let host = parse_host(host, false).map_err(fail)?;
        Ok(TcpGrant { host, port })
    }
}

/// What a plugin asks for in `requests.network`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkRequest {
    /// `*`: whatever the operator grants (HTTP origins and TCP addresses).
    Any,
    Origin(OriginPattern),
    /// `tcp://host:port`.
    Tcp(TcpGrant),
}

impl NetworkRequest {
    /// Parse one entry of `requests.network`.
    ///
    /// # Errors
    /// [`AddressError`]: not `*`, an origin, or `tcp://host:port`; the message says which form
    /// was expected.
    pub fn parse(text: &str) -> Result<Self, AddressError> {
        if text == "*" {
            Ok(NetworkRequest::Any)
        } else if let Some(rest) = text.strip_prefix("tcp://") {
            TcpGrant::parse(rest).map(NetworkRequest::Tcp)
        } else {
            OriginPattern::parse(text).map(NetworkRequest::Origin)
        }
    }
}

/// Split `host[:port]`; an IPv6 host keeps its brackets.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), AddressFault> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let (host, rest) = authority.split_at(end + 1);
                match rest {
                    "" => (host, None),
                    _ => match rest.strip_prefix(':') {
                        Some(port) => (host, Some(port)),
                        None => return Err(AddressFault::AfterIpv6),
                    },
                }
            }
            None => return Err(AddressFault::UnclosedBracket),
        }
    } else if authority.matches(':').count() > 1 {
        return Err(AddressFault::UnbracketedIpv6);
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse() {
            Ok(0) | Err(_) => return Err(AddressFault::PortOutOfRange(p.to_string())),
            Ok(port) => Some(port),
        },
        Some(p) => return Err(AddressFault::PortNotANumber(p.to_string())),
    };
    Ok((host, port))
}

/// Parse a host of a grant or request: `[v6]`, IPv4, a DNS name, or (if `wildcard`) `*.name`.
fn parse_host(host: &str, wildcard: bool) -> Result<HostPattern, AddressFault> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| HostPattern::Ip(IpAddr::V6(ip)))
            .map_err(|error| AddressFault::NotIpv6 {
                text: inner.to_string(),
                error,
            });
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    if host.parse::<Ipv6Addr>().is_ok() {
        return Err(AddressFault::UnbracketedIpv6);
    }
    if let Some(suffix) = host.strip_prefix("*.") {
        if !wildcard {
            return Err(AddressFault::WildcardNotAllowed);
        }
        return dns_name(suffix).map(HostPattern::Wildcard);
    }
    if host.contains('*') {
        return Err(AddressFault::MisplacedWildcard);
    }
    dns_name(host).map(HostPattern::Name)
}

/// Check a DNS name (RFC 1123 §2.1 labels, at most 253 characters) and lower-case it. The last
/// label must start with a letter, so that numeric forms a resolver would read as an IPv4
/// address (`127.1`, `0x7f000001`) are not taken for names.
fn dns_name(name: &str) -> Result<String, AddressFault> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if name.is_empty() {
        return Err(AddressFault::EmptyHost);
    }
    if name.len() > 253 {
        return Err(AddressFault::NameTooLong);
    }
    for label in name.split('.') {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(AddressFault::BadLabel(label.to_string()));
        }
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    if !last.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(AddressFault::NotAName(name));
    }
    Ok(name)
}

/// The host of a concrete request, as the guest wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetHost {
    /// Lower case, without a trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl fmt::Display for TargetHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetHost::Name(name) => f.write_str(name),
            TargetHost::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            TargetHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// Where one outgoing request goes: scheme (absent for raw TCP), host and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub scheme: Option<Scheme>,
    pub host: TargetHost,
    pub port: u16,
}

/// `https://evil.example:443` (the port always shown), or `tcp 10.0.0.1:5432` for raw TCP.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scheme {
            Some(scheme) => write!(f, "{scheme}://{}:{}", self.host, self.port),
            None => write!(f, "tcp {}:{}", self.host, self.port),
        }
    }
}

impl Target {
    /// The target of an HTTP request from the parts of its URI (`host` as in the URI, IPv6 in
    /// brackets; `port` absent means the scheme's default).
    ///
    /// # Errors
    /// [`TargetError`]: a scheme other than http/https, or an empty host.
    pub fn http(scheme: &str, host: &str, port: Option<u16>) -> Result<Self, TargetError> {
        let scheme =
            Scheme::parse(scheme).ok_or_else(|| TargetError::UnknownScheme(scheme.to_string()))?;
        let host = target_host(host).ok_or(TargetError::NoHost)?;
        Ok(Target {
            scheme: Some(scheme),
            host,
            port: port.unwrap_or(scheme.default_port()),
        })
    }

    /// The target of a raw TCP connection.
    pub fn tcp(ip: IpAddr, port: u16) -> Self {
        Target {
            scheme: None,
            host: TargetHost::Ip(ip),
            port,
        }
    }
}

fn target_host(host: &str) -> Option<TargetHost> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse().ok().map(|ip| TargetHost::Ip(IpAddr::V6(ip)));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(TargetHost::Ip(IpAddr::V4(ip)));
    }
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    (!name.is_empty()).then_some(TargetHost::Name(name))
}

/// The network a plugin may use: HTTP origins, raw TCP addresses, and whether hosts granted by
/// name may resolve to special-use addresses. Used both for what a policy grants and for what a
/// plugin effectively gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkGrants {
    /// `[network] allow`.
    pub allow: Vec<OriginPattern>,
    /// `[network] tcp`.
    pub tcp: Vec<TcpGrant>,
    /// `[network] allow_private`: names may resolve to loopback, private, link-local, ...
    /// addresses (literal IP grants never need it).
    pub allow_private: bool,
}

impl NetworkGrants {
    /// Nothing granted at all.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.tcp.is_empty()
    }

    /// The first origin pattern that allows `target`.
    pub fn origin_for(&self, target: &Target) -> Option<&OriginPattern> {
        self.allow.iter().find(|p| p.matches(target))
    }

    /// Whether any TCP grant is a DNS name (then the guest needs name lookups).
    pub fn tcp_needs_lookups(&self) -> bool {
        self.tcp
            .iter()
            .any(|g| matches!(g.host, HostPattern::Name(_)))
    }

    /// Effective network = `requested` ∩ `self` (the granted). Each grant is intersected with
    /// every request ([`OriginPattern::intersect`]; `*` takes the grant as it is; TCP grants need
    /// an equal `tcp://host:port` request or `*`). Returns the effective grants and the grants
    /// no request overlaps (to be reported as ignored). Requests nothing grants are simply not
    /// effective.
    pub fn effective(&self, requested: &[NetworkRequest]) -> (NetworkGrants, Vec<String>) {
        let any = requested.contains(&NetworkRequest::Any);
        let mut out = NetworkGrants {
            allow_private: self.allow_private,
            ..NetworkGrants::default()
        };
        let mut ignored = Vec::new();
        for grant in &self.allow {
            let mut hits: Vec<OriginPattern> = if any {
                vec![grant.clone()]
            } else {
                requested
                    .iter()
                    .filter_map(|r| match r {
                        NetworkRequest::Origin(o) => grant.intersect(o),
                        _ => None,
                    })
                    .collect()
            };
            if hits.is_empty() {
                ignored.push(grant.to_string());
            }
            hits.retain(|h| !out.allow.contains(h));
            out.allow.extend(hits);
        }
        for grant in &self.tcp {
            let wanted = any || requested.contains(&NetworkRequest::Tcp(grant.clone()));
            if !wanted {
                ignored.push(format!("tcp {grant}"));
            } else if !out.tcp.contains(grant) {
                out.tcp.push(grant.clone());
            }
        }
        (out, ignored)
    }
}

/// Why an address is not an ordinary public unicast address, or `None` if it is. Covers
/// unspecified/"this network" (RFC 1122, RFC 4291), loopback, private (RFC 1918), shared CGNAT
/// space (RFC 6598), link-local (RFC 3927, RFC 4291), unique local (RFC 4193), deprecated
/// site-local (RFC 3879), multicast, reserved 240/4 and broadcast, cloud metadata endpoints
/// (169.254.169.254, fd00:ec2::254), and IPv4 addresses embedded in IPv4-mapped (RFC 4291
/// §2.5.5.2) or NAT64 (RFC 6052, `64:ff9b::/96`) IPv6 addresses.
pub fn special_use(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => special_v4(ip),
        IpAddr::V6(ip) => special_v6(ip),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        (0, _) => "an unspecified address",
        (127, _) => "a loopback address",
        (10, _) | (172, 16..=31) | (192, 168) => "a private address (RFC 1918)",
        (100, 64..=127) => "a shared CGNAT address (RFC 6598)",
        (169, 254) => "a link-local address",
        (224..=239, _) => "a multicast address",
        (240..=255, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return special_v4(Ipv4Addr::new(a, b, c, d));
    }
    Some(match s[0] {
        _ if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254) => {
            "a cloud metadata address"
        }
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        0 if s[1..6] == [0; 5] => "a reserved address (IPv4-compatible)",
        0xfc00..=0xfdff => "a unique local address (RFC 4193)",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test helpers, shared with `guard`'s tests.
    pub(super) fn origin(text: &str) -> OriginPattern {
        OriginPattern::parse(text).unwrap()
    }

    pub(super) fn target(url: &str) -> Target {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (host, port) = split_host_port(rest).unwrap();
        Target::http(scheme, host, port).unwrap()
    }

    #[test]
    fn origins_parse_with_default_ports_and_canonical_text() {
        let o = origin("HTTPS://API.GitHub.com");
        assert_eq!(o.scheme, Scheme::Https);
        assert_eq!(o.host, HostPattern::Name("api.github.com".into()));
        assert_eq!(o.port, 443);
        assert_eq!(o.to_string(), "https://api.github.com");
        assert_eq!(origin("http://example.com/").port, 80);
        assert_eq!(
            origin("https://*.example.com:8443").to_string(),
            "https://*.example.com:8443"
        );
        assert_eq!(
            origin("http://127.0.0.1:8080").host,
            HostPattern::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(origin("http://[::1]:8080").to_string(), "http://[::1]:8080");
        assert_eq!(
            origin("https://example.com:443").to_string(),
            "https://example.com"
        );
    }

    #[test]
    fn bad_origins_say_why() {
        for (text, needle) in [
            ("api.github.com", "missing 'scheme://'"),
            ("ftp://x.com", "http or https"),
            ("https://x.com/path", "no path"),
            ("https://x.com?q", "no path"),
            ("https://user@x.com", "user info"),
            ("https://x.com:0", "1..=65535"),
            ("https://x.com:70000", "1..=65535"),
            ("https://x.com:http", "not a number"),
            ("https://", "empty"),
            ("https://a..b", "valid DNS label"),
            ("https://-a.com", "valid DNS label"),
            ("https://a_b.com", "valid DNS label"),
            ("https://bücher.de", "punycode"),
            ("https://a.*.com", "whole first label"),
            ("https://*", "whole first label"),
            ("https://*.", "empty"),
            ("https://::1", "brackets"),
            ("https://[::1", "unclosed"),
            ("https://[x]", "not an IPv6"),
            ("https://127.1", "neither an IP address nor a DNS name"),
            ("https://0x7f000001", "neither an IP address nor a DNS name"),
        ] {
            let err = OriginPattern::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn wildcards_match_names_below_only() {
        let p = origin("https://*.example.com");
        assert!(p.matches(&target("https://a.example.com")));
        assert!(p.matches(&target("https://a.b.example.com")));
        assert!(p.matches(&target("https://A.Example.COM.:443")));
        assert!(!p.matches(&target("https://example.com")));
        assert!(!p.matches(&target("https://evilexample.com")));
        assert!(!p.matches(&target("https://a.example.com.evil.net")));
        assert!(!p.matches(&target("https://a.example.com:8443")), "port");
        assert!(!p.matches(&target("http://a.example.com")), "scheme");
    }

    #[test]
    fn exact_and_ip_patterns() {
        let p = origin("http://127.0.0.1:8080");
        assert!(p.matches(&target("http://127.0.0.1:8080")));
        assert!(!p.matches(&target("http://127.0.0.1:8081")));
        assert!(!p.matches(&target("http://localhost:8080")));
        assert!(!p.matches(&target("https://127.0.0.1:8080")));
        let p = origin("https://api.github.com");
        assert!(p.matches(&target("https://api.github.com:443")));
        assert!(!p.matches(&target("https://api.github.com:8443")));
        assert!(!p.matches(&target("https://github.com")));
        let p = origin("http://[::1]:9");
        assert!(p.matches(&target("http://[::1]:9")));
        assert!(!p.matches(&target("http://[::ffff:127.0.0.1]:9")));
    }

    #[test]
    fn covering_and_intersection() {
        let wide = origin("https://*.example.com");
        let mid = origin("https://*.a.example.com");
        let exact = origin("https://x.a.example.com");
        assert!(wide.covers(&mid) && wide.covers(&exact) && mid.covers(&exact));
        assert!(!mid.covers(&wide) && !exact.covers(&mid));
        assert!(!wide.covers(&origin("https://example.com")));
        assert!(!wide.covers(&origin("https://*.example.com:8443")));
        assert_eq!(wide.intersect(&exact), Some(exact.clone()));
        assert_eq!(exact.intersect(&wide), Some(exact.clone()));
        assert_eq!(
            origin("https://*.a.com").intersect(&origin("https://*.b.com")),
            None
        );
    }

    #[test]
    fn effective_is_requested_intersect_granted() {
        let granted = NetworkGrants {
            allow: vec![
                origin("https://*.example.com"),
                origin("https://api.github.com"),
                origin("http://127.0.0.1:8080"),
            ],
            tcp: vec![
                TcpGrant::parse("127.0.0.1:5432").unwrap(),
                TcpGrant::parse("db.internal:6379").unwrap(),
            ],
            allow_private: false,
        };
        let requests: Vec<NetworkRequest> = [
            "https://api.example.com",
            "https://*.b.example.com",
            "https://api.github.com",
            "https://not-granted.org",
            "tcp://127.0.0.1:5432",
        ]
        .iter()
        .map(|t| NetworkRequest::parse(t).unwrap())
        .collect();
        let (eff, ignored) = granted.effective(&requests);
        let allow: Vec<String> = eff.allow.iter().map(ToString::to_string).collect();
        assert_eq!(
            allow,
            [
                "https://api.example.com",
                "https://*.b.example.com",
                "https://api.github.com"
            ]
        );
        assert_eq!(eff.tcp, [TcpGrant::parse("127.0.0.1:5432").unwrap()]);
        assert_eq!(ignored, ["http://127.0.0.1:8080", "tcp db.internal:6379"]);

        let (eff, ignored) = granted.effective(&[NetworkRequest::Any]);
        assert_eq!(eff.allow, granted.allow);
        assert_eq!(eff.tcp, granted.tcp);
        assert!(ignored.is_empty());
        assert!(eff.tcp_needs_lookups());

        let (eff, ignored) = granted.effective(&[]);
        assert!(eff.is_empty());
        assert_eq!(ignored.len(), 5);
    }

    #[test]
    fn requests_and_tcp_grants_parse() {
        assert_eq!(NetworkRequest::parse("*"), Ok(NetworkRequest::Any));
        assert!(matches!(
            NetworkRequest::parse("tcp://[::1]:22"),
            Ok(NetworkRequest::Tcp(TcpGrant { port: 22, .. }))
        ));
        assert!(
            TcpGrant::parse("db.internal")
                .unwrap_err()
                .to_string()
                .contains("port is missing")
        );
        assert!(
            TcpGrant::parse("*.x.com:1")
                .unwrap_err()
                .to_string()
                .contains("not allowed")
        );
        assert_eq!(TcpGrant::parse("[::1]:22").unwrap().to_string(), "[::1]:22");
    }

    #[test]
    fn special_use_addresses() {
        for (ip, what) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.254", "CGNAT"),
            ("169.254.169.254", "metadata"),
            ("169.254.1.1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "metadata"),
            ("64:ff9b::a00:1", "private"),
            ("fd00:ec2::254", "metadata"),
            ("fc00::1", "unique local"),
            ("fdff::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::7f00:1", "IPv4-compatible"),
        ] {
            let class = special_use(ip.parse().unwrap());
            assert!(class.is_some_and(|c| c.contains(what)), "{ip}: {class:?}");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "169.253.1.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert_eq!(special_use(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
