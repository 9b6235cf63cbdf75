//! Every JSON-RPC error code Capsule sends, by name, in one place (`i32`, the type of rmcp's
//! `ErrorCode`).
//!
//! JSON-RPC 2.0 §5.1 reserves -32768..=-32000: the five standard codes are named there, and
//! -32099..=-32000 is for implementation-defined server errors. MCP defines some of its own in that
//! range; the rest below are Capsule's, and stable: clients may match on them.

/// Invalid JSON was received (JSON-RPC 2.0 §5.1).
pub const PARSE_ERROR: i32 = -32700;
/// The JSON sent is not a valid request object (JSON-RPC 2.0 §5.1); also a batch, which MCP
/// 2025-11-25 removed.
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist or is not available (JSON-RPC 2.0 §5.1).
pub const METHOD_NOT_FOUND: i32 = -32601;
/// Invalid method parameters (JSON-RPC 2.0 §5.1): unknown tool, arguments failing the schema, an
/// unknown resource URI.
pub const INVALID_PARAMS: i32 = -32602;
/// Internal error (JSON-RPC 2.0 §5.1).
pub const INTERNAL_ERROR: i32 = -32603;
/// The server is at a global capacity limit (sessions, connections); sent with HTTP 503 and
/// `Retry-After`. Capsule's.
pub const SERVER_BUSY: i32 = -32000;
/// The caller's token lacks the scope the tool, resource or prompt needs. Capsule's.
pub const FORBIDDEN: i32 = -32003;
/// A client did not declare a capability the plugin's requests need
/// (`MissingRequiredClientCapability`, MCP 2026-07-28).
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// A rate limit refused the call; sent with HTTP 429 and `Retry-After` over HTTP. Capsule's.
pub const RATE_LIMITED: i32 = -32029;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_the_reserved_range() {
        let all = [
            PARSE_ERROR,
            INVALID_REQUEST,
            METHOD_NOT_FOUND,
            INVALID_PARAMS,
            INTERNAL_ERROR,
            SERVER_BUSY,
            FORBIDDEN,
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            RATE_LIMITED,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!((-32768..=-32000).contains(a), "{a}");
            assert!(all[i + 1..].iter().all(|b| b != a), "{a} twice");
        }
    }
}
