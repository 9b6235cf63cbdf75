//! Loading and calling a wasmcp component (`crate::wasmcp`): linking its imports of wasmcp's host
//! interfaces as stubs, reading its lists once at load, and serving tool calls, resource reads
//! and prompt gets through dynamic calls of its exported functions, each in a fresh sandboxed
//! instance like every plugin's.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, Resource, ResourceAny, ResourceType, Val};
use wasmtime_wasi::p2::{DynInputStream, StreamError};

use super::{
    Call, CallError, Compiled, ContentHash, DEADLINE_GRACE, LoadError, LoadedPlugin, PluginImage,
    PluginKind, RequestScope, Runtime, explain, prompts, resources, tools, types,
};
use super::{described, load_call_failed, unrequested_metadata};
use crate::grants::Policy;
use crate::plain::Skipped;
use crate::runtime::CallState;
use crate::wasmcp::convert::{self, Dropped, Shape, Streamed};
use crate::wasmcp::{MAX_LIST_PAGES, PROTOCOL_VERSION, WasmcpExports, WasmcpFunction, request};

/// The host type of the resources of wasmcp host interfaces (`sessions`' `session`, say): Capsule
/// provides none, so no value of it ever exists; the type only lets the component link.
struct Unprovided;

/// Why a function of a wasmcp host interface is not served, for the plugin report.
const UNPROVIDED: &str = "imported but not provided by Capsule: calling it fails that call \
     (notifications and requests to the client through server-io, sessions, elicitation and \
     authentication helpers of wasmcp are not supported)";

/// What a wasmcp component lists, read at load.
#[derive(Default)]
struct Lists {
    tools: Vec<tools::Tool>,
    resources: Vec<resources::Resource>,
    resource_templates: Vec<resources::ResourceTemplate>,
    prompts: Vec<prompts::Prompt>,
    /// What was not served: pages past the bound, dropped fields.
    notes: Vec<Skipped>,
}

/// A clone of the runtime's shared linker in which each import of `component` in the `wasmcp:`
/// namespace (none of which the shared linker has) is defined: every function of it fails with
/// "<interface>#<function> is not provided by Capsule", and the resources it declares get a host
/// type no value of which ever exists (those it only re-exports from another import, like
/// `mcp`'s `input-stream`, are that import's). Types-only interfaces (`mcp`, `server-handler`) get an empty
/// instance. Everything else (WASI 0.2, including the `wasi:io/streams@0.2.8` the wasmcp types
/// use, which the linker resolves to wasmtime-wasi's 0.2.x as semver-compatible) comes from the
/// shared linker. Also returns the stubbed functions, for the plugin report.
///
/// # Errors
/// The linker refuses a definition (an import name defined twice).
fn linker_with_stubs(
    runtime: &Runtime,
    component: &Component,
) -> wasmtime::Result<(Linker<CallState>, Vec<Skipped>)> {
    let engine = runtime.engine();
    let mut linker = runtime.linker().clone();
    let mut stubbed = Vec::new();
    // Resources already imported: an interface that `use`s one (wasmcp's `mcp` re-exports
    // `wasi:io/streams`' `input-stream`) imports it again as the same type, which must not be
    // defined anew (imports come in dependency order).
    let mut resources: Vec<ResourceType> = Vec::new();
    for (import, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !import.starts_with("wasmcp:") {
            resources.extend(
                instance
                    .exports(engine)
                    .filter_map(|(_, item)| match item.ty {
                        ComponentItem::Resource(ty) => Some(ty),
                        _ => None,
                    }),
            );
            continue;
        }
        let shown = import.split('@').next().unwrap_or(import);
        let mut stubs = linker.instance(import)?;
        for (name, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let message = format!("{shown}#{name} is not provided by Capsule");
                    stubs.func_new(name, move |_, _, _, _| {
                        Err(wasmtime::format_err!("{message}"))
                    })?;
                    stubbed.push(Skipped {
                        function: format!("{import}#{name}"),
                        reason: UNPROVIDED.into(),
                    });
                }
                ComponentItem::Resource(ty) if !resources.contains(&ty) => {
                    stubs.resource(name, ResourceType::host::<Unprovided>(), |_, _| Ok(()))?;
                    resources.push(ty);
                }
                _ => {}
            }
        }
    }
    Ok((linker, stubbed))
}

/// The error for an answer that does not have the wasmcp shape.
fn shape(error: Shape) -> CallError {
    CallError::Plugin(types::Error::Internal(error.to_string()))
}

/// The error for a request Capsule could not build for the component's types.
fn unfit(function: &WasmcpFunction, error: String) -> CallError {
    CallError::Plugin(types::Error::Internal(format!(
        "{}: the request does not fit the component's types: {error}",
        function.name
    )))
}

/// The call's own error when `answer`, the `option<T>` a call-tool, read-resource or get-prompt
/// returned, is `none`.
fn found(answer: Option<&Val>, missing: impl FnOnce() -> String) -> Result<&Val, CallError> {
    match answer {
        Some(Val::Option(Some(value))) => Ok(value),
        Some(Val::Option(None)) => Err(CallError::Plugin(types::Error::NotFound(missing()))),
        Some(other) => Ok(other),
        None => Err(shape(Shape("the answer is empty".into()))),
    }
}

impl PluginImage {
    /// Load `component`, whose wasmcp capability interfaces are `exports`, as a wasmcp component:
    /// link it (with [`linker_with_stubs`]), then read its lists in one instance.
    ///
    /// # Errors
    /// [`LoadError::Link`] for an import Capsule does not provide outside the `wasmcp:`
    /// namespace, [`LoadError::Metadata`] when a `list-*` call fails (its `error-code`, a trap, an
    /// answer of the wrong shape), [`LoadError::LoadTimeout`], and [`LoadError::Docs`] for a
    /// `[tools.NAME]` policy table that does not fit.
    pub(super) async fn load_wasmcp(
        runtime: &Runtime,
        name: &str,
        path: PathBuf,
        (hash, compiled): (ContentHash, Compiled),
        component: &Component,
        exports: WasmcpExports,
        policy: &Policy,
    ) -> Result<LoadedPlugin, LoadError> {
        let (linker, stubbed) =
            linker_with_stubs(runtime, component).map_err(|e| LoadError::Link(e.into()))?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::Link(e.into()))?;
        let imports = component
            .component_type()
            .imports(runtime.engine())
            .map(|(name, _)| name.to_string())
            .collect();
        let exports = Arc::new(exports);
        let image =
            PluginImage::unrequested(runtime, name, policy, pre, None, Some(exports.clone()));
        let limits = policy.limits;
        let deadline = Instant::now() + limits.load_timeout;
        let lists = image
            .wasmcp_lists(&exports, deadline)
            .await
            .map_err(load_call_failed(limits.load_timeout))?;
        let mut tools = lists.tools;
        let undocumented = described(&mut tools, policy, &path)?;
        let mut skipped = exports.unserved.clone();
        skipped.extend(lists.notes);
        skipped.extend(stubbed);
        Ok(LoadedPlugin {
            exports: image.exports(),
            path,
            hash,
            compiled,
            metadata: unrequested_metadata(
                name,
                "unversioned".into(),
                format!(
                    "A wasmcp component ({}@{}): {}",
                    crate::wasmcp::PACKAGE,
                    exports.version,
                    exports.features()
                ),
            ),
            tools,
            resources: lists.resources,
            resource_templates: lists.resource_templates,
            prompts: lists.prompts,
            kind: PluginKind::Wasmcp,
            imports,
            skipped,
            undocumented,
            image,
        })
    }

    /// Every `list-*` of `exports`, in one instance that must be done by `deadline`.
    async fn wasmcp_lists(
        &self,
        exports: &WasmcpExports,
        deadline: Instant,
    ) -> Result<Lists, CallError> {
        let mut call = self.start_until(RequestScope::default(), deadline).await?;
        let mut lists = Lists::default();
        let mut dropped = Dropped::new();
        if let Some(t) = &exports.tools {
            lists.tools = self
                .wasmcp_list(&mut call, &t.list_tools, "tools", &mut lists.notes, |v| {
                    convert::tool(v, &mut dropped)
                })
                .await?;
        }
        if let Some(r) = &exports.resources {
            lists.resources = self
                .wasmcp_list(
                    &mut call,
                    &r.list_resources,
                    "resources",
                    &mut lists.notes,
                    |v| convert::resource(v, &mut dropped),
                )
                .await?;
            lists.resource_templates = self
                .wasmcp_list(
                    &mut call,
                    &r.list_resource_templates,
                    "resource-templates",
                    &mut lists.notes,
                    |v| convert::resource_template(v, &mut dropped),
                )
                .await?;
        }
        if let Some(p) = &exports.prompts {
            lists.prompts = self
                .wasmcp_list(
                    &mut call,
                    &p.list_prompts,
                    "prompts",
                    &mut lists.notes,
                    |v| convert::prompt(v, &mut dropped),
                )
                .await?;
        }
        if !dropped.is_empty() {
            let what: Vec<&str> = dropped.into_iter().collect();
            lists.notes.push(Skipped {
                function: format!("{}@{} lists", crate::wasmcp::PACKAGE, exports.version),
                reason: format!(
                    "not served (Capsule's catalog has no place for them): {}",
                    what.join(", ")
                ),
            });
        }
        Ok(lists)
    }

    /// The items (record field `items`) of every page of list function `f`, following
    /// `next-cursor` for at most [`MAX_LIST_PAGES`] pages, each converted with `item`. A cursor
    /// that comes back again ends the listing too. Either end is noted in `notes`.
    async fn wasmcp_list<T>(
        &self,
        call: &mut Call,
        f: &WasmcpFunction,
        items: &'static str,
        notes: &mut Vec<Skipped>,
        mut item: impl FnMut(&Val) -> Result<T, Shape>,
    ) -> Result<Vec<T>, CallError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        for page in 0.. {
            if page == MAX_LIST_PAGES {
                notes.push(Skipped {
                    function: f.name.clone(),
                    reason: format!(
                        "lists more than {MAX_LIST_PAGES} pages: the items after those are not \
                         served"
                    ),
                });
                break;
            }
            let fields = match &cursor {
                Some(c) => vec![("cursor", Val::String(c.clone()))],
                None => Vec::new(),
            };
            let req =
                request::request(&f.request, "the request", fields).map_err(|e| unfit(f, e))?;
            let (answer, _) = self.call_wasmcp(call, f, req).await?;
            let listed = convert::ok(&answer).map_err(shape)?;
            let listed = listed.map_err(CallError::Plugin)?;
            let (values, next) = convert::page(listed, "the list result", items).map_err(shape)?;
            for value in values {
                all.push(item(value).map_err(shape)?);
            }
            match next {
                None => break,
                Some(next) if !seen.insert(next.clone()) => {
                    notes.push(Skipped {
                        function: f.name.clone(),
                        reason: format!(
                            "returned the cursor {next:?} twice: the listing stopped there"
                        ),
                    });
                    break;
                }
                Some(next) => cursor = Some(next),
            }
        }
        Ok(all)
    }

    /// Call `f` on `call`'s instance with the message context and `request`, and read the
    /// streams of its answer (their handles are replaced by indices into the returned
    /// [`Streamed`]).
    async fn call_wasmcp(
        &self,
        call: &mut Call,
        f: &WasmcpFunction,
        request: Val,
    ) -> Result<(Val, Streamed), CallError> {
        let version = call
            .store
            .data()
            .scope
            .client
            .as_ref()
            .and_then(|client| client.protocol_version())
            .unwrap_or_else(|| PROTOCOL_VERSION.to_string());
        let context = request::context(&f.context, &version).map_err(|e| unfit(f, e))?;
        let func = call.func(f.export, &f.name)?;
        let mut results = [Val::Bool(false)];
        self.run_func(call, func, &[context, request], &mut results)
            .await?;
        let [mut answer] = results;
        let mut handles = Vec::new();
        take_streams(&mut answer, &mut handles);
        let mut contents = Vec::with_capacity(handles.len());
        let mut total = 0;
        for handle in handles {
            let bytes = self.read_stream(call, handle, total).await?;
            total += bytes.len();
            contents.push(bytes);
        }
        Ok((answer, Streamed::new(contents)))
    }

    /// Read the input stream `handle` (a `text-stream` or `blob-stream` of an answer) to its end,
    /// within the call's deadline and cancellation, and at most `[limits] max_output` bytes
    /// together with the `before` bytes the answer's earlier streams had.
    async fn read_stream(
        &self,
        call: &mut Call,
        handle: ResourceAny,
        before: usize,
    ) -> Result<Vec<u8>, CallError> {
        let stream: Resource<DynInputStream> = handle
            .try_into_resource(&mut call.store)
            .map_err(|e| CallError::Trap(e.into()))?;
        let mut stream = call
            .store
            .data_mut()
            .table
            .delete(stream)
            .map_err(|e| CallError::Trap(e.into()))?;
        let limit = self.grants.limits.max_output_bytes;
        let cancel = call.store.data().scope.cancel.clone();
        let time_limit = call.store.data().scope.time_limit;
        let reading = async {
            let mut bytes = Vec::new();
            loop {
                match stream.blocking_read(64 << 10).await {
                    Ok(chunk) => {
                        bytes.extend_from_slice(&chunk);
                        if before + bytes.len() > limit {
                            return Err(CallError::OutputTooLarge {
                                size: before + bytes.len(),
                                limit,
                            });
                        }
                    }
                    Err(StreamError::Closed) => return Ok(bytes),
                    Err(e) => {
                        return Err(CallError::Plugin(types::Error::Internal(format!(
                            "reading the streamed content failed: {e}"
                        ))));
                    }
                }
            }
        };
        let deadline = (call.deadline + DEADLINE_GRACE).into();
        tokio::select! {
            read = tokio::time::timeout_at(deadline, reading) => {
                read.unwrap_or(Err(CallError::Timeout(
                    time_limit.unwrap_or(self.grants.limits.call_timeout),
                )))
            }
            () = cancel.cancelled() => Err(CallError::Cancelled),
        }
    }

    /// Run tool `name` of a wasmcp component with `arguments` (a JSON object the host has
    /// validated): `call-tool` with `arguments: some(arguments)`. A `none` answer is not found.
    ///
    /// # Errors
    /// The component's `error-code` as [`types::Error`]; traps (a call to a wasmcp host function
    /// Capsule does not provide among them), timeouts, cancellation and budgets as for every call.
    pub(super) async fn call_wasmcp_tool(
        &self,
        exports: &WasmcpExports,
        scope: RequestScope,
        name: &str,
        arguments: &str,
    ) -> Result<tools::CallOutcome, CallError> {
        let f = &exports
            .tools
            .as_ref()
            .ok_or(CallError::NotExported("tools"))?
            .call_tool;
        let req = request::request(
            &f.request,
            "call-tool-request",
            vec![
                ("name", Val::String(name.into())),
                ("arguments", Val::String(arguments.into())),
            ],
        )
        .map_err(|e| unfit(f, e))?;
        let mut call = self.start(scope, "call-tool").await?;
        let answered = self.call_wasmcp(&mut call, f, req).await;
        let denials = call.store.data().denials.take();
        let (answer, mut streamed) = answered.map_err(|e| explain(e, &denials))?;
        let answer = convert::ok(&answer)
            .map_err(shape)?
            .map_err(|e| self.hint(explain(CallError::Plugin(e), &denials), &denials))?;
        let answer = found(answer, || {
            format!("the component has no tool named '{name}'")
        })?;
        let mut result = convert::call_tool_result(answer, &mut streamed).map_err(shape)?;
        self.finish_result(&mut result, &denials)?;
        Ok(tools::CallOutcome::Complete(result))
    }

    /// Read resource `uri` of a wasmcp component (`read-resource`). A `none` answer is not
    /// found.
    ///
    /// # Errors
    /// As [`Self::call_wasmcp_tool`].
    pub(super) async fn read_wasmcp_resource(
        &self,
        exports: &WasmcpExports,
        scope: RequestScope,
        uri: &str,
    ) -> Result<Vec<types::ResourceContents>, CallError> {
        let f = &exports
            .resources
            .as_ref()
            .ok_or(CallError::NotExported("resources"))?
            .read_resource;
        let req = request::request(
            &f.request,
            "read-resource-request",
            vec![("uri", Val::String(uri.into()))],
        )
        .map_err(|e| unfit(f, e))?;
        let mut call = self.start(scope, "read-resource").await?;
        let (answer, mut streamed) = self.call_wasmcp(&mut call, f, req).await?;
        let answer = convert::ok(&answer)
            .map_err(shape)?
            .map_err(|e| self.hint(CallError::Plugin(e), &[]))?;
        let answer = found(answer, || format!("no resource at '{uri}'"))?;
        let contents = convert::read_resource_result(answer, &mut streamed).map_err(shape)?;
        self.check_blocks(contents.len())?;
        self.check_output(crate::runtime::result_size::read_resource_result(&contents))?;
        Ok(contents)
    }

    /// Render prompt `name` of a wasmcp component with `arguments` (`get-prompt` with
    /// `arguments: some(JSON object of the name, value pairs)`). A `none` answer is not found.
    ///
    /// # Errors
    /// As [`Self::call_wasmcp_tool`].
    pub(super) async fn get_wasmcp_prompt(
        &self,
        exports: &WasmcpExports,
        scope: RequestScope,
        name: &str,
        arguments: &[(String, String)],
    ) -> Result<prompts::PromptOutcome, CallError> {
        let f = &exports
            .prompts
            .as_ref()
            .ok_or(CallError::NotExported("prompts"))?
            .get_prompt;
        let object: serde_json::Map<String, serde_json::Value> = arguments
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let req = request::request(
            &f.request,
            "get-prompt-request",
            vec![
                ("name", Val::String(name.into())),
                (
                    "arguments",
                    Val::String(serde_json::Value::Object(object).to_string()),
                ),
            ],
        )
        .map_err(|e| unfit(f, e))?;
        let mut call = self.start(scope, "get-prompt").await?;
        let (answer, mut streamed) = self.call_wasmcp(&mut call, f, req).await?;
        let answer = convert::ok(&answer)
            .map_err(shape)?
            .map_err(|e| self.hint(CallError::Plugin(e), &[]))?;
        let answer = found(answer, || {
            format!("the component has no prompt named '{name}'")
        })?;
        let result = convert::get_prompt_result(answer, &mut streamed).map_err(shape)?;
        self.check_blocks(result.messages.len())?;
        self.check_output(crate::runtime::result_size::prompt_result(&result))?;
        Ok(prompts::PromptOutcome::Complete(result))
    }
}

/// Take the handle out of every `text-stream` and `blob-stream` in `value`, replacing it by its
/// index in `handles` (a `u32`), in walk order.
fn take_streams(value: &mut Val, handles: &mut Vec<ResourceAny>) {
    match value {
        Val::Variant(case, Some(payload))
            if (case == "text-stream" || case == "blob-stream")
                && matches!(**payload, Val::Resource(_)) =>
        {
            let index = u32::try_from(handles.len()).unwrap_or(u32::MAX);
            if let Val::Resource(handle) = std::mem::replace(&mut **payload, Val::U32(index)) {
                handles.push(handle);
            }
        }
        Val::Variant(_, Some(v))
        | Val::Option(Some(v))
        | Val::Result(Ok(Some(v)) | Err(Some(v))) => take_streams(v, handles),
        Val::List(values) | Val::Tuple(values) => {
            for v in values {
                take_streams(v, handles);
            }
        }
        Val::Record(fields) => {
            for (_, v) in fields {
                take_streams(v, handles);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
