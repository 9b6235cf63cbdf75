//! The WASI context of one call: the single door through which a plugin reaches what it was
//! granted ([`crate::grants`]), and nothing else (deny by default, ARCHITECTURE.md §3).

use std::sync::Arc;

use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::emissions::Emissions;
use super::output::{LogOutput, Stream};
use crate::grants::{Grants, NetworkGuard};

/// Build the WASI context of one call from what the plugin is granted; `guard` checks its
/// sockets, and its stdout/stderr go to the host log charged to `emissions`.
///
/// TCP sockets can be created only with an effective `[network].tcp` grant, and every address
/// passes [`NetworkGuard::check_socket`]:
/// only connections to `[network].tcp` grants get through, and each refusal is logged and
/// recorded with a clear message. UDP is off. Name lookups (`wasi:sockets/ip-name-lookup`)
/// are on only when a TCP grant is a DNS name, and then only for those names
/// ([`NetworkGuard::check_lookup`], wired in by `runtime::lookup`). `wasi:http` does not use
/// these sockets: see `runtime::http`.
///
/// # Errors
/// A mount whose host directory cannot be opened (it was removed after loading, or
/// permissions changed) is an error naming the directory.
pub fn wasi_ctx(
    grants: &Grants,
    guard: &NetworkGuard,
    emissions: &Arc<Emissions>,
) -> anyhow::Result<WasiCtx> {
    let plugin = &guard.plugin;
    let mut builder = WasiCtxBuilder::new();
    let check = guard.clone();
    builder
        .stdout(LogOutput::new(
            plugin.clone(),
            Stream::Stdout,
            emissions.clone(),
        ))
        .stderr(LogOutput::new(
            plugin.clone(),
            Stream::Stderr,
            emissions.clone(),
        ))
        // No OS socket at all without a TCP grant (see `runtime::descriptors`).
        .allow_tcp(!grants.network.effective.tcp.is_empty())
        .socket_addr_check(move |addr, usage| {
            let check = check.clone();
            Box::pin(async move { check.check_socket(addr, usage).await })
        })
        .allow_udp(false)
        .allow_ip_name_lookup(grants.network.effective.tcp_needs_lookups());
    for mount in &grants.mounts {
        mount.apply(&mut builder)?;
    }
    for var in &grants.env {
        builder.env(&var.name, var.value.expose());
    }
    Ok(builder.build())
}
