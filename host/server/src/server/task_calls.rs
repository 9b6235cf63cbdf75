//! Tool calls as MCP tasks (SEP-2663, [`crate::tasks`]) and the `tasks/*` requests.
//!
//! A call of an `optional` or `required` tool from a client that declared the tasks extension
//! starts as any call, inside its request, under the task's time limit (`[limits]
//! task_timeout`). What happens next depends on how fast the plugin answers:
//! - within the synchronous window (`--task-sync-window`) it asks for input: the request
//!   answers with the multi round-trip's `InputRequiredResult`, as for any tool (SEP-2663:
//!   input needed before a task exists is gathered synchronously);
//! - within the window it ends: an `optional` tool answers in the request (the "immediate
//!   result" SEP-2663 allows); a `required` tool's result becomes a task already `completed`;
//! - still running when the window closes: the request answers `CreateTaskResult` and the call
//!   goes on detached ([`drive`]). Input it asks for from then on parks the task in
//!   `input_required` until `tasks/update` has answered every request; then the plugin runs its
//!   next round.
//!
//! A task ends `completed` with the tool's result (a tool error included, `isError: true`),
//! `failed` with a JSON-RPC error when the plugin crashed, ran past `[limits] task_timeout` or
//! needs a client capability the client lacks, or `cancelled` by `tasks/cancel`, which stops
//! the running instance at once.

use std::sync::Arc;
use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::model::*;
use rmcp::service::{RequestContext, RoleServer};
use serde_json::json;
use tokio::task::JoinHandle;

use super::calls::Round;
use super::tool_rounds::{Ended, call_round, end_of_call};
use super::{CapsuleServer, tool_error};
use crate::catalog::{Catalog, ToolEntry};
use crate::mrtr;
use crate::request_state::Binding;
use crate::tasks::TaskRecord;
use crate::tasks::client::TaskClient;
use capsule_common::codes::{INTERNAL_ERROR, MISSING_REQUIRED_CLIENT_CAPABILITY};
use capsule_common::task_support::TaskSupport;
use capsule_sandbox::runtime::bindings::{tools, types};
use capsule_sandbox::runtime::{CallError, RequestScope};

/// A call that may become a task: everything its rounds need after the request is gone.
pub(super) struct TaskCall {
    /// The catalog the call started on (its plugin version serves every round).
    pub catalog: Arc<Catalog>,
    /// The published tool name.
    pub name: String,
    /// The checked arguments, as JSON text.
    pub arguments: String,
}

impl TaskCall {
    /// The call of tool `name` of `catalog` with `arguments` (checked, as JSON text).
    pub fn new(catalog: &Arc<Catalog>, name: &str, arguments: String) -> Self {
        Self {
            catalog: catalog.clone(),
            name: name.to_string(),
            arguments,
        }
    }

    fn entry(&self) -> Option<&ToolEntry> {
        self.catalog.tool(&self.name)
    }
}

/// A task's first round, running on its own.
pub(super) type Round1 = JoinHandle<Result<tools::CallOutcome, CallError>>;

/// Start `call`'s first round (with `resume`, the answers of a multi round-trip) in `scope`.
pub(super) fn first_round(
    call: &TaskCall,
    scope: RequestScope,
    resume: Option<types::Resumption>,
) -> Round1 {
    let catalog = call.catalog.clone();
    let (name, arguments) = (call.name.clone(), call.arguments.clone());
    tokio::spawn(async move {
        let Some(entry) = catalog.tool(&name) else {
            return Err(CallError::NotExported("tools"));
        };
        call_round(entry, &name, scope, &arguments, resume).await
    })
}

impl CapsuleServer {
    /// The scope of a task's round: the request's client behind a [`TaskClient`] (which goes on
    /// reporting to that client after the task detached when `after_detach`: 2025-11-25), the
    /// task's cancellation, and what is left of its time.
    pub(super) fn task_scope(
        &self,
        ctx: &RequestContext<RoleServer>,
        task: &Arc<TaskRecord>,
        after_detach: bool,
    ) -> RequestScope {
        let mut scope = self.scope(ctx);
        scope.client = scope.client.map(|request| {
            Arc::new(TaskClient {
                request,
                task: task.clone(),
                after_detach,
            }) as _
        });
        scope.cancel = task.cancel.clone();
        scope.time_limit = Some(task.deadline.saturating_duration_since(Instant::now()));
        scope
    }

    /// Run `call` (with `resume`, the answers of a multi round-trip) as a task candidate: see
    /// the module documentation.
    pub(super) async fn run_as_task(
        &self,
        call: TaskCall,
        resume: Option<types::Resumption>,
        ctx: &RequestContext<RoleServer>,
        binding: &Binding<'_>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(entry) = call.entry() else {
            return Err(McpError::internal_error("the tool left the catalog", None));
        };
        let limits = entry.plugin.grants().limits;
        let tasks = self.shared.tasks();
        let task = match tasks.create(
            binding.subject,
            entry.plugin.name(),
            limits.max_tasks,
            &call.name,
            limits.task_timeout,
            None,
        ) {
            Ok(task) => task,
            Err(full) => return Ok(tool_error(full.to_string()).into()),
        };
        let scope = self.task_scope(ctx, &task, false);
        // The later rounds' scope: the same client and cancellation (`drive` renews the limit).
        let later = scope.clone();
        let mut first = first_round(&call, scope, resume);
        // Until the call is a task or has answered, the request owns it: a request cancelled or
        // dropped (its client went away) stops the round and forgets the task.
        let mut owned = Undetached {
            shared: self.shared.clone(),
            task: task.id.clone(),
            round: first.abort_handle(),
            armed: true,
        };
        let window = tasks.settings().sync_window;
        let early = tokio::select! {
            biased;
            joined = &mut first => Some(joined),
            () = tokio::time::sleep(window) => None,
            () = ctx.ct.cancelled() => {
                return Err(McpError::internal_error("request cancelled", None));
            }
        };
        owned.armed = false;
        let Some(joined) = early else {
            // Still running: it is a task from now on.
            task.detach();
            let created = CreateTaskResult::new(task.detailed().task);
            let declared = ctx.client_capabilities();
            tracing::info!(
                plugin = entry.plugin.name(),
                tool = call.name,
                task = task.id,
                "the call became a task"
            );
            tokio::spawn(drive(task, call, first, later, declared));
            return Ok(CallToolResponse::Task(created));
        };
        let outcome = joined.unwrap_or_else(|e| Err(CallError::Trap(joined_error(e))));
        match outcome {
            Ok(tools::CallOutcome::InputRequired(asked)) => {
                // Input before any task exists: the request's own multi round-trip.
                tasks.remove(&task.id);
                match self
                    .next_round(ctx, binding, entry.plugin.name(), asked, 1)
                    .await?
                {
                    Round::Answer(result) => Ok(CallToolResponse::InputRequired(result)),
                    Round::Failed(message) => {
                        Ok(tool_error(format!("tool '{}' failed: {message}", call.name)).into())
                    }
                    Round::Again(_) => Ok(tool_error(format!(
                        "tool '{}' failed: a task cannot ask the client within its request",
                        call.name
                    ))
                    .into()),
                }
            }
            other => {
                let ended = end_of_call(entry, &call.name, complete_only(other)).await;
                if entry.task_support == TaskSupport::Required {
                    settle(&task, ended, entry);
                    task.detach();
                    return Ok(CallToolResponse::Task(CreateTaskResult::new(
                        task.detailed().task,
                    )));
                }
                tasks.remove(&task.id);
                match ended {
                    Ended::Done(result) => Ok(result.into()),
                    Ended::Cancelled => Err(McpError::internal_error("request cancelled", None)),
                    Ended::Crashed(message) | Ended::TimedOut(message) => {
                        Ok(tool_error(message).into())
                    }
                }
            }
        }
    }

    /// Task `id` of the caller of `ctx`.
    ///
    /// # Errors
    /// `-32602` for an id that is not one of the caller's tasks.
    pub(super) fn callers_task(
        &self,
        ctx: &RequestContext<RoleServer>,
        id: &str,
    ) -> Result<Arc<TaskRecord>, McpError> {
        self.shared.tasks().get(self.caller(ctx).subject(), id)
    }

    /// `tasks/get`: the caller's task as it stands.
    ///
    /// # Errors
    /// `-32602` for an id that is not one of the caller's tasks.
    pub(super) fn task_status(
        &self,
        request: &GetTaskParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        let task = self.callers_task(ctx, &request.task_id)?;
        Ok(GetTaskResult::new(task.detailed()))
    }

    /// `tasks/update`: the caller's answers to its task's input requests.
    ///
    /// # Errors
    /// `-32602` for an id that is not one of the caller's tasks.
    pub(super) fn task_update(
        &self,
        request: &UpdateTaskParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.callers_task(ctx, &request.task_id)?
            .answer(&request.input_responses);
        Ok(())
    }

    /// `tasks/cancel`: stop the caller's task (its running instance at once); a task that has
    /// ended stays as it is.
    ///
    /// # Errors
    /// `-32602` for an id that is not one of the caller's tasks.
    pub(super) fn task_cancel(
        &self,
        request: &CancelTaskParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let task = self.callers_task(ctx, &request.task_id)?;
        if !task.is_terminal() {
            task.cancel.cancel();
        }
        Ok(())
    }
}

/// A call that may still become a task, owned by its request ([`CapsuleServer::run_as_task`]):
/// dropped while `armed`, it stops the call's first round and forgets the task, so that a client
/// that went away leaves no orphaned instance behind.
struct Undetached {
    shared: Arc<super::Shared>,
    task: String,
    round: tokio::task::AbortHandle,
    armed: bool,
}

impl Drop for Undetached {
    fn drop(&mut self) {
        if self.armed {
            self.round.abort();
            self.shared.tasks().remove(&self.task);
        }
    }
}

/// A round's outcome without its input-required case (handled before).
fn complete_only(
    outcome: Result<tools::CallOutcome, CallError>,
) -> Result<tools::CallToolResult, CallError> {
    match outcome {
        Ok(tools::CallOutcome::Complete(result)) => Ok(result),
        Ok(tools::CallOutcome::InputRequired(_)) => Err(CallError::Trap(anyhow::Error::msg(
            "input-required reached the end of a call",
        ))),
        Err(error) => Err(error),
    }
}

/// What a round's spawned future that panicked or was aborted reports.
fn joined_error(error: tokio::task::JoinError) -> anyhow::Error {
    anyhow::Error::msg(format!("the call's task ended abnormally: {error}"))
}

/// Record how the call ended in `task`.
pub(super) fn settle(task: &TaskRecord, ended: Ended, entry: &ToolEntry) {
    match ended {
        Ended::Done(result) => match serde_json::to_value(&result) {
            Ok(serde_json::Value::Object(object)) => task.complete(object),
            _ => task.fail(INTERNAL_ERROR, "the tool result could not be encoded", None),
        },
        Ended::Cancelled => task.cancelled(),
        Ended::Crashed(message) => task.fail(INTERNAL_ERROR, &message, None),
        Ended::TimedOut(_) => {
            let limit = entry.plugin.grants().limits.task_timeout;
            task.fail(
                INTERNAL_ERROR,
                &format!(
                    "task of tool '{}' ran past its time limit of {} ([limits] task_timeout)",
                    task.tool,
                    humantime::format_duration(limit)
                ),
                None,
            );
        }
    }
}

/// A task's life after its request answered: await the running round; park the task for
/// input when the plugin asks, resume it with the answers; record the end. Cancellation drops
/// the running round at once (its instance stops); the deadline (`[limits] task_timeout`)
/// bounds the rounds (their time limit) and the waits for input.
pub(super) async fn drive(
    task: Arc<TaskRecord>,
    call: TaskCall,
    mut first: Round1,
    scope: RequestScope,
    declared: Option<ClientCapabilities>,
) {
    let Some(entry) = call.entry() else {
        task.fail(INTERNAL_ERROR, "the tool left the catalog", None);
        return;
    };
    let mut outcome = tokio::select! {
        joined = &mut first => joined.unwrap_or_else(|e| Err(CallError::Trap(joined_error(e)))),
        () = task.cancel.cancelled() => {
            first.abort();
            task.cancelled();
            return;
        }
    };
    let mut rounds = 1;
    loop {
        let asked = match outcome {
            Ok(tools::CallOutcome::InputRequired(asked)) => asked,
            other => {
                let ended = end_of_call(entry, &call.name, complete_only(other)).await;
                settle(&task, ended, entry);
                return;
            }
        };
        rounds += 1;
        let name = &call.name;
        if let Err(message) = mrtr::check(&asked) {
            let result = tool_error(format!("tool '{name}' failed: the plugin {message}"));
            settle(&task, Ended::Done(result), entry);
            return;
        }
        if rounds > mrtr::MAX_ROUNDS + 1 {
            let result = tool_error(format!(
                "tool '{name}' failed: the plugin asked the client for input more than {} times",
                mrtr::MAX_ROUNDS
            ));
            settle(&task, Ended::Done(result), entry);
            return;
        }
        if let Some(missing) = mrtr::missing_capabilities(&asked, declared.as_ref()) {
            task.fail(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                &format!(
                    "tool '{name}' needs the client capabilities {} (elicitation, sampling or \
                     roots), which the client did not declare",
                    mrtr::capability_names(&missing)
                ),
                Some(json!({ "requiredCapabilities": missing })),
            );
            return;
        }
        let requests = match mrtr::input_requests(&asked) {
            Ok(requests) => requests,
            Err(message) => {
                let result = tool_error(format!("tool '{name}' failed: the plugin's {message}"));
                settle(&task, Ended::Done(result), entry);
                return;
            }
        };
        let Some(answered) = task.ask(requests, rounds) else {
            return;
        };
        let responses = tokio::select! {
            answers = answered => match answers {
                Ok(answers) => answers,
                Err(_) => return,
            },
            () = task.cancel.cancelled() => {
                task.cancelled();
                return;
            }
            () = tokio::time::sleep_until(task.deadline.into()) => {
                settle(&task, Ended::TimedOut(String::new()), entry);
                return;
            }
        };
        let resume = types::Resumption {
            responses,
            state: asked.state,
        };
        let mut scope = scope.clone();
        scope.time_limit = Some(task.deadline.saturating_duration_since(Instant::now()));
        outcome = tokio::select! {
            outcome = call_round(entry, name, scope, &call.arguments, Some(resume)) => outcome,
            () = task.cancel.cancelled() => {
                task.cancelled();
                return;
            }
        };
    }
}
