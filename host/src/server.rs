//! The MCP server: rmcp's [`ServerHandler`] answering from the [`Catalog`] and running plugins.
//!
//! rmcp does the protocol (JSON-RPC, both eras: 2025-11-25 `initialize` sessions and 2026-07-28
//! `server/discover` stateless requests); this module maps MCP requests to plugin calls and plugin
//! answers back to MCP, per the error rules of DESIGN.md §2:
//! - unknown tool or prompt names → JSON-RPC `-32602` (invalid params);
//! - arguments that fail the tool's `inputSchema`, typed plugin errors, traps and timeouts →
//!   a `CallToolResult` with `isError: true` (the model sees it and can correct itself); the
//!   trap's details go to the log only;
//! - methods for capabilities no loaded plugin provides → `-32601` (method not found).
//!
//! Plugin log lines reach the client as `notifications/message` when it asked: per request with
//! `_meta` `io.modelcontextprotocol/logLevel` (2026-07-28), or for the session with
//! `logging/setLevel` (2025-11-25). Until then a session gets none.

#![allow(deprecated)] // MCP logging is deprecated by SEP-2577 but still part of both revisions we serve.

use std::sync::{Arc, Mutex};

use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Value, json};

use crate::catalog::{Catalog, ResolveError};
use crate::convert;
use crate::hub::Hub;
use crate::runtime::bindings::{tools, types};
use crate::runtime::{CallError, RequestScope};

/// The Capsule MCP server over a fixed catalog.
#[derive(Clone)]
pub struct CapsuleServer {
    hub: Arc<Hub>,
    /// Whether the catalog can change (the plugin directory is watched): advertised as
    /// `listChanged: true`.
    live: bool,
    /// The session's `logging/setLevel` choice (one handler serves one session).
    log_level: Arc<Mutex<Option<LoggingLevel>>>,
}

impl CapsuleServer {
    /// A server answering from `hub`'s catalog; `live` when the catalog is kept current by a
    /// watcher.
    pub fn new(hub: Arc<Hub>, live: bool) -> Self {
        Self {
            hub,
            live,
            log_level: Arc::default(),
        }
    }

    fn catalog(&self) -> Arc<Catalog> {
        self.hub.catalog()
    }

    fn scope(&self, ctx: &RequestContext<RoleServer>) -> RequestScope {
        let session_level = *self.log_level.lock().unwrap_or_else(|e| e.into_inner());
        RequestScope {
            peer: Some(ctx.peer.clone()),
            progress_token: ctx.meta.get_progress_token(),
            cancel: ctx.ct.clone(),
            log_level: ctx.meta.log_level().or(session_level),
        }
    }
}

fn tool_error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// Map a failed resource read or prompt get to a JSON-RPC error. `what` names the request, e.g.
/// `resource 'notes://x'`.
fn request_error(plugin: &str, what: &str, error: CallError) -> McpError {
    match error {
        CallError::Plugin(types::Error::InvalidArguments(m)) => {
            McpError::invalid_params(format!("{what}: invalid arguments: {m}"), None)
        }
        CallError::Plugin(types::Error::NotFound(m)) => {
            McpError::invalid_params(format!("{what}: not found: {m}"), None)
        }
        CallError::Cancelled => McpError::internal_error("request cancelled", None),
        CallError::Trap(detail) => {
            tracing::error!(plugin, "{what} failed: plugin trapped: {detail}");
            McpError::internal_error(
                format!("{what}: plugin '{plugin}' crashed (details in the server log)"),
                None,
            )
        }
        other => {
            tracing::warn!(plugin, "{what} failed: {other}");
            McpError::internal_error(format!("{what}: {other}"), None)
        }
    }
}

impl CapsuleServer {
    async fn run_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let name = request.name.as_ref();
        let catalog = self.catalog();
        let Some(entry) = catalog.tool(name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool '{name}'; tools/list shows the available tools"),
                Some(json!({ "tool": name })),
            ));
        };
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        if let Err(message) = entry.input.validate(&arguments) {
            return Ok(tool_error(format!(
                "invalid arguments for tool '{name}': {message}"
            )));
        }
        let plugin = entry.plugin.name();
        let outcome = entry
            .plugin
            .call_tool(self.scope(&ctx), &entry.name, arguments.to_string())
            .await;
        let result = match outcome {
            Ok(tools::CallOutcome::Complete(result)) => result,
            Err(CallError::Cancelled) => {
                return Err(McpError::internal_error("request cancelled", None));
            }
            Err(CallError::Trap(detail)) => {
                tracing::error!(plugin, tool = name, "tool call trapped: {detail}");
                return Ok(tool_error(format!(
                    "tool '{name}' failed: the plugin crashed (details in the server log)"
                )));
            }
            Err(error) => {
                tracing::info!(plugin, tool = name, "tool call failed: {error}");
                return Ok(tool_error(format!("tool '{name}' failed: {error}")));
            }
        };
        let converted = match convert::call_tool_result(&result) {
            Ok(converted) => converted,
            Err(message) => {
                tracing::error!(plugin, tool = name, "malformed tool result: {message}");
                return Ok(tool_error(format!(
                    "tool '{name}' returned a malformed result: {message}"
                )));
            }
        };
        if let (Some(schema), false) = (&entry.output, result.is_error) {
            let checked = match &converted.structured_content {
                Some(value) => schema.validate(value),
                None => Err("it has an output schema but returned no structured content".into()),
            };
            if let Err(message) = checked {
                tracing::error!(
                    plugin,
                    tool = name,
                    "result does not match outputSchema: {message}"
                );
                return Ok(tool_error(format!(
                    "tool '{name}' returned a result that does not match its output schema: {message}"
                )));
            }
        }
        Ok(converted)
    }
}

impl ServerHandler for CapsuleServer {
    fn get_info(&self) -> ServerConfig {
        InitializeResult::new(self.catalog().capabilities(self.live))
            .with_server_info(Implementation::new("capsule", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Capsule serves tools, resources and prompts from sandboxed WebAssembly plugins. \
                 Tool and prompt names are prefixed with the plugin that provides them.",
            )
    }

    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        // A 2025-11-25 session: it gets list_changed notifications from now on.
        self.hub.add_session(ctx.peer.clone());
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // 2026-07-28 `subscriptions/listen`: every list-changed kind; rmcp narrows it to what was
        // requested and what the capabilities advertise. Resource subscriptions come later.
        let _ = requested;
        let mut accepted = SubscriptionFilter::builder()
            .tools_list_changed()
            .prompts_list_changed()
            .resources_list_changed()
            .build();
        accepted.resource_subscriptions = None;
        Some(accepted)
    }

    async fn listen(&self, ctx: SubscriptionContext) -> Result<(), McpError> {
        let key = self.hub.add_listener(ctx.sink().clone());
        ctx.cancelled().await;
        self.hub.remove_listener(key);
        Ok(())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        *self.log_level.lock().unwrap_or_else(|e| e.into_inner()) = Some(request.level);
        Ok(())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.catalog().tool(name).map(|entry| entry.tool.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.catalog().tool_list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.hub
            .calls()
            .track_future(self.run_tool(request, ctx))
            .await
            .map(CallToolResponse::from)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        if !self.catalog().has_resources() {
            return Err(McpError::method_not_found::<ListResourcesRequestMethod>());
        }
        Ok(ListResourcesResult::with_all_items(
            self.catalog().resource_list(),
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        if !self.catalog().has_resources() {
            return Err(McpError::method_not_found::<
                ListResourceTemplatesRequestMethod,
            >());
        }
        Ok(ListResourceTemplatesResult::with_all_items(
            self.catalog().template_list(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let catalog = self.catalog();
        if !catalog.has_resources() {
            return Err(McpError::method_not_found::<ReadResourceRequestMethod>());
        }
        let uri = request.uri.as_str();
        let plugin = catalog.resource_owner(uri).map_err(|e| match e {
            ResolveError::NotFound(_) => {
                McpError::resource_not_found(e.to_string(), Some(json!({ "uri": uri })))
            }
            ResolveError::Ambiguous { .. } => McpError::internal_error(e.to_string(), None),
        })?;
        let what = format!("resource '{uri}'");
        let contents = self
            .hub
            .calls()
            .track_future(plugin.read_resource(self.scope(&ctx), uri))
            .await
            .map_err(|e| match e {
                CallError::Plugin(types::Error::NotFound(m)) => McpError::resource_not_found(
                    format!("{what} not found: {m}"),
                    Some(json!({ "uri": uri })),
                ),
                other => request_error(plugin.name(), &what, other),
            })?;
        let result = convert::read_resource_result(&contents).map_err(|m| {
            tracing::error!(plugin = plugin.name(), "malformed resource contents: {m}");
            McpError::internal_error(
                format!("{what}: the plugin returned malformed contents: {m}"),
                None,
            )
        })?;
        Ok(ReadResourceResponse::from(result))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        if !self.catalog().has_prompts() {
            return Err(McpError::method_not_found::<ListPromptsRequestMethod>());
        }
        Ok(ListPromptsResult::with_all_items(
            self.catalog().prompt_list(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let catalog = self.catalog();
        if !catalog.has_prompts() {
            return Err(McpError::method_not_found::<GetPromptRequestMethod>());
        }
        let name = request.name.as_str();
        let Some(entry) = catalog.prompt(name) else {
            return Err(McpError::invalid_params(
                format!("unknown prompt '{name}'; prompts/list shows the available prompts"),
                Some(json!({ "prompt": name })),
            ));
        };
        let mut arguments = Vec::new();
        for (key, value) in request.arguments.iter().flatten() {
            let Value::String(value) = value else {
                return Err(McpError::invalid_params(
                    format!("prompt '{name}': argument '{key}' must be a string"),
                    None,
                ));
            };
            arguments.push((key.clone(), value.clone()));
        }
        if let Some(missing) = entry
            .required
            .iter()
            .find(|r| !arguments.iter().any(|(k, _)| k == *r))
        {
            return Err(McpError::invalid_params(
                format!("prompt '{name}': missing required argument '{missing}'"),
                None,
            ));
        }
        let what = format!("prompt '{name}'");
        let plugin = entry.plugin.name();
        let result = self
            .hub
            .calls()
            .track_future(entry.plugin.get_prompt(self.scope(&ctx), &entry.name, &arguments))
            .await
            .map_err(|e| request_error(plugin, &what, e))?;
        let result = convert::get_prompt_result(&result).map_err(|m| {
            tracing::error!(plugin, "malformed prompt result: {m}");
            McpError::internal_error(
                format!("{what}: the plugin returned a malformed result: {m}"),
                None,
            )
        })?;
        Ok(GetPromptResponse::from(result))
    }
}
