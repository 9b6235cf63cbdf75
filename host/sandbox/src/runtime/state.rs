//! Per-call store state: the WASI context a plugin sees, and the request it is serving.
//!
//! One [`CallState`] lives in one `wasmtime::Store` for exactly one request (or one load-time
//! listing), then it is dropped with the instance. The host imports of `capsule:plugin/host`
//! (`log`, `progress`, `cancelled`, and from 0.2.0 `client-capabilities` and `resource-updated`)
//! are implemented here and act on [`RequestScope`]; the 0.1.0 imports delegate to them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_config::WasiConfig;

use crate::grants::ConfigGrants;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::capsule::plugin::{host, types};
use super::bindings::{up, v1};
use super::emissions::{Emissions, escape};
use super::handles::{CallHandles, Ledger};
use super::http::CheckedHooks;
use crate::grants::{Denials, Grants, Limits, Mount};

pub use types::LogLevel;

/// A notification on its way to the client: awaited by the plugin's host call, so a slow
/// client slows only the call that reports to it.
pub type Notification<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The MCP client of one request, as the sandbox sees it: where the plugin's log lines and
/// progress reports go and what the client declared it supports.
///
/// The server crate implements it over its MCP session (`notifications/message`,
/// `notifications/progress`, MCP 2025-11-25 §Utilities); the sandbox knows no MCP types. The
/// sandbox has already charged each report to the plugin's emission budget and escaped log text.
pub trait Client: Send + Sync {
    /// Whether the client asked for log lines at `level` (that level or a less severe one, by
    /// `logging/setLevel` or, in 2026-07-28, the request's `_meta`). When it did not, the
    /// sandbox does not call [`Client::log`].
    fn wants_log(&self, level: LogLevel) -> bool;

    /// Send plugin `plugin`'s log line at `level`; called only when [`Client::wants_log`] says so.
    fn log<'a>(&'a self, plugin: &'a str, level: LogLevel, message: String) -> Notification<'a>;

    /// Whether the request asked for progress (it carried `_meta.progressToken`). When it did
    /// not, the sandbox drops progress reports without charging them.
    fn wants_progress(&self) -> bool;

    /// Send a progress report; `progress` is finite and greater than any earlier one of this
    /// call, `total` is finite.
    fn progress<'a>(
        &'a self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> Notification<'a>;

    /// The capabilities the client declared, as the JSON text of an object (`{}` when it
    /// declared none): what `capsule:plugin/host.client-capabilities` returns.
    fn capabilities(&self) -> String;

    /// The MCP protocol version negotiated with the client (`2025-11-25`, `2026-07-28`), when
    /// known: what a wasmcp component's `message-context.protocol-version` carries.
    fn protocol_version(&self) -> Option<String> {
        None
    }
}

/// What a call is serving: the client to report to and the cancellation signal.
///
/// A default scope (no client, never cancelled) is used for load-time calls, where the host
/// imports only log.
#[derive(Clone, Default)]
pub struct RequestScope {
    /// The client of the request; `None` for load-time calls.
    pub client: Option<Arc<dyn Client>>,
    /// Cancelled when the client cancels the request (`notifications/cancelled`).
    pub cancel: CancellationToken,
    /// The call's wall-clock limit when it is not `[limits] timeout`: an MCP task's calls run
    /// until the task's deadline (`[limits] task_timeout` from the task's creation). `None`: the
    /// plugin's `timeout`.
    pub time_limit: Option<Duration>,
    /// Where `resource-updated` reports go; `None` drops them (load-time calls).
    pub resource_updates: Option<Arc<dyn ResourceUpdates>>,
    /// The trace context of the request (its server span, or a child of it): the parent of the
    /// call's spans. Empty when tracing is off or for load-time calls.
    pub trace: capsule_telemetry::trace::Context,
}

/// Receives a plugin's `resource-updated(uri)` reports (the hub, which tells subscribed clients).
pub trait ResourceUpdates: Send + Sync {
    /// Plugin `plugin` reports that the resource at `uri` changed. A report identical to one
    /// still on its way is merged into it; any other is passed on only if `admit()` (the
    /// plugin's emission budget) says so. Must not block: called from inside a running plugin.
    fn resource_updated(&self, plugin: &str, uri: &str, admit: &dyn Fn() -> bool);
}

/// The data of one plugin store.
pub struct CallState {
    pub(crate) plugin: Arc<str>,
    pub(crate) wasi: WasiCtx,
    /// `wasi:http` state; it shares `table` with WASI.
    http: WasiHttpCtx,
    /// What `wasi:config/store` serves: the plugin's `[config]`, built once and shared by its calls.
    config: ConfigGrants,
    /// Every outgoing HTTP request passes these hooks' policy checks.
    pub(crate) hooks: CheckedHooks,
    /// Network denials of this call, to add to its error result.
    pub(crate) denials: Denials,
    pub(crate) table: ResourceTable,
    pub(crate) memory: MemoryBudget,
    /// Host bytes charged per table entry (HTTP fields, requests and their body buffers).
    pub(crate) host_bytes: Ledger<usize>,
    /// Open files and sockets of this call (`runtime::handles`).
    pub(crate) handles: CallHandles,
    /// The plugin's limits.
    pub(crate) limits: Limits,
    /// The plugin's mounts (for the symlink and quota checks of `runtime::fs_guard`).
    pub(crate) mounts: Vec<Mount>,
    /// Why a host budget (other than memory) ended the call, naming the limit and policy key.
    pub(crate) over_limit: Option<String>,
    pub(crate) scope: RequestScope,
    /// Why the epoch callback stopped the call, if it did.
    pub(crate) interrupt: Option<Interrupt>,
    /// Last progress value sent, to keep notifications monotonic (MCP requires increasing values).
    last_progress: Option<f64>,
    /// The plugin's budgets for log lines, progress and resource-updated reports.
    emissions: Arc<Emissions>,
    /// The plugin CPU slot this call holds while a slice runs ([`super::cpu`]).
    pub(crate) cpu_slot: super::cpu::Held,
}

/// Why the host stopped a running call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// The call ran past its wall-clock budget.
    Timeout,
    /// The client cancelled the request.
    Cancelled,
}

impl CallState {
    /// The state of one call: `wasi` and `hooks` come from the plugin's `grants`, and `denials`
    /// is the log their checks write to. The resource table holds at most
    /// `grants.limits.max_handles` entries; `hooks` must share this call's [`FdBudget`](super::handles::FdBudget)
    /// ([`CheckedHooks::budget`]).
    pub fn new(
        plugin: Arc<str>,
        wasi: WasiCtx,
        hooks: CheckedHooks,
        denials: Denials,
        grants: &Grants,
        scope: RequestScope,
        emissions: Arc<Emissions>,
    ) -> Self {
        let limits = grants.limits;
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.max_handles);
        let handles = CallHandles::new(hooks.budget().clone());
        Self {
            plugin,
            wasi,
            http: WasiHttpCtx::new(),
            config: grants.config.clone(),
            hooks,
            denials,
            table,
            memory: MemoryBudget {
                limit: limits.memory_bytes,
                used: 0,
                host: 0,
                exceeded: false,
            },
            host_bytes: Ledger::default(),
            handles,
            limits,
            mounts: grants.mounts.clone(),
            over_limit: None,
            scope,
            interrupt: None,
            last_progress: None,
            emissions,
            cpu_slot: Default::default(),
        }
    }

    pub(crate) fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.memory
    }

    /// End the call because of `why` (a host budget ran out): the trap to return from a host
    /// function; [`Self::limit_error`] later gives `why` back.
    pub(crate) fn over(&mut self, why: String) -> wasmtime::Error {
        tracing::warn!(plugin = %self.plugin, "{why}");
        let error = wasmtime::format_err!("{why}");
        self.over_limit = Some(why);
        error
    }

    /// If the call failed because a handle budget ran out, why (naming the limit and its policy
    /// key): one set by [`Self::over`], or a full resource table (`[limits] max_handles`), or
    /// wasmtime's component handle limit of the store (the same key).
    pub(crate) fn limit_error(&self, error: &wasmtime::Error) -> Option<String> {
        if let Some(why) = &self.over_limit {
            return Some(why.clone());
        }
        // wasmtime's hostcall fuel (see `plugin::MAX_HOSTCALL_FUEL`); its error type is private.
        if error.chain().any(|e| {
            e.to_string()
                .contains("fuel allocated for hostcalls has been exhausted")
        }) {
            return Some(format!(
                "the plugin handed the host more than {} of values in one call (its [limits] \
                 memory, at most {})",
                bytesize::ByteSize(
                    self.limits
                        .memory_bytes
                        .min(super::plugin::MAX_HOSTCALL_FUEL) as u64
                ),
                bytesize::ByteSize(super::plugin::MAX_HOSTCALL_FUEL as u64),
            ));
        }
        let full = error.chain().any(|e| {
            matches!(
                e.downcast_ref::<wasmtime::component::ResourceTableError>(),
                Some(wasmtime::component::ResourceTableError::Full)
            ) || e.to_string().contains("store handle limit exceeded")
        });
        full.then(|| {
            format!(
                "the plugin exceeded its limit of {} resource handles held at once by one call \
                 ([limits] max_handles)",
                self.limits.max_handles
            )
        })
    }

    /// Make room for `extra` host bytes (charged next with [`Self::charge_host`]).
    ///
    /// # Errors
    /// The call's memory budget (`[limits] memory`: linear memory plus host bytes) cannot take
    /// them even after giving back the charges of dropped entries; the call then ends as over its
    /// memory limit.
    pub(crate) fn reserve_host(&mut self, extra: usize) -> wasmtime::Result<()> {
        if self.memory.fits(extra) {
            return Ok(());
        }
        let memory = &mut self.memory;
        self.host_bytes
            .reconcile(&mut self.table, |bytes| memory.host -= bytes);
        if self.memory.fits(extra) {
            return Ok(());
        }
        self.memory.exceeded = true;
        Err(wasmtime::format_err!(
            "host-side memory for the plugin ({} bytes held, {extra} more asked) would exceed its \
             memory limit of {} bytes ([limits] memory)",
            self.memory.host,
            self.memory.limit
        ))
    }

    /// Charge `bytes` of host memory to the table entry `rep` (of type `T`), replacing what it
    /// was charged before. Call [`Self::reserve_host`] first: this never fails.
    pub(crate) fn charge_host<T: std::any::Any>(&mut self, rep: u32, bytes: usize) {
        let old = self.host_bytes.insert::<T>(rep, bytes).unwrap_or(0);
        self.memory.host = self.memory.host - old + bytes;
    }

    /// Take the charge of entry `rep` (of type `T`) off the ledger, to move it to another entry.
    pub(crate) fn uncharge_host<T: std::any::Any>(&mut self, rep: u32) -> usize {
        let bytes = self.host_bytes.remove::<T>(rep).unwrap_or(0);
        self.memory.host -= bytes;
        bytes
    }
}

/// Total memory of one call: every linear memory of the instance, plus the host-side bytes it
/// made the host hold (HTTP fields, requests and body buffers, see `runtime::http_budget`), count
/// against one budget, `[limits] memory` (wasmtime's `StoreLimits` bounds each memory separately).
pub struct MemoryBudget {
    limit: usize,
    /// Bytes of linear memory.
    used: usize,
    /// Host bytes charged (the sum of `CallState::host_bytes`).
    host: usize,
    /// A growth was refused: if the call then fails, it failed for lack of memory.
    pub(crate) exceeded: bool,
}

impl MemoryBudget {
    /// Bytes of linear memory the instance holds: its high-water mark, as memories only grow.
    pub(crate) fn linear_bytes(&self) -> usize {
        self.used
    }

    /// Whether `extra` more bytes stay within the limit.
    fn fits(&self, extra: usize) -> bool {
        self.used.saturating_add(self.host).saturating_add(extra) <= self.limit
    }
}

/// Most table elements one instance may have (function tables of big guests reach ~10^5).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl ResourceLimiter for MemoryBudget {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let extra = desired.saturating_sub(current);
        if !self.fits(extra) {
            self.exceeded = true;
            return Ok(false);
        }
        self.used += extra;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl CallState {
    /// The view `wasmtime_wasi_config`'s `wasi:config/store` reads (see `Runtime::with_allocator`).
    pub(crate) fn config(&mut self) -> WasiConfig<'_> {
        WasiConfig::from(&**self.config.store())
    }

    /// The plugin's `[config]` pairs (for the draft versions of `wasi:config/store`, see
    /// `config_drafts`).
    pub(crate) fn config_vars(&self) -> &[crate::grants::ConfigVar] {
        self.config.vars()
    }
}

impl types::Host for CallState {}

impl host::Host for CallState {
    async fn log(&mut self, level: types::LogLevel, message: String) {
        use types::LogLevel as L;
        if !self.emissions.log_line(message.len()) {
            return;
        }
        let message = escape(&message).into_owned();
        let plugin = &*self.plugin;
        match level {
            L::Debug => tracing::debug!(target: "capsule::plugin", plugin, "{message}"),
            L::Info | L::Notice => tracing::info!(target: "capsule::plugin", plugin, "{message}"),
            L::Warning => tracing::warn!(target: "capsule::plugin", plugin, "{message}"),
            L::Error | L::Critical | L::Alert | L::Emergency => {
                tracing::error!(target: "capsule::plugin", plugin, "{message}")
            }
        }
        if let Some(client) = self.scope.client.as_ref().filter(|c| c.wants_log(level)) {
            client.log(&self.plugin, level, message).await;
        }
    }

    async fn progress(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(client) = self.scope.client.as_ref().filter(|c| c.wants_progress()) else {
            return;
        };
        if !progress.is_finite() || self.last_progress.is_some_and(|last| progress <= last) {
            tracing::debug!(plugin = %self.plugin, progress, "dropping non-increasing progress report");
            return;
        }
        if !self.emissions.progress() {
            return;
        }
        self.last_progress = Some(progress);
        let total = total.filter(|t| t.is_finite());
        client.progress(progress, total, message).await;
    }

    async fn cancelled(&mut self) -> bool {
        self.scope.cancel.is_cancelled()
    }

    async fn client_capabilities(&mut self) -> String {
        match &self.scope.client {
            Some(client) => client.capabilities(),
            None => "{}".into(),
        }
    }

    async fn resource_updated(&mut self, uri: String) {
        if let Some(updates) = &self.scope.resource_updates {
            let emissions = &self.emissions;
            updates.resource_updated(&self.plugin, &uri, &|| emissions.resource_update());
        }
    }
}

impl v1::types::Host for CallState {}

/// `capsule:plugin/host@0.1.0`: the same functions as 0.2.0's first three.
impl v1::host::Host for CallState {
    async fn log(&mut self, level: v1::types::LogLevel, message: String) {
        host::Host::log(self, up(level), message).await
    }

    async fn progress(&mut self, progress: f64, total: Option<f64>, message: Option<String>) {
        host::Host::progress(self, progress, total, message).await
    }

    async fn cancelled(&mut self) -> bool {
        host::Host::cancelled(self).await
    }
}
