//! Grants: what a plugin may reach, and the single door through which it gets it — the WASI
//! and limits of each call (ARCHITECTURE.md §3); `runtime::wasi` turns them into the WASI context.
//!
//! Deny by default: with no grant a plugin gets no filesystem, no network (HTTP, TCP, UDP and
//! name lookups all refused), no environment variables, no configuration and no arguments, and its
//! stdout/stderr go to the host log. The operator grants in policy ([`policy`]); the plugin requests
//! in its metadata; the plugin gets the intersection ([`Grants::effective`]), except for
//! configuration (`[config]`, read through `wasi:config/store`), which nothing requests: it is
//! granted as the operator writes it. One file per capability.

mod config;
mod env;
mod filesystem;
mod limits;
mod network;
pub mod policy;
pub mod quota;

use std::sync::Arc;

pub use config::{ConfigGrants, ConfigVar};
pub use env::EnvVar;
pub use filesystem::{Access, Mount, MountParseError};
pub use limits::{Limits, MIN_HANDLES};
pub use network::{
    AddressError, AddressFault, AddressForm, Denials, HostPattern, NetworkAccess, NetworkGrants,
    NetworkGuard, NetworkRequest, OriginPattern, Refusal, Scheme, Target, TargetError, TargetHost,
    TcpGrant, special_use,
};

pub use policy::Policy;

/// Everything one plugin is granted: the effective capabilities of its calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Host directories preopened in the guest, each read-only or read-write.
    pub mounts: Vec<Mount>,
    /// Environment variables.
    pub env: Vec<EnvVar>,
    /// `wasi:config/store` values: the policy's `[config]`, as written (nothing to request).
    pub config: ConfigGrants,
    /// Outgoing HTTP origins and raw TCP addresses.
    pub network: Arc<NetworkAccess>,
    pub limits: Limits,
}

/// What a plugin asks for, from its metadata.
#[derive(Clone, Debug, Default)]
pub struct Requested {
    /// Guest paths with the access asked for.
    pub filesystem: Vec<(String, Access)>,
    /// Environment variable names.
    pub env: Vec<String>,
    /// Origins, `tcp://host:port` addresses, or `*` for whatever is granted.
    pub network: Vec<NetworkRequest>,
}

impl Requested {
    /// Everything `policy` grants: what a plain component gets, since it cannot request
    /// capabilities (it has no `capsule:plugin` metadata). The operator's policy is then the
    /// whole grant.
    pub fn everything(policy: &Policy) -> Self {
        Self {
            filesystem: policy
                .mounts
                .iter()
                .map(|m| (m.guest.clone(), m.access))
                .collect(),
            env: policy.env.iter().map(|v| v.name.clone()).collect(),
            network: vec![NetworkRequest::Any],
        }
    }
}

impl Grants {
    /// Nothing but `limits` (used to read a plugin's metadata before its requests are known).
    pub fn deny_all(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Effective capability = requested ∩ granted. A grant the plugin did not request is logged
    /// as a warning and left out; a filesystem grant gets the narrower of the two accesses.
    /// Configuration (`[config]`) passes through whole: plugins cannot request it, so the
    /// operator's policy is the whole grant (and its map is shared, not copied).
    pub fn effective(plugin: &str, policy: &Policy, requested: &Requested) -> Self {
        let source = policy
            .file
            .as_deref()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "--fs".into());
        let mut mounts = Vec::new();
        for mount in &policy.mounts {
            match requested
                .filesystem
                .iter()
                .find(|(path, _)| *path == mount.guest)
            {
                Some((_, asked)) => {
                    let access = if *asked == Access::ReadOnly {
                        Access::ReadOnly
                    } else {
                        mount.access
                    };
                    mounts.push(Mount {
                        access,
                        ..mount.clone()
                    });
                }
                None => tracing::warn!(
                    plugin,
                    "filesystem grant '{}' in {source} ignored: the plugin does not request it",
                    mount.guest
                ),
            }
        }
        let mut env = Vec::new();
        for var in &policy.env {
            if requested.env.contains(&var.name) {
                env.push(var.clone());
            } else {
                tracing::warn!(
                    plugin,
                    "environment grant '{}' in {source} ignored: the plugin does not request it",
                    var.name
                );
            }
        }
        let (effective, ignored) = policy.network.effective(&requested.network);
        for grant in ignored {
            tracing::warn!(
                plugin,
                "network grant '{grant}' in {source} ignored: the plugin does not request it"
            );
        }
        let network = NetworkAccess {
            effective,
            granted: policy.network.clone(),
            policy: policy
                .file
                .as_deref()
                .map(|f| f.display().to_string())
                .unwrap_or_else(|| format!("{plugin}.toml (beside {plugin}.wasm; there is none)")),
        };
        Self {
            mounts,
            env,
            config: policy.config.clone(),
            network: Arc::new(network),
            limits: policy.limits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(guest: &str, access: Access) -> Mount {
        Mount {
            plugin: "p".into(),
            guest: guest.into(),
            host: std::env::temp_dir(),
            access,
            quota: None,
        }
    }

    #[test]
    fn effective_is_the_intersection() {
        let policy = Policy {
            file: None,
            mounts: vec![
                mount("/a", Access::ReadWrite),
                mount("/b", Access::ReadWrite),
                mount("/c", Access::ReadOnly),
            ],
            env: vec![
                EnvVar {
                    name: "WANTED".into(),
                    value: capsule_common::Secret::new("1".into()),
                },
                EnvVar {
                    name: "EXTRA".into(),
                    value: capsule_common::Secret::new("2".into()),
                },
            ],
            config: ConfigGrants::new(vec![ConfigVar {
                key: "greeting".into(),
                value: capsule_common::Secret::new("hi".into()),
            }]),
            network: NetworkGrants::default(),
            limits: Limits::default(),
            ..Policy::default()
        };
        let requested = Requested {
            filesystem: vec![
                ("/a".into(), Access::ReadOnly),
                ("/c".into(), Access::ReadWrite),
                ("/d".into(), Access::ReadOnly),
            ],
            env: vec!["WANTED".into(), "NOT_GRANTED".into()],
            network: Vec::new(),
        };
        let g = Grants::effective("p", &policy, &requested);
        let mounts: Vec<_> = g
            .mounts
            .iter()
            .map(|m| (m.guest.as_str(), m.access))
            .collect();
        // /a: asked read-only of a read-write grant → read-only; /b: not requested → dropped;
        // /c: asked read-write of a read-only grant → read-only; /d: requested, not granted.
        assert_eq!(mounts, [("/a", Access::ReadOnly), ("/c", Access::ReadOnly)]);
        let env: Vec<_> = g.env.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(env, ["WANTED"]);
        // Configuration is not requested: the policy's is the grant.
        assert_eq!(g.config, policy.config);
    }
}
