//! Screening of incoming JSON-RPC messages, shared by the transports.
//!
//! rmcp drops (stdio) or answers with a bare HTTP 415 (Streamable HTTP) a message it cannot
//! parse. Capsule answers as JSON-RPC 2.0 §5.1 requires instead: text that is not JSON gets
//! `-32700 Parse error`; a batch array or an object that is not a JSON-RPC 2.0 message gets
//! `-32600 Invalid Request` (MCP 2025-11-25 removed batching), with the request `id` when one can
//! be read, else `null`.

use serde_json::{Value, json};

/// JSON-RPC 2.0 error codes (spec §5.1).
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

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
pub fn error_response(id: Value, code: i64, message: String) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// Classify one message as received (a stdio line or an HTTP request body).
pub fn screen(line: &str) -> Screened {
    let line = line.trim_start_matches('\u{feff}').trim();
    if line.is_empty() {
        return Screened::Skip;
    }
    let value: Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(e) => {
            return Screened::Reject(error_response(
                Value::Null,
                PARSE_ERROR,
                format!("Parse error: not valid JSON ({e}); send one JSON-RPC 2.0 message"),
            ));
        }
    };
    let Value::Object(map) = &value else {
        let what = if value.is_array() {
            "JSON-RPC batches are not supported (removed in MCP 2025-11-25); send one message at a time"
        } else {
            "a JSON-RPC message must be a JSON object"
        };
        return Screened::Reject(error_response(
            Value::Null,
            INVALID_REQUEST,
            format!("Invalid Request: {what}"),
        ));
    };
    let id = map.get("id").cloned().unwrap_or(Value::Null);
    let id_ok = matches!(id, Value::Null | Value::String(_) | Value::Number(_));
    let reply_id = if id_ok { id.clone() } else { Value::Null };
    if map.get("jsonrpc") != Some(&Value::from("2.0")) {
        return Screened::Reject(error_response(
            reply_id,
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
    let is_message = match map.get("method") {
        Some(Value::String(_)) => true,
        Some(_) => false,
        None => map.contains_key("result") || map.contains_key("error"),
    };
    if !is_message {
        return Screened::Reject(error_response(
            reply_id,
            INVALID_REQUEST,
            "Invalid Request: expected a request or notification (string \"method\") or a response (\"result\" or \"error\")".into(),
        ));
    }
    Screened::Forward {
        request: map.contains_key("method") && map.contains_key("id"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: Screened) -> (i64, Value) {
        match s {
            Screened::Reject(v) => (v["error"]["code"].as_i64().unwrap(), v["id"].clone()),
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
    }
}
