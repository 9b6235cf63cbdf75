//! Grants: what a plugin may reach, and the single door through which it gets it — the WASI
//! context of each call (DESIGN.md §3).
//!
//! Deny by default: with no grant a plugin gets no filesystem, no network (TCP, UDP and name
//! lookups all refused), no environment variables and no arguments, and its stdout/stderr go to
//! the host log. The operator grants in policy ([`crate::policy`]); the plugin requests in its
//! metadata; the plugin gets the intersection ([`Grants::effective`]). One file per capability.

mod env;
mod filesystem;
mod limits;

use std::sync::Arc;

pub use env::{EnvVar, Secret};
pub use filesystem::{Access, Mount, MountParseError};
pub use limits::Limits;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::policy::Policy;
use crate::runtime::output::{LogOutput, Stream};

/// Everything one plugin is granted: the effective capabilities of its calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Host directories preopened in the guest, each read-only or read-write.
    pub mounts: Vec<Mount>,
    /// Environment variables.
    pub env: Vec<EnvVar>,
    pub limits: Limits,
}

/// What a plugin asks for, from its metadata.
#[derive(Clone, Debug, Default)]
pub struct Requested {
    /// Guest paths with the access asked for.
    pub filesystem: Vec<(String, Access)>,
    /// Environment variable names.
    pub env: Vec<String>,
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
        Self {
            mounts,
            env,
            limits: policy.limits,
        }
    }

    /// Build the WASI context for one call of `plugin`.
    ///
    /// # Errors
    /// A mount whose host directory cannot be opened (it was removed after loading, or
    /// permissions changed) is an error naming the directory.
    pub fn wasi_ctx(&self, plugin: &Arc<str>) -> anyhow::Result<WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(LogOutput::new(plugin.clone(), Stream::Stdout))
            .stderr(LogOutput::new(plugin.clone(), Stream::Stderr))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for mount in &self.mounts {
            mount.apply(&mut builder)?;
        }
        for var in &self.env {
            builder.env(&var.name, var.value.expose());
        }
        Ok(builder.build())
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
                    value: Secret::new("1".into()),
                },
                EnvVar {
                    name: "EXTRA".into(),
                    value: Secret::new("2".into()),
                },
            ],
            limits: Limits::default(),
        };
        let requested = Requested {
            filesystem: vec![
                ("/a".into(), Access::ReadOnly),
                ("/c".into(), Access::ReadWrite),
                ("/d".into(), Access::ReadOnly),
            ],
            env: vec!["WANTED".into(), "NOT_GRANTED".into()],
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
    }
}
