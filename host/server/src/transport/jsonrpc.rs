//! Screening of incoming JSON-RPC messages, shared by the transports.
//!
//! rmcp drops (stdio) or answers with a bare HTTP 415 (Streamable HTTP) a message it cannot
//! parse. Capsule answers as JSON-RPC 2.0 §5.1 requires instead: text that is not JSON gets
//! `-32700 Parse error`; a batch array or an object that is not a JSON-RPC 2.0 message gets
//! `-32600 Invalid Request` (MCP 2025-11-25 removed batching), with the request `id` when one can
//! be read, else `null`. An object with a duplicated top-level member (two `method`s, say) is an
//! invalid request too: which one would the server act on?

use serde_json::{Value, json};

use capsule_common::codes::{INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR};

/// What to do with one input line.
#[derive(Debug, PartialEq)]
pub enum Screened {
    /// A JSON-RPC message: hand it to rmcp. `request` when it expects a response (it has an
    /// `id` and a `method`).
    Forward { request: bool },
    /// Blank: ignore.
    Skip,
    /// Not acceptable: answer with this error response.
    Reject(Value),
}

/// A JSON-RPC 2.0 error response object.
pub fn error_response(id: Value, code: i32, message: String) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// The top-level members of a message that screening looks at. Everything else (`params`,
/// `result`, `error` values) is only checked for JSON syntax, without being built: screening a
/// message costs one pass over its text and no allocation beyond `id` and `method`.
#[derive(serde::Deserialize)]
struct Shape {
    #[serde(default, deserialize_with = "present")]
    jsonrpc: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    method: Option<Value>,
    #[serde(default, deserialize_with = "present_ignored")]
    result: Option<()>,
    #[serde(default, deserialize_with = "present_ignored")]
    error: Option<()>,
}

/// A member that is present, even as `null` (which `Option` alone reads as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}

fn present_ignored<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<()>, D::Error> {
    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d).map(|_| Some(()))
}

fn parse_error(e: &serde_json::Error) -> Screened {
    Screened::Reject(error_response(
        Value::Null,
        PARSE_ERROR,
        format!("Parse error: not valid JSON ({e}); send one JSON-RPC 2.0 message"),
    ))
}

/// Classify one message as received (a stdio line or an HTTP request body).
pub fn screen(line: &str) -> Screened {
    let line = line.trim_start_matches('\u{feff}').trim();
    if line.is_empty() {
        return Screened::Skip;
    }
    if !line.starts_with('{') {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(line) {
            return parse_error(&e);
        }
        let what = if line.starts_with('[') {
            "JSON-RPC batches are not supported (removed in MCP 2025-11-25); send one message at a time"
        } else {
            "a JSON-RPC message must be a JSON object"
        };
        return Screened::Reject(error_response(
            Value::Null,
            INVALID_REQUEST,
            format!("Invalid Request: {what}"),
        ));
    }
    let shape: Shape = match serde_json::from_str(line) {
        Ok(shape) => shape,
        Err(e) if e.is_data() => {
            // Valid JSON whose members cannot be read unambiguously: a duplicated member.
            return Screened::Reject(error_response(
                Value::Null,
                INVALID_REQUEST,
                format!("Invalid Request: {e}"),
            ));
        }
        Err(e) => return parse_error(&e),
    };
    let id = shape.id.as_ref().unwrap_or(&Value::Null);
    let id_ok = matches!(id, Value::Null | Value::String(_) | Value::Number(_));
    let reply_id = || if id_ok { id.clone() } else { Value::Null };
    if !matches!(&shape.jsonrpc, Some(Value::String(v)) if v == "2.0") {
        return Screened::Reject(error_response(
            reply_id(),
            INVALID_REQUEST,
            "Invalid Request: \"jsonrpc\" must be \"2.0\"".into(),
        ));
    }
    if !id_ok {
        return Screened::Reject(error_response(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: \"id\" must be a string or a number".into(),
        ));
    }
    let is_message = match &shape.method {
        Some(Value::String(_)) => true,
        Some(_) => false,
        None => shape.result.is_some() || shape.error.is_some(),
    };
    if !is_message {
        return Screened::Reject(error_response(
            reply_id(),
            INVALID_REQUEST,
            "Invalid Request: expected a request or notification (string \"method\") or a response (\"result\" or \"error\")".into(),
        ));
    }
    Screened::Forward {
        request: shape.method.is_some() && shape.id.is_some(),
    }
}

/// Methods MCP 2026-07-28 removed (its changelog, item 5; SEP-2575).
const REMOVED_IN_2026_07_28: [&str; 2] = ["ping", "logging/setLevel"];

/// The `_meta` key a 2026-07-28 request names its protocol revision with.
const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// A request (already [`screen`]ed) for a method that MCP 2026-07-28 removed, sent under that
/// revision or a later one (its `params._meta` names it): the `-32601 Method not found` error
/// response to answer with, as Streamable HTTP answers it (rmcp, with HTTP 404, which the
/// conformance suite checks). On stdio rmcp answers every `ping` that comes before the first
/// other request, whatever its revision, so the stdio transport asks here first and both
/// transports agree. A 2025-11-25 `ping` (no revision in `_meta`) is `None`: answered as usual.
///
/// Costs a substring search per message; only a message naming one of those methods is parsed.
pub fn removed_method(line: &str) -> Option<Value> {
    if !REMOVED_IN_2026_07_28.iter().any(|m| line.contains(m)) {
        return None;
    }
    let message: Value = serde_json::from_str(line).ok()?;
    let method = message.get("method")?.as_str()?;
    let id = message.get("id")?;
    if !REMOVED_IN_2026_07_28.contains(&method) {
        return None;
    }
    let version = message
        .pointer("/params/_meta")?
        .get(PROTOCOL_VERSION_META)?
        .as_str()?;
    // ISO dates: lexical order is chronological order.
    (version >= "2026-07-28").then(|| {
        error_response(
            id.clone(),
            METHOD_NOT_FOUND,
            format!(
                "Method not found: {method} was removed in MCP 2026-07-28 (the request names \
                 revision {version}); {}",
                if method == "ping" {
                    "a request such as server/discover shows the server is alive"
                } else {
                    "set the level per request with _meta \"io.modelcontextprotocol/logLevel\""
                }
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_methods_are_refused_only_under_2026_07_28() {
        let modern = |m: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":5,"method":"{m}","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"level":"info"}}}}"#
            )
        };
        for m in ["ping", "logging/setLevel"] {
            let reply = removed_method(&modern(m)).expect(m);
            assert_eq!(reply["error"]["code"], METHOD_NOT_FOUND);
            assert_eq!(reply["id"], 5);
            assert!(reply["error"]["message"].as_str().unwrap().contains(m));
        }
        assert_eq!(removed_method(&modern("tools/list")), None);
        assert_eq!(
            removed_method(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            None
        );
        assert_eq!(
            removed_method(
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}"#
            ),
            None
        );
        // A notification has no id to answer.
        assert_eq!(
            removed_method(
                r#"{"jsonrpc":"2.0","method":"ping","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#
            ),
            None
        );
    }

    fn code(s: Screened) -> (i32, Value) {
        match s {
            Screened::Reject(v) => {
                let code = v["error"]["code"].as_i64().unwrap();
                (i32::try_from(code).unwrap(), v["id"].clone())
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn passes_requests_notifications_and_responses() {
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Screened::Forward { request: true }
        );
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Screened::Forward { request: false }
        );
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            Screened::Forward { request: false }
        );
        assert_eq!(screen("   "), Screened::Skip);
    }

    #[test]
    fn rejects_malformed_lines_with_the_right_code_and_id() {
        assert_eq!(code(screen("garbage{")), (PARSE_ERROR, Value::Null));
        assert_eq!(code(screen("[1,2]")), (INVALID_REQUEST, Value::Null));
        assert_eq!(code(screen("42")), (INVALID_REQUEST, Value::Null));
        assert_eq!(
            code(screen(r#"{"id":7,"method":"ping"}"#)),
            (INVALID_REQUEST, json!(7))
        );
        assert_eq!(
            code(screen(r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#)),
            (INVALID_REQUEST, Value::Null)
        );
        assert_eq!(
            code(screen(r#"{"jsonrpc":"2.0","id":"q","method":3}"#)),
            (INVALID_REQUEST, json!("q"))
        );
        assert_eq!(
            code(screen(r#"{"jsonrpc":"2.0","id":3,"method":"ping""#)),
            (PARSE_ERROR, Value::Null)
        );
        assert_eq!(
            code(screen(
                r#"{"jsonrpc":"2.0","id":3,"method":"ping"} trailing"#
            )),
            (PARSE_ERROR, Value::Null)
        );
        assert_eq!(code(screen("[1,")), (PARSE_ERROR, Value::Null));
        assert_eq!(code(screen(r#""text""#)), (INVALID_REQUEST, Value::Null));
        assert_eq!(
            code(screen(r#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#)),
            (INVALID_REQUEST, json!(4))
        );
        assert_eq!(
            code(screen(r#"{"jsonrpc":"2.0","id":5}"#)),
            (INVALID_REQUEST, json!(5))
        );
        // Ambiguous: which method would run?
        assert_eq!(
            code(screen(
                r#"{"jsonrpc":"2.0","id":6,"method":"ping","method":"tools/call"}"#
            )),
            (INVALID_REQUEST, Value::Null)
        );
        // Malformed JSON deep inside params is still a parse error.
        assert_eq!(
            code(screen(
                r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"a":[1,}}"#
            )),
            (PARSE_ERROR, Value::Null)
        );
    }

    #[test]
    fn null_ids_and_escaped_members() {
        // An explicit null id is present: a request (the server answers it with an error).
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            Screened::Forward { request: true }
        );
        assert_eq!(
            screen(r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}"#),
            Screened::Forward { request: false }
        );
        assert_eq!(
            screen("\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"m\\u0065thod\":\"ping\"}\r"),
            Screened::Forward { request: true }
        );
    }
}
