//! Tool calls as the experimental tasks of MCP 2025-11-25 ("Basic → Utilities → Tasks") and that
//! revision's `tasks/get`, `tasks/result`, `tasks/list` and `tasks/cancel`, for sessions that
//! negotiated 2025-11-25. The transports route these requests here as custom requests
//! ([`crate::tasks::v2025::route`]); the tasks are the same records, caps, ownership, time limit
//! and retention as the 2026-07-28 extension's (`task_calls.rs`). What differs:
//! - a `tools/call` with `params.task` answers `{"task": Task}` at once (no synchronous window);
//!   `task.ttl` (milliseconds) may shorten how long the result is kept, never lengthen it;
//! - `tasks/result` blocks until the task ends and then answers exactly what the call would have:
//!   its result (with `_meta` `io.modelcontextprotocol/related-task`) or its JSON-RPC error. While
//!   the task is `input_required` it puts the plugin's requests (elicitation, sampling, roots) to
//!   its client, tied to the task by the same `_meta`, and the answers resume the task;
//! - `tasks/list` pages through the caller's tasks; `tasks/cancel` makes a running task
//!   `cancelled` before it answers and refuses an ended one (`-32602`);
//! - the plugin's progress and log lines keep reaching the session while the task runs (the
//!   request's progress token stays valid for the task's lifetime).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::ServerHandler as _;
use rmcp::model::*;
use rmcp::service::{Peer, RequestContext, RoleServer};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::CapsuleServer;
use super::task_calls::{TaskCall, drive, first_round, settle};
use super::tool_rounds::Ended;
use crate::mrtr;
use crate::pagination;
use crate::tasks::v2025::{self, ROUTED_PREFIX};
use crate::tasks::{Asker, TaskCapError, TaskRecord};
use capsule_common::codes::SERVER_BUSY;
use capsule_common::task_support::{META_KEY, TaskSupport};

/// A `tools/call`'s `params.task` (2025-11-25 "Creating Tasks"), which the routed request
/// leaves in the request's extensions for the call to find.
#[derive(Clone, Copy, Debug)]
pub(super) struct TaskRequest {
    /// The retention the client asked for (`task.ttl`).
    pub ttl: Option<Duration>,
}

/// Whether `ctx` belongs to a session that negotiated 2025-11-25, the revision with these tasks.
pub(super) fn session_2025(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version() == Some(ProtocolVersion::V_2025_11_25)
}

/// `-32601` for a request of 2025-11-25's tasks that cannot be served: `message` says why.
fn not_found(message: String) -> McpError {
    McpError::new(ErrorCode::METHOD_NOT_FOUND, message, None)
}

/// The task's own `Task` object as a result.
fn shown(task: &TaskRecord) -> Value {
    Value::Object(v2025::task(&task.detailed()))
}

impl CapsuleServer {
    /// A custom request: one of 2025-11-25's task requests the transports routed here, in a
    /// 2025-11-25 session; anything else is `-32601`.
    pub(super) async fn custom_request(
        &self,
        request: CustomRequest,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        let Some(method) = request.method.strip_prefix(ROUTED_PREFIX) else {
            return Err(not_found(format!("Method not found: {}", request.method)));
        };
        if !session_2025(&ctx) {
            let version = ctx
                .protocol_version()
                .map_or_else(|| "none".to_string(), |v| v.to_string());
            return Err(not_found(format!(
                "Method not found: {method} with a task belongs to the experimental tasks of MCP \
                 {}, and this session speaks {version}",
                v2025::REVISION
            )));
        }
        let params = request.params.unwrap_or_else(|| json!({}));
        let value = match method {
            "tools/call" => self.call_2025(params, ctx).await?,
            "tasks/get" => {
                self.observed(&ctx, "tasks/get", async {
                    Ok(shown(&*self.named_task(&params, &ctx)?))
                })
                .await?
            }
            "tasks/result" => {
                self.observed(&ctx, "tasks/result", async {
                    self.task_result(&*self.named_task(&params, &ctx)?, &ctx)
                        .await
                })
                .await?
            }
            "tasks/list" => {
                self.observed(&ctx, "tasks/list", async { self.task_list(&params, &ctx) })
                    .await?
            }
            "tasks/cancel" => {
                self.observed(&ctx, "tasks/cancel", async {
                    self.cancel(&*self.named_task(&params, &ctx)?)
                })
                .await?
            }
            other => return Err(not_found(format!("Method not found: {other}"))),
        };
        Ok(CustomResult(value))
    }

    /// A task-augmented `tools/call`: the ordinary call (authorization, rate limit, audit) with
    /// the request's [`TaskRequest`], answered `{"task": Task}`.
    async fn call_2025(
        &self,
        mut params: Value,
        mut ctx: RequestContext<RoleServer>,
    ) -> Result<Value, McpError> {
        let task = params
            .as_object_mut()
            .and_then(|p| p.remove("task"))
            .unwrap_or(Value::Null);
        let ttl = match task.get("ttl") {
            _ if !task.is_object() => {
                return Err(McpError::invalid_params(
                    "params.task must be an object: {\"ttl\": milliseconds} or {}",
                    None,
                ));
            }
            None | Some(Value::Null) => None,
            Some(ttl) => Some(Duration::from_millis(ttl.as_u64().ok_or_else(|| {
                McpError::invalid_params("params.task.ttl must be a number of milliseconds", None)
            })?)),
        };
        let request: CallToolRequestParams = serde_json::from_value(params).map_err(|e| {
            McpError::invalid_params(format!("invalid tools/call params: {e}"), None)
        })?;
        ctx.extensions.insert(TaskRequest { ttl });
        let subject = self.caller(&ctx).subject().to_string();
        match self.call_tool(request, ctx).await? {
            CallToolResponse::Task(created) => {
                let task = self.shared.tasks().get(&subject, &created.task.task_id)?;
                Ok(json!({ "task": shown(&task) }))
            }
            CallToolResponse::Complete(result) => serde_json::to_value(result)
                .map_err(|e| McpError::internal_error(format!("unencodable result: {e}"), None)),
            _ => Err(McpError::internal_error(
                "the call answered neither a task nor a result",
                None,
            )),
        }
    }

    /// Start `call` as a 2025-11-25 task of `subject`, or, with `ended`, record that result as a
    /// task that has already ended (arguments the tool's schema refused).
    ///
    /// # Errors
    /// `-32000` when the caller's or the plugin's cap of tasks is full.
    pub(super) fn run_as_task_2025(
        &self,
        call: TaskCall,
        request: TaskRequest,
        ctx: &RequestContext<RoleServer>,
        subject: &str,
        ended: Option<CallToolResult>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(entry) = call.catalog.tool(&call.name) else {
            return Err(McpError::internal_error("the tool left the catalog", None));
        };
        let limits = entry.plugin.grants().limits;
        let task = self
            .shared
            .tasks()
            .create(
                subject,
                entry.plugin.name(),
                limits.max_tasks,
                &call.name,
                limits.task_timeout,
                request.ttl,
            )
            .map_err(|full: TaskCapError| {
                McpError::new(ErrorCode(SERVER_BUSY), full.to_string(), None)
            })?;
        task.detach();
        let created = CreateTaskResult::new(task.detailed().task);
        if let Some(result) = ended {
            settle(&task, Ended::Done(result), entry);
            return Ok(CallToolResponse::Task(created));
        }
        let scope = self.task_scope(ctx, &task, true);
        let first = first_round(&call, scope.clone(), None);
        tracing::info!(
            plugin = entry.plugin.name(),
            tool = call.name,
            task = task.id,
            "the call became a task (MCP 2025-11-25)"
        );
        let grace = self.shared.tasks().settings().poll_interval * 2;
        tokio::spawn(ask_session(task.clone(), ctx.peer.clone(), grace));
        tokio::spawn(drive(task, call, first, scope, ctx.client_capabilities()));
        Ok(CallToolResponse::Task(created))
    }

    /// The caller's task that `params.taskId` names (`tasks/get`, `tasks/result`, `tasks/cancel`).
    ///
    /// # Errors
    /// `-32602` without a string `taskId`, or for an id that is not one of the caller's tasks.
    fn named_task(
        &self,
        params: &Value,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Arc<TaskRecord>, McpError> {
        let id = params
            .get("taskId")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                McpError::invalid_params("params.taskId (a string) is required", None)
            })?;
        self.callers_task(ctx, id)
    }

    /// `tasks/result`: wait for `task` to end and answer what its call would have; put the
    /// task's input requests to the client of `ctx` meanwhile.
    ///
    /// # Errors
    /// The call's own JSON-RPC error for a `failed` task; `-32603` for a `cancelled` one, or when
    /// the client did not answer the task's input requests.
    async fn task_result(
        &self,
        task: &TaskRecord,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Value, McpError> {
        let id = task.id.as_str();
        loop {
            // Watch first, then look: a change in between is not missed.
            let mut changes = task.changes();
            match task.detailed().payload {
                TaskPayload::Completed { mut result } => {
                    // Exactly what the call would have answered in this revision.
                    result.remove("resultType");
                    let meta = result.entry("_meta").or_insert_with(|| json!({}));
                    if let (Some(meta), Value::Object(related)) =
                        (meta.as_object_mut(), v2025::related(id))
                    {
                        meta.extend(related);
                    }
                    return Ok(Value::Object(result));
                }
                TaskPayload::Failed { error } => return Err(call_error(&error)),
                TaskPayload::Cancelled => {
                    return Err(McpError::internal_error(
                        format!("task '{id}' was cancelled (tasks/cancel)"),
                        None,
                    ));
                }
                TaskPayload::InputRequired { .. } => {
                    if let Some(requests) = task.claim(Asker::Request) {
                        match put_to_client(&ctx.peer, id, requests, &ctx.ct).await {
                            Ok(answers) => task.answer(&answers),
                            Err(why) => {
                                task.release(Asker::Request);
                                return Err(McpError::internal_error(
                                    format!(
                                        "task '{id}' needs input from the client: {why}; call \
                                         tasks/result again to be asked again"
                                    ),
                                    None,
                                ));
                            }
                        }
                        continue;
                    }
                }
                _ => {}
            }
            tokio::select! {
                _ = changes.changed() => {}
                () = ctx.ct.cancelled() => {
                    return Err(McpError::internal_error("request cancelled", None));
                }
            }
        }
    }

    /// `tasks/list`: a page of the caller's tasks (by id), `nextCursor` when more follow.
    ///
    /// # Errors
    /// `-32602` for a cursor this server did not issue; `-32601` for a caller the server cannot
    /// tell apart from others (HTTP without authentication).
    fn task_list(
        &self,
        params: &Value,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Value, McpError> {
        if !self.identified(ctx) {
            return Err(not_found(
                "Method not found: tasks/list is not offered to clients without authentication, \
                 which the server cannot tell apart (MCP 2025-11-25, Task Isolation); turn on \
                 authentication (capsule serve --auth) to list tasks"
                    .into(),
            ));
        }
        let cursor = params.get("cursor").and_then(Value::as_str);
        let tasks = self.shared.tasks().of(self.caller(ctx).subject());
        let page = pagination::page(tasks, |t| t.id.as_str(), cursor, self.shared.page_size())
            .map_err(|e| McpError::invalid_params(e.to_string(), None))?;
        let mut result = json!({
            "tasks": page.items.iter().map(|t| shown(t)).collect::<Vec<_>>()
        });
        if let Some(next) = page.next_cursor {
            result["nextCursor"] = json!(next);
        }
        Ok(result)
    }

    /// `tasks/cancel`: stop `task` (its running instance at once) and answer it, `cancelled`.
    ///
    /// # Errors
    /// `-32602` for a task that has ended.
    fn cancel(&self, task: &TaskRecord) -> Result<Value, McpError> {
        let id = task.id.as_str();
        if task.is_terminal() {
            let status = shown(task)["status"].clone();
            return Err(McpError::invalid_params(
                format!("cannot cancel task '{id}': it has already ended ({status})"),
                Some(json!({ "taskId": id })),
            ));
        }
        task.cancel.cancel();
        task.cancelled();
        Ok(shown(task))
    }

    /// Offer a 2025-11-25 session the tasks of that revision: mark `result` for the adapter,
    /// which shows the mark as `capabilities.tasks` ([`v2025::advertise`]). `tasks/list` is
    /// offered only where requestors are told apart (stdio, or authenticated HTTP).
    pub(super) fn offer_tasks(
        &self,
        ctx: &RequestContext<RoleServer>,
        result: &mut InitializeResult,
    ) {
        let tasks = v2025::capability(self.identified(ctx));
        result
            .capabilities
            .experimental
            .get_or_insert_with(Default::default)
            .insert(v2025::CAPABILITY_MARK.into(), tasks);
    }

    /// Whether the caller of `ctx` is told apart from other clients: stdio (the process that
    /// started the server) or an authenticated principal. Without authentication every HTTP
    /// client is the same subject.
    fn identified(&self, ctx: &RequestContext<RoleServer>) -> bool {
        let caller = self.caller(ctx);
        caller.principal().is_some() || caller.transport() == capsule_auth::Transport::Stdio
    }

    /// Mark the tools of `list` that may run as tasks for the 2025-11-25 adapter, which shows
    /// the mark as `execution.taskSupport` ([`v2025::advertise`]).
    pub(super) fn mark_task_support(&self, list: &mut ListToolsResult) {
        let catalog = self.catalog();
        for tool in &mut list.tools {
            let support = catalog
                .tool(&tool.name)
                .map_or(TaskSupport::Forbidden, |e| e.task_support);
            if support.allows_tasks() {
                tool.meta
                    .get_or_insert_with(MetaObject::default)
                    .0
                    .insert(META_KEY.into(), json!(support.as_str()));
            }
        }
    }
}

/// Put `task`'s input requests to its session whenever it waits for input and no `tasks/result`
/// has taken them within `grace` (2025-11-25: clients should expect server messages on any
/// stream, the standalone one included), for requesters that only poll `tasks/get`. Ends with
/// the task, or when the session cannot take a request (closed; a `tasks/result` can still).
async fn ask_session(task: Arc<TaskRecord>, peer: Peer<RoleServer>, grace: Duration) {
    loop {
        let mut changes = task.changes();
        if task.is_terminal() {
            return;
        }
        if let TaskPayload::InputRequired { .. } = task.detailed().payload {
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                () = task.cancel.cancelled() => return,
            }
            if let Some(requests) = task.claim(Asker::Session) {
                let asked = tokio::select! {
                    asked = put_to_client(&peer, &task.id, requests, &task.cancel) => asked,
                    // A tasks/result took the requests over, or the task ended: drop this one.
                    () = lost(&task, Asker::Session) => continue,
                };
                match asked {
                    Ok(answers) => task.answer(&answers),
                    Err(why) => {
                        task.release(Asker::Session);
                        tracing::debug!(
                            task = task.id,
                            "the session did not answer: {why}; tasks/result can ask"
                        );
                        return;
                    }
                }
                continue;
            }
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = task.cancel.cancelled() => return,
        }
    }
}

/// Until `asker` no longer holds `task`'s input requests.
async fn lost(task: &TaskRecord, asker: Asker) {
    loop {
        let mut changes = task.changes();
        if !task.claimed_by(asker) || changes.changed().await.is_err() {
            return;
        }
    }
}

/// The JSON-RPC error a `failed` task's call ended with.
fn call_error(error: &JsonObject) -> McpError {
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(ErrorCode::INTERNAL_ERROR.0);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the call failed")
        .to_string();
    McpError::new(ErrorCode(code), message, error.get("data").cloned())
}

/// Put task `id`'s input `requests` to the client on `peer` ([`mrtr::put_requests`], tied to
/// the task) and collect the answers by request key, for [`TaskRecord::answer`].
///
/// # Errors
/// Why the client gave no answer ([`mrtr::AskError`]).
async fn put_to_client(
    peer: &Peer<RoleServer>,
    id: &str,
    requests: InputRequests,
    cancel: &CancellationToken,
) -> Result<BTreeMap<String, Value>, mrtr::AskError> {
    let answers = mrtr::put_requests(peer, requests, Some(id), cancel).await?;
    answers
        .into_iter()
        .map(|(key, method, result)| {
            let value = serde_json::to_value(&result)
                .map_err(|source| mrtr::AskError::Answer { method, source })?;
            Ok((key, value))
        })
        .collect()
}
