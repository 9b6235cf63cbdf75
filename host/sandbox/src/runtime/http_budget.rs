//! Host memory of `wasi:http` values, charged to the call's memory budget (`[limits] memory`).
//!
//! A guest can make the host hold memory that is not in its linear memory: the header maps of
//! `fields` (up to wasmtime's 128 KiB per map, with up to `[limits] max_handles` maps), and the
//! buffers of outgoing bodies ([`BODY_CHUNK`] per write). The functions
//! that grow them are replaced in the linker by ones that reserve the bytes first
//! (`CallState::reserve_host`; over the budget the call ends as over its memory limit), call
//! wasmtime-wasi-http's own implementation, then charge the entry its real size
//! (`CallState::charge_host`). Charges follow the value: `outgoing-request`/`outgoing-response`
//! constructors move the charge of the `fields` they consume to the new entry; a body's buffer is
//! charged to its request or response. Dropped entries give their charge back lazily, when the
//! budget would otherwise be exceeded (see `runtime::handles::Ledger`).
//!
//! Sizes are those of the header names and values plus `size_of::<HeaderValue>()` per value
//! (wasmtime-wasi-http's own measure of a fields map).

use std::mem::size_of;

use http::HeaderValue;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi_http::p2::bindings::http::types::{
    HeaderError, HostFields, HostOutgoingRequest as RequestHost,
    HostOutgoingResponse as ResponseHost,
};
use wasmtime_wasi_http::p2::body::HostOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostOutgoingRequest, HostOutgoingResponse};
use wasmtime_wasi_http::{FieldMap, WasiHttpView};

use super::CallState;
use super::http::BODY_CHUNK;

/// The `wasi:http/types` version wasmtime-wasi-http 48 defines.
const HTTP_TYPES: &str = "wasi:http/types@0.2.12";

/// Bytes an outgoing body can make the host buffer: the chunk in its channel plus the one being
/// written.
const BODY_BUFFER: usize = 2 * BODY_CHUNK;

/// Bytes one header value costs.
fn value_size(value_len: usize) -> usize {
    value_len + size_of::<HeaderValue>()
}

/// Bytes a fields map holds.
fn map_size(map: &FieldMap) -> usize {
    map.iter()
        .map(|(name, value)| name.as_str().len() + value_size(value.len()))
        .sum()
}

/// Charge the fields entry `rep` its current size.
fn recharge(state: &mut CallState, rep: u32) -> wasmtime::Result<()> {
    let size = map_size(state.table.get(&Resource::<FieldMap>::new_borrow(rep))?);
    state.charge_host::<FieldMap>(rep, size);
    Ok(())
}

type HeaderResult<T> = wasmtime::Result<(Result<T, HeaderError>,)>;

fn header_error(e: wasmtime_wasi_http::p2::HeaderError) -> HeaderResult<()> {
    Ok((Err(e.downcast()?),))
}

/// After `fields.set` or `fields.append` on map `rep`: charge its new size, or pass on the error.
fn fields_changed(
    state: &mut CallState,
    rep: u32,
    changed: Result<(), wasmtime_wasi_http::p2::HeaderError>,
) -> HeaderResult<()> {
    match changed {
        Ok(()) => {
            recharge(state, rep)?;
            Ok((Ok(()),))
        }
        Err(e) => header_error(e),
    }
}

/// After `body` on a request or response (`T`) `rep`: it now also holds a body buffer.
fn add_body_buffer<T: std::any::Any>(state: &mut CallState, rep: u32) {
    let bytes = state.uncharge_host::<T>(rep);
    state.charge_host::<T>(rep, bytes + BODY_BUFFER);
}

/// Replace the `wasi:http/types` functions that grow host memory in `linker` (which must already
/// hold wasmtime-wasi-http's) by the charged ones.
///
/// # Errors
/// The definitions are refused by the linker.
pub fn charge_http_memory(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(HTTP_TYPES)?;
    types.func_wrap(
        "[static]fields.from-list",
        |mut store: StoreContextMut<'_, CallState>,
         (entries,): (Vec<(String, Vec<u8>)>,)|
         -> HeaderResult<Resource<FieldMap>> {
            let state = store.data_mut();
            let size = entries
                .iter()
                .map(|(name, value)| name.len() + value_size(value.len()))
                .sum();
            state.reserve_host(size)?;
            match HostFields::from_list(&mut state.http(), entries) {
                Ok(fields) => {
                    recharge(state, fields.rep())?;
                    Ok((Ok(fields),))
                }
                Err(e) => Ok((Err(e.downcast()?),)),
            }
        },
    )?;
    types.func_wrap(
        "[method]fields.set",
        |mut store: StoreContextMut<'_, CallState>,
         (fields, name, values): (Resource<FieldMap>, String, Vec<Vec<u8>>)|
         -> HeaderResult<()> {
            let state = store.data_mut();
            let rep = fields.rep();
            let size = values
                .iter()
                .map(|v| name.len() + value_size(v.len()))
                .sum();
            state.reserve_host(size)?;
            let changed = HostFields::set(&mut state.http(), fields, name, values);
            fields_changed(state, rep, changed)
        },
    )?;
    types.func_wrap(
        "[method]fields.append",
        |mut store: StoreContextMut<'_, CallState>,
         (fields, name, value): (Resource<FieldMap>, String, Vec<u8>)|
         -> HeaderResult<()> {
            let state = store.data_mut();
            let rep = fields.rep();
            state.reserve_host(name.len() + value_size(value.len()))?;
            let changed = HostFields::append(&mut state.http(), fields, name, value);
            fields_changed(state, rep, changed)
        },
    )?;
    types.func_wrap(
        "[method]fields.clone",
        |mut store: StoreContextMut<'_, CallState>,
         (fields,): (Resource<FieldMap>,)|
         -> wasmtime::Result<(Resource<FieldMap>,)> {
            let state = store.data_mut();
            let size = map_size(state.table.get(&fields)?);
            state.reserve_host(size)?;
            let copy = HostFields::clone(&mut state.http(), fields)?;
            recharge(state, copy.rep())?;
            Ok((copy,))
        },
    )?;
    types.func_wrap(
        "[constructor]outgoing-request",
        |mut store: StoreContextMut<'_, CallState>,
         (headers,): (Resource<FieldMap>,)|
         -> wasmtime::Result<(Resource<HostOutgoingRequest>,)> {
            let state = store.data_mut();
            let bytes = state.uncharge_host::<FieldMap>(headers.rep());
            let request = RequestHost::new(&mut state.http(), headers)?;
            state.charge_host::<HostOutgoingRequest>(request.rep(), bytes);
            Ok((request,))
        },
    )?;
    types.func_wrap(
        "[constructor]outgoing-response",
        |mut store: StoreContextMut<'_, CallState>,
         (headers,): (Resource<FieldMap>,)|
         -> wasmtime::Result<(Resource<HostOutgoingResponse>,)> {
            let state = store.data_mut();
            let bytes = state.uncharge_host::<FieldMap>(headers.rep());
            let response = ResponseHost::new(&mut state.http(), headers)?;
            state.charge_host::<HostOutgoingResponse>(response.rep(), bytes);
            Ok((response,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.body",
        |mut store: StoreContextMut<'_, CallState>,
         (request,): (Resource<HostOutgoingRequest>,)|
         -> wasmtime::Result<(Result<Resource<HostOutgoingBody>, ()>,)> {
            let state = store.data_mut();
            let rep = request.rep();
            state.reserve_host(BODY_BUFFER)?;
            let body = RequestHost::body(&mut state.http(), request)?;
            if body.is_ok() {
                add_body_buffer::<HostOutgoingRequest>(state, rep);
            }
            Ok((body,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-response.body",
        |mut store: StoreContextMut<'_, CallState>,
         (response,): (Resource<HostOutgoingResponse>,)|
         -> wasmtime::Result<(Result<Resource<HostOutgoingBody>, ()>,)> {
            let state = store.data_mut();
            let rep = response.rep();
            state.reserve_host(BODY_BUFFER)?;
            let body = ResponseHost::body(&mut state.http(), response)?;
            if body.is_ok() {
                add_body_buffer::<HostOutgoingResponse>(state, rep);
            }
            Ok((body,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_costs_its_names_values_and_value_headers() {
        let mut map = http::HeaderMap::new();
        map.append("x-a", HeaderValue::from_static("12345"));
        map.append("x-a", HeaderValue::from_static(""));
        let hooks = wasmtime_wasi_http::default_hooks();
        let fields = FieldMap::new_immutable(hooks, map);
        assert_eq!(map_size(&fields), 3 + 5 + 3 + 2 * size_of::<HeaderValue>());
    }
}
