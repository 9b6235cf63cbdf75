//! The transports' part of MCP 2025-11-25's experimental tasks ([`crate::tasks::v2025`]): every
//! transport routes a 2025-11-25 client's task requests to the server before rmcp parses them
//! ([`route_text`], [`route_body`]) and sends the server's messages through [`advertise`]
//! (stdio and Streamable HTTP sessions: the [`Adapted`] transport).

use std::future::Future;

use axum::body::Bytes;
use rmcp::service::{RoleServer, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::Value;

pub use crate::tasks::v2025::advertise;
use crate::tasks::v2025::route;

/// The text of message `text` with its 2025-11-25 task request routed ([`route`]; `header`: the
/// request's `MCP-Protocol-Version`, if any), or `None` when it needs no change. Only a message
/// that mentions "task" is parsed.
pub fn route_text(text: &str, header: Option<&str>) -> Option<String> {
    if !mentions_task(text.as_bytes()) {
        return None;
    }
    let mut message: Value = serde_json::from_str(text).ok()?;
    route(&mut message, header).then(|| message.to_string())
}

/// [`route_text`] for an HTTP request body (already screened as one JSON-RPC message).
pub fn route_body(body: Bytes, header: Option<&str>) -> Bytes {
    // Most bodies are not task requests: one byte search, no UTF-8 check.
    if !mentions_task(&body) {
        return body;
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return body;
    };
    match route_text(text, header) {
        Some(routed) => Bytes::from(routed),
        None => body,
    }
}

/// Whether `message` contains "task" (every request [`route`] renames does).
fn mentions_task(message: &[u8]) -> bool {
    memchr::memmem::find(message, b"task").is_some()
}

/// A server transport whose outgoing messages pass through [`advertise`].
pub struct Adapted<T>(pub T);

impl<T: Transport<RoleServer>> Transport<RoleServer> for Adapted<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.0.send(advertise(item))
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.0.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.0.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_that_need_it_are_rewritten() {
        let line = r#"{"jsonrpc":"2.0","id":7,"method":"tasks/result","params":{"taskId":"t"}}"#;
        let routed: Value = serde_json::from_str(&route_text(line, None).unwrap()).unwrap();
        assert_eq!(routed["method"], "capsule/2025-11-25/tasks/result");
        assert_eq!(routed["id"], 7);
        assert_eq!(
            route_text(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, None),
            None
        );
        let body = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"tasks/list"}"#);
        assert_eq!(route_body(body.clone(), Some("2026-07-28")), body);
        assert_ne!(route_body(body.clone(), Some("2025-11-25")), body);
    }
}
