//! One plugin: its compiled component, which interfaces it exports, and per-call instances.
//!
//! Loading (`PluginImage::load`) compiles the component, links it, checks it exports
//! `capsule:plugin/plugin` (0.2.0, or the frozen 0.1.0: see `Versioned`), looks up each optional
//! interface of the same minor, then runs one instance to read the metadata and the static lists
//! (`list-tools`, `list-resources`, `list-resource-templates`, `list-prompts`), which are cached in
//! [`LoadedPlugin`]. Each later request gets its own instance.
//!
//! A component without `capsule:plugin/plugin` is a wasmcp component when it exports wasmcp's
//! capability interfaces (`crate::wasmcp`; loaded and called by the child module `wasmcp`), and
//! otherwise a plain component (`crate::plain`; `plain_load`, `plain_call`).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capsule_telemetry::metrics;
use capsule_telemetry::trace::{self, KeyValue, SpanKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Store, UpdateDeadline};

use super::bindings::{completions, plugin, prompts, resources, tools, types, up, v1};
use super::cache::ContentHash;
use super::cpu::CpuShare;
use super::emissions::Emissions;
pub use super::error::{CallError, LoadError};
use super::handles::FdBudget;
use super::http::CheckedHooks;
use super::result_size;
use super::state::Interrupt;
use super::{CallState, Compiled, RequestScope, Runtime};
use crate::grants::Policy;
use crate::grants::policy::Publishing;
use crate::grants::{Access, Denials, Grants, NetworkGuard, NetworkRequest, Requested};
use crate::plain::{PlainExports, Skipped};
use crate::wasmcp::WasmcpExports;

mod plain_call;
mod plain_load;
mod wasmcp;

/// Which optional interfaces a component exports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Exports {
    pub tools: bool,
    pub resources: bool,
    pub prompts: bool,
    /// `completions` (0.2.0 on): the plugin suggests prompt arguments and template variables.
    pub completions: bool,
}

/// An exported interface of the current contract (`capsule:plugin@0.2.0`) or of the frozen
/// 0.1.0 one. A component implements one minor: every interface is looked up in the minor its
/// `plugin` interface has. Answers of 0.1.0 plugins are lifted into the 0.2.0 types with [`up`].
#[derive(Clone)]
enum Versioned<C, O> {
    Current(C),
    V0_1(O),
}

impl<C, O> Versioned<C, O> {
    /// `current` if the component exports it, else `old` if `old_minor` (the component is a
    /// 0.1.0 plugin) and it exports that. The error is the current interface's.
    fn lookup(
        current: wasmtime::Result<C>,
        old_minor: bool,
        old: impl FnOnce() -> wasmtime::Result<O>,
    ) -> wasmtime::Result<Self> {
        match current {
            Ok(c) if !old_minor => Ok(Self::Current(c)),
            Err(e) if !old_minor => Err(e),
            _ => old().map(Self::V0_1),
        }
    }
}

/// The generated `GuestIndices` of one exported interface (either minor): where its functions
/// are in a component, and how to get the callable `Guest` of an instance from them.
trait Interface {
    /// The interface's functions bound to one instance.
    type Guest: Send + 'static;
    /// Look the functions up in `instance`.
    fn guest(
        &self,
        store: &mut Store<CallState>,
        instance: &Instance,
    ) -> wasmtime::Result<Self::Guest>;
}

macro_rules! interfaces {
    ($($($segment:ident)::+),* $(,)?) => {$(
        impl Interface for $($segment)::+::GuestIndices {
            type Guest = $($segment)::+::Guest;
            fn guest(
                &self,
                store: &mut Store<CallState>,
                instance: &Instance,
            ) -> wasmtime::Result<Self::Guest> {
                self.load(store, instance)
            }
        }
    )*};
}

interfaces!(
    plugin,
    tools,
    resources,
    prompts,
    completions,
    v1::plugin,
    v1::tools,
    v1::resources,
    v1::prompts,
);

/// An export call in progress, borrowing the call's store for `'s`. Boxed: a wasmtime call future
/// is kilobytes, and inline it would grow every request future above it (rmcp's request task,
/// which tokio moves several times per request).
type ExportCall<'s, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 's>>;

/// A compiled, linked plugin ready to be instantiated once per request.
pub struct PluginImage {
    name: Arc<str>,
    runtime: Runtime,
    grants: Grants,
    /// How its tools and prompts are published (the policy's `[publish]`).
    publishing: Publishing,
    /// One permit per concurrent call (`limits.max_concurrency`).
    slots: Arc<Semaphore>,
    /// One schema check of this plugin's values at a time on the blocking pool
    /// ([`crate::schema::Schema::check`]).
    validations: Arc<Semaphore>,
    /// What its calls may log, print and report, all together.
    emissions: Arc<Emissions>,
    /// Its share of the CPU for calls longer than one slice.
    cpu: Arc<CpuShare>,
    /// Filesystem and environment requests the policy does not grant, as sentences naming the
    /// policy line that would: added to a call's not-found/denied error (see [`hint`]).
    hints: Vec<String>,
    pre: InstancePre<CallState>,
    /// `capsule:plugin/plugin`; `None` for a plain component.
    plugin: Option<Versioned<plugin::GuestIndices, v1::plugin::GuestIndices>>,
    /// A plain component's functions served as tools (`crate::plain`).
    plain: Option<Arc<PlainExports>>,
    /// A wasmcp component's capability interfaces (`crate::wasmcp`).
    wasmcp: Option<Arc<WasmcpExports>>,
    tools: Option<Versioned<tools::GuestIndices, v1::tools::GuestIndices>>,
    resources: Option<Versioned<resources::GuestIndices, v1::resources::GuestIndices>>,
    prompts: Option<Versioned<prompts::GuestIndices, v1::prompts::GuestIndices>>,
    completions: Option<completions::GuestIndices>,
}

/// What kind of component a plugin is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Implements `capsule:plugin` (0.2.0 or 0.1.0).
    Capsule,
    /// Exports plain functions, served as tools (`crate::plain`).
    Plain,
    /// Built for the wasmcp toolchain: exports the tools, resources and/or prompts interfaces of
    /// `wasmcp:mcp-v20251125@0.1.x` (`crate::wasmcp`).
    Wasmcp,
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Capsule => "capsule",
            PluginKind::Plain => "plain",
            PluginKind::Wasmcp => "wasmcp",
        })
    }
}

/// A plugin that loaded: its image plus the metadata and static lists read at load time.
pub struct LoadedPlugin {
    pub image: Arc<PluginImage>,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// BLAKE3 of the component bytes.
    pub hash: ContentHash,
    /// Whether it came from the compile cache.
    pub compiled: Compiled,
    pub metadata: plugin::Metadata,
    pub exports: Exports,
    pub tools: Vec<tools::Tool>,
    pub resources: Vec<resources::Resource>,
    pub resource_templates: Vec<resources::ResourceTemplate>,
    pub prompts: Vec<prompts::Prompt>,
    pub kind: PluginKind,
    /// The component's imports (`wasi:http/outgoing-handler@0.2.3`, ...), so an operator sees
    /// what it may try to use.
    pub imports: Vec<String>,
    /// What the component offers that is not served, and why: a plain component's skipped
    /// functions; a wasmcp component's unserved exports, dropped list fields and list pages, and
    /// the wasmcp host functions it imports that Capsule does not provide.
    pub skipped: Vec<Skipped>,
    /// Tools without a description of their own (a plain component's tools described by the
    /// generic sentence, or a plugin's tools with none).
    pub undocumented: Vec<String>,
}

/// A live instance for one request.
struct Call {
    store: Store<CallState>,
    instance: Instance,
    /// When the call's time is up (the epoch callback enforces it inside guest code).
    deadline: Instant,
    _permit: Option<OwnedSemaphorePermit>,
    /// The pooling allocator's slot (dropped after the store, which frees the slot).
    _slot: Option<OwnedSemaphorePermit>,
    /// The export call's span (named by the export), ended when the call is dropped.
    _span: trace::Span,
}

impl Drop for Call {
    /// The call's guest memory high-water mark, for `capsule.plugin.memory.peak`.
    fn drop(&mut self) {
        let state = self.store.data();
        metrics::memory_peak(&state.plugin, state.memory.linear_bytes());
    }
}

/// Upper bound of the hostcall fuel of a call (wasmtime's default, 128 MiB): host bytes that
/// values lifted from the guest in one crossing may take.
pub const MAX_HOSTCALL_FUEL: usize = 128 << 20;

/// Extra time past the deadline before [`within_deadline`] or [`PluginImage::run`] gives up on a
/// call, so that the epoch check (10 ms ticks) normally wins.
const DEADLINE_GRACE: Duration = Duration::from_millis(50);

/// Run `future` (instantiation; export calls go through [`PluginImage::run`]) until the call's
/// deadline. The epoch deadline cannot stop a guest that is blocked inside a host call (a read on
/// a granted TCP socket, say): this backstop drops the whole call instead, which is safe with
/// async wasmtime (the store is dropped after).
///
/// The future is boxed, like [`PluginImage::start`]'s: a wasmtime call future is kilobytes, and
/// inline it would grow every request future above it (rmcp's request task, which tokio moves
/// several times per request).
fn within_deadline<'a, T: 'a>(
    deadline: Instant,
    future: impl Future<Output = wasmtime::Result<T>> + Send + 'a,
) -> Pin<Box<dyn Future<Output = Option<wasmtime::Result<T>>> + Send + 'a>> {
    Box::pin(async move {
        tokio::time::timeout_at((deadline + DEADLINE_GRACE).into(), future)
            .await
            .ok()
    })
}

impl Call {
    /// The exported function at `export` of this call's instance (`name` says which, should it
    /// be missing: an index taken from the same component never is).
    fn func(
        &mut self,
        export: wasmtime::component::ComponentExportIndex,
        name: &str,
    ) -> Result<wasmtime::component::Func, CallError> {
        self.instance
            .get_func(&mut self.store, export)
            .ok_or_else(|| {
                CallError::Trap(anyhow::anyhow!(
                    "the component has no function `{name}` any more"
                ))
            })
    }

    /// The error for a call [`within_deadline`] or [`PluginImage::run`] gave up on.
    fn timed_out(&mut self) -> wasmtime::Error {
        self.store.data_mut().interrupt = Some(Interrupt::Timeout);
        wasmtime::format_err!("the call's deadline passed inside a host call")
    }
}

impl PluginImage {
    /// Compile (or fetch from the compile cache) and link `bytes`, whose
    /// [`content_hash`](super::cache::content_hash) is `hash`, as plugin `name`, then read its
    /// metadata and static lists. Compilation runs on a blocking thread.
    ///
    /// # Errors
    /// [`LoadError`] says why, in terms a plugin author can act on.
    pub async fn load(
        runtime: &Runtime,
        name: &str,
        path: PathBuf,
        bytes: Vec<u8>,
        hash: ContentHash,
        policy: &Policy,
    ) -> Result<LoadedPlugin, LoadError> {
        let rt = runtime.clone();
        let limits = policy.limits;
        let compiling = tokio::task::spawn_blocking(move || (rt.compile(&bytes, &hash), bytes));
        let (compiled, bytes) = tokio::time::timeout(limits.compile_timeout, compiling)
            .await
            .map_err(|_| LoadError::CompileTimeout(limits.compile_timeout))?
            .map_err(|e| {
                LoadError::Compile(anyhow::Error::new(e).context("compiler thread failed"))
            })?;
        let (component, compiled) = compiled?;
        match compiled {
            Compiled::FromCache(took) => {
                metrics::compile(name, true, took);
                tracing::info!(
                    plugin = name,
                    ms = took.as_secs_f64() * 1e3,
                    "loaded the component from the compile cache"
                )
            }
            Compiled::Fresh(took) => {
                metrics::compile(name, false, took);
                tracing::info!(
                    plugin = name,
                    ms = took.as_secs_f64() * 1e3,
                    "compiled the component"
                )
            }
        }
        if let Some(found) = crate::wasmcp::detect(&component, runtime.engine()) {
            let exports = found.map_err(LoadError::Wasmcp)?;
            return Self::load_wasmcp(
                runtime,
                name,
                path,
                (hash, compiled),
                &component,
                exports,
                policy,
            )
            .await;
        }
        let pre = runtime
            .linker()
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(e.into()))?;
        let old = plugin::GuestIndices::new(&pre).is_err();
        let plugin_indices = match Versioned::lookup(plugin::GuestIndices::new(&pre), old, || {
            v1::plugin::GuestIndices::new(&pre)
        }) {
            Ok(indices) => indices,
            Err(e) => {
                let plain = crate::plain::derive(&component, runtime.engine());
                return Self::load_plain(
                    runtime,
                    name,
                    path,
                    (bytes, hash, compiled),
                    pre,
                    plain,
                    policy,
                    e,
                )
                .await;
            }
        };
        let tools = Versioned::lookup(tools::GuestIndices::new(&pre), old, || {
            v1::tools::GuestIndices::new(&pre)
        })
        .ok();
        let resources = Versioned::lookup(resources::GuestIndices::new(&pre), old, || {
            v1::resources::GuestIndices::new(&pre)
        })
        .ok();
        let prompts = Versioned::lookup(prompts::GuestIndices::new(&pre), old, || {
            v1::prompts::GuestIndices::new(&pre)
        })
        .ok();
        let completions = completions::GuestIndices::new(&pre).ok().filter(|_| !old);
        let emissions = Arc::new(Emissions::new(name));
        let cpu = Arc::new(CpuShare::default());
        let image = |grants: Grants, hints: Vec<String>| PluginImage {
            name: Arc::from(name),
            runtime: runtime.clone(),
            slots: Arc::new(Semaphore::new(grants.limits.max_concurrency.max(1))),
            validations: Arc::new(Semaphore::new(1)),
            emissions: emissions.clone(),
            cpu: cpu.clone(),
            hints,
            grants,
            publishing: policy.publish.clone(),
            tools: tools.clone(),
            resources: resources.clone(),
            prompts: prompts.clone(),
            completions: completions.clone(),
            plugin: Some(plugin_indices.clone()),
            plain: None,
            wasmcp: None,
            pre: pre.clone(),
        };
        // Metadata first, with nothing granted: what the plugin requests decides what it gets.
        // Describing itself and listing (instantiation included) share one deadline.
        let deadline = Instant::now() + limits.load_timeout;
        let timed_out = load_call_failed(limits.load_timeout);
        let probe = image(Grants::deny_all(policy.limits), Vec::new());
        let metadata: plugin::Metadata = async {
            let mut call = probe.start_until(RequestScope::default(), deadline).await?;
            probe
                .run_versioned(
                    &mut call,
                    &plugin_indices,
                    &(),
                    |guest, store, _| Box::pin(async move { guest.call_describe(store).await }),
                    |guest, store, _| {
                        Box::pin(async move { guest.call_describe(store).await.map(up) })
                    },
                )
                .await
        }
        .await
        .map_err(timed_out)?;
        let asked = requested(name, &metadata.requests);
        let grants = Grants::effective(name, policy, &asked);
        let policy_file = policy
            .file
            .clone()
            .unwrap_or_else(|| path.with_extension("toml"));
        let hints = ungranted(name, &asked, &grants, &policy_file);
        let component_type = component.component_type();
        let imports = component_type
            .imports(runtime.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let mut loaded = Arc::new(image(grants, hints))
            .read_static(path, hash, compiled, metadata, deadline)
            .await
            .map_err(timed_out)?;
        loaded.imports = imports;
        loaded.undocumented = described(&mut loaded.tools, policy, &loaded.path)?;
        Ok(loaded)
    }

    /// The image of a component that cannot request capabilities (a plain or a wasmcp
    /// component, whose exports are `plain` or `wasmcp`): it is granted its whole policy.
    fn unrequested(
        runtime: &Runtime,
        name: &str,
        policy: &Policy,
        pre: InstancePre<CallState>,
        plain: Option<Arc<PlainExports>>,
        wasmcp: Option<Arc<WasmcpExports>>,
    ) -> Arc<Self> {
        let grants = Grants::effective(name, policy, &Requested::everything(policy));
        Arc::new(PluginImage {
            name: Arc::from(name),
            runtime: runtime.clone(),
            slots: Arc::new(Semaphore::new(grants.limits.max_concurrency.max(1))),
            validations: Arc::new(Semaphore::new(1)),
            emissions: Arc::new(Emissions::new(name)),
            cpu: Arc::new(CpuShare::default()),
            hints: Vec::new(),
            grants,
            publishing: policy.publish.clone(),
            pre,
            plugin: None,
            plain,
            wasmcp,
            tools: None,
            resources: None,
            prompts: None,
            completions: None,
        })
    }

    /// The plugin's name (its file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which optional interfaces the component exports.
    pub fn exports(&self) -> Exports {
        let wasmcp = self.wasmcp.as_deref();
        Exports {
            tools: self.tools.is_some()
                || self.plain.is_some()
                || wasmcp.is_some_and(|w| w.tools.is_some()),
            resources: self.resources.is_some() || wasmcp.is_some_and(|w| w.resources.is_some()),
            prompts: self.prompts.is_some() || wasmcp.is_some_and(|w| w.prompts.is_some()),
            completions: self.completions.is_some(),
        }
    }

    /// Whether the component implements the frozen `capsule:plugin@0.1.0` (no input-required,
    /// completions, client capabilities or resource-updated).
    pub fn contract_0_1(&self) -> bool {
        matches!(self.plugin, Some(Versioned::V0_1(_)))
    }

    /// What kind of component this plugin is.
    pub fn kind(&self) -> PluginKind {
        match (&self.plain, &self.wasmcp) {
            (Some(_), _) => PluginKind::Plain,
            (None, Some(_)) => PluginKind::Wasmcp,
            (None, None) => PluginKind::Capsule,
        }
    }

    /// The plugin's slot for schema checks that run on the blocking pool: one at a time, so a
    /// plugin's checks never occupy more than one thread.
    pub fn validation_slot(&self) -> &Arc<Semaphore> {
        &self.validations
    }

    /// The effective grants (requested ∩ granted) and limits of every call.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// How its tools and prompts are published: the operator's names and choices (`[publish]`).
    pub fn publishing(&self) -> &Publishing {
        &self.publishing
    }

    async fn read_static(
        self: Arc<Self>,
        path: PathBuf,
        hash: ContentHash,
        compiled: Compiled,
        metadata: plugin::Metadata,
        deadline: Instant,
    ) -> Result<LoadedPlugin, CallError> {
        let mut call = self.start_until(RequestScope::default(), deadline).await?;
        let tools: Vec<tools::Tool> = match &self.tools {
            Some(idx) => {
                self.run_versioned(
                    &mut call,
                    idx,
                    &(),
                    |guest, store, _| Box::pin(async move { guest.call_list_tools(store).await }),
                    |guest, store, _| {
                        Box::pin(async move { guest.call_list_tools(store).await.map(up) })
                    },
                )
                .await?
            }
            None => Vec::new(),
        };
        let (resources, resource_templates): (Vec<resources::Resource>, _) = match &self.resources {
            Some(idx) => (
                self.run_versioned(
                    &mut call,
                    idx,
                    &(),
                    |guest, store, _| {
                        Box::pin(async move { guest.call_list_resources(store).await })
                    },
                    |guest, store, _| {
                        Box::pin(async move { guest.call_list_resources(store).await.map(up) })
                    },
                )
                .await?,
                self.run_versioned(
                    &mut call,
                    idx,
                    &(),
                    |guest, store, _| {
                        Box::pin(async move { guest.call_list_resource_templates(store).await })
                    },
                    |guest, store, _| {
                        Box::pin(
                            async move { guest.call_list_resource_templates(store).await.map(up) },
                        )
                    },
                )
                .await?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        let prompts: Vec<prompts::Prompt> = match &self.prompts {
            Some(idx) => {
                self.run_versioned(
                    &mut call,
                    idx,
                    &(),
                    |guest, store, _| Box::pin(async move { guest.call_list_prompts(store).await }),
                    |guest, store, _| {
                        Box::pin(async move { guest.call_list_prompts(store).await.map(up) })
                    },
                )
                .await?
            }
            None => Vec::new(),
        };
        Ok(LoadedPlugin {
            exports: self.exports(),
            image: self,
            path,
            hash,
            compiled,
            metadata,
            tools,
            resources,
            resource_templates,
            prompts,
            kind: PluginKind::Capsule,
            imports: Vec::new(),
            skipped: Vec::new(),
            undocumented: Vec::new(),
        })
    }

    /// Run tool `name` with `arguments` (a JSON object, already validated); `resume` carries the
    /// client's answers and the plugin's state when an earlier round returned input-required (a
    /// 0.1.0 plugin never does, and is called without it).
    ///
    /// # Errors
    /// [`CallError`] for typed plugin errors, traps, timeouts and cancellation.
    pub async fn call_tool(
        &self,
        scope: RequestScope,
        name: &str,
        arguments: String,
        resume: Option<types::Resumption>,
    ) -> Result<tools::CallOutcome, CallError> {
        if let Some(plain) = &self.plain {
            return self.call_plain(plain, scope, name, &arguments).await;
        }
        if let Some(wasmcp) = &self.wasmcp {
            return self.call_wasmcp_tool(wasmcp, scope, name, &arguments).await;
        }
        let idx = self.tools.as_ref().ok_or(CallError::NotExported("tools"))?;
        let mut call = self.start(scope, "call-tool").await?;
        let r = self
            .run_versioned(
                &mut call,
                idx,
                &(name, &arguments, resume.as_ref()),
                |guest, store, &(name, arguments, resume)| {
                    Box::pin(
                        async move { guest.call_call_tool(store, name, arguments, resume).await },
                    )
                },
                |guest, store, &(name, arguments, _)| {
                    Box::pin(async move {
                        let answer = guest.call_call_tool(store, name, arguments).await?;
                        Ok(answer.map(up).map_err(up))
                    })
                },
            )
            .await;
        let denials = call.store.data().denials.take();
        let mut outcome = r
            .map_err(|e| explain(e, &denials))?
            .map_err(|e| self.hint(explain(CallError::Plugin(e), &denials), &denials))?;
        match &mut outcome {
            tools::CallOutcome::Complete(result) => self.finish_result(result, &denials)?,
            tools::CallOutcome::InputRequired(asked) => {
                self.check_blocks(asked.requests.len())?;
                self.check_output(result_size::input_required(asked))?
            }
        }
        Ok(outcome)
    }

    /// Check a finished tool result against the plugin's output budgets, after adding the
    /// call's denials to it when it is an error (the client learns what was refused and which
    /// policy line would allow it).
    fn finish_result(
        &self,
        result: &mut tools::CallToolResult,
        denials: &[String],
    ) -> Result<(), CallError> {
        if result.is_error && !denials.is_empty() {
            result
                .content
                .push(types::ContentBlock::Text(types::TextContent {
                    text: denials.join("\n"),
                    annotations: None,
                }));
        }
        self.check_blocks(result.content.len())?;
        self.check_output(result_size::call_tool_result(result))
    }

    /// Add the ungranted-request hints to a not-found or denied plugin error when the host saw
    /// no specific denial (`denials` empty): the guest only got an io error such as "Operation
    /// not permitted", and a missing grant is the likely cause.
    fn hint(&self, error: CallError, denials: &[String]) -> CallError {
        if !denials.is_empty() || self.hints.is_empty() {
            return error;
        }
        match error {
            CallError::Plugin(types::Error::NotFound(_) | types::Error::Denied(_)) => {
                explain(error, &self.hints)
            }
            other => other,
        }
    }

    fn check_blocks(&self, count: usize) -> Result<(), CallError> {
        let limit = self.grants.limits.max_content_blocks;
        if count > limit {
            return Err(CallError::TooManyBlocks { count, limit });
        }
        Ok(())
    }

    fn check_output(&self, size: usize) -> Result<(), CallError> {
        let limit = self.grants.limits.max_output_bytes;
        if size > limit {
            return Err(CallError::OutputTooLarge { size, limit });
        }
        Ok(())
    }

    /// Read resource `uri`.
    ///
    /// # Errors
    /// As [`Self::call_tool`].
    pub async fn read_resource(
        &self,
        scope: RequestScope,
        uri: &str,
    ) -> Result<Vec<types::ResourceContents>, CallError> {
        if let Some(wasmcp) = &self.wasmcp {
            return self.read_wasmcp_resource(wasmcp, scope, uri).await;
        }
        let idx = self
            .resources
            .as_ref()
            .ok_or(CallError::NotExported("resources"))?;
        let mut call = self.start(scope, "read-resource").await?;
        let contents: Vec<types::ResourceContents> = self
            .run_versioned(
                &mut call,
                idx,
                uri,
                |guest, store, uri| {
                    Box::pin(async move { guest.call_read_resource(store, uri).await })
                },
                |guest, store, uri| {
                    Box::pin(async move {
                        let answer = guest.call_read_resource(store, uri).await?;
                        Ok(answer.map(up).map_err(up))
                    })
                },
            )
            .await?
            .map_err(|e| self.hint(CallError::Plugin(e), &[]))?;
        self.check_blocks(contents.len())?;
        self.check_output(result_size::read_resource_result(&contents))?;
        Ok(contents)
    }

    /// Render prompt `name` with `arguments` (name, value pairs); `resume` as in
    /// [`Self::call_tool`].
    ///
    /// # Errors
    /// As [`Self::call_tool`].
    pub async fn get_prompt(
        &self,
        scope: RequestScope,
        name: &str,
        arguments: &[(String, String)],
        resume: Option<types::Resumption>,
    ) -> Result<prompts::PromptOutcome, CallError> {
        if let Some(wasmcp) = &self.wasmcp {
            return self.get_wasmcp_prompt(wasmcp, scope, name, arguments).await;
        }
        let idx = self
            .prompts
            .as_ref()
            .ok_or(CallError::NotExported("prompts"))?;
        let mut call = self.start(scope, "get-prompt").await?;
        let outcome = self
            .run_versioned(
                &mut call,
                idx,
                &(name, arguments, resume.as_ref()),
                |guest, store, &(name, arguments, resume)| {
                    Box::pin(
                        async move { guest.call_get_prompt(store, name, arguments, resume).await },
                    )
                },
                |guest, store, &(name, arguments, _)| {
                    Box::pin(async move {
                        let answer = guest.call_get_prompt(store, name, arguments).await?;
                        Ok(answer
                            .map(|result| prompts::PromptOutcome::Complete(up(result)))
                            .map_err(up))
                    })
                },
            )
            .await?
            .map_err(|e| self.hint(CallError::Plugin(e), &[]))?;
        match &outcome {
            prompts::PromptOutcome::Complete(result) => {
                self.check_blocks(result.messages.len())?;
                self.check_output(result_size::prompt_result(result))?
            }
            prompts::PromptOutcome::InputRequired(asked) => {
                self.check_blocks(asked.requests.len())?;
                self.check_output(result_size::input_required(asked))?
            }
        }
        Ok(outcome)
    }

    /// Suggest values for `argument` of a prompt or resource template of this plugin, whose
    /// partial value is `value` (`completion/complete`); `context` holds the arguments already
    /// filled in.
    ///
    /// # Errors
    /// As [`Self::call_tool`]; a plugin without the `completions` export is an error too.
    pub async fn complete(
        &self,
        scope: RequestScope,
        reference: &completions::CompletionReference,
        argument: &str,
        value: &str,
        context: &[(String, String)],
    ) -> Result<completions::Completion, CallError> {
        let idx = self
            .completions
            .as_ref()
            .ok_or(CallError::NotExported("completions"))?;
        let mut call = self.start(scope, "complete").await?;
        let completion = self
            .run(
                &mut call,
                idx,
                &(reference, argument, value, context),
                |guest, store, &(reference, argument, value, context)| {
                    Box::pin(async move {
                        guest
                            .call_complete(store, reference, argument, value, context)
                            .await
                    })
                },
            )
            .await?
            .map_err(|e| self.hint(CallError::Plugin(e), &[]))?;
        self.check_output(result_size::completion(&completion))?;
        Ok(completion)
    }

    /// A fresh store and instance, with the time limit and cancellation armed before
    /// instantiation (a component's start function runs inside `instantiate_async`).
    ///
    /// Boxed: instantiation's future is large (see [`within_deadline`]).
    /// `export` names the export the call is for (the name of the call's span: `call-tool`,
    /// `read-resource`, `get-prompt`, `complete`).
    fn start(
        &self,
        scope: RequestScope,
        export: &'static str,
    ) -> Pin<Box<dyn Future<Output = Result<Call, CallError>> + Send + '_>> {
        Box::pin(self.start_unboxed(scope, None, export))
    }

    /// [`Self::start`] for a call that must end by `deadline` instead of after the call timeout.
    fn start_until(
        &self,
        scope: RequestScope,
        deadline: Instant,
    ) -> Pin<Box<dyn Future<Output = Result<Call, CallError>> + Send + '_>> {
        Box::pin(self.start_unboxed(scope, Some(deadline), "load"))
    }

    /// A call waits up to its timeout for one of the plugin's concurrency slots, then has its
    /// whole timeout to run; with `until`, both fit before that instant.
    async fn start_unboxed(
        &self,
        scope: RequestScope,
        until: Option<Instant>,
        export: &'static str,
    ) -> Result<Call, CallError> {
        let limits = self.grants.limits;
        let timeout = scope.time_limit.unwrap_or(limits.call_timeout);
        let wait_until = until.unwrap_or_else(|| Instant::now() + timeout);
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tokio::time::timeout_at(wait_until.into(), self.slots.clone().acquire_owned())
                    .await
                    .map_err(|_| CallError::Busy(limits.max_concurrency))?
                    .map_err(|_| CallError::Busy(limits.max_concurrency))?
            }
        };
        let deadline = until.unwrap_or_else(|| Instant::now() + timeout);
        let slot = self
            .runtime
            .instance_slot(deadline.saturating_duration_since(Instant::now()))
            .await
            .map_err(|()| CallError::Busy(self.runtime.pool_instances()))?;
        let guard = NetworkGuard {
            plugin: self.name.clone(),
            access: self.grants.network.clone(),
            denials: Denials::default(),
            deadline,
        };
        let wasi = super::wasi::wasi_ctx(&self.grants, &guard, &self.emissions)
            .map_err(CallError::Setup)?;
        let denials = guard.denials.clone();
        let budget = FdBudget::new(limits.max_open_files, limits.max_sockets);
        let parent = scope.trace.clone();
        let plugin_attribute = || vec![KeyValue::new("capsule.plugin.name", self.name.to_string())];
        let instantiating_span =
            trace::start_child(&parent, "instantiate", SpanKind::Internal, plugin_attribute);
        let state = CallState::new(
            self.name.clone(),
            wasi,
            CheckedHooks::new(guard, budget, instantiating_span.context()),
            denials,
            &self.grants,
            scope,
            self.emissions.clone(),
        );
        let mut store = Store::new(self.runtime.engine(), state);
        store.limiter(|state| state.limiter());
        store.set_max_component_handles(limits.max_handles);
        // What one crossing may make the host allocate for lifted values (an export's results,
        // a host call's arguments), charged as wasmtime sizes them: at most the plugin's memory
        // limit, and never more than wasmtime's default.
        store.set_hostcall_fuel(limits.memory_bytes.min(MAX_HOSTCALL_FUEL));
        store.set_epoch_deadline(1);
        let cpu = self.cpu.clone();
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            let interrupt = if state.scope.cancel.is_cancelled() {
                Some(Interrupt::Cancelled)
            } else if Instant::now() >= deadline {
                Some(Interrupt::Timeout)
            } else {
                None
            };
            Ok(match interrupt {
                Some(why) => {
                    state.interrupt = Some(why);
                    UpdateDeadline::Interrupt
                }
                None => UpdateDeadline::YieldCustom(
                    1,
                    cpu.between_slices(&state.cpu_slot, state.scope.cancel.clone()),
                ),
            })
        });
        let instantiating = Instant::now();
        let instance = within_deadline(deadline, self.pre.instantiate_async(&mut store))
            .await
            .unwrap_or_else(|| {
                store.data_mut().interrupt = Some(Interrupt::Timeout);
                Err(wasmtime::format_err!(
                    "the deadline passed during instantiation"
                ))
            });
        metrics::instantiation(&self.name, instantiating.elapsed());
        let instance = self.finish_store(&store, instance);
        if let Err(e) = &instance {
            instantiating_span.fail(e.outcome().as_str());
        }
        drop(instantiating_span);
        let instance = instance?;
        let span = trace::start_child(&parent, export, SpanKind::Internal, || {
            let mut attributes = plugin_attribute();
            attributes.push(KeyValue::new("capsule.plugin.export", export));
            attributes
        });
        // The plugin's outgoing HTTP requests are children of the export call.
        store.data_mut().hooks.set_trace(span.context());
        Ok(Call {
            store,
            instance,
            deadline,
            _permit: Some(permit),
            _slot: slot,
            _span: span,
        })
    }

    /// Call one export of `interface` on `call`'s instance until the call's deadline, and map
    /// the outcome with [`Self::finish`]. `invoke` gets the interface's functions, the store and
    /// `args` (the export's arguments, passed through so that the call future may borrow them)
    /// and starts the export call. The epoch deadline stops guest code at the deadline; a guest
    /// blocked inside a host call past it (a read on a granted TCP socket, say) is dropped
    /// [`DEADLINE_GRACE`] later instead, which is safe with async wasmtime.
    async fn run<I: Interface, A: Sync + ?Sized, R>(
        &self,
        call: &mut Call,
        interface: &I,
        args: &A,
        invoke: impl for<'s> FnOnce(I::Guest, &'s mut Store<CallState>, &'s A) -> ExportCall<'s, R>,
    ) -> Result<R, CallError> {
        let guest = interface
            .guest(&mut call.store, &call.instance)
            .map_err(trap)?;
        let running = invoke(guest, &mut call.store, args);
        let r = tokio::time::timeout_at((call.deadline + DEADLINE_GRACE).into(), running)
            .await
            .unwrap_or_else(|_| Err(call.timed_out()));
        self.finish(call, r)
    }

    /// [`Self::run`] on whichever minor of the contract `export` is: `current` starts the call
    /// on a 0.2.0 plugin, `old` on a 0.1.0 one and lifts its answer into the 0.2.0 types.
    async fn run_versioned<C: Interface, O: Interface, A: Sync + ?Sized, R>(
        &self,
        call: &mut Call,
        export: &Versioned<C, O>,
        args: &A,
        current: impl for<'s> FnOnce(C::Guest, &'s mut Store<CallState>, &'s A) -> ExportCall<'s, R>,
        old: impl for<'s> FnOnce(O::Guest, &'s mut Store<CallState>, &'s A) -> ExportCall<'s, R>,
    ) -> Result<R, CallError> {
        match export {
            Versioned::Current(i) => self.run(call, i, args, current).await,
            Versioned::V0_1(i) => self.run(call, i, args, old).await,
        }
    }

    /// Create one instance exactly as a call does (concurrency permit, WASI context from the
    /// grants, store with limits and deadline, instantiation from the `InstancePre`) and drop it
    /// without calling into it: the fixed cost every request pays. For benchmarks.
    ///
    /// # Errors
    /// As the start of any call: busy, sandbox set-up, or a trap in the component's start.
    pub async fn instantiate(&self) -> Result<(), CallError> {
        self.start(RequestScope::default(), "instantiate")
            .await
            .map(drop)
    }

    fn finish<R>(&self, call: &Call, result: wasmtime::Result<R>) -> Result<R, CallError> {
        self.finish_store(&call.store, result)
    }

    /// Map a wasmtime result to a [`CallError`], telling traps from interruptions.
    fn finish_store<R>(
        &self,
        store: &Store<CallState>,
        result: wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let state = store.data();
        result.map_err(|error| match state.interrupt {
            Some(Interrupt::Timeout) => CallError::Timeout(
                state
                    .scope
                    .time_limit
                    .unwrap_or(self.grants.limits.call_timeout),
            ),
            Some(Interrupt::Cancelled) => CallError::Cancelled,
            None if state.memory.exceeded => {
                CallError::MemoryLimit(self.grants.limits.memory_bytes)
            }
            None => match state.limit_error(&error) {
                Some(why) => CallError::OverLimit(why),
                None => trap(error),
            },
        })
    }
}

/// What a plugin asks for, in the terms of [`Grants::effective`]. A network request that does not
/// parse is logged and left out (it grants nothing either way).
fn requested(name: &str, r: &plugin::CapabilityRequests) -> Requested {
    Requested {
        filesystem: r
            .filesystem
            .iter()
            .map(|f| {
                let access = match f.access {
                    plugin::Access::ReadOnly => Access::ReadOnly,
                    plugin::Access::ReadWrite => Access::ReadWrite,
                };
                (f.path.clone(), access)
            })
            .collect(),
        env: r.env.clone(),
        network: r
            .network
            .iter()
            .filter_map(|text| match NetworkRequest::parse(text) {
                Ok(request) => Some(request),
                Err(e) => {
                    tracing::warn!(plugin = name, "network request ignored: {e}");
                    None
                }
            })
            .collect(),
    }
}

/// What `requested` asks for that `grants` does not give, as sentences that name the policy
/// file and the line to add.
fn ungranted(
    plugin: &str,
    requested: &Requested,
    grants: &Grants,
    policy_file: &std::path::Path,
) -> Vec<String> {
    let file = policy_file.display();
    let mut hints = Vec::new();
    for (path, access) in &requested.filesystem {
        match grants.mounts.iter().find(|m| m.guest == *path) {
            None => hints.push(format!(
                "note: plugin \"{plugin}\" requests {path} ({access}), which its policy does not grant; \
                 to allow it, add to {file}: [filesystem] \"{path}\" = {{ host = \"DIR\", access = \"{access}\" }}"
            )),
            Some(m) if m.access == Access::ReadOnly && *access == Access::ReadWrite => hints.push(format!(
                "note: plugin \"{plugin}\" requests {path} read-write but {file} grants it read-only"
            )),
            Some(_) => {}
        }
    }
    for name in &requested.env {
        if !grants.env.iter().any(|v| v.name == *name) {
            hints.push(format!(
                "note: plugin \"{plugin}\" requests the environment variable {name}, which its policy \
                 does not grant; to allow it, add to {file}: [env] {name} = {{ from_host = \"{name}\" }}"
            ));
        }
    }
    hints
}

/// Add the host's denial messages of a call to the error it ended with, so the client learns
/// what was refused and which policy line would allow it (the guest only saw an error code).
fn explain(error: CallError, denials: &[String]) -> CallError {
    if denials.is_empty() {
        return error;
    }
    let add = |m: String| format!("{m}\n{}", denials.join("\n"));
    match error {
        CallError::Plugin(e) => CallError::Plugin(match e {
            types::Error::InvalidArguments(m) => types::Error::InvalidArguments(add(m)),
            types::Error::NotFound(m) => types::Error::NotFound(add(m)),
            types::Error::Denied(m) => types::Error::Denied(add(m)),
            types::Error::Internal(m) => types::Error::Internal(add(m)),
        }),
        other => other,
    }
}

/// A trap, or a failed host import: wasmtime's error with its chain as the source.
fn trap(error: wasmtime::Error) -> CallError {
    CallError::Trap(error.into())
}

/// The metadata Capsule writes for a component that has none of its own (plain, wasmcp):
/// its file stem as name, and no capability requests.
fn unrequested_metadata(name: &str, version: String, description: String) -> plugin::Metadata {
    plugin::Metadata {
        name: name.to_string(),
        version,
        description: Some(description),
        requests: plugin::CapabilityRequests {
            filesystem: Vec::new(),
            network: Vec::new(),
            env: Vec::new(),
        },
    }
}

/// A call made while loading (describe, a list, the first instance) failed: past its deadline or
/// without a free slot it is the load timeout (`limit`), else the call's own error.
fn load_call_failed(limit: Duration) -> impl Fn(CallError) -> LoadError + Copy {
    move |e| match e {
        CallError::Timeout(_) | CallError::Busy(_) => LoadError::LoadTimeout(limit),
        other => LoadError::Metadata(other),
    }
}

/// Apply the policy's `[tools.NAME]` tables (its file, or `NAME.toml` beside `path`) to `tools`
/// and return the names of the tools that still have no description.
///
/// # Errors
/// As [`plain_load::apply_tool_texts`].
fn described(
    tools: &mut [tools::Tool],
    policy: &Policy,
    path: &std::path::Path,
) -> Result<Vec<String>, LoadError> {
    let policy_file = policy
        .file
        .clone()
        .unwrap_or_else(|| path.with_extension("toml"));
    plain_load::apply_tool_texts(tools, policy, &policy_file)?;
    Ok(tools
        .iter()
        .filter(|t| t.description.as_deref().is_none_or(|d| d.trim().is_empty()))
        .map(|t| t.name.clone())
        .collect())
}

#[cfg(test)]
mod tests;
