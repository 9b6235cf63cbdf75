//! Name lookups only for granted names: a filter in front of
//! `wasi:sockets/ip-name-lookup.resolve-addresses`.
//!
//! wasmtime 48 can only switch lookups on or off (`allow_ip_name_lookup`). On, a plugin could
//! resolve any name, and a lookup alone leaks data to whoever runs the name's DNS server
//! (`<secret>.attacker.example`). So the linker's `resolve-addresses` is replaced by one that
//! asks [`NetworkGuard::check_lookup`] first and only then calls wasmtime-wasi's own
//! implementation. A refused lookup is logged, recorded for the call's result, and answers
//! `access-denied`.
//!
//! [`NetworkGuard::check_lookup`]: crate::grants::NetworkGuard::check_lookup

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{Host, ResolveAddressStream};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, Network};
use wasmtime_wasi::sockets::WasiSocketsView;

use super::CallState;

/// The `wasi:sockets` interface version wasmtime-wasi 48 defines (`package wasi:sockets@0.2.12`);
/// guests importing any 0.2.x resolve to it.
const IP_NAME_LOOKUP: &str = "wasi:sockets/ip-name-lookup@0.2.12";

/// Replace `resolve-addresses` in `linker` (which must already hold wasmtime-wasi's WASI 0.2) by
/// the filtered one.
///
/// # Errors
/// The definition is refused by the linker.
pub fn filter_name_lookups(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    // This must replace the existing definition, not add an instance under another version
    // (semver matching would then still reach the unfiltered one): the end-to-end test
    // `test_name_lookups_only_for_granted_names` fails if it does not.
    linker.allow_shadowing(true);
    linker.instance(IP_NAME_LOOKUP)?.func_wrap(
        "resolve-addresses",
        |mut store: StoreContextMut<'_, CallState>,
         (network, name): (Resource<Network>, String)|
         -> wasmtime::Result<(Result<Resource<ResolveAddressStream>, ErrorCode>,)> {
            let state = store.data_mut();
            if !state.hooks.guard().check_lookup(&name) {
                return Ok((Err(ErrorCode::AccessDenied),));
            }
            match Host::resolve_addresses(&mut state.sockets(), network, name) {
                Ok(stream) => Ok((Ok(stream),)),
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
