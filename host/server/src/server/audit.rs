//! The audit record of one request, filled in as the request goes and written once with its
//! outcome ([`capsule_auth::audit`]); when it finishes, the request's metrics are recorded too
//! (`mcp.server.operation.duration`, and `capsule.plugin.calls` for calls refused before they
//! reached their plugin: [`capsule_telemetry::metrics`]) and its server span gets its outcome
//! ([`capsule_telemetry::trace`]; the span ends when the `Audit` drops).

use std::time::Instant;

use rmcp::ErrorData as McpError;
use serde_json::{Map, Value};

use capsule_auth::Access;
use capsule_auth::audit::{Record, arguments_digest};
use capsule_telemetry::metrics::{self, Operation, Outcome};
use capsule_telemetry::trace::Span;

/// The audit record, metrics and server span of one request in progress (requests that are not
/// audited, such as lists, have no record).
pub(super) struct Audit {
    pub(super) record: Option<Record>,
    pub(super) raw_arguments: bool,
    pub(super) started: Instant,
    pub(super) op: OperationLabels,
    /// The request's server span.
    pub(super) span: Span,
}

/// What the request's metrics are labelled with (bounded: only names the catalog publishes).
#[derive(Default)]
pub(super) struct OperationLabels {
    pub(super) method: &'static str,
    /// The published tool name (`tools/call` of a tool the catalog has).
    pub(super) tool: Option<String>,
    /// The published prompt name (`prompts/get` of a prompt the catalog has).
    pub(super) prompt: Option<String>,
    /// The plugin serving it, once known.
    pub(super) plugin: Option<String>,
    /// `resources/read`: the URI read (a span attribute only, never a metric label).
    pub(super) resource: Option<String>,
    pub(super) protocol_version: Option<String>,
    pub(super) stdio: bool,
}

impl Audit {
    pub(super) fn set(&mut self, f: impl FnOnce(&mut Record)) {
        if let Some(r) = &mut self.record {
            f(r);
        }
    }

    /// Record the request's arguments (absent = `{}`): their digest, and with
    /// `--audit-arguments` the arguments themselves. Nothing is copied when no record is kept.
    pub(super) fn arguments(&mut self, arguments: Option<&Map<String, Value>>) {
        let raw = self.raw_arguments;
        self.set(|r| {
            let arguments = Value::Object(arguments.cloned().unwrap_or_default());
            r.arguments_sha256 = Some(arguments_digest(&arguments));
            if raw {
                r.arguments = Some(arguments);
            }
        });
    }

    /// Write the record with its outcome (once).
    pub(super) fn finish(
        &mut self,
        access: &Access,
        outcome: &'static str,
        reason: Option<String>,
    ) {
        self.measure(outcome, None);
        if let Some(mut r) = self.record.take() {
            r.outcome = outcome;
            r.reason = reason;
            access.record(r.took(self.started.elapsed()));
        }
    }

    pub(super) fn finish_result<T>(&mut self, access: &Access, result: &Result<T, McpError>) {
        match result {
            Ok(_) => self.finish(access, "ok", None),
            Err(e) => {
                // `error.type` of a JSON-RPC error is its code (semantic conventions, MCP).
                self.measure("error", Some(e.code.0.to_string()));
                self.finish(access, "error", Some(e.message.to_string()))
            }
        }
    }

    /// Record the request's metrics once (the first outcome wins, as for the record).
    fn measure(&mut self, outcome: &'static str, error_code: Option<String>) {
        let method = std::mem::take(&mut self.op.method);
        if method.is_empty() {
            return;
        }
        let error_type = match outcome {
            "ok" | "input_required" => None,
            "limited" => Some("rate_limited".to_string()),
            "error" => error_code.or(Some("error".to_string())),
            other => Some(other.to_string()),
        };
        self.annotate(error_type.as_deref());
        if !metrics::enabled() {
            return;
        }
        let elapsed = self.started.elapsed();
        let op = &self.op;
        metrics::operation(
            &Operation {
                method,
                tool: op.tool.as_deref(),
                prompt: op.prompt.as_deref(),
                error_type: error_type.as_deref(),
                protocol_version: op.protocol_version.as_deref(),
                transport: metrics::network_transport(op.stdio),
            },
            elapsed,
        );
        // A call refused before it reached its plugin counts among the plugin's calls.
        let refused = match outcome {
            "denied" => Some(Outcome::Denied),
            "limited" => Some(Outcome::RateLimited),
            _ => None,
        };
        if let (Some(outcome), Some(plugin)) = (refused, &op.plugin) {
            metrics::plugin_call(plugin, op.tool.as_deref(), outcome, elapsed);
        }
    }

    /// Give the server span what the request turned out to be: its tool or prompt, resource,
    /// plugin, and `error.type` when it failed (semantic conventions, MCP server span).
    fn annotate(&self, error_type: Option<&str>) {
        let span = &self.span;
        if !span.is_recording() {
            return;
        }
        let op = &self.op;
        if let Some(tool) = &op.tool {
            span.set("gen_ai.tool.name", tool.clone());
            span.set("gen_ai.operation.name", "execute_tool");
        }
        if let Some(prompt) = &op.prompt {
            span.set("gen_ai.prompt.name", prompt.clone());
        }
        if let Some(uri) = &op.resource {
            span.set("mcp.resource.uri", uri.clone());
        }
        if let Some(plugin) = &op.plugin {
            span.set("capsule.plugin.name", plugin.clone());
        }
        if let Some(error_type) = error_type {
            span.fail(error_type);
        }
    }
}
