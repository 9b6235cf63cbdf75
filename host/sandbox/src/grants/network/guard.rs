//! The per-call network checks: every outgoing HTTP request, socket address and name lookup of one
//! call passes a [`NetworkGuard`], which allows it or records a denial that names the plugin, the
//! target and the policy line that would allow it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime_wasi::sockets::SocketAddrUse;

use super::{HostPattern, NetworkGrants, OriginPattern, Target, TargetHost, special_use};

/// A plugin's network access as the checks need it: what it effectively has, what the policy
/// grants (to tell "not granted" from "not requested"), and where the policy lives (to say which
/// line would grant it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkAccess {
    /// Requested ∩ granted: what requests are checked against.
    pub effective: NetworkGrants,
    /// What the policy grants, requested or not.
    pub granted: NetworkGrants,
    /// The policy file, as named in denial messages.
    pub policy: String,
}

/// Why a request was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No effective grant allows the origin or address (`wasi:http` `HTTP-request-denied`,
    /// `wasi:sockets` `access-denied`).
    Denied,
    /// The host is granted but resolves to a special-use address (`destination-IP-prohibited`).
    Prohibited,
    /// The name did not resolve (`DNS-error`).
    Unresolvable(String),
    /// The name did not resolve before the call's deadline (`DNS-timeout`).
    DnsTimeout,
}

/// Denial messages of one call: logged at WARN as they happen, and kept (the first
/// [`Denials::KEEP`]) so the host can add them to the call's error result.
#[derive(Clone, Debug, Default)]
pub struct Denials(Arc<Mutex<Vec<String>>>);

impl Denials {
    /// How many messages one call keeps.
    pub const KEEP: usize = 8;

    /// Log `message` for `plugin` and keep it.
    pub fn record(&self, plugin: &str, message: String) {
        tracing::warn!(plugin, "{message}");
        capsule_telemetry::metrics::network_denials(plugin, 1);
        if let Ok(mut kept) = self.0.lock()
            && kept.len() < Self::KEEP
            && !kept.contains(&message)
        {
            kept.push(message);
        }
    }

    /// The messages kept so far, emptying the log.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default()
    }
}

/// The network checks of one call: every outgoing HTTP request and every socket address goes
/// through here. Cheap to clone.
#[derive(Clone, Debug)]
pub struct NetworkGuard {
    pub plugin: Arc<str>,
    pub access: Arc<NetworkAccess>,
    pub denials: Denials,
    /// The call's deadline: DNS lookups give up then.
    pub deadline: Instant,
}

impl NetworkGuard {
    fn deny(&self, target: &impl fmt::Display, reason: &str) {
        self.denials.record(
            &self.plugin,
            format!(
                "network access to {target} denied for plugin \"{}\": {reason}",
                self.plugin
            ),
        );
    }

    /// The effective origin pattern that allows an HTTP request to `target`.
    ///
    /// # Errors
    /// [`Refusal::Denied`], after recording why: not in `[network].allow`, or granted there but
    /// not requested by the plugin.
    pub fn check_origin(&self, target: &Target) -> Result<&OriginPattern, Refusal> {
        if let Some(pattern) = self.access.effective.origin_for(target) {
            return Ok(pattern);
        }
        let reason = match self.access.granted.origin_for(target) {
            Some(grant) => format!(
                "{grant} is granted in [network].allow in {} but the plugin does not request it",
                self.access.policy
            ),
            None => format!("not in [network].allow in {}", self.access.policy),
        };
        self.deny(target, &reason);
        Err(Refusal::Denied)
    }

    /// The addresses to connect to for `target`, allowed by `pattern`: the literal address of an
    /// IP pattern, or the name resolved once (the caller connects to exactly these addresses, so
    /// a second lookup cannot answer differently). A name that resolves to any special-use
    /// address ([`special_use`]) is refused unless `allow_private` is set.
    ///
    /// # Errors
    /// [`Refusal::Prohibited`] (recorded), or a DNS failure or timeout.
    pub async fn resolve(
        &self,
        target: &Target,
        pattern: &OriginPattern,
    ) -> Result<Vec<SocketAddr>, Refusal> {
        match (&pattern.host, &target.host) {
            (HostPattern::Ip(ip), _) => Ok(vec![SocketAddr::new(*ip, target.port)]),
            (_, TargetHost::Ip(_)) => Err(Refusal::Denied),
            (_, TargetHost::Name(name)) => {
                let addrs = self.lookup(name, target.port).await?;
                if !self.access.effective.allow_private
                    && let Some((ip, class)) = addrs
                        .iter()
                        .find_map(|a| special_use(a.ip()).map(|c| (a.ip(), c)))
                {
                    self.deny(
                        target,
                        &format!(
                            "{name} resolves to {ip}, {class}; names that resolve to such \
                             addresses are refused unless [network] in {} sets \
                             allow_private = true (or grants the address literally, as in \
                             \"{}\", and the plugin uses that URL)",
                            self.access.policy,
                            OriginPattern {
                                scheme: target.scheme.unwrap_or(pattern.scheme),
                                host: HostPattern::Ip(ip),
                                port: target.port,
                            }
                        ),
                    );
                    return Err(Refusal::Prohibited);
                }
                Ok(addrs)
            }
        }
    }

    async fn lookup(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, tokio::net::lookup_host((name, port))).await {
            Err(_) => Err(Refusal::DnsTimeout),
            Ok(Err(e)) => Err(Refusal::Unresolvable(e.to_string())),
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.is_empty() {
                    Err(Refusal::Unresolvable(format!("{name} has no addresses")))
                } else {
                    Ok(addrs)
                }
            }
        }
    }

    /// Whether the guest may create a TCP socket at all (`wasi:sockets/tcp-create-socket`): only
    /// with an effective `[network].tcp` grant, so a plugin without one never gets an OS socket.
    /// A refusal is recorded.
    pub fn check_tcp_socket(&self) -> bool {
        if !self.access.effective.tcp.is_empty() {
            return true;
        }
        let reason = if self.access.granted.tcp.is_empty() {
            format!(
                "nothing is granted in [network].tcp in {}, so no socket is created",
                self.access.policy
            )
        } else {
            format!(
                "[network].tcp in {} grants addresses the plugin does not request",
                self.access.policy
            )
        };
        self.deny(&"tcp (a new socket)", &reason);
        false
    }

    /// Whether the guest may resolve `name` (`wasi:sockets/ip-name-lookup`): IP literals (no DNS
    /// involved) and the DNS names of `[network].tcp` grants only. A refusal is recorded.
    pub fn check_lookup(&self, name: &str) -> bool {
        let host = name.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().is_ok() {
            return true;
        }
        let wanted = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let granted = |grants: &NetworkGrants| {
            grants
                .tcp
                .iter()
                .any(|g| g.host == HostPattern::Name(wanted.clone()))
        };
        if granted(&self.access.effective) {
            return true;
        }
        let reason = if granted(&self.access.granted) {
            format!(
                "granted in [network].tcp in {} but the plugin does not request it",
                self.access.policy
            )
        } else {
            format!(
                "names can be looked up only when they are hosts in [network].tcp in {}",
                self.access.policy
            )
        };
        self.deny(&format!("the name lookup of '{name}'"), &reason);
        false
    }

    /// The `wasi:sockets` check (`WasiCtxBuilder::socket_addr_check`): outgoing TCP connections
    /// to `[network].tcp` grants only. The implicit bind to the wildcard address with port 0
    /// that precedes a connect is allowed; listening, accepting, other binds and UDP are
    /// refused. A name grant allows the addresses the name resolves to now, special-use ones
    /// only with `allow_private`; an IP grant allows exactly that address.
    pub async fn check_socket(&self, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        let target = Target::tcp(addr.ip(), addr.port());
        match usage {
            SocketAddrUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => true,
            SocketAddrUse::TcpConnect => {
                if self.tcp_allows(&self.access.effective, addr).await {
                    return true;
                }
                let reason =
                    if self.tcp_allows(&self.access.granted, addr).await {
                        format!(
                            "granted in [network].tcp in {} but the plugin does not request it",
                            self.access.policy
                        )
                    } else if let Some(class) = special_use(addr.ip()).filter(|_| {
                        self.access.effective.tcp.iter().any(|g| {
                            g.port == addr.port() && matches!(g.host, HostPattern::Name(_))
                        })
                    }) {
                        format!(
                            "{} is {class}; a granted name may resolve to it only with \
                         allow_private = true under [network] in {}",
                            addr.ip(),
                            self.access.policy
                        )
                    } else {
                        format!("not in [network].tcp in {}", self.access.policy)
                    };
                self.deny(&target, &reason);
                false
            }
            other => {
                let what = match other {
                    SocketAddrUse::TcpBind => "binding a TCP socket",
                    SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => {
                        "accepting TCP connections"
                    }
                    _ => "UDP",
                };
                self.deny(
                    &target,
                    &format!(
                        "{what} is never allowed; [network].tcp grants outgoing connections only"
                    ),
                );
                false
            }
        }
    }

    /// Whether `grants` allow a TCP connection to `addr` (special-use addresses of name grants
    /// only with `allow_private`).
    async fn tcp_allows(&self, grants: &NetworkGrants, addr: SocketAddr) -> bool {
        for grant in grants.tcp.iter().filter(|g| g.port == addr.port()) {
            match &grant.host {
                HostPattern::Ip(ip) if *ip == addr.ip() => return true,
                HostPattern::Name(name) => {
                    let resolved = self.lookup(name, grant.port).await.unwrap_or_default();
                    if resolved.contains(&addr)
                        && (grants.allow_private || special_use(addr.ip()).is_none())
                    {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::TcpGrant;

    use super::super::tests::{origin, target};

    fn guard(effective: NetworkGrants, granted: NetworkGrants) -> NetworkGuard {
        NetworkGuard {
            plugin: Arc::from("p"),
            access: Arc::new(NetworkAccess {
                effective,
                granted,
                policy: "plugins/p.toml".into(),
            }),
            denials: Denials::default(),
            deadline: Instant::now() + std::time::Duration::from_secs(10),
        }
    }

    fn grants(allow: &[&str], tcp: &[&str]) -> NetworkGrants {
        NetworkGrants {
            allow: allow.iter().map(|o| origin(o)).collect(),
            tcp: tcp.iter().map(|t| TcpGrant::parse(t).unwrap()).collect(),
            allow_private: false,
        }
    }

    #[test]
    fn origin_denials_say_which_policy_line_is_missing() {
        let g = guard(
            grants(&["https://api.github.com"], &[]),
            grants(&["https://api.github.com", "https://extra.org"], &[]),
        );
        assert!(g.check_origin(&target("https://api.github.com")).is_ok());
        assert_eq!(
            g.check_origin(&target("https://evil.example")),
            Err(Refusal::Denied)
        );
        assert_eq!(
            g.check_origin(&target("https://extra.org")),
            Err(Refusal::Denied)
        );
        assert_eq!(
            g.denials.take(),
            [
                "network access to https://evil.example:443 denied for plugin \"p\": not in \
                 [network].allow in plugins/p.toml",
                "network access to https://extra.org:443 denied for plugin \"p\": \
                 https://extra.org is granted in [network].allow in plugins/p.toml but the plugin \
                 does not request it",
            ]
        );
        assert!(g.denials.take().is_empty(), "take empties the log");
    }

    #[tokio::test]
    async fn names_resolving_to_special_addresses_need_allow_private() {
        let mut granted = grants(&["http://localhost:8080", "http://127.0.0.1:8080"], &[]);
        let g = guard(granted.clone(), granted.clone());
        let by_name = target("http://localhost:8080");
        let pattern = g.check_origin(&by_name).unwrap().clone();
        assert_eq!(
            g.resolve(&by_name, &pattern).await,
            Err(Refusal::Prohibited)
        );
        let [message] = &g.denials.take()[..] else {
            panic!("one denial")
        };
        assert!(
            message.contains("localhost resolves to 127.0.0.1, a loopback address"),
            "{message}"
        );
        let literal = target("http://127.0.0.1:8080");
        let pattern = g.check_origin(&literal).unwrap().clone();
        assert_eq!(
            g.resolve(&literal, &pattern).await,
            Ok(vec!["127.0.0.1:8080".parse().unwrap()]),
            "a literal grant needs no lookup and no opt-in"
        );
        granted.allow_private = true;
        let g = guard(granted.clone(), granted);
        let pattern = g.check_origin(&by_name).unwrap().clone();
        let addrs = g.resolve(&by_name, &pattern).await.unwrap();
        assert!(
            addrs
                .iter()
                .all(|a| a.port() == 8080 && a.ip().is_loopback())
        );
    }

    #[tokio::test]
    async fn sockets_connect_to_tcp_grants_only() {
        let g = guard(
            grants(&[], &["127.0.0.1:5432"]),
            grants(&[], &["127.0.0.1:5432"]),
        );
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(
            g.check_socket(addr("0.0.0.0:0"), SocketAddrUse::TcpBind)
                .await
        );
        assert!(g.check_socket(addr("[::]:0"), SocketAddrUse::TcpBind).await);
        assert!(
            g.check_socket(addr("127.0.0.1:5432"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            !g.check_socket(addr("127.0.0.1:5433"), SocketAddrUse::TcpConnect)
                .await
        );
        assert!(
            !g.check_socket(addr("0.0.0.0:8080"), SocketAddrUse::TcpBind)
                .await
        );
        assert!(
            !g.check_socket(addr("0.0.0.0:0"), SocketAddrUse::TcpListen)
                .await
        );
        assert!(
            !g.check_socket(addr("10.0.0.1:53"), SocketAddrUse::UdpSend)
                .await
        );
        let denials = g.denials.take();
        assert_eq!(denials.len(), 4);
        assert_eq!(
            denials[0],
            "network access to tcp 127.0.0.1:5433 denied for plugin \"p\": not in [network].tcp \
             in plugins/p.toml"
        );
        assert!(denials[1].contains("binding a TCP socket is never allowed"));
    }

    #[test]
    fn lookups_only_for_granted_names_and_ip_literals() {
        let g = guard(
            grants(&[], &["DB.internal:5432"]),
            grants(&[], &["db.internal:5432"]),
        );
        assert!(g.check_lookup("db.internal"));
        assert!(g.check_lookup("DB.Internal."));
        assert!(g.check_lookup("10.0.0.1"));
        assert!(g.check_lookup("::1"));
        assert!(!g.check_lookup("secret.attacker.example"));
        assert!(!g.check_lookup("internal"));
        let denials = g.denials.take();
        assert_eq!(denials.len(), 2);
        assert!(denials[0].starts_with(
            "network access to the name lookup of 'secret.attacker.example' denied for plugin \"p\""
        ));
    }

    #[test]
    fn denials_are_kept_once_and_bounded() {
        let d = Denials::default();
        d.record("p", "same".into());
        d.record("p", "same".into());
        for i in 0..20 {
            d.record("p", format!("n{i}"));
        }
        let kept = d.take();
        assert_eq!(kept.len(), Denials::KEEP);
        assert_eq!(kept[0], "same");
    }
}
