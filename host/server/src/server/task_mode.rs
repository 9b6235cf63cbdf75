//! Which way a tool call runs: in its request, as a task of the 2026-07-28 extension (SEP-2663),
//! or as a task of MCP 2025-11-25 — from the tool's task support and what the request asked for.

use rmcp::ErrorData as McpError;
use rmcp::model::{ClientCapabilities, ErrorCode, ProtocolVersion};
use rmcp::service::{RequestContext, RoleServer};

use super::task_calls_2025::{TaskRequest, session_2025};
use capsule_common::task_support::TaskSupport;

/// How one tool call runs ([`task_mode`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum TaskMode {
    /// In its request, under `[limits] timeout`.
    Request,
    /// As a task candidate of the 2026-07-28 extension (`task_calls.rs`).
    Task,
    /// As a 2025-11-25 task, created at once (`task_calls_2025.rs`).
    Task2025(TaskRequest),
}

/// How a call of tool `name`, whose task support is `support`, runs for request `ctx`.
///
/// # Errors
/// `-32601` in a 2025-11-25 session for a `task` on a `forbidden` tool, or none on a `required`
/// one (2025-11-25 "Tool-Level Negotiation"); `-32021` for a `required` tool from another client
/// that did not declare the 2026-07-28 extension (SEP-2663 "Capability Negotiation").
pub(super) fn task_mode(
    name: &str,
    support: TaskSupport,
    ctx: &RequestContext<RoleServer>,
) -> Result<TaskMode, McpError> {
    if let Some(request) = ctx.extensions.get::<TaskRequest>() {
        if !support.allows_tasks() {
            return Err(McpError::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!(
                    "tool '{name}' does not run as a task (its execution.taskSupport is \
                     \"forbidden\"): call it without params.task"
                ),
                None,
            ));
        }
        return Ok(TaskMode::Task2025(*request));
    }
    let as_task = tasks_allowed(ctx);
    if support == TaskSupport::Required && !as_task {
        if session_2025(ctx) {
            return Err(McpError::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!(
                    "tool '{name}' runs only as a task (its execution.taskSupport is \
                     \"required\"): call it with params.task (MCP 2025-11-25 tasks)"
                ),
                None,
            ));
        }
        return Err(task_required(name));
    }
    Ok(if as_task && support.allows_tasks() {
        TaskMode::Task
    } else {
        TaskMode::Request
    })
}

/// Whether request `ctx` may get a `CreateTaskResult`: it declared the tasks extension
/// (SEP-2663, per request in `_meta` or for its session) and speaks 2026-07-28 or later, the
/// revision the extension is defined for.
fn tasks_allowed(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
        && ctx
            .client_capabilities()
            .is_some_and(|caps| caps.supports_tasks())
}

/// `-32021` for a call of tool `name`, whose task support is `required`, from a client that did
/// not declare the tasks extension (SEP-2663 "Capability Negotiation").
fn task_required(name: &str) -> McpError {
    let mut error = McpError::missing_required_client_capability(
        ClientCapabilities::builder().enable_tasks().build(),
    );
    error.message = format!(
        "tool '{name}' runs only as an MCP task: the client must declare the \
         io.modelcontextprotocol/tasks extension (2026-07-28)"
    )
    .into();
    error
}
