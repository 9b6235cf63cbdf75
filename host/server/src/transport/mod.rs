//! Transports: how MCP messages reach the server — stdio, and HTTP (Streamable HTTP at `/mcp`
//! plus the legacy HTTP+SSE endpoints).

pub mod http;
pub mod jsonrpc;
pub mod stdio;
pub mod tasks_2025;
