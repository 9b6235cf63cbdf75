//! The few JSON-RPC and MCP shapes the load generator speaks, for both protocol eras.
//!
//! - **2025-11-25** ([`Era::Legacy`]): `initialize` → `notifications/initialized`, then plain
//!   requests; over HTTP the session id (`Mcp-Session-Id`) and `MCP-Protocol-Version` header ride
//!   on every later request.
//! - **2026-07-28** ([`Era::Stateless`]): no handshake. Every request carries `params._meta` with
//!   `io.modelcontextprotocol/protocolVersion`, `io.modelcontextprotocol/clientInfo` and
//!   `io.modelcontextprotocol/clientCapabilities` (SEP-2575; the two marked required by the
//!   draft schema are the version and the capabilities, see rmcp 3.9.0 `RequestMetaObject`);
//!   `server/discover` is the optional bootstrap probe. Over HTTP every request also carries
//!   the `MCP-Protocol-Version`, `Mcp-Method` and (for `tools/call`) `Mcp-Name` headers (SEP-2243).
//!
//! Requests are written by hand (the params are serialised once per run, only the id changes);
//! replies are read with a borrowed envelope that skips the result body without building a tree,
//! so the client's own cost stays small next to the server's, even for 1 MiB results.

use serde::Deserialize;
use serde_json::{Value, json};

/// Which revision of MCP a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Era {
    /// `2025-11-25`: initialize handshake, sessions over HTTP.
    #[serde(rename = "2025-11-25")]
    Legacy,
    /// `2026-07-28`: stateless, per-request `_meta`, `server/discover`.
    #[serde(rename = "2026-07-28")]
    Stateless,
}

impl Era {
    /// The protocol version string.
    pub fn version(self) -> &'static str {
        match self {
            Era::Legacy => "2025-11-25",
            Era::Stateless => "2026-07-28",
        }
    }

    /// Both eras, oldest first.
    pub const ALL: [Era; 2] = [Era::Legacy, Era::Stateless];
}

impl std::str::FromStr for Era {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "2025-11-25" | "legacy" => Ok(Era::Legacy),
            "2026-07-28" | "stateless" => Ok(Era::Stateless),
            other => Err(format!(
                "unknown protocol era '{other}': use 2025-11-25 (legacy) or 2026-07-28 (stateless)"
            )),
        }
    }
}

impl std::fmt::Display for Era {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.version())
    }
}

/// `clientInfo` the harness announces.
fn client_info() -> Value {
    json!({"name": "capsule-bench", "version": env!("CARGO_PKG_VERSION")})
}

/// Params of the 2025-11-25 `initialize` request.
pub fn initialize_params() -> Value {
    json!({
        "protocolVersion": Era::Legacy.version(),
        "capabilities": {},
        "clientInfo": client_info(),
    })
}

/// `params` with the era's per-request metadata added (2026-07-28); unchanged for 2025-11-25.
/// `params` must be a JSON object (or null, read as `{}`).
pub fn with_meta(era: Era, params: Value) -> Value {
    let mut params = match params {
        Value::Null => json!({}),
        other => other,
    };
    if era == Era::Stateless
        && let Some(object) = params.as_object_mut()
    {
        let mut meta = match object.remove("_meta") {
            Some(Value::Object(meta)) => meta,
            _ => serde_json::Map::new(),
        };
        meta.insert(
            "io.modelcontextprotocol/protocolVersion".into(),
            json!(Era::Stateless.version()),
        );
        meta.insert("io.modelcontextprotocol/clientInfo".into(), client_info());
        meta.insert(
            "io.modelcontextprotocol/clientCapabilities".into(),
            json!({}),
        );
        object.insert("_meta".into(), Value::Object(meta));
    }
    params
}

/// One JSON-RPC request as text (no trailing newline). `params_json` is already serialised.
pub fn request_text(id: u64, method: &str, params_json: &str) -> String {
    let mut s = String::with_capacity(params_json.len() + method.len() + 48);
    s.push_str(r#"{"jsonrpc":"2.0","id":"#);
    s.push_str(&id.to_string());
    s.push_str(r#","method":"#);
    s.push_str(&Value::String(method.into()).to_string());
    s.push_str(r#","params":"#);
    s.push_str(params_json);
    s.push('}');
    s
}

/// One JSON-RPC notification as text (no trailing newline).
pub fn notification_text(method: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":{}}}"#,
        Value::String(method.into())
    )
}

/// What the harness needs from one incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A response to request `id`.
    Response { id: u64, outcome: Outcome },
    /// A notification or a server→client request, by method name.
    Message { method: String },
    /// A response whose id is not a number the harness sent (or is null).
    Unmatched { outcome: Outcome },
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A result, not marked `isError`.
    Ok,
    /// A tool result with `isError: true`: the text of its first content block (shortened).
    ToolError(String),
    /// A JSON-RPC error: code and message.
    RpcError(i64, String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    result: Option<ResultHead<'a>>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// The part of a result the harness looks at; every other field is skipped unparsed, and
/// `content` is only scanned (not copied) unless the result is an error.
#[derive(Deserialize)]
struct ResultHead<'a> {
    #[serde(default, rename = "isError")]
    is_error: Option<bool>,
    #[serde(default, borrow)]
    content: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct ContentHead {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
}

fn shorten(mut s: String) -> String {
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Parse one JSON-RPC message from the server.
///
/// # Errors
/// Not JSON, or not a JSON-RPC message.
pub fn parse_incoming(bytes: &[u8]) -> anyhow::Result<Incoming> {
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        anyhow::anyhow!("the server sent something that is not a JSON-RPC message ({e}): {head}")
    })?;
    if let Some(method) = envelope.method {
        return Ok(Incoming::Message {
            method: method.into_owned(),
        });
    }
    let outcome = match (envelope.result, envelope.error) {
        (_, Some(error)) => Outcome::RpcError(error.code, shorten(error.message)),
        (Some(result), None) if result.is_error == Some(true) => {
            let text = result
                .content
                .and_then(|raw| serde_json::from_str::<Vec<ContentHead>>(raw.get()).ok())
                .unwrap_or_default()
                .into_iter()
                .find_map(|c| c.text)
                .unwrap_or_default();
            Outcome::ToolError(shorten(text))
        }
        (Some(_), None) => Outcome::Ok,
        (None, None) => anyhow::bail!("a JSON-RPC response with neither result nor error"),
    };
    Ok(match envelope.id.as_ref().and_then(Value::as_u64) {
        Some(id) => Incoming::Response { id, outcome },
        None => Incoming::Unmatched { outcome },
    })
}

/// Deterministic ASCII text of exactly `bytes` bytes: words of 2–9 letters, a newline about
/// every 80 characters (realistic input for `word_count`, `reverse`, ...).
pub fn sample_text(bytes: usize) -> String {
    const WORDS: [&str; 12] = [
        "lorem", "ipsum", "dolor", "sit", "amet", "capsule", "sandbox", "wasm", "tool", "bench",
        "plugin", "native",
    ];
    let mut s = String::with_capacity(bytes + 16);
    let mut line = 0usize;
    let mut i = 0usize;
    while s.len() < bytes {
        let word = WORDS[i % WORDS.len()];
        i = i.wrapping_mul(7).wrapping_add(3) % 1009;
        s.push_str(word);
        line += word.len() + 1;
        if line >= 80 {
            s.push('\n');
            line = 0;
        } else {
            s.push(' ');
        }
    }
    s.truncate(bytes);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_params_carry_the_meta_keys() {
        let p = with_meta(
            Era::Stateless,
            json!({"name": "x", "_meta": {"progressToken": 1}}),
        );
        let meta = &p["_meta"];
        assert_eq!(
            meta["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert_eq!(
            meta["io.modelcontextprotocol/clientCapabilities"],
            json!({})
        );
        assert_eq!(
            meta["io.modelcontextprotocol/clientInfo"]["name"],
            "capsule-bench"
        );
        assert_eq!(meta["progressToken"], 1);
        assert_eq!(with_meta(Era::Legacy, json!({"a": 1})), json!({"a": 1}));
        assert_eq!(with_meta(Era::Legacy, Value::Null), json!({}));
    }

    #[test]
    fn request_text_is_json_rpc() {
        let t = request_text(7, "tools/call", r#"{"name":"hello_greet"}"#);
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["method"], "tools/call");
        assert_eq!(v["params"]["name"], "hello_greet");
        let n: Value =
            serde_json::from_str(&notification_text("notifications/initialized")).unwrap();
        assert!(n.get("id").is_none());
    }

    #[test]
    fn parses_replies() {
        let ok = br#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"x"}],"structuredContent":{"a":[1,2]}}}"#;
        assert_eq!(
            parse_incoming(ok).unwrap(),
            Incoming::Response {
                id: 3,
                outcome: Outcome::Ok
            }
        );
        let tool_err = br#"{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"bad"}],"isError":true}}"#;
        assert_eq!(
            parse_incoming(tool_err).unwrap(),
            Incoming::Response {
                id: 4,
                outcome: Outcome::ToolError("bad".into())
            }
        );
        let rpc_err =
            br#"{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"no such tool"}}"#;
        assert_eq!(
            parse_incoming(rpc_err).unwrap(),
            Incoming::Response {
                id: 5,
                outcome: Outcome::RpcError(-32602, "no such tool".into())
            }
        );
        let note = br#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
        assert_eq!(
            parse_incoming(note).unwrap(),
            Incoming::Message {
                method: "notifications/tools/list_changed".into()
            }
        );
        let parse_err = br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}}"#;
        assert!(matches!(
            parse_incoming(parse_err).unwrap(),
            Incoming::Unmatched { .. }
        ));
        assert!(parse_incoming(b"not json").is_err());
    }

    #[test]
    fn sample_text_has_the_exact_size() {
        for n in [0, 1, 79, 80, 1000, 1 << 20] {
            let t = sample_text(n);
            assert_eq!(t.len(), n);
            assert!(t.is_ascii());
        }
        assert!(sample_text(1000).lines().count() > 5);
    }
}
