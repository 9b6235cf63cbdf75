//! Calling a plain component's function as a tool: JSON arguments to [`Val`]s, a dynamic call in
//! a fresh sandboxed instance, the result back as MCP content and structured content.

use serde_json::{Value, json};
use wasmtime::component::types::Type;
use wasmtime::component::{Func, Val};

use super::{CallError, DEADLINE_GRACE, PluginImage, RequestScope, explain, tools, types};
use crate::plain::value::{params_from_json, readable, to_json};
use crate::plain::{PlainExports, PlainFunction};

impl PluginImage {
    /// Run the function served as tool `name` with `arguments` (a JSON object the host has
    /// validated against the derived input schema).
    ///
    /// # Errors
    /// Not found and invalid arguments as the plugin's typed errors; traps, timeouts,
    /// cancellation and budgets as for every call.
    pub(super) async fn call_plain(
        &self,
        plain: &PlainExports,
        scope: RequestScope,
        name: &str,
        arguments: &str,
    ) -> Result<tools::CallOutcome, CallError> {
        let f = plain.function(name).ok_or_else(|| {
            CallError::Plugin(types::Error::NotFound(format!("no tool named '{name}'")))
        })?;
        let invalid = |message: String| CallError::Plugin(types::Error::InvalidArguments(message));
        let args: Value = serde_json::from_str(arguments)
            .map_err(|e| invalid(format!("the arguments are not JSON: {e}")))?;
        let params = params_from_json(&args, &f.params).map_err(invalid)?;
        let mut call = self.start(scope, "call-tool").await?;
        let func = call.func(f.export, &f.qualified())?;
        let mut results = f.result_slots();
        let ran = self.run_func(&mut call, func, &params, &mut results).await;
        let denials = call.store.data().denials.take();
        ran.map_err(|e| explain(e, &denials))?;
        let mut result = tool_result(f, results.pop());
        self.finish_result(&mut result, &denials)?;
        Ok(tools::CallOutcome::Complete(result))
    }

    /// Call `func` on `call`'s instance until the call's deadline (as [`Self::run`] does for
    /// the contract's exports).
    pub(super) async fn run_func(
        &self,
        call: &mut super::Call,
        func: Func,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<(), CallError> {
        let running = Box::pin(func.call_async(&mut call.store, params, results));
        let r = tokio::time::timeout_at((call.deadline + DEADLINE_GRACE).into(), running)
            .await
            .unwrap_or_else(|_| Err(call.timed_out()));
        self.finish(call, r)
    }
}

fn text(text: String) -> types::ContentBlock {
    types::ContentBlock::Text(types::TextContent {
        text,
        annotations: None,
    })
}

/// The MCP result of a finished call: a top-level `result` whose `err` case came back is a tool
/// error with the error readable; any other value is text content plus `{"result": value}`.
fn tool_result(f: &PlainFunction, value: Option<Val>) -> tools::CallToolResult {
    match (&f.result, value) {
        (Some(Type::Result(r)), Some(Val::Result(Err(e)))) => tools::CallToolResult {
            content: vec![text(readable(e.as_deref(), r.err().as_ref()))],
            structured_content: None,
            is_error: true,
            meta: None,
        },
        (Some(Type::Result(r)), Some(Val::Result(Ok(v)))) => success(v.as_deref(), r.ok()),
        (Some(ty), Some(v)) => success(Some(&v), Some(ty.clone())),
        _ => success(None, None),
    }
}

fn success(value: Option<&Val>, ty: Option<Type>) -> tools::CallToolResult {
    let (content, structured_content) = match (value, ty) {
        (Some(v), Some(ty)) => {
            let json = to_json(v, &ty);
            let shown = match &json {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                vec![text(shown)],
                Some(json!({ "result": json }).to_string()),
            )
        }
        _ => (Vec::new(), None),
    };
    tools::CallToolResult {
        content,
        structured_content,
        is_error: false,
        meta: None,
    }
}
