//! wasmcp components: components built for the wasmcp toolchain (<https://github.com/wasmcp/wasmcp>),
//! which defines MCP as WIT in the package `wasmcp:mcp-v20251125@0.1.x` (MCP revision
//! 2025-11-25). A wasmcp *capability* component exports any of three interfaces of that package:
//!
//! - `tools`: `list-tools: func(ctx: message-context, request: list-tools-request) ->
//!   result<list-tools-result, error-code>` and `call-tool: func(ctx, request: call-tool-request)
//!   -> result<option<call-tool-result>, error-code>`;
//! - `resources`: `list-resources`, `read-resource` (`result<option<read-resource-result>, ..>`)
//!   and `list-resource-templates`;
//! - `prompts`: `list-prompts` and `get-prompt` (`result<option<get-prompt-result>, ..>`).
//!
//! Capsule serves such a component like one of its own plugins (`runtime::plugin`, kind
//! `wasmcp`): the `list-*` functions are called once at load, following `next-cursor` up to
//! [`MAX_LIST_PAGES`] pages, and their answers are cached in Capsule's own types; every call,
//! read and prompt get runs in a fresh sandboxed instance, with the request records built as
//! [`wasmtime::component::Val`]s from the component's own types ([`request`]) and the answer
//! converted back ([`convert`]). The `message-context` a function receives has no client stream,
//! session, identity or HTTP context, an empty frame, and the protocol version the client
//! negotiated (else [`PROTOCOL_VERSION`]).
//!
//! What has no place in Capsule's catalog is left out and reported (`capsule plugins`, as
//! [`Skipped`] notes): icons and the `_meta` of listed resources, templates and prompts,
//! list pages past [`MAX_LIST_PAGES`], the `completions` interface and any other export, and the
//! wasmcp host interfaces a component imports (`server-io`, `server-auth`, `sessions`, ...), whose
//! functions trap when called (`runtime::plugin::wasmcp` links them as stubs).

pub mod convert;
pub mod request;

use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentInstance, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex};

use crate::plain::Skipped;

/// The WIT package (without version) whose capability interfaces Capsule serves.
pub const PACKAGE: &str = "wasmcp:mcp-v20251125";

/// The MCP revision of [`PACKAGE`]: `message-context.protocol-version` at load and whenever the
/// request's client does not say which version it negotiated
/// ([`crate::runtime::Client::protocol_version`]).
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// How many pages of one `list-*` function are read at load (following `next-cursor`); the
/// pages after that are not served, and the plugin report says so.
pub const MAX_LIST_PAGES: usize = 64;

/// One function of an exported capability interface.
#[derive(Clone, Debug)]
pub struct WasmcpFunction {
    /// `wasmcp:mcp-v20251125/tools@0.1.1#list-tools`, for messages.
    pub name: String,
    /// Where to find it in an instance.
    pub export: ComponentExportIndex,
    /// The type of its first parameter, `message-context` (a record).
    pub context: Type,
    /// The type of its second parameter, the request record.
    pub request: Type,
}

/// An exported `tools` interface.
#[derive(Clone, Debug)]
pub struct ToolsExport {
    pub list_tools: WasmcpFunction,
    pub call_tool: WasmcpFunction,
}

/// An exported `resources` interface.
#[derive(Clone, Debug)]
pub struct ResourcesExport {
    pub list_resources: WasmcpFunction,
    pub read_resource: WasmcpFunction,
    pub list_resource_templates: WasmcpFunction,
}

/// An exported `prompts` interface.
#[derive(Clone, Debug)]
pub struct PromptsExport {
    pub list_prompts: WasmcpFunction,
    pub get_prompt: WasmcpFunction,
}

/// What a wasmcp component exports that Capsule serves, and what it does not.
#[derive(Clone, Debug, Default)]
pub struct WasmcpExports {
    /// The version of [`PACKAGE`] its capability interfaces have (`0.1.1`).
    pub version: String,
    pub tools: Option<ToolsExport>,
    pub resources: Option<ResourcesExport>,
    pub prompts: Option<PromptsExport>,
    /// Exports that are not served (`completions`, a `server-handler`, ...), with why.
    pub unserved: Vec<Skipped>,
}

impl WasmcpExports {
    /// `tools, resources, prompts` (those it exports), for descriptions.
    pub fn features(&self) -> String {
        let mut features = Vec::new();
        if self.tools.is_some() {
            features.push("tools");
        }
        if self.resources.is_some() {
            features.push("resources");
        }
        if self.prompts.is_some() {
            features.push("prompts");
        }
        features.join(", ")
    }
}

/// An export name split: `wasmcp:mcp-v20251125/tools@0.1.1` → (`wasmcp:mcp-v20251125`,
/// `tools`, `Some("0.1.1")`).
fn split(export: &str) -> Option<(&str, &str, Option<&str>)> {
    let (package, rest) = export.split_once('/')?;
    Some(match rest.split_once('@') {
        Some((interface, version)) => (package, interface, Some(version)),
        None => (package, rest, None),
    })
}

/// Whether `version` is semver-compatible with 0.1.1 (a 0.1.x release).
fn compatible(version: Option<&str>) -> bool {
    version.is_some_and(|v| v.starts_with("0.1.") && !v.contains('-'))
}

/// Find the wasmcp capability interfaces `component` exports.
///
/// `None` when it is not a wasmcp component (it exports `capsule:plugin` interfaces, or nothing
/// in the `wasmcp:` namespace).
///
/// # Errors
/// `Some(Err(..))`, a sentence for the operator, when it exports `wasmcp:` interfaces but none
/// Capsule serves (another revision of the MCP package, another major version, only
/// middleware), or a capability interface lacks a function or has the wrong signature.
pub fn detect(component: &Component, engine: &Engine) -> Option<Result<WasmcpExports, String>> {
    let ty = component.component_type();
    let exports: Vec<(String, ComponentItem)> = ty
        .exports(engine)
        .map(|(name, item)| (name.to_string(), item.ty))
        .collect();
    if exports
        .iter()
        .any(|(name, _)| name.starts_with("capsule:plugin/"))
    {
        return None;
    }
    let wasmcp: Vec<&(String, ComponentItem)> = exports
        .iter()
        .filter(|(name, _)| name.starts_with("wasmcp:"))
        .collect();
    if wasmcp.is_empty() {
        return None;
    }
    Some(find(component, engine, &wasmcp))
}

fn find(
    component: &Component,
    engine: &Engine,
    exports: &[&(String, ComponentItem)],
) -> Result<WasmcpExports, String> {
    let mut found = WasmcpExports::default();
    for (name, item) in exports {
        let served = match split(name) {
            Some((PACKAGE, interface @ ("tools" | "resources" | "prompts"), version))
                if compatible(version) =>
            {
                Some((interface, version.unwrap_or_default()))
            }
            _ => None,
        };
        let (Some((interface, version)), ComponentItem::ComponentInstance(instance)) =
            (served, item)
        else {
            found.unserved.push(Skipped {
                function: name.clone(),
                reason: unserved_reason(name),
            });
            continue;
        };
        if found.version.is_empty() {
            found.version = version.to_string();
        }
        let parent = component
            .get_export_index(None, name)
            .ok_or_else(|| format!("the component has no export index for {name}"))?;
        let function = |function: &str| -> Result<WasmcpFunction, String> {
            lookup(component, engine, instance, &parent, name, function)
        };
        match interface {
            "tools" => {
                found.tools = Some(ToolsExport {
                    list_tools: function("list-tools")?,
                    call_tool: function("call-tool")?,
                })
            }
            "resources" => {
                found.resources = Some(ResourcesExport {
                    list_resources: function("list-resources")?,
                    read_resource: function("read-resource")?,
                    list_resource_templates: function("list-resource-templates")?,
                })
            }
            _ => {
                found.prompts = Some(PromptsExport {
                    list_prompts: function("list-prompts")?,
                    get_prompt: function("get-prompt")?,
                })
            }
        }
    }
    if found.tools.is_none() && found.resources.is_none() && found.prompts.is_none() {
        let names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "a wasmcp component without anything Capsule serves: it exports {}, and Capsule \
             serves the tools, resources and prompts interfaces of {PACKAGE}@0.1.x",
            names.join(", ")
        ));
    }
    Ok(found)
}

/// Why an export in the `wasmcp:` namespace is not served.
fn unserved_reason(name: &str) -> String {
    match split(name) {
        Some((PACKAGE, "completions", version)) if compatible(version) => {
            "not served: Capsule does not call wasmcp completions".into()
        }
        Some((PACKAGE, "server-handler", _)) => {
            "not served: a wasmcp server handler (middleware) is not a capability; Capsule calls \
             the tools, resources and prompts interfaces"
                .into()
        }
        Some((PACKAGE, _, version)) if !compatible(version) => {
            format!("not served: Capsule serves {PACKAGE}@0.1.x")
        }
        Some((package, _, _)) if package.starts_with("wasmcp:mcp") => {
            format!("not served: Capsule serves the MCP 2025-11-25 package, {PACKAGE}@0.1.x")
        }
        _ => "not served: not a wasmcp capability interface".into(),
    }
}

/// Function `function` of exported interface `interface` (at `parent`), checked to have the
/// wasmcp shape: `(ctx: record, request: record) -> result<..>`.
fn lookup(
    component: &Component,
    engine: &Engine,
    instance: &ComponentInstance,
    parent: &ComponentExportIndex,
    interface: &str,
    function: &str,
) -> Result<WasmcpFunction, String> {
    let name = format!("{interface}#{function}");
    let ty: ComponentFunc = instance
        .exports(engine)
        .find_map(|(n, item)| match item.ty {
            ComponentItem::ComponentFunc(f) if n == function => Some(f),
            _ => None,
        })
        .ok_or_else(|| format!("{interface} has no function `{function}`"))?;
    let params: Vec<Type> = ty.params().map(|(_, t)| t).collect();
    let results: Vec<Type> = ty.results().collect();
    let (context, request) = match (&params[..], &results[..]) {
        ([context @ Type::Record(_), request @ Type::Record(_)], [Type::Result(_)]) => {
            (context.clone(), request.clone())
        }
        _ => {
            return Err(format!(
                "`{name}` does not have the wasmcp signature (ctx: message-context, request: \
                 {function}-request) -> result<..., error-code>"
            ));
        }
    };
    // The context is the same for every call: a type Capsule cannot fill fails the load.
    request::context(&context, PROTOCOL_VERSION)
        .map_err(|e| format!("`{name}`: its message-context does not fit: {e}"))?;
    let export = component
        .get_export_index(Some(parent), function)
        .ok_or_else(|| format!("the component has no export index for `{name}`"))?;
    Ok(WasmcpFunction {
        name,
        export,
        context,
        request,
    })
}

#[cfg(test)]
mod tests;
