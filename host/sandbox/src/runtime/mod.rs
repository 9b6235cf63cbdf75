//! The WebAssembly runtime: one wasmtime [`Engine`], a [`Linker`] with WASI and the Capsule host
//! imports, compilation of plugin components, and per-call instances with limits.
//!
//! Every request runs in a fresh `Store` + instance created from the plugin's `InstancePre`, so no
//! state leaks between calls, users or tenants. Instances take their linear memories, tables and
//! async stacks from wasmtime's pooling allocator by default ([`Allocator`]): slots are reserved
//! once and reset between uses, which makes a fresh instance per call cheap. CPU time is bounded by epoch interruption (a ticker
//! thread advances the epoch every [`EPOCH_TICK`]); the same check stops a call whose client
//! cancelled it. Memory is bounded per instance by a [`ResourceLimiter`](wasmtime::ResourceLimiter)
//! that counts every memory of the instance. The limits are per plugin ([`Limits`], from policy).

pub mod bindings;
pub mod cache;
pub mod config_drafts;
pub mod cpu;
pub mod descriptors;
pub mod emissions;
pub mod error;
pub mod fs_guard;
pub mod handles;
pub mod http;
pub mod http_budget;
pub mod lookup;
pub mod output;
pub mod plugin;
pub mod result_size;
pub mod state;
pub mod wasi;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::error::Context as _;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use crate::grants::Limits;
use cache::{CompileCache, ContentHash};
pub use plugin::{CallError, LoadError, LoadedPlugin, PluginImage};
pub use state::{CallState, Client, LogLevel, Notification, RequestScope, ResourceUpdates};

/// How often the epoch advances; the granularity of timeouts and cancellation.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How instances get their linear memories, tables and async stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocator {
    /// Map fresh memory for every instance and unmap it afterwards (wasmtime's default
    /// allocator): several system calls per instance and per memory.
    OnDemand,
    /// Wasmtime's pooling allocator: `instances` component-instance slots (with memories, tables
    /// and stacks) reserved up front and reused, so an instance costs no `mmap`. When an
    /// instance is dropped, the first `keep_resident` bytes of each of its memories are reset in
    /// place (only the pages it dirtied, which stay resident: at most `keep_resident` of RSS per
    /// memory slot that was used) and the rest is returned to the kernel with `madvise`.
    Pooling {
        /// Bytes per linear memory reset in place instead of being returned to the kernel.
        keep_resident: usize,
        /// Component instances that can exist at once ([`POOL_INSTANCES`] by default).
        instances: u32,
    },
}

/// Bytes of each linear memory the pooling allocator resets in place (instead of returning them
/// to the kernel) between instances: 2 MiB, which covers what a small Rust guest dirties (the top
/// of its 1 MiB shadow stack, then its data and first heap pages). Measured on a 2-core EPYC,
/// kernel 6.18, `hello` over Streamable HTTP at 64 calls in flight: 11 200–11 500 calls/s with
/// 2 MiB, 7 600–8 400 with nothing kept (each instance's `madvise` then flushes the TLB of every
/// CPU running a server thread, and every page faults back in) and 7 800 with 1 MiB (the data
/// and heap above 1 MiB still fault).
///
/// Which pages get reset is found with the `PAGEMAP_SCAN` ioctl (Linux 6.7 and later; see
/// `pooling_config`): only the pages an instance dirtied are copied back or zeroed, and only
/// those stay resident. Without it (older kernels) wasmtime resets the whole first
/// `keep_resident` bytes of every memory (up to its accessible size), which costs a `memset` of
/// about 1 MiB per `hello` call (in-process call 28.6 µs of CPU instead of 13.2 µs,
/// `host/benches/instantiate.rs`) and keeps all of it resident in every slot that was used.
pub const DEFAULT_KEEP_RESIDENT: usize = 2 << 20;

/// Bytes of each table kept resident between instances (tables are small; resetting them in
/// place is cheaper than an `madvise` and a fault: 9.6 µs instead of 14 µs per instantiation).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Idle pool slots kept "warm" for the plugin that used them last (wasmtime's default is 100).
const WARM_SLOTS: u32 = 16;

/// Component instances that can exist at once with the pooling allocator (calls and load-time
/// listings of every plugin together); more wait for a slot (see `Runtime::instance_slot`).
pub const POOL_INSTANCES: u32 = 1000;

/// A smaller pool [`Runtime::new`] tries when [`POOL_INSTANCES`] slots cannot be reserved.
const FALLBACK_POOL_INSTANCES: u32 = 100;

impl Default for Allocator {
    fn default() -> Self {
        Allocator::Pooling {
            keep_resident: DEFAULT_KEEP_RESIDENT,
            instances: POOL_INSTANCES,
        }
    }
}

/// The pool behind [`Allocator::Pooling`]. Address space is reserved for every slot (about 4 GiB
/// per memory slot, most of it guard regions), but only pages an instance touches use memory.
/// Per-component limits are generous so that big guests (Python and JavaScript interpreters:
/// several core instances and memories, function tables of ~10^5 entries) fit as they do with
/// the on-demand allocator.
fn pooling_config(keep_resident: usize, instances: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances * 4)
        .total_memories(instances * 2)
        .total_tables(instances * 2)
        .total_stacks(instances)
        .max_memories_per_module(4)
        .max_tables_per_module(8)
        .table_elements(1 << 20)
        .max_memory_size(1 << 32)
        .linear_memory_keep_resident(keep_resident)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        // Idle slots still holding another plugin's pages (and their kept-resident memory) that
        // are left alone before such slots get reused: bounds the RSS of slots nobody uses.
        .max_unused_warm_slots(WARM_SLOTS);
    // Reset only the pages an instance dirtied (found with PAGEMAP_SCAN where the kernel has
    // it, else wasmtime resets the whole kept-resident prefix): see [`DEFAULT_KEEP_RESIDENT`].
    pool.pagemap_scan(Enabled::Auto);
    pool
}

/// The engine and linker shared by every plugin.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Arc<Linker<CallState>>,
    cache: Option<CompileCache>,
    /// One permit per pool slot: an instance waits for a slot instead of failing when the pool
    /// is exhausted. `None` with the on-demand allocator.
    slots: Option<Arc<Semaphore>>,
    /// Size of the pool (0 with the on-demand allocator).
    pool_instances: u32,
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
    /// Create the engine (component model, epoch interruption, the default [`Allocator`]),
    /// link WASI 0.2, outgoing `wasi:http`, `wasi:config/store` and the `capsule:plugin/host`
    /// imports, and start the epoch ticker thread. With `cache_root`, compiled components are kept
    /// in a [`CompileCache`] below it; a cache directory that cannot be used safely is logged and
    /// ignored. If the pool's address space cannot be reserved (a low `ulimit -v`, say), a pool
    /// of `FALLBACK_POOL_INSTANCES` is tried, then the on-demand allocator is used, with a
    /// warning.
    ///
    /// # Errors
    /// Engine creation fails only if the host CPU is unsupported by Cranelift.
    pub fn new(cache_root: Option<&Path>) -> anyhow::Result<Self> {
        let e = match Self::with_allocator(cache_root, Allocator::default()) {
            Ok(runtime) => return Ok(runtime),
            Err(e) => e,
        };
        let smaller = Allocator::Pooling {
            keep_resident: DEFAULT_KEEP_RESIDENT,
            instances: FALLBACK_POOL_INSTANCES,
        };
        if let Ok(runtime) = Self::with_allocator(cache_root, smaller) {
            tracing::warn!(
                "a pool of {POOL_INSTANCES} instances cannot be reserved ({e:#}); using \
                 {FALLBACK_POOL_INSTANCES}"
            );
            return Ok(runtime);
        }
        tracing::warn!(
            "the pooling allocator is unavailable ({e:#}); instances are allocated on demand"
        );
        Self::with_allocator(cache_root, Allocator::OnDemand)
    }

    /// [`Runtime::new`] with a chosen [`Allocator`] (and no fallback).
    ///
    /// # Errors
    /// The CPU is unsupported, or the pool cannot be reserved.
    pub fn with_allocator(cache_root: Option<&Path>, allocator: Allocator) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Plugins target WASIp2 with synchronous WIT functions (the component-model async ABI
        // is not part of the contract). Without concurrency support, `call_async` runs the
        // export on a plain fiber instead of wasmtime's task scheduler, and dropping a store
        // does not dispose of scheduler fibers (which built an error with a backtrace per call
        // when RUST_BACKTRACE was set): an in-process `hello` call takes 28.6 µs of CPU
        // instead of 39.4 µs (`host/benches/instantiate.rs`, call/pooling).
        config.concurrency_support(false);
        let (slots, pool_instances) = match allocator {
            Allocator::OnDemand => (None, 0),
            Allocator::Pooling {
                keep_resident,
                instances,
            } => {
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(
                    keep_resident,
                    instances,
                )));
                (
                    Some(Arc::new(Semaphore::new(instances as usize))),
                    instances,
                )
            }
        };
        let engine = Engine::new(&config).context("creating the wasmtime engine")?;

        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).context("linking WASI")?;
        lookup::filter_name_lookups(&mut linker).context("linking the name lookup filter")?;
        // Outgoing HTTP only (the full wasi-http `add_to_linker` would define WASI twice);
        // every request passes `http::CheckedHooks`.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .context("linking wasi:http")?;
        // Budgets: open files and sockets counted, HTTP host memory charged.
        descriptors::count_descriptors(&mut linker).context("linking the descriptor budgets")?;
        http_budget::charge_http_memory(&mut linker).context("linking the HTTP memory budget")?;
        fs_guard::guard_filesystem(&mut linker).context("linking the filesystem checks")?;
        // `wasi:config/store` (get, get-all): the plugin's `[config]`, granted to every plugin as
        // the operator writes it (nothing to request). Each call reads the plugin's shared map.
        wasmtime_wasi_config::add_to_linker(&mut linker, CallState::config)
            .context("linking wasi:config/store")?;
        config_drafts::add_to_linker(&mut linker)
            .context("linking the draft versions of wasi:config/store")?;
        bindings::capsule::plugin::host::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )
        .context("linking capsule:plugin/host")?;
        bindings::capsule::plugin::types::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )
        .context("linking capsule:plugin/types")?;
        // Plugins built for capsule:plugin@0.1.0 import its host interface.
        bindings::v1::host::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)
            .context("linking capsule:plugin/host@0.1.0")?;
        bindings::v1::types::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)
            .context("linking capsule:plugin/types@0.1.0")?;

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
            slots,
            pool_instances,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Wait (up to `timeout`) for a free instance slot of the pooling allocator; the permit is
    /// held for the life of the instance. `Ok(None)` with the on-demand allocator.
    ///
    /// # Errors
    /// No slot freed up in time.
    pub(crate) async fn instance_slot(
        &self,
        timeout: Duration,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, ()> {
        let Some(slots) = &self.slots else {
            return Ok(None);
        };
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Ok(Some(permit));
        }
        match tokio::time::timeout(timeout, slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(()),
        }
    }

    /// Instances the pool holds (0 with the on-demand allocator).
    pub(crate) fn pool_instances(&self) -> usize {
        self.pool_instances as usize
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
        let component =
            Component::new(&self.engine, bytes).map_err(|e| LoadError::Compile(e.into()))?;
        let took = start.elapsed();
        if let Some(cache) = &self.cache {
            cache.put(hash, &component);
        }
        Ok((component, Compiled::Fresh(took)))
    }
}

/// A runtime with a small pool, so that tests running side by side reserve little.
#[cfg(test)]
pub(crate) fn small_runtime() -> Runtime {
    Runtime::with_allocator(
        None,
        Allocator::Pooling {
            keep_resident: DEFAULT_KEEP_RESIDENT,
            instances: 8,
        },
    )
    .expect("the runtime starts")
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

    /// A component whose `bump` grows its memory past [`DEFAULT_KEEP_RESIDENT`], returns the sum
    /// of a byte of its data segment (42), a word just past the first page and a word above
    /// 2 MiB (both 0 in a fresh memory), then overwrites all three.
    const BUMP: &str = r#"(component
      (core module $m
        (memory 2)
        (data (i32.const 16) "\2a")
        (func (export "bump") (result i32)
          (local $sum i32)
          (drop (memory.grow (i32.const 40)))
          (local.set $sum (i32.add (i32.load8_u (i32.const 16))
            (i32.add (i32.load (i32.const 70000)) (i32.load (i32.const 2500000)))))
          (i32.store8 (i32.const 16) (i32.const 99))
          (i32.store (i32.const 70000) (i32.const 1000))
          (i32.store (i32.const 2500000) (i32.const 7))
          (local.get $sum)))
      (core instance $i (instantiate $m))
      (func (export "bump") (result u32) (canon lift (core func $i "bump"))))"#;

    /// Every instance sees pristine memory, however the pool resets slots between instances
    /// (kept-resident pages found by PAGEMAP_SCAN or reset wholesale, the rest decommitted).
    #[tokio::test]
    async fn pooled_instances_never_see_earlier_writes() {
        for allocator in [
            Allocator::Pooling {
                keep_resident: DEFAULT_KEEP_RESIDENT,
                instances: 8,
            },
            Allocator::Pooling {
                keep_resident: 0,
                instances: 8,
            },
            Allocator::OnDemand,
        ] {
            let runtime = Runtime::with_allocator(None, allocator).unwrap();
            let engine = runtime.engine();
            let component =
                Component::new(engine, wat::parse_str(BUMP).expect("BUMP is valid WAT")).unwrap();
            let pre = wasmtime::component::Linker::<()>::new(engine)
                .instantiate_pre(&component)
                .unwrap();
            for round in 0..20 {
                let mut store = wasmtime::Store::new(engine, ());
                store.set_epoch_deadline(u64::MAX / 2);
                let instance = pre.instantiate_async(&mut store).await.unwrap();
                let bump = instance
                    .get_typed_func::<(), (u32,)>(&mut store, "bump")
                    .unwrap();
                let (sum,) = bump.call_async(&mut store, ()).await.unwrap();
                assert_eq!(sum, 42, "{allocator:?}, instance {round}");
            }
        }
    }
}
