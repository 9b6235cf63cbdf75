//! Grants: what the operator lets a plugin reach, turned into the WASI context it runs with.
//!
//! Deny by default: with no grant a plugin gets no filesystem, no network (TCP, UDP and name
//! lookups all refused), no environment variables and no arguments, and its stdout/stderr go to the
//! host log. Filesystem mounts come from `--fs` for now; the per-plugin policy files of the
//! least-privilege design (DESIGN.md §3) will feed the same [`Grants`].

mod filesystem;

use std::sync::Arc;

pub use filesystem::{Access, Mount, MountParseError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use crate::runtime::output::{LogOutput, Stream};

/// Everything one plugin is granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Host directories preopened in the guest, each read-only or read-write.
    pub mounts: Vec<Mount>,
}

impl Grants {
    /// Build the WASI context for one call of `plugin`.
    ///
    /// # Errors
    /// A mount whose host directory cannot be opened (it was removed after start-up, or
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
        Ok(builder.build())
    }
}
