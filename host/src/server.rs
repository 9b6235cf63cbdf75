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
//!
//! Authorization ([`crate::auth`]): every request's caller is the principal the HTTP auth layer
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

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext, RoleServer, SubscriptionContext};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{Value, json};

use crate::auth::audit::{Record, arguments_digest};
use crate::auth::challenge::{FORBIDDEN, RATE_LIMITED};
use crate::auth::scopes::{Decision, Target};
use crate::auth::{Access, Caller, Mode, Principal, SessionPrincipal, Transport};
use crate::catalog::{Catalog, ResolveError};
use crate::convert;
use crate::hub::{Hub, Subscriptions};
use crate::mrtr::{self, Binding};
use crate::pagination;
use crate::runtime::bindings::{completions, prompts, tools, types};
use crate::runtime::{CallError, RequestScope, ResourceUpdates};

/// The Capsule MCP server over a fixed catalog.
#[derive(Clone)]
pub struct CapsuleServer {
    hub: Arc<Hub>,
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
    /// A server answering from `hub`'s catalog; `live` when the catalog is kept current by a
    /// watcher. It serves stdio with no scopes, limits or audit until [`Self::with_access`].
    pub fn new(hub: Arc<Hub>, live: bool) -> Self {
        Self {
            updates: Arc::new(hub.clone()),
            hub,
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
            let current = shared.read().unwrap_or_else(|e| e.into_inner()).clone();
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
                    ErrorCode(FORBIDDEN as i32),
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

    /// Start the audit record of a call (nothing when the audit log is off).
    fn audit(&self, caller: &Caller, ctx: &RequestContext<RoleServer>, method: &str) -> Audit {
        let record = self.access.audit.as_ref().map(|log| {
            let mut r = Record::new("call", caller.transport().as_str(), caller.principal());
            r.request_id = serde_json::to_value(&ctx.id).ok();
            r.method = method.to_string();
            (r, log.raw_arguments)
        });
        Audit {
            record: record.as_ref().map(|(r, _)| r.clone()),
            raw_arguments: record.is_some_and(|(_, raw)| raw),
            started: Instant::now(),
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
            client_capabilities: ctx.client_capabilities().map(Arc::new),
            resource_updates: Some(self.updates.clone()),
        }
    }
}

/// The audit record of one call in progress.
struct Audit {
    record: Option<Record>,
    raw_arguments: bool,
    started: Instant,
}

impl Audit {
    fn set(&mut self, f: impl FnOnce(&mut Record)) {
        if let Some(r) = &mut self.record {
            f(r);
        }
    }

    fn arguments(&mut self, arguments: &Value) {
        let raw = self.raw_arguments;
        self.set(|r| {
            r.arguments_sha256 = Some(arguments_digest(arguments));
            if raw {
                r.arguments = Some(arguments.clone());
            }
        });
    }

    /// Write the record with its outcome (once).
    fn finish(&mut self, access: &Access, outcome: &'static str, reason: Option<String>) {
        if let Some(mut r) = self.record.take() {
            r.outcome = outcome;
            r.reason = reason;
            access.record(r.took(self.started.elapsed()));
        }
    }

    fn finish_result<T>(&mut self, access: &Access, result: &Result<T, McpError>) {
        match result {
            Ok(_) => self.finish(access, "ok", None),
            Err(e) => self.finish(access, "error", Some(e.message.to_string())),
        }
    }
}

fn rate_limited(message: String) -> McpError {
    McpError::new(ErrorCode(RATE_LIMITED as i32), message, None)
}

impl CapsuleServer {
    /// The page of a sorted list that `request`'s cursor asks for ([`pagination`]); a cursor
    /// this server did not issue is `-32602`.
    fn page<T>(
        &self,
        items: Vec<T>,
        key: impl Fn(&T) -> &str,
        request: &Option<PaginatedRequestParams>,
    ) -> Result<pagination::Page<T>, McpError> {
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        pagination::page(items, key, cursor, self.hub.page_size())
            .map_err(|e| McpError::invalid_params(e.to_string(), None))
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
        subject: &str,
    ) -> Result<CallToolResponse, McpError> {
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
            return Ok(
                tool_error(format!("invalid arguments for tool '{name}': {message}")).into(),
            );
        }
        let plugin = entry.plugin.name();
        let binding = Binding {
            method: "tools/call",
            name,
            subject,
        };
        let states = self.hub.request_states();
        let mut resume = mrtr::resumption(
            states,
            &binding,
            request.input_responses.as_ref(),
            request.request_state.as_deref(),
        )?;
        let mut rounds = 0;
        let outcome = loop {
            let outcome = entry
                .plugin
                .call_tool(
                    self.scope(&ctx),
                    &entry.name,
                    arguments.to_string(),
                    resume.take(),
                )
                .await;
            let asked = match outcome {
                Ok(tools::CallOutcome::InputRequired(asked)) => asked,
                other => break other,
            };
            rounds += 1;
            match self
                .next_round(&ctx, &binding, plugin, asked, rounds)
                .await?
            {
                Round::Answer(result) => return Ok(CallToolResponse::InputRequired(result)),
                Round::Failed(message) => {
                    return Ok(tool_error(format!("tool '{name}' failed: {message}")).into());
                }
                Round::Again(next) => resume = Some(next),
            }
        };
        let result = match outcome {
            Ok(tools::CallOutcome::Complete(result)) => result,
            Ok(tools::CallOutcome::InputRequired(_)) => unreachable!("handled in the loop"),
            Err(CallError::Cancelled) => {
                return Err(McpError::internal_error("request cancelled", None));
            }
            Err(CallError::Trap(detail)) => {
                tracing::error!(plugin, tool = name, "tool call trapped: {detail}");
                return Ok(tool_error(format!(
                    "tool '{name}' failed: the plugin crashed (details in the server log)"
                ))
                .into());
            }
            Err(error) => {
                tracing::info!(plugin, tool = name, "tool call failed: {error}");
                return Ok(tool_error(format!("tool '{name}' failed: {error}")).into());
            }
        };
        let converted = match convert::call_tool_result(&result) {
            Ok(converted) => converted,
            Err(message) => {
                tracing::error!(plugin, tool = name, "malformed tool result: {message}");
                return Ok(tool_error(format!(
                    "tool '{name}' returned a malformed result: {message}"
                ))
                .into());
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
                ))
                .into());
            }
        }
        Ok(converted.into())
    }

    /// A plugin answered `input-required` (round `rounds` of a request): what to do next. In
    /// 2026-07-28 the answer is an `InputRequiredResult` for the client to act on; in 2025-11-25
    /// the host asks the client itself and returns the resumption for the plugin's next round.
    ///
    /// # Errors
    /// `-32021` when a 2026-07-28 client did not declare a capability the requests need.
    async fn next_round(
        &self,
        ctx: &RequestContext<RoleServer>,
        binding: &Binding<'_>,
        plugin: &str,
        asked: types::InputRequired,
        rounds: usize,
    ) -> Result<Round, McpError> {
        if let Err(message) = mrtr::check(&asked) {
            tracing::error!(plugin, name = binding.name, "bad input-required: {message}");
            return Ok(Round::Failed(format!("the plugin {message}")));
        }
        let stateless = ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        let declared = ctx.client_capabilities();
        if let Some(missing) = mrtr::missing_capabilities(&asked, declared.as_ref()) {
            if stateless {
                return Err(McpError::missing_required_client_capability(missing));
            }
            return Ok(Round::Failed(format!(
                "it needs the client capabilities {} (elicitation, sampling or roots), which this \
                 client did not declare in initialize",
                mrtr::capability_names(&missing)
            )));
        }
        if stateless {
            let states = self.hub.request_states();
            return match mrtr::input_required_result(states, binding, &asked) {
                Ok(result) => Ok(Round::Answer(result)),
                Err(message) => {
                    tracing::error!(plugin, name = binding.name, "bad input-required: {message}");
                    Ok(Round::Failed(format!("the plugin's {message}")))
                }
            };
        }
        if rounds > mrtr::MAX_ROUNDS {
            return Ok(Round::Failed(format!(
                "the plugin asked the client for input more than {} times",
                mrtr::MAX_ROUNDS
            )));
        }
        match mrtr::ask_client(&ctx.peer, &asked, &ctx.ct).await {
            Ok(responses) => Ok(Round::Again(types::Resumption {
                responses,
                state: asked.state,
            })),
            Err(message) => Ok(Round::Failed(message)),
        }
    }
}

/// What [`CapsuleServer::next_round`] decided.
enum Round {
    /// 2026-07-28: answer the client with this result.
    Answer(InputRequiredResult),
    /// 2025-11-25: the client answered; call the plugin again with this.
    Again(types::Resumption),
    /// The request cannot go on: this message, as a tool error or request error.
    Failed(String),
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
        self.hub
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
                        ErrorCode(FORBIDDEN as i32),
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
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.subscriptions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&request.uri);
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.complete_checked(request, ctx).await
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
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&ctx);
        let catalog = self.catalog();
        let tools = catalog
            .tool_list()
            .into_iter()
            .filter(|t| {
                catalog.tool(&t.name).is_some_and(|e| {
                    self.allows(
                        &caller,
                        Target::Tool {
                            plugin: e.plugin.name(),
                            name: &t.name,
                        },
                    )
                })
            })
            .collect();
        let page = self.page(tools, |t: &Tool| t.name.as_ref(), &request)?;
        let mut result = ListToolsResult::with_all_items(page.items);
        result.next_cursor = page.next_cursor;
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = self.caller(&ctx);
        let mut audit = self.audit(&caller, &ctx, "tools/call");
        let name = request.name.to_string();
        audit.set(|r| r.tool = Some(name.clone()));
        audit.arguments(&Value::Object(
            request.arguments.clone().unwrap_or_default(),
        ));
        let catalog = self.catalog();
        if let Some(entry) = catalog.tool(&name) {
            let plugin = entry.plugin.name();
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
                return Ok(CallToolResponse::from(tool_error(message)));
            }
        }
        drop(catalog);
        let result = self
            .hub
            .calls()
            .track_future(self.run_tool(request, ctx, caller.subject()))
            .await;
        match &result {
            Ok(CallToolResponse::InputRequired(_)) => {
                audit.finish(&self.access, "input_required", None)
            }
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
        let catalog = self.catalog();
        if !catalog.has_resources() {
            return Err(McpError::method_not_found::<ListResourcesRequestMethod>());
        }
        let caller = self.caller(&ctx);
        let resources = catalog
            .resource_list()
            .into_iter()
            .filter(|r| {
                catalog.resource_owner(&r.uri).is_ok_and(|owner| {
                    self.allows(
                        &caller,
                        Target::Resource {
                            plugin: owner.name(),
                            uri: &r.uri,
                        },
                    )
                })
            })
            .collect();
        let page = self.page(resources, |r: &Resource| r.uri.as_str(), &request)?;
        let mut result = ListResourcesResult::with_all_items(page.items);
        result.next_cursor = page.next_cursor;
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let catalog = self.catalog();
        if !catalog.has_resources() {
            return Err(McpError::method_not_found::<
                ListResourceTemplatesRequestMethod,
            >());
        }
        let caller = self.caller(&ctx);
        let templates = catalog
            .template_list()
            .into_iter()
            .filter(|t| {
                catalog
                    .plugins()
                    .iter()
                    .find(|p| p.resource_templates.contains(&t.uri_template))
                    .is_some_and(|p| {
                        self.allows(
                            &caller,
                            Target::Resource {
                                plugin: &p.name,
                                uri: &t.uri_template,
                            },
                        )
                    })
            })
            .collect();
        let page = self.page(
            templates,
            |t: &ResourceTemplate| t.uri_template.as_str(),
            &request,
        )?;
        let mut result = ListResourceTemplatesResult::with_all_items(page.items);
        result.next_cursor = page.next_cursor;
        Ok(result)
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
        let mut audit = self.audit(&caller, &ctx, "resources/read");
        audit.set(|r| r.resource = Some(uri.to_string()));
        let result = self
            .read_checked(&catalog, uri, &caller, &mut audit, ctx)
            .await;
        audit.finish_result(&self.access, &result);
        result.map(ReadResourceResponse::from)
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let catalog = self.catalog();
        if !catalog.has_prompts() {
            return Err(McpError::method_not_found::<ListPromptsRequestMethod>());
        }
        let caller = self.caller(&ctx);
        let prompts = catalog
            .prompt_list()
            .into_iter()
            .filter(|p| {
                catalog.prompt(&p.name).is_some_and(|e| {
                    self.allows(
                        &caller,
                        Target::Prompt {
                            plugin: e.plugin.name(),
                            name: &p.name,
                        },
                    )
                })
            })
            .collect();
        let page = self.page(prompts, |p: &Prompt| p.name.as_str(), &request)?;
        let mut result = ListPromptsResult::with_all_items(page.items);
        result.next_cursor = page.next_cursor;
        Ok(result)
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
        let mut audit = self.audit(&caller, &ctx, "prompts/get");
        audit.set(|r| r.prompt = Some(name.to_string()));
        audit.arguments(&Value::Object(
            request.arguments.clone().unwrap_or_default(),
        ));
        let result = self
            .get_checked(&catalog, &request, &caller, &mut audit, ctx)
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

impl CapsuleServer {
    async fn read_checked(
        &self,
        catalog: &Catalog,
        uri: &str,
        caller: &Caller,
        audit: &mut Audit,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, McpError> {
        let plugin = catalog.resource_owner(uri).map_err(|e| match e {
            ResolveError::NotFound(_) => {
                McpError::resource_not_found(e.to_string(), Some(json!({ "uri": uri })))
            }
            ResolveError::Ambiguous { .. } => McpError::internal_error(e.to_string(), None),
        })?;
        audit.set(|r| r.plugin = Some(plugin.name().to_string()));
        self.authorize(
            caller,
            Target::Resource {
                plugin: plugin.name(),
                uri,
            },
            audit,
        )?;
        self.rate_limit(caller, None, audit).map_err(rate_limited)?;
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
        convert::read_resource_result(&contents).map_err(|m| {
            tracing::error!(plugin = plugin.name(), "malformed resource contents: {m}");
            McpError::internal_error(
                format!("{what}: the plugin returned malformed contents: {m}"),
                None,
            )
        })
    }

    async fn get_checked(
        &self,
        catalog: &Catalog,
        request: &GetPromptRequestParams,
        caller: &Caller,
        audit: &mut Audit,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let name = request.name.as_str();
        let Some(entry) = catalog.prompt(name) else {
            return Err(McpError::invalid_params(
                format!("unknown prompt '{name}'; prompts/list shows the available prompts"),
                Some(json!({ "prompt": name })),
            ));
        };
        audit.set(|r| r.plugin = Some(entry.plugin.name().to_string()));
        self.authorize(
            caller,
            Target::Prompt {
                plugin: entry.plugin.name(),
                name,
            },
            audit,
        )?;
        self.rate_limit(caller, None, audit).map_err(rate_limited)?;
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
        let binding = Binding {
            method: "prompts/get",
            name,
            subject: caller.subject(),
        };
        let mut resume = mrtr::resumption(
            self.hub.request_states(),
            &binding,
            request.input_responses.as_ref(),
            request.request_state.as_deref(),
        )?;
        let mut rounds = 0;
        let result = loop {
            let outcome = self
                .hub
                .calls()
                .track_future(entry.plugin.get_prompt(
                    self.scope(&ctx),
                    &entry.name,
                    &arguments,
                    resume.take(),
                ))
                .await
                .map_err(|e| request_error(plugin, &what, e))?;
            let asked = match outcome {
                prompts::PromptOutcome::Complete(result) => break result,
                prompts::PromptOutcome::InputRequired(asked) => asked,
            };
            rounds += 1;
            match self
                .next_round(&ctx, &binding, plugin, asked, rounds)
                .await?
            {
                Round::Answer(result) => return Ok(GetPromptResponse::InputRequired(result)),
                Round::Failed(message) => {
                    return Err(McpError::invalid_request(
                        format!("{what}: {message}"),
                        None,
                    ));
                }
                Round::Again(next) => resume = Some(next),
            }
        };
        convert::get_prompt_result(&result)
            .map(GetPromptResponse::from)
            .map_err(|m| {
                tracing::error!(plugin, "malformed prompt result: {m}");
                McpError::internal_error(
                    format!("{what}: the plugin returned a malformed result: {m}"),
                    None,
                )
            })
    }

    /// `completion/complete`: ask the plugin that owns the prompt or resource template.
    async fn complete_checked(
        &self,
        request: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let catalog = self.catalog();
        let caller = self.caller(&ctx);
        let (plugin, reference, target) = match &request.r#ref {
            Reference::Prompt(p) => {
                let Some(entry) = catalog.prompt(&p.name) else {
                    return Err(McpError::invalid_params(
                        format!(
                            "unknown prompt '{}'; prompts/list shows the available prompts",
                            p.name
                        ),
                        Some(json!({ "prompt": p.name })),
                    ));
                };
                let target = Target::Prompt {
                    plugin: entry.plugin.name(),
                    name: &p.name,
                };
                let reference = completions::CompletionReference::Prompt(entry.name.clone());
                (entry.plugin.clone(), reference, target)
            }
            Reference::Resource(r) => {
                let Some(entry) = catalog.template(&r.uri) else {
                    return Err(McpError::invalid_params(
                        format!(
                            "unknown resource template '{}'; resources/templates/list shows them",
                            r.uri
                        ),
                        Some(json!({ "uri": r.uri })),
                    ));
                };
                let target = Target::Resource {
                    plugin: entry.plugin.name(),
                    uri: &r.uri,
                };
                let reference = completions::CompletionReference::ResourceTemplate(r.uri.clone());
                (entry.plugin.clone(), reference, target)
            }
            _ => {
                return Err(McpError::invalid_params(
                    "completion/complete: ref must be ref/prompt or ref/resource",
                    None,
                ));
            }
        };
        if !self.allows(&caller, target) {
            return Err(McpError::new(
                ErrorCode(FORBIDDEN as i32),
                "insufficient_scope: no scope of this caller covers the completion's target",
                None,
            ));
        }
        if !plugin.exports().completions {
            // Nothing to suggest: the plugin has no completions (e.g. built for 0.1.0).
            return Ok(CompleteResult::default());
        }
        let context: Vec<(String, String)> = request
            .context
            .as_ref()
            .and_then(|c| c.arguments.as_ref())
            .map(|args| args.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let argument = &request.argument;
        let what = format!("completion of '{}'", argument.name);
        let completion = self
            .hub
            .calls()
            .track_future(plugin.complete(
                self.scope(&ctx),
                &reference,
                &argument.name,
                &argument.value,
                &context,
            ))
            .await
            .map_err(|e| request_error(plugin.name(), &what, e))?;
        let mut values = completion.values;
        let mut has_more = completion.has_more;
        if values.len() > CompletionInfo::MAX_VALUES {
            values.truncate(CompletionInfo::MAX_VALUES);
            has_more = true;
        }
        let info = CompletionInfo::with_pagination(values, completion.total, has_more)
            .map_err(|m| McpError::internal_error(format!("{what}: {m}"), None))?;
        Ok(CompleteResult::new(info))
    }
}
