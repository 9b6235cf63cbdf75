//! One tool call's rounds and its end, shared by calls answered in their request
//! (`calls.rs`) and calls run as MCP tasks (`task_calls.rs`): a round of the plugin's
//! `call-tool`, measured, and the MCP result of the last one — converted, checked against the
//! tool's output schema, or a tool error naming what went wrong (ARCHITECTURE.md §3, "Errors map
//! one way").

use std::time::Instant;

use rmcp::model::CallToolResult;

use super::tool_error;
use crate::catalog::ToolEntry;
use crate::convert;
use capsule_sandbox::runtime::bindings::{tools, types};
use capsule_sandbox::runtime::{CallError, RequestScope};
use capsule_telemetry::metrics::{self, Outcome};
use capsule_telemetry::trace::{self, KeyValue};

/// One round of tool `name` (published; `entry` routes it): the plugin's `call-tool` with
/// `arguments` (JSON text) and the answers of the previous round, measured
/// (`capsule.plugin.call.duration`).
pub(super) async fn call_round(
    entry: &ToolEntry,
    name: &str,
    scope: RequestScope,
    arguments: &str,
    resume: Option<types::Resumption>,
) -> Result<tools::CallOutcome, CallError> {
    let started = Instant::now();
    let outcome = entry
        .plugin
        .call_tool(scope, &entry.name, arguments.to_string(), resume)
        .await;
    let measured = match &outcome {
        Ok(tools::CallOutcome::Complete(r)) if r.is_error => Outcome::ToolError,
        Ok(_) => Outcome::Ok,
        Err(e) => e.outcome(),
    };
    metrics::plugin_call(entry.plugin.name(), Some(name), measured, started.elapsed());
    outcome
}

/// How a tool call ended ([`end_of_call`]).
pub(super) enum Ended {
    /// A result for the client: the tool's, or a tool error (`isError: true`) saying what the
    /// plugin got wrong.
    Done(CallToolResult),
    /// The call was cancelled and its instance stopped.
    Cancelled,
    /// The plugin trapped: this message (details in the server log).
    Crashed(String),
    /// The call ran out of time: this message.
    TimedOut(String),
}

/// The MCP result of tool `name`'s last round: the plugin's result converted and checked
/// against the tool's output schema, or a tool error naming what went wrong.
pub(super) async fn end_of_call(
    entry: &ToolEntry,
    name: &str,
    outcome: Result<tools::CallToolResult, CallError>,
) -> Ended {
    let plugin = entry.plugin.name();
    let result = match outcome {
        Ok(result) => result,
        Err(CallError::Cancelled) => {
            tracing::info!(
                plugin,
                tool = name,
                "the client cancelled the call; its instance was stopped"
            );
            return Ended::Cancelled;
        }
        Err(CallError::Trap(detail)) => {
            tracing::error!(plugin, tool = name, "tool call trapped: {detail:?}");
            return Ended::Crashed(format!(
                "tool '{name}' failed: the plugin crashed (details in the server log)"
            ));
        }
        Err(error @ CallError::Timeout(_)) => {
            tracing::info!(plugin, tool = name, "tool call failed: {error}");
            return Ended::TimedOut(format!("tool '{name}' failed: {error}"));
        }
        Err(error) => {
            tracing::info!(plugin, tool = name, "tool call failed: {error}");
            return Ended::Done(tool_error(format!("tool '{name}' failed: {error}")));
        }
    };
    let mut converted = match convert::call_tool_result(&result) {
        Ok(converted) => converted,
        Err(message) => {
            tracing::error!(plugin, tool = name, "malformed tool result: {message}");
            return Ended::Done(tool_error(format!(
                "tool '{name}' returned a malformed result: {message}"
            )));
        }
    };
    if let (Some(schema), false) = (&entry.output, result.is_error) {
        let checked = match converted.structured_content.take() {
            Some(value) => {
                let deadline = Instant::now() + entry.plugin.grants().limits.call_timeout;
                let slot = entry.plugin.validation_slot();
                let _validating = trace::child("validate result", || {
                    vec![KeyValue::new("gen_ai.tool.name", name.to_string())]
                });
                match schema.check(value, deadline, slot).await {
                    Ok(value) => {
                        converted.structured_content = Some(value);
                        Ok(())
                    }
                    Err(error) => Err(error.to_string()),
                }
            }
            None => Err("it has an output schema but returned no structured content".into()),
        };
        if let Err(message) = checked {
            tracing::error!(
                plugin,
                tool = name,
                "result does not match outputSchema: {message}"
            );
            return Ended::Done(tool_error(format!(
                "tool '{name}' returned a result that does not match its output schema: {message}"
            )));
        }
    }
    Ended::Done(converted)
}
