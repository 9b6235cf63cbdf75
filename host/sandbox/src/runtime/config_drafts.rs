//! `wasi:config/store` at the draft versions components built for other hosts import:
//! `0.2.0-draft` (wasmCloud, jco) and `0.2.0-draft-2024-09-27` (Spin 3). wasmtime matches
//! pre-release versions exactly, and `wasmtime-wasi-config` serves `0.2.0-rc.1` only, so these
//! two are linked here, with the same shape (`get: func(key: string) -> result<option<string>,
//! error>`, `get-all: func() -> result<list<tuple<string, string>>, error>`, `variant error {
//! upstream(string), io(string) }`) and the same values: the plugin's `[config]`
//! ([`crate::grants::ConfigGrants`]).

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, Lower};

use super::CallState;

/// The draft versions linked besides wasmtime-wasi-config's `0.2.0-rc.1`.
pub const DRAFT_VERSIONS: [&str; 2] = ["0.2.0-draft", "0.2.0-draft-2024-09-27"];

/// `wasi:config/store`'s `error` variant. Capsule's values are in memory: neither case is ever
/// returned, but the type is part of the functions' signatures.
#[derive(ComponentType, Lift, Lower, Clone, Debug)]
#[component(variant)]
enum StoreError {
    #[component(name = "upstream")]
    #[allow(dead_code)]
    Upstream(String),
    #[component(name = "io")]
    #[allow(dead_code)]
    Io(String),
}

/// Link `get` and `get-all` of every version in [`DRAFT_VERSIONS`].
///
/// # Errors
/// The linker already defines one of them.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    for version in DRAFT_VERSIONS {
        let mut store = linker.instance(&format!("wasi:config/store@{version}"))?;
        store.func_wrap(
            "get",
            |cx: StoreContextMut<'_, CallState>, (key,): (String,)| {
                let value = cx
                    .data()
                    .config_vars()
                    .iter()
                    .find(|v| v.key == key)
                    .map(|v| v.value.expose().to_string());
                Ok((Ok::<_, StoreError>(value),))
            },
        )?;
        store.func_wrap("get-all", |cx: StoreContextMut<'_, CallState>, (): ()| {
            let pairs: Vec<(String, String)> = cx
                .data()
                .config_vars()
                .iter()
                .map(|v| (v.key.clone(), v.value.expose().to_string()))
                .collect();
            Ok((Ok::<_, StoreError>(pairs),))
        })?;
    }
    Ok(())
}
