//! Transports: how MCP messages reach the server. Only stdio for now.

pub mod stdio;
