//! The experimental tasks of MCP 2025-11-25 ("Basic → Utilities → Tasks"), as they look on the
//! wire: the server's `tasks` capability, a task's shape (`Task`: `ttl` and `pollInterval` in
//! milliseconds), and the `io.modelcontextprotocol/related-task` `_meta` key.
//!
//! The tasks themselves are the same [`super::TaskRecord`]s the 2026-07-28 extension uses; only
//! what a 2025-11-25 client sees differs: `CreateTaskResult` is `{"task": Task}`, `tasks/get` and
//! `tasks/cancel` answer a bare `Task`, the result comes from `tasks/result` (which blocks until
//! the task ends), and a tool result with `isError: true` makes the task `failed`.

use rmcp::model::{
    CustomResult, DetailedTask, JsonObject, JsonRpcMessage, ServerJsonRpcMessage, ServerResult,
    TaskPayload, TaskStatus,
};
use serde_json::{Value, json};

use capsule_common::task_support::META_KEY;

/// The `_meta` key that ties a message to its task (2025-11-25 "Associating Task-Related
/// Messages"): `{"taskId": "..."}`.
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// The protocol revision these tasks belong to.
pub const REVISION: &str = "2025-11-25";

/// Where [`route`] sends a 2025-11-25 client's task requests: this prefix plus the method
/// (`capsule/2025-11-25/tasks/get`, ...), which rmcp hands to the server as custom requests.
pub const ROUTED_PREFIX: &str = "capsule/2025-11-25/";

/// The task requests of 2025-11-25 besides task-augmented `tools/call`.
const TASK_METHODS: [&str; 4] = ["tasks/get", "tasks/result", "tasks/list", "tasks/cancel"];

/// The `_meta` key a 2026-07-28 request names its protocol revision with.
const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// Route a 2025-11-25 client's task request to the server (rmcp 3.9 models only the
/// 2026-07-28 tasks extension: it drops `params.task` of a `tools/call` and gives `tasks/get`
/// 2026-07-28 semantics). A request for `tasks/get`, `tasks/result`, `tasks/list` or
/// `tasks/cancel`, or a `tools/call` with `params.task`, is renamed to [`ROUTED_PREFIX`] plus
/// its method — unless it belongs to 2026-07-28 or later: its `params._meta` names that revision,
/// or the transport's `header` (Streamable HTTP `MCP-Protocol-Version`) does. Returns whether
/// `message` was renamed; anything else is left as it is.
pub fn route(message: &mut Value, header: Option<&str>) -> bool {
    let Some(object) = message.as_object_mut() else {
        return false;
    };
    if !object.contains_key("id") {
        return false;
    }
    let Some(method) = object.get("method").and_then(Value::as_str) else {
        return false;
    };
    let params = object.get("params");
    let named = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(PROTOCOL_VERSION_META))
        .and_then(Value::as_str)
        .or(header);
    // ISO dates: lexical order is chronological order.
    if named.is_some_and(|v| v >= "2026-07-28") {
        return false;
    }
    let routed = match method {
        "tools/call" => params
            .and_then(|p| p.get("task"))
            .is_some_and(|t| !t.is_null()),
        method => TASK_METHODS.contains(&method),
    };
    if routed {
        let renamed = format!("{ROUTED_PREFIX}{method}");
        object.insert("method".into(), Value::String(renamed));
    }
    routed
}

/// What a 2025-11-25 client must see of the server's answers that rmcp's types cannot carry,
/// from the marks the server leaves for 2025-11-25 sessions only: an `initialize` result's
/// `capabilities.experimental` [`CAPABILITY_MARK`] becomes `capabilities.tasks`, and a
/// `tools/list` result's tool `_meta` [`META_KEY`] becomes `execution.taskSupport` (2025-11-25
/// "Tool-Level Negotiation"). Both become custom results with the same JSON otherwise; every
/// other message is returned as it is.
pub fn advertise(message: ServerJsonRpcMessage) -> ServerJsonRpcMessage {
    let JsonRpcMessage::Response(mut response) = message else {
        return message;
    };
    let rewritten = match &response.result {
        ServerResult::InitializeResult(init)
            if init
                .capabilities
                .experimental
                .as_ref()
                .is_some_and(|e| e.contains_key(CAPABILITY_MARK)) =>
        {
            serde_json::to_value(init).ok().map(|mut value| {
                let capabilities = &mut value["capabilities"];
                if let Some(experimental) = capabilities["experimental"].as_object_mut() {
                    let tasks = experimental.remove(CAPABILITY_MARK);
                    if experimental.is_empty() {
                        capabilities
                            .as_object_mut()
                            .map(|c| c.remove("experimental"));
                    }
                    capabilities["tasks"] = tasks.unwrap_or_default();
                }
                value
            })
        }
        ServerResult::ListToolsResult(list)
            if list
                .tools
                .iter()
                .any(|t| t.meta.as_ref().is_some_and(|m| m.0.contains_key(META_KEY))) =>
        {
            serde_json::to_value(list).ok().map(|mut value| {
                if let Some(tools) = value.get_mut("tools").and_then(Value::as_array_mut) {
                    tools.iter_mut().for_each(execution);
                }
                value
            })
        }
        _ => None,
    };
    if let Some(value) = rewritten {
        response.result = ServerResult::CustomResult(CustomResult(value));
    }
    JsonRpcMessage::Response(response)
}

/// Move a tool's `_meta` [`META_KEY`] to `execution.taskSupport`.
fn execution(tool: &mut Value) {
    let Some(meta) = tool.get_mut("_meta").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(support) = meta.remove(META_KEY) else {
        return;
    };
    if meta.is_empty() {
        tool.as_object_mut().map(|t| t.remove("_meta"));
    }
    tool["execution"] = json!({ "taskSupport": support });
}

/// Where the server puts a 2025-11-25 session's `capabilities.tasks` in its `initialize` result
/// (`capabilities.experimental`, which rmcp's types carry) for [`advertise`] to move it.
pub const CAPABILITY_MARK: &str = "capsule/tasks-2025-11-25";

/// The server's `capabilities.tasks` (2025-11-25 "Server Capabilities"): `tasks/cancel`,
/// task-augmented `tools/call`, and `tasks/list` when `list` (only where requestors are told
/// apart: "Task Isolation and Access Control").
pub fn capability(list: bool) -> JsonObject {
    let mut tasks = JsonObject::new();
    if list {
        tasks.insert("list".into(), json!({}));
    }
    tasks.insert("cancel".into(), json!({}));
    tasks.insert("requests".into(), json!({ "tools": { "call": {} } }));
    tasks
}

/// The `_meta` object naming task `id` ([`RELATED_TASK`]).
pub fn related(id: &str) -> Value {
    json!({ RELATED_TASK: { "taskId": id } })
}

/// Whether a task that ended with `payload` is `failed` for a 2025-11-25 client, and why: a
/// JSON-RPC error, or a tool result with `isError: true` (2025-11-25 "Task Execution Errors").
fn failure(payload: &TaskPayload) -> Option<String> {
    match payload {
        TaskPayload::Failed { error } => Some(
            error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the call failed")
                .to_string(),
        ),
        TaskPayload::Completed { result } if result.get("isError") == Some(&json!(true)) => {
            let text = result
                .get("content")
                .and_then(Value::as_array)
                .and_then(|c| c.iter().find_map(|c| c.get("text").and_then(Value::as_str)))
                .unwrap_or("the tool reported an error");
            Some(text.chars().take(500).collect())
        }
        _ => None,
    }
}

/// `task` as a 2025-11-25 `Task` object: `taskId`, `status`, `statusMessage`, `createdAt`,
/// `lastUpdatedAt` (RFC 3339), `ttl` (milliseconds from creation until the task may be dropped)
/// and `pollInterval` (milliseconds).
pub fn task(task: &DetailedTask) -> JsonObject {
    let base = &task.task;
    let mut status = base.status;
    let mut message = base.status_message.clone();
    if let Some(why) = failure(&task.payload) {
        status = TaskStatus::Failed;
        message = Some(why);
    }
    let mut object = JsonObject::new();
    object.insert("taskId".into(), json!(base.task_id));
    object.insert("status".into(), json!(status));
    if let Some(message) = message {
        object.insert("statusMessage".into(), json!(message));
    }
    object.insert("createdAt".into(), json!(base.created_at));
    object.insert("lastUpdatedAt".into(), json!(base.last_updated_at));
    object.insert("ttl".into(), json!(base.ttl_ms));
    if let Some(poll) = base.poll_interval_ms {
        object.insert("pollInterval".into(), json!(poll));
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::Task;

    fn detailed(payload: TaskPayload) -> DetailedTask {
        let task = Task::new("t1", TaskStatus::Working, "2026-01-01T00:00:00Z", "now")
            .with_ttl_ms(5000)
            .with_poll_interval_ms(1000);
        DetailedTask::new(task, payload)
    }

    #[test]
    fn only_2025_task_requests_are_routed() {
        let routed = |mut m: Value, header: Option<&str>| {
            route(&mut m, header).then(|| m["method"].as_str().unwrap().to_string())
        };
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "x", "task": {"ttl": 1000}}});
        assert_eq!(
            routed(call.clone(), None).as_deref(),
            Some("capsule/2025-11-25/tools/call")
        );
        assert_eq!(routed(call.clone(), Some("2026-07-28")), None);
        let plain =
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}});
        assert_eq!(routed(plain, None), None);
        for method in TASK_METHODS {
            let m =
                json!({"jsonrpc": "2.0", "id": "a", "method": method, "params": {"taskId": "t"}});
            assert_eq!(
                routed(m, Some("2025-11-25")),
                Some(format!("{ROUTED_PREFIX}{method}"))
            );
        }
        let modern = json!({"jsonrpc": "2.0", "id": 2, "method": "tasks/get", "params": {
            "taskId": "t", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}});
        assert_eq!(routed(modern, None), None);
        let notification = json!({"jsonrpc": "2.0", "method": "tasks/get"});
        assert_eq!(routed(notification, None), None);
    }

    #[test]
    fn sessions_of_2025_learn_the_capability_and_each_tools_support() {
        use rmcp::model::{InitializeResult, ListToolsResult, RequestId, ServerCapabilities, Tool};
        let mut marked = ServerCapabilities::default();
        marked.experimental = Some([(CAPABILITY_MARK.to_string(), capability(false))].into());
        let init = InitializeResult::new(marked);
        let out = advertise(ServerJsonRpcMessage::response(
            ServerResult::InitializeResult(init),
            RequestId::Number(1),
        ));
        let wire = serde_json::to_value(&out).unwrap();
        assert_eq!(
            wire["result"]["capabilities"],
            json!({"tasks": {"cancel": {}, "requests": {"tools": {"call": {}}}}})
        );
        let unmarked = InitializeResult::new(ServerCapabilities::default());
        let out = advertise(ServerJsonRpcMessage::response(
            ServerResult::InitializeResult(unmarked),
            RequestId::Number(1),
        ));
        let wire = serde_json::to_value(&out).unwrap();
        assert!(wire["result"]["capabilities"].get("tasks").is_none());

        let mut slow = Tool::new("slow", "s", JsonObject::new());
        let mut meta = rmcp::model::MetaObject::default();
        meta.0.insert(META_KEY.into(), json!("optional"));
        slow.meta = Some(meta);
        let plain = Tool::new("fast", "f", JsonObject::new());
        let list = ListToolsResult::with_all_items(vec![slow, plain]);
        let out = advertise(ServerJsonRpcMessage::response(
            ServerResult::ListToolsResult(list),
            RequestId::Number(2),
        ));
        let wire = serde_json::to_value(&out).unwrap();
        let tools = wire["result"]["tools"].as_array().unwrap();
        assert_eq!(tools[0]["execution"], json!({"taskSupport": "optional"}));
        assert!(tools[0].get("_meta").is_none(), "{}", tools[0]);
        assert!(tools[1].get("execution").is_none());
    }

    #[test]
    fn tasks_take_the_2025_field_names_and_tool_errors_fail_them() {
        let working = task(&detailed(TaskPayload::Working));
        assert_eq!(
            Value::Object(working),
            json!({"taskId": "t1", "status": "working", "createdAt": "2026-01-01T00:00:00Z",
                   "lastUpdatedAt": "now", "ttl": 5000, "pollInterval": 1000})
        );
        let result = json!({"content": [{"type": "text", "text": "disk full"}], "isError": true});
        let errored = task(&detailed(TaskPayload::Completed {
            result: result.as_object().unwrap().clone(),
        }));
        assert_eq!(errored["status"], "failed");
        assert_eq!(errored["statusMessage"], "disk full");
        let fine = json!({"content": [], "isError": false});
        let completed = task(&detailed(TaskPayload::Completed {
            result: fine.as_object().unwrap().clone(),
        }));
        assert_eq!(completed["status"], "completed");
        let error = json!({"code": -32603, "message": "trap"});
        let failed = task(&detailed(TaskPayload::Failed {
            error: error.as_object().unwrap().clone(),
        }));
        assert_eq!(
            (&failed["status"], &failed["statusMessage"]),
            (&json!("failed"), &json!("trap"))
        );
    }
}
