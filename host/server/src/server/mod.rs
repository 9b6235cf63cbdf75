//! The MCP server: rmcp's [`ServerHandler`] answering from the [`Catalog`] and running plugins.
//!
//! rmcp does the protocol (JSON-RPC, both eras: 2025-11-25 `initialize` sessions and 2026-07-28
//! `server/discover` stateless requests); this module maps MCP requests to plugin calls and plugin
//! answers back to MCP, per the error rules of ARCHITECTURE.md §3:
//! - unknown tool or prompt names → JSON-RPC `-32602` (invalid params);
//! - arguments that fail the tool's `inputSchema`, typed plugin errors, traps and timeouts →
//!   a `CallToolResult` with `isError: true` (the model sees it and can correct itself); the
//!   trap's details go to the log only;
//! - methods for capabilities no loaded plugin provides → `-32601` (method not found).
//!
//! Plugin log lines reach the client as `notifications/message` when it asked: per request with
//! `_meta` `io.modelcontextprotocol/logLevel` (2026-07-28), or for the session with
//! `logging/setLevel` (2025-11-25). Until then a 2025-11-25 session gets them at the server's
//! default level (`--default-log-level`, `info`: most clients never set one); a 2026-07-28 request
//! that did not ask gets none.
//!
//! Authorization ([`capsule_auth`]): every request's caller is the principal the HTTP auth layer
//! attached (Streamable HTTP), the session's principal (HTTP+SSE), or the trusted local user
//! (stdio, or HTTP without authentication). `tools/list`, `resources/list`,
//! `resources/templates/list` and `prompts/list` show only what the caller's scopes unlock (MCP
//! allows lists to vary per authorization); a call outside them is refused with JSON-RPC error
//! `-32003` (over HTTP the layer has already answered `403 insufficient_scope`). Rate limits are
//! applied here for stdio (a tool error that says when to retry), and by the HTTP layer (`429`)
//! otherwise. Every tool call, resource read and prompt get is written to the audit log.
//!
//! A tool call or prompt get whose plugin answers `input-required` (elicitation, sampling,
//! roots) takes several rounds, per era: see [`crate::mrtr`]. Resource subscriptions
//! (`resources/subscribe`, listen filters) and `completion/complete` are answered here too.

#![allow(deprecated)] // MCP logging is deprecated by SEP-2577 but still part of both revisions we serve.

mod audit;
mod calls;
mod task_calls;
mod task_calls_2025;
mod task_mode;
mod tool_rounds;
mod tracing_span;

pub mod client;
pub mod lists;
mod shared;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::json;

use crate::catalog::Catalog;
use crate::hub::{Subscriptions, UpdateRelay};
use audit::{Audit, OperationLabels};
use capsule_auth::audit::Record;
use capsule_auth::scopes::{Decision, Target};
use capsule_auth::{Access, Caller, Mode, Principal, SessionPrincipal, Transport};
use capsule_common::codes::{FORBIDDEN, RATE_LIMITED};
use capsule_common::sync::{lock, read};
use capsule_sandbox::runtime::bindings::types;
use capsule_sandbox::runtime::{CallError, RequestScope, ResourceUpdates};
use capsule_telemetry::trace;
use lists::{Listing, list_page};

pub use shared::{DEFAULT_LOG_LEVEL, Shared};

/// The Capsule MCP server: one handler per session (2025-11-25) or per transport (stdio,
/// 2026-07-28 requests), all answering from the catalog of one [`Shared`].
#[derive(Clone)]
pub struct CapsuleServer {
    shared: Arc<Shared>,
    /// Whether the catalog can change (the plugin directory is watched): advertised as
    /// `listChanged: true`.
    live: bool,
    /// The session's `logging/setLevel` choice (one handler serves one session).
    log_level: Arc<Mutex<Option<LoggingLevel>>>,
    /// Scopes, rate limits and the audit log.
    access: Arc<Access>,
    /// The transport this handler serves.
    transport: Transport,
    /// HTTP+SSE: the principal of the session.
    session_principal: Option<SessionPrincipal>,
    /// The session's `resources/subscribe` URIs (2025-11-25).
    subscriptions: Subscriptions,
    /// Where plugins' `resource-updated` reports go (the hub).
    updates: Arc<dyn ResourceUpdates>,
}

impl CapsuleServer {
    /// A server answering from `shared`'s catalog; `live` when the catalog is kept current by a
    /// watcher. It serves stdio with no scopes, limits or audit until [`Self::with_access`].
    pub fn new(shared: Arc<Shared>, live: bool) -> Self {
        Self {
            updates: Arc::new(UpdateRelay(shared.hub().clone())),
            shared,
            live,
            log_level: Arc::default(),
            access: Arc::new(Access::default()),
            transport: Transport::Stdio,
            session_principal: None,
            subscriptions: Subscriptions::default(),
        }
    }

    /// Serve `transport` under `access` (scopes, rate limits, audit log).
    pub fn with_access(mut self, access: Arc<Access>, transport: Transport) -> Self {
        self.access = access;
        self.transport = transport;
        self
    }

    /// HTTP+SSE: requests of this session act for the principal in `principal`.
    pub fn with_session_principal(mut self, principal: SessionPrincipal) -> Self {
        self.session_principal = Some(principal);
        self
    }

    /// Who sent the request of `ctx`.
    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Caller {
        let open = self.access.mode == Mode::None;
        if let Some(parts) = ctx.extensions.get::<axum::http::request::Parts>() {
            return match parts.extensions.get::<Arc<Principal>>() {
                Some(p) => Caller::Authenticated(Transport::Http, p.clone()),
                None if open => Caller::Trusted(Transport::Http),
                None => Caller::Unknown(Transport::Http),
            };
        }
        if let Some(shared) = &self.session_principal {
            let current = read(shared).clone();
            if let Some(p) = current {
                return Caller::Authenticated(self.transport, p);
            }
        }
        match self.transport {
            Transport::Stdio => Caller::Trusted(Transport::Stdio),
            other if open => Caller::Trusted(other),
            other => Caller::Unknown(other),
        }
    }

    fn allows(&self, caller: &Caller, target: Target<'_>) -> bool {
        self.access.decide(caller, &target) == Decision::Allowed
    }

    /// Refuse a call outside the caller's scopes (JSON-RPC error), or `Ok`.
    fn authorize(
        &self,
        caller: &Caller,
        target: Target<'_>,
        audit: &mut Audit,
    ) -> Result<(), McpError> {
        match self.access.decide(caller, &target) {
            Decision::Allowed => Ok(()),
            Decision::Denied { needed } => {
                let description = match &needed {
                    Some(scope) => format!("{} requires scope '{scope}'", target.describe()),
                    None => format!("no scope grants {}", target.describe()),
                };
                audit.finish(
                    &self.access,
                    "denied",
                    Some(format!("insufficient_scope: {description}")),
                );
                Err(McpError::new(
                    ErrorCode(FORBIDDEN),
                    format!("insufficient_scope: {description}"),
                    Some(json!({ "scope": needed })),
                ))
            }
        }
    }

    /// stdio only (the HTTP layer limits HTTP): `Err` with the refusal message when over a limit.
    fn rate_limit(
        &self,
        caller: &Caller,
        tool: Option<&str>,
        audit: &mut Audit,
    ) -> Result<(), String> {
        if caller.transport() != Transport::Stdio {
            return Ok(());
        }
        self.access
            .limits
            .check(caller.subject(), tool)
            .map_err(|limited| {
                let message = limited.message(caller.subject(), tool);
                audit.finish(&self.access, "limited", Some(message.clone()));
                message
            })
    }

    /// Start the audit record of a call (nothing when the audit log is off), its metrics and its
    /// server span ([`Self::observe`]).
    fn audit(
        &self,
        caller: &Caller,
        ctx: &RequestContext<RoleServer>,
        method: &'static str,
        target: Option<&str>,
    ) -> Audit {
        let mut audit = self.observe(ctx, method, target);
        if let Some(log) = &self.access.audit {
            let mut r = Record::new("call", caller.transport().as_str(), caller.principal());
            r.request_id = serde_json::to_value(&ctx.id).ok();
            r.method = method.to_string();
            audit.record = Some(r);
            audit.raw_arguments = log.raw_arguments;
        }
        audit
    }

    /// Start measuring request `ctx` of `method` (`mcp.server.operation.duration`) and its
    /// server span, named with `target` (a published tool or prompt name) when given; no audit
    /// record.
    fn observe(
        &self,
        ctx: &RequestContext<RoleServer>,
        method: &'static str,
        target: Option<&str>,
    ) -> Audit {
        let stdio = self.transport == Transport::Stdio
            && ctx.extensions.get::<axum::http::request::Parts>().is_none();
        Audit {
            record: None,
            raw_arguments: false,
            started: Instant::now(),
            span: tracing_span::request_span(ctx, method, target, stdio),
            op: OperationLabels {
                method,
                protocol_version: ctx.protocol_version().map(|v| v.to_string()),
                stdio,
                ..OperationLabels::default()
            },
        }
    }

    /// Run `work`, request `ctx` of `method`, measured and under its server span.
    async fn observed<T>(
        &self,
        ctx: &RequestContext<RoleServer>,
        method: &'static str,
        work: impl Future<Output = Result<T, McpError>>,
    ) -> Result<T, McpError> {
        let mut audit = self.observe(ctx, method, None);
        let result = trace::within(audit.span.context(), work).await;
        audit.finish_result(&self.access, &result);
        result
    }

    pub(crate) fn catalog(&self) -> Arc<Catalog> {
        self.shared.hub().catalog()
    }

    fn scope(&self, ctx: &RequestContext<RoleServer>) -> RequestScope {
        // A 2025-11-25 session that never chose a level gets the server's default; 2026-07-28
        // requests opt in per request (`_meta`).
        let session = ctx
            .protocol_version()
            .is_none_or(|v| v < ProtocolVersion::V_2026_07_28);
        let session_level = lock(&self.log_level)
            .or_else(|| session.then(|| self.shared.default_log_level()).flatten());
        let client = client::McpClient {
            peer: ctx.peer.clone(),
            progress_token: ctx.meta.get_progress_token(),
            log_level: ctx.meta.log_level().or(session_level),
            capabilities: ctx.client_capabilities().map(Arc::new),
            protocol_version: ctx.protocol_version().map(|v| v.to_string()),
        };
        RequestScope {
            client: Some(Arc::new(client)),
            cancel: ctx.ct.clone(),
            resource_updates: Some(self.updates.clone()),
            trace: tracing_span::current(),
            time_limit: None,
        }
    }
}

fn rate_limited(message: String) -> McpError {
    McpError::new(ErrorCode(RATE_LIMITED), message, None)
}

impl CapsuleServer {
    /// The page of a list result `request`'s cursor asks for, of the `items` (sorted by key) the
    /// caller may see ([`lists::list_page`]); a cursor this server did not issue is `-32602`.
    fn list<L: Listing>(
        &self,
        items: Vec<L::Item>,
        visible: impl FnMut(&L::Item) -> bool,
        request: Option<PaginatedRequestParams>,
    ) -> Result<L, McpError> {
        list_page(items, visible, request.as_ref(), self.shared.page_size())
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
            tracing::error!(plugin, "{what} failed: plugin trapped: {detail:?}");
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
        self.shared
            .hub()
            .add_session(ctx.peer.clone(), self.subscriptions.clone());
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // 2026-07-28 `subscriptions/listen`: every list-changed kind and every requested
        // resource URI this catalog serves; rmcp narrows it to what was requested and what the
        // capabilities advertise.
        let catalog = self.catalog();
        let mut accepted = SubscriptionFilter::builder()
            .tools_list_changed()
            .prompts_list_changed()
            .resources_list_changed()
            .build();
        accepted.resource_subscriptions = requested.resource_subscriptions.as_ref().map(|uris| {
            uris.iter()
                .filter(|uri| catalog.resource_owner(uri).is_ok())
                .cloned()
                .collect()
        });
        Some(accepted)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.observed(&ctx, "resources/subscribe", async {
            let catalog = self.catalog();
            let caller = self.caller(&ctx);
            let uri = request.uri;
            match catalog.resource_owner(&uri) {
                Ok(owner) => {
                    let target = Target::Resource {
                        plugin: owner.name(),
                        uri: &uri,
                    };
                    if !self.allows(&caller, target) {
                        return Err(McpError::new(
                            ErrorCode(FORBIDDEN),
                            format!(
                                "insufficient_scope: no scope of this caller covers resource '{uri}'"
                            ),
                            None,
                        ));
                    }
                }
                Err(e) => {
                    return Err(McpError::resource_not_found(
                        format!("cannot subscribe: {e}"),
                        Some(json!({ "uri": uri })),
                    ));
                }
            }
            lock(&self.subscriptions).insert(uri);
            Ok(())
        })
        .await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.observed(&ctx, "resources/unsubscribe", async {
            lock(&self.subscriptions).remove(&request.uri);
            Ok(())
        })
        .await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.observed(
            &ctx,
            "completion/complete",
            self.complete_checked(request, &ctx),
        )
        .await
    }

    async fn ping(&self, ctx: RequestContext<RoleServer>) -> Result<(), McpError> {
        self.observed(&ctx, "ping", async { Ok(()) }).await
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        // rmcp's default, measured: remember the client, negotiate the version.
        self.observed(&ctx, "initialize", async {
            ctx.peer.set_peer_info(request.clone());
            let mut result = self.negotiate_initialize(&request)?;
            if result.protocol_version == ProtocolVersion::V_2025_11_25 {
                self.offer_tasks(&ctx, &mut result);
            }
            Ok(result)
        })
        .await
    }

    async fn discover(&self, ctx: RequestContext<RoleServer>) -> Result<DiscoverResult, McpError> {
        // rmcp's default, measured.
        self.observed(&ctx, "server/discover", async {
            Ok(DiscoverResult::from_server_info(
                self.supported_protocol_versions().into_owned(),
                self.get_info(),
            ))
        })
        .await
    }

    async fn listen(&self, ctx: SubscriptionContext) -> Result<(), McpError> {
        let hub = self.shared.hub();
        let key = hub.add_listener(ctx.sink().clone());
        ctx.cancelled().await;
        hub.remove_listener(key);
        Ok(())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.observed(&ctx, "logging/setLevel", async {
            *lock(&self.log_level) = Some(request.level);
            Ok(())
        })
        .await
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        self.observed(&ctx, "tasks/get", async {
            self.task_status(&request, &ctx)
        })
        .await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.observed(&ctx, "tasks/update", async {
            self.task_update(&request, &ctx)
        })
        .await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.observed(&ctx, "tasks/cancel", async {
            self.task_cancel(&request, &ctx)
        })
        .await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.catalog().tool(name).map(|entry| entry.tool.clone())
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.observed(&ctx, "tools/list", async {
            let caller = self.caller(&ctx);
            let catalog = self.catalog();
            let visible = |t: &Tool| {
                catalog.tool(&t.name).is_some_and(|e| {
                    let plugin = e.plugin.name();
                    self.allows(
                        &caller,
                        Target::Tool {
                            plugin,
                            name: &t.name,
                        },
                    )
                })
            };
            let mut list = self.list(catalog.tool_list(), visible, request)?;
            if task_calls_2025::session_2025(&ctx) {
                self.mark_task_support(&mut list);
            }
            Ok(list)
        })
        .await
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        self.custom_request(request, ctx).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = self.caller(&ctx);
        let name = request.name.to_string();
        let catalog = self.catalog();
        let known = catalog.tool(&name).map(|_| name.as_str());
        let mut audit = self.audit(&caller, &ctx, "tools/call", known);
        // The span (one request's record) names even a tool the catalog does not have; span
        // names and metric labels keep to published names.
        audit.span.set("gen_ai.tool.name", name.clone());
        audit.set(|r| r.tool = Some(name.clone()));
        audit.arguments(request.arguments.as_ref());
        if let Some(entry) = catalog.tool(&name) {
            let plugin = entry.plugin.name();
            audit.op.tool = Some(name.clone());
            audit.op.plugin = Some(plugin.to_string());
            audit.set(|r| r.plugin = Some(plugin.to_string()));
            self.authorize(
                &caller,
                Target::Tool {
                    plugin,
                    name: &name,
                },
                &mut audit,
            )?;
            if let Err(message) = self.rate_limit(&caller, Some(&name), &mut audit) {
                if ctx
                    .extensions
                    .get::<task_calls_2025::TaskRequest>()
                    .is_some()
                {
                    // A 2025-11-25 task request is answered with a task or an error.
                    return Err(rate_limited(message));
                }
                return Ok(CallToolResponse::from(tool_error(message)));
            }
        }
        drop(catalog);
        let result = self
            .shared
            .in_flight()
            // Boxed: rmcp's per-request task moves this future several times, and the tool
            // call's state (~5 KB) would be copied each time (BENCHMARKS.md, profiles).
            .track(Box::pin(trace::within(
                audit.span.context(),
                self.run_tool(request, ctx, caller.subject()),
            )))
            .await;
        match &result {
            Ok(CallToolResponse::InputRequired(_)) => {
                audit.finish(&self.access, "input_required", None)
            }
            Ok(CallToolResponse::Task(_)) => audit.finish(&self.access, "task", None),
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => {
                // The error text may echo the arguments: only with --audit-arguments.
                let reason = r
                    .content
                    .iter()
                    .find_map(|c| {
                        c.as_text()
                            .map(|t| t.text.chars().take(200).collect::<String>())
                    })
                    .filter(|_| audit.raw_arguments);
                audit.finish(&self.access, "tool_error", reason);
            }
            other => audit.finish_result(&self.access, other),
        }
        result
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        self.observed(&ctx, "resources/list", async {
            let catalog = self.catalog();
            if !catalog.has_resources() {
                return Err(McpError::method_not_found::<ListResourcesRequestMethod>());
            }
            let caller = self.caller(&ctx);
            let visible = |r: &Resource| {
                catalog.resource_owner(&r.uri).is_ok_and(|owner| {
                    let plugin = owner.name();
                    self.allows(
                        &caller,
                        Target::Resource {
                            plugin,
                            uri: &r.uri,
                        },
                    )
                })
            };
            self.list(catalog.resource_list(), visible, request)
        })
        .await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        self.observed(&ctx, "resources/templates/list", async {
            let catalog = self.catalog();
            if !catalog.has_resources() {
                return Err(McpError::method_not_found::<
                    ListResourceTemplatesRequestMethod,
                >());
            }
            let caller = self.caller(&ctx);
            let visible = |t: &ResourceTemplate| {
                let template = t.uri_template.as_str();
                catalog.template(template).is_some_and(|e| {
                    let plugin = e.plugin.name();
                    self.allows(
                        &caller,
                        Target::Resource {
                            plugin,
                            uri: template,
                        },
                    )
                })
            };
            self.list(catalog.template_list(), visible, request)
        })
        .await
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
        let caller = self.caller(&ctx);
        let mut audit = self.audit(&caller, &ctx, "resources/read", None);
        audit.set(|r| r.resource = Some(uri.to_string()));
        audit.op.resource = Some(uri.to_string());
        let cx = audit.span.context();
        let result = trace::within(
            cx,
            self.read_checked(&catalog, uri, &caller, &mut audit, ctx),
        )
        .await;
        audit.finish_result(&self.access, &result);
        result.map(ReadResourceResponse::from)
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.observed(&ctx, "prompts/list", async {
            let catalog = self.catalog();
            if !catalog.has_prompts() {
                return Err(McpError::method_not_found::<ListPromptsRequestMethod>());
            }
            let caller = self.caller(&ctx);
            let visible = |p: &Prompt| {
                catalog.prompt(&p.name).is_some_and(|e| {
                    let plugin = e.plugin.name();
                    self.allows(
                        &caller,
                        Target::Prompt {
                            plugin,
                            name: &p.name,
                        },
                    )
                })
            };
            self.list(catalog.prompt_list(), visible, request)
        })
        .await
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
        let caller = self.caller(&ctx);
        let known = catalog.prompt(name).map(|_| name);
        let mut audit = self.audit(&caller, &ctx, "prompts/get", known);
        audit.op.prompt = known.map(str::to_string);
        audit.set(|r| r.prompt = Some(name.to_string()));
        audit.arguments(request.arguments.as_ref());
        let cx = audit.span.context();
        let result = trace::within(
            cx,
            self.get_checked(&catalog, &request, &caller, &mut audit, ctx),
        )
        .await;
        match &result {
            Ok(GetPromptResponse::InputRequired(_)) => {
                audit.finish(&self.access, "input_required", None)
            }
            other => audit.finish_result(&self.access, other),
        }
        result
    }
}
