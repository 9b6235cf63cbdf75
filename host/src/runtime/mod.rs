//! The WebAssembly runtime: one wasmtime [`Engine`], a [`Linker`] with WASI and the Capsule host
//! imports, compilation of plugin components, and per-call instances with limits.
//!
//! Every request runs in a fresh `Store` + instance created from the plugin's `InstancePre`, so no
//! state leaks between calls, users or tenants. CPU time is bounded by epoch interruption (a ticker
//! thread advances the epoch every [`EPOCH_TICK`]); the same check stops a call whose client
//! cancelled it. Memory is bounded per instance by a [`ResourceLimiter`](wasmtime::ResourceLimiter)
//! that counts every memory of the instance. The limits are per plugin ([`Limits`], from policy).

pub mod bindings;
pub mod cache;
pub mod http;
pub mod lookup;
pub mod output;
pub mod plugin;
pub mod state;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

pub use crate::grants::Limits;
use cache::{CompileCache, ContentHash};
pub use plugin::{CallError, LoadError, LoadedPlugin, PluginImage};
pub use state::{CallState, RequestScope};

/// How often the epoch advances; the granularity of timeouts and cancellation.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine and linker shared by every plugin.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<CallState>>,
    cache: Option<CompileCache>,
}

/// How a component was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compiled {
    /// Loaded from the compile cache, no compilation.
    FromCache(Duration),
    /// Compiled now (and stored in the cache if there is one).
    Fresh(Duration),
}

impl Runtime {
    /// Create the engine (component model, epoch interruption), link WASI 0.2, outgoing
    /// `wasi:http` and the `capsule:plugin/host` imports, and start the epoch ticker thread.
    /// With `cache_root`,
    /// compiled components are kept in a [`CompileCache`] below it; a cache directory that cannot
    /// be used safely is logged and ignored.
    ///
    /// # Errors
    /// Engine creation fails only if the host CPU is unsupported by Cranelift.
    pub fn new(cache_root: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;

        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("linking WASI: {e}"))?;
        lookup::filter_name_lookups(&mut linker)
            .map_err(|e| anyhow::anyhow!("linking the name lookup filter: {e}"))?;
        // Outgoing HTTP only (the full wasi-http `add_to_linker` would define WASI twice);
        // every request passes `http::CheckedHooks`.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("linking wasi:http: {e}"))?;
        bindings::capsule::plugin::host::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| anyhow::anyhow!("linking capsule:plugin/host: {e}"))?;
        bindings::capsule::plugin::types::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| anyhow::anyhow!("linking capsule:plugin/types: {e}"))?;

        let weak = engine.weak();
        std::thread::Builder::new()
            .name("capsule-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;

        let cache = cache_root.and_then(|root| match CompileCache::open(root, &engine) {
            Ok(cache) => {
                tracing::debug!(dir = %cache.dir().display(), "compile cache ready");
                Some(cache)
            }
            Err(e) => {
                tracing::warn!("compile cache disabled: {e}");
                None
            }
        });

        Ok(Self {
            engine,
            linker: Arc::new(linker),
            cache,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn linker(&self) -> &Linker<CallState> {
        &self.linker
    }

    /// Compile component bytes whose [`cache::content_hash`] is `hash`, or load them from the
    /// compile cache. CPU-heavy: call it from a blocking thread.
    ///
    /// # Errors
    /// A core module (not a component) or invalid bytes, with a message that says which.
    pub fn compile(
        &self,
        bytes: &[u8],
        hash: &ContentHash,
    ) -> Result<(Component, Compiled), LoadError> {
        match wasm_kind(bytes) {
            WasmKind::Component => {}
            WasmKind::CoreModule => return Err(LoadError::CoreModule),
            WasmKind::NotWasm => return Err(LoadError::NotWasm),
        }
        let start = Instant::now();
        if let Some(component) = self.cache.as_ref().and_then(|c| c.get(&self.engine, hash)) {
            return Ok((component, Compiled::FromCache(start.elapsed())));
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let took = start.elapsed();
        if let Some(cache) = &self.cache {
            cache.put(hash, &component);
        }
        Ok((component, Compiled::Fresh(took)))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum WasmKind {
    Component,
    CoreModule,
    NotWasm,
}

/// Tell a component from a core module by the preamble (magic `\0asm`, then the version and
/// layer fields: `1 0 0 0` for core modules, `0x0d 0 1 0` for components).
fn wasm_kind(bytes: &[u8]) -> WasmKind {
    match bytes {
        [0, b'a', b's', b'm', 1, 0, 0, 0, ..] => WasmKind::CoreModule,
        [0, b'a', b's', b'm', _, _, 1, 0, ..] => WasmKind::Component,
        _ => WasmKind::NotWasm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_components_from_core_modules() {
        assert_eq!(wasm_kind(b"\0asm\x01\0\0\0rest"), WasmKind::CoreModule);
        assert_eq!(wasm_kind(b"\0asm\x0d\0\x01\0rest"), WasmKind::Component);
        assert_eq!(wasm_kind(b""), WasmKind::NotWasm);
        assert_eq!(wasm_kind(b"#!/bin/sh\necho hi"), WasmKind::NotWasm);
    }
}
