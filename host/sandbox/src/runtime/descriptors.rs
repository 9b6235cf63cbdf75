//! Counted descriptors: `wasi:filesystem` `open-at` and `wasi:sockets` `create-tcp-socket`, each
//! replaced in the linker by a function that takes a token from the call's budget
//! ([`super::handles`]) and only then calls wasmtime-wasi's own implementation (the technique of
//! [`super::lookup`]).
//!
//! - `open-at`: one file per open descriptor, at most `[limits] max_open_files`.
//! - `create-tcp-socket`: refused (`access-denied`, with a denial naming `[network].tcp`) when the
//!   plugin has no effective TCP grant, before any OS socket exists (the WASI context is also
//!   built with `allow_tcp(false)` then); otherwise one socket, at most `[limits] max_sockets`.
//!   UDP is off (`allow_udp(false)`: wasmtime-wasi refuses before creating an OS socket).
//!
//! Going over a budget ends the call (`CallState::over`) with a message naming the limit.

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::TcpSocket;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, ErrorCode as FsErrorCode, HostDescriptor, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::Host as _;
use wasmtime_wasi::sockets::WasiSocketsView;

use super::CallState;
use super::handles::Kind;

/// The interface versions wasmtime-wasi 48 defines (`@0.2.12`); guests importing any 0.2.x
/// resolve to them.
const FS_TYPES: &str = "wasi:filesystem/types@0.2.12";
const TCP_CREATE_SOCKET: &str = "wasi:sockets/tcp-create-socket@0.2.12";

/// Replace `open-at` and `create-tcp-socket` in `linker` (which must already hold wasmtime-wasi's
/// WASI 0.2) by the counted ones.
///
/// # Errors
/// The definitions are refused by the linker.
pub fn count_descriptors(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(FS_TYPES)?.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store: StoreContextMut<'_, CallState>,
         (dir, path_flags, path, open_flags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                let state = store.data_mut();
                let held = match state.handles.acquire(Kind::File, &mut state.table) {
                    Ok(held) => held,
                    Err(e) => return Err(state.over(e.to_string())),
                };
                let opened = state
                    .filesystem()
                    .open_at(dir, path_flags, path, open_flags, flags)
                    .await;
                match opened {
                    Ok(file) => {
                        state.handles.keep::<Descriptor>(file.rep(), held);
                        Ok((Ok::<_, FsErrorCode>(file),))
                    }
                    Err(e) => Ok((Err(e.downcast()?),)),
                }
            })
        },
    )?;
    linker.instance(TCP_CREATE_SOCKET)?.func_wrap(
        "create-tcp-socket",
        |mut store: StoreContextMut<'_, CallState>,
         (family,): (IpAddressFamily,)|
         -> wasmtime::Result<(Result<Resource<TcpSocket>, ErrorCode>,)> {
            let state = store.data_mut();
            if !state.hooks.guard().check_tcp_socket() {
                return Ok((Err(ErrorCode::AccessDenied),));
            }
            let held = match state.handles.acquire(Kind::Socket, &mut state.table) {
                Ok(held) => held,
                Err(e) => return Err(state.over(e.to_string())),
            };
            match state.sockets().create_tcp_socket(family) {
                Ok(socket) => {
                    state.handles.keep::<TcpSocket>(socket.rep(), held);
                    Ok((Ok(socket),))
                }
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
