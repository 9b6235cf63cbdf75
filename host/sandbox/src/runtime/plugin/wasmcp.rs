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
                read.unwrap_or(Err(CallError::Timeout(self.grants.limits.call_timeout)))
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
        let mut call = self.start(scope).await?;
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
        let mut call = self.start(scope).await?;
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
        let mut call = self.start(scope).await?;
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
mod tests {
    //! The `wasmcp_echo` test component (plugins/wasmcp-echo, built by `make plugins`) loaded and
    //! called through [`PluginImage`], and linking edge cases on hand-written components.

    use capsule_common::test_support::built_plugin;

    use super::*;
    use crate::runtime::cache::content_hash;

    use crate::runtime::small_runtime as runtime;

    async fn load_bytes(name: &str, bytes: Vec<u8>) -> Result<LoadedPlugin, LoadError> {
        let hash = content_hash(&bytes);
        let path = PathBuf::from(format!("{name}.wasm"));
        PluginImage::load(&runtime(), name, path, bytes, hash, &Policy::default()).await
    }

    async fn echo() -> LoadedPlugin {
        let bytes = std::fs::read(built_plugin("wasmcp_echo")).expect("the component is readable");
        match load_bytes("wasmcp_echo", bytes).await {
            Ok(loaded) => loaded,
            Err(e) => panic!("wasmcp_echo did not load: {e}"),
        }
    }

    fn texts(content: &[types::ContentBlock]) -> Vec<&str> {
        content
            .iter()
            .filter_map(|c| match c {
                types::ContentBlock::Text(t) => Some(t.text.as_str()),
                _ => None,
            })
            .collect()
    }

    async fn call(
        image: &PluginImage,
        tool: &str,
        arguments: &str,
    ) -> Result<tools::CallToolResult, CallError> {
        match image
            .call_tool(RequestScope::default(), tool, arguments.into(), None)
            .await?
        {
            tools::CallOutcome::Complete(result) => Ok(result),
            tools::CallOutcome::InputRequired(_) => panic!("a wasmcp tool never asks for input"),
        }
    }

    #[tokio::test]
    async fn a_wasmcp_component_loads_with_its_lists_in_capsules_types() {
        let loaded = echo().await;
        assert_eq!(loaded.kind, PluginKind::Wasmcp);
        assert_eq!(loaded.kind.to_string(), "wasmcp");
        assert_eq!(loaded.image.kind(), PluginKind::Wasmcp);
        assert!(loaded.exports.tools && loaded.exports.resources && loaded.exports.prompts);
        assert!(!loaded.exports.completions);
        // Both pages of list-tools.
        let names: Vec<&str> = loaded.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["echo", "fail", "whoami"]);
        let echo = &loaded.tools[0];
        assert_eq!(echo.title.as_deref(), Some("Echo"));
        assert_eq!(
            echo.description.as_deref(),
            Some("Says the text back, with its length")
        );
        assert!(echo.input_schema.contains(r#""required":["text"]"#));
        assert!(
            echo.output_schema
                .as_deref()
                .unwrap_or_default()
                .contains("echoed")
        );
        assert_eq!(
            echo.meta.as_deref(),
            Some(r#"{"example.com/origin":"wasmcp"}"#)
        );
        let hints = echo.annotations.as_ref().expect("echo has annotations");
        assert_eq!(hints.read_only_hint, Some(true));
        assert_eq!(hints.destructive_hint, Some(false));
        assert_eq!(loaded.undocumented, ["whoami"]);

        let [readme] = &loaded.resources[..] else {
            panic!("one resource: {:?}", loaded.resources);
        };
        assert_eq!(readme.uri, "echo://readme");
        assert_eq!(readme.title.as_deref(), Some("Read me"));
        assert_eq!(readme.size, Some(42));
        assert_eq!(readme.mime_type.as_deref(), Some("text/plain"));
        let annotations = readme.annotations.as_ref().expect("annotated");
        assert_eq!(annotations.priority, Some(1.0));
        assert_eq!(
            annotations.audience,
            Some(vec![types::Role::User, types::Role::Assistant])
        );
        let [template] = &loaded.resource_templates[..] else {
            panic!("one template: {:?}", loaded.resource_templates);
        };
        assert_eq!(template.uri_template, "echo://echo/{text}");
        let [greet] = &loaded.prompts[..] else {
            panic!("one prompt: {:?}", loaded.prompts);
        };
        assert_eq!(greet.name, "greet");
        assert_eq!(greet.title.as_deref(), Some("Greet"));
        assert_eq!(greet.arguments.len(), 1);
        assert!(greet.arguments[0].required);

        // The wasmcp host function it imports is reported, as are the wasmcp imports.
        assert!(
            loaded.skipped.iter().any(|s| s.function
                == "wasmcp:mcp-v20251125/server-auth@0.1.1#decode"
                && s.reason.starts_with("imported but not provided by Capsule")),
            "{:?}",
            loaded.skipped
        );
        assert!(
            loaded
                .imports
                .iter()
                .any(|i| i == "wasmcp:mcp-v20251125/server-auth@0.1.1"),
            "{:?}",
            loaded.imports
        );
        let description = loaded.metadata.description.as_deref().unwrap_or_default();
        assert_eq!(
            description,
            "A wasmcp component (wasmcp:mcp-v20251125@0.1.1): tools, resources, prompts"
        );
    }

    #[tokio::test]
    async fn tool_calls_convert_every_kind_of_content() {
        let loaded = echo().await;
        let result = call(&loaded.image, "echo", r#"{"text":"hé"}"#)
            .await
            .expect("echo answers");
        assert!(!result.is_error);
        assert_eq!(
            result.structured_content.as_deref(),
            Some(r#"{"echoed":"hé","length":2}"#)
        );
        // No client (a default scope): the context carries the package's own revision.
        assert_eq!(
            result.meta.as_deref(),
            Some(r#"{"example.com/echoes":1,"example.com/protocol-version":"2025-11-25"}"#)
        );
        let [
            types::ContentBlock::Text(text),
            types::ContentBlock::Image(image),
            types::ContentBlock::Audio(audio),
            types::ContentBlock::ResourceLink(link),
            types::ContentBlock::EmbeddedResource(embedded),
        ] = &result.content[..]
        else {
            panic!("five blocks: {:?}", result.content);
        };
        assert_eq!(text.text, "hé");
        assert_eq!(
            text.annotations.as_ref().and_then(|a| a.priority),
            Some(0.5)
        );
        assert_eq!(
            (image.data.as_slice(), image.mime_type.as_str()),
            (&b"\x89PNG"[..], "image/png")
        );
        assert_eq!(
            (audio.data.as_slice(), audio.mime_type.as_str()),
            (&b"RIFF"[..], "audio/wav")
        );
        assert_eq!(
            (link.uri.as_str(), link.title.as_deref(), link.size),
            ("echo://readme", Some("Read me"), Some(42))
        );
        assert_eq!(embedded.uri, "echo://echo/hé");
        assert!(matches!(&embedded.body, types::ResourceBody::Text(t) if t == "hé"));

        let failed = call(&loaded.image, "fail", r#"{"reason":"testing"}"#)
            .await
            .expect("fail answers");
        assert!(failed.is_error);
        assert_eq!(texts(&failed.content), ["failed as asked: testing"]);
    }

    #[tokio::test]
    async fn errors_map_to_capsules_typed_errors() {
        let loaded = echo().await;
        let unknown = call(&loaded.image, "nope", "{}")
            .await
            .expect_err("no such tool");
        assert!(
            matches!(&unknown, CallError::Plugin(types::Error::NotFound(m)) if m == "the component has no tool named 'nope'"),
            "{unknown:?}"
        );
        let invalid = call(&loaded.image, "invalid", "{}")
            .await
            .expect_err("invalid-params");
        assert!(
            matches!(&invalid, CallError::Plugin(types::Error::InvalidArguments(m)) if m == "invalid on purpose"),
            "{invalid:?}"
        );
        let missing = loaded
            .image
            .read_resource(RequestScope::default(), "other://x")
            .await
            .expect_err("no such resource");
        assert!(
            matches!(&missing, CallError::Plugin(types::Error::NotFound(m)) if m == "no resource at 'other://x'"),
            "{missing:?}"
        );
        // `mcp` with code -32002 (resource not found) is not found too.
        let coded = loaded
            .image
            .read_resource(RequestScope::default(), "echo://echo/error")
            .await
            .expect_err("the component refuses it");
        assert!(
            matches!(&coded, CallError::Plugin(types::Error::NotFound(m)) if m == "no such echo"),
            "{coded:?}"
        );
        let no_prompt = loaded
            .image
            .get_prompt(RequestScope::default(), "nope", &[], None)
            .await
            .expect_err("no such prompt");
        assert!(
            matches!(&no_prompt, CallError::Plugin(types::Error::NotFound(_))),
            "{no_prompt:?}"
        );
        let no_name = loaded
            .image
            .get_prompt(RequestScope::default(), "greet", &[], None)
            .await
            .expect_err("name is required");
        assert!(
            matches!(&no_name, CallError::Plugin(types::Error::InvalidArguments(m)) if m == "name is required"),
            "{no_name:?}"
        );
        assert!(matches!(
            loaded
                .image
                .complete(
                    RequestScope::default(),
                    &crate::runtime::bindings::completions::CompletionReference::Prompt(
                        "greet".into()
                    ),
                    "name",
                    "",
                    &[],
                )
                .await,
            Err(CallError::NotExported("completions"))
        ));
    }

    /// Calling a wasmcp host function Capsule does not provide fails that call only, with a
    /// message naming the function.
    #[tokio::test]
    async fn an_unprovided_host_function_fails_only_the_call_that_uses_it() {
        let loaded = echo().await;
        let error = call(&loaded.image, "whoami", "{}")
            .await
            .expect_err("server-auth.decode is a stub");
        let CallError::Trap(cause) = &error else {
            panic!("not a trap: {error:?}");
        };
        assert!(
            format!("{cause:?}")
                .contains("wasmcp:mcp-v20251125/server-auth#decode is not provided by Capsule"),
            "{cause:?}"
        );
        let again = call(&loaded.image, "echo", r#"{"text":"still here"}"#).await;
        assert!(again.is_ok(), "{again:?}");
    }

    #[tokio::test]
    async fn resources_read_inline_and_streamed_contents_and_prompts_render() {
        let loaded = echo().await;
        let readme = loaded
            .image
            .read_resource(RequestScope::default(), "echo://readme")
            .await
            .expect("the readme reads");
        let [contents] = &readme[..] else {
            panic!("one item: {readme:?}");
        };
        assert_eq!(contents.mime_type.as_deref(), Some("text/plain"));
        assert_eq!(
            contents.meta.as_deref(),
            Some(r#"{"example.com/kind":"readme"}"#)
        );
        assert!(
            matches!(&contents.body, types::ResourceBody::Text(t) if t.starts_with("A wasmcp component"))
        );

        let echoed = loaded
            .image
            .read_resource(RequestScope::default(), "echo://echo/hi")
            .await
            .expect("the template reads");
        let bodies: Vec<&types::ResourceBody> = echoed.iter().map(|c| &c.body).collect();
        assert!(
            matches!(
                &bodies[..],
                [
                    types::ResourceBody::Text(t),
                    types::ResourceBody::Blob(b),
                    // Standard input, streamed: closed in the sandbox, so empty.
                    types::ResourceBody::Text(streamed),
                ] if t == "hi" && b == b"hi" && streamed.is_empty()
            ),
            "{echoed:?}"
        );
        assert_eq!(
            echoed[1].mime_type.as_deref(),
            Some("application/octet-stream")
        );

        let prompt = loaded
            .image
            .get_prompt(
                RequestScope::default(),
                "greet",
                &[("name".into(), "Ada".into())],
                None,
            )
            .await
            .expect("the prompt renders");
        let prompts::PromptOutcome::Complete(prompt) = prompt else {
            panic!("a wasmcp prompt never asks for input");
        };
        assert_eq!(prompt.description.as_deref(), Some("A greeting for Ada"));
        let messages: Vec<(types::Role, Vec<&str>)> = prompt
            .messages
            .iter()
            .map(|m| (m.role, texts(std::slice::from_ref(&m.content))))
            .collect();
        assert_eq!(
            messages,
            [
                (types::Role::User, vec!["Please greet Ada."]),
                (types::Role::Assistant, vec!["Hello, Ada!"]),
            ]
        );
    }

    /// A component that imports `wasi:io/streams@0.2.8` (the version the wasmcp types name)
    /// links against wasmtime-wasi's 0.2.x: wasmtime matches semver-compatible versions. Of the
    /// wasmcp imports, functions are stubbed, a resource re-exported from WASI (`mcp`'s
    /// `input-stream`) stays WASI's, and a resource of wasmcp's own (`sessions`' `session`)
    /// gets a stub type.
    #[tokio::test]
    async fn wasi_io_0_2_8_resolves_to_wasmtime_wasis_0_2() {
        let component = wat::parse_str(
            r#"(component $C
              (import "wasi:io/streams@0.2.8" (instance $io
                (export "input-stream" (type (sub resource)))))
              (alias export $io "input-stream" (type $input-stream))
              (import "wasmcp:mcp-v20251125/mcp@0.1.1" (instance
                (alias outer $C $input-stream (type $t))
                (export "input-stream" (type (eq $t)))))
              (import "wasmcp:mcp-v20251125/sessions@0.1.1" (instance
                (export "session" (type (sub resource)))
                (type (borrow 0))
                (export "[method]session.id" (func (param "self" 1)))))
              (import "wasmcp:mcp-v20251125/server-io@0.1.1" (instance
                (export "flush-buffer" (func))))
              (core module $m (func (export "f")))
              (core instance $i (instantiate $m))
              (func $f (canon lift (core func $i "f")))
              (export "f" (func $f)))"#,
        )
        .expect("valid WAT");
        let runtime = runtime();
        let compiled = Component::new(runtime.engine(), component).expect("it compiles");
        assert!(
            runtime.linker().instantiate_pre(&compiled).is_err(),
            "the shared linker has no wasmcp interfaces"
        );
        let (linker, stubbed) = linker_with_stubs(&runtime, &compiled).expect("stubs link");
        linker
            .instantiate_pre(&compiled)
            .expect("wasi:io/streams@0.2.8 and the stub resolve");
        assert_eq!(
            stubbed
                .iter()
                .map(|s| s.function.as_str())
                .collect::<Vec<_>>(),
            [
                "wasmcp:mcp-v20251125/sessions@0.1.1#[method]session.id",
                "wasmcp:mcp-v20251125/server-io@0.1.1#flush-buffer"
            ]
        );
    }

    /// wasmcp exports Capsule does not serve: a clear load error when nothing else is there.
    #[tokio::test]
    async fn a_wasmcp_component_of_another_revision_is_refused_naming_it() {
        let component = wat::parse_str(
            r#"(component
              (core module $m (func (export "f")))
              (core instance $i (instantiate $m))
              (func $f (canon lift (core func $i "f")))
              (instance $tools (export "list-tools" (func $f)))
              (export "wasmcp:mcp-v20250618/tools@0.1.0" (instance $tools)))"#,
        )
        .expect("valid WAT");
        let error = load_bytes("old", component)
            .await
            .err()
            .expect("another revision is not served");
        assert!(matches!(error, LoadError::Wasmcp(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("wasmcp:mcp-v20250618/tools@0.1.0")
                && message.contains("wasmcp:mcp-v20251125@0.1.x"),
            "{message}"
        );
    }

    /// A capability interface whose functions do not have wasmcp's signature is refused.
    #[tokio::test]
    async fn a_wrong_signature_is_refused_naming_the_function() {
        let component = wat::parse_str(
            r#"(component
              (core module $m (func (export "f")))
              (core instance $i (instantiate $m))
              (func $f (canon lift (core func $i "f")))
              (instance $tools (export "list-tools" (func $f)) (export "call-tool" (func $f)))
              (export "wasmcp:mcp-v20251125/tools@0.1.1" (instance $tools)))"#,
        )
        .expect("valid WAT");
        let error = load_bytes("odd", component)
            .await
            .err()
            .expect("not the wasmcp signature");
        let message = error.to_string();
        assert!(
            message.contains(
                "`wasmcp:mcp-v20251125/tools@0.1.1#list-tools` does not have the wasmcp signature"
            ),
            "{message}"
        );
    }
}
