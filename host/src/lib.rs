//! Capsule: an MCP server whose tools, resources and prompts live in sandboxed WebAssembly
//! components implementing the `capsule:plugin` WIT package (`wit/plugin.wit`).
//!
//! Data flows one way (DESIGN.md §1): [`cli`] → [`loader`] (reads the plugin directory) →
//! [`runtime`] (compiles, links, instantiates per call) with [`grants`] (what each plugin may
//! reach) → [`catalog`] (the merged, namespaced view) → [`server`] (rmcp handler) → stdio.

pub mod catalog;
pub mod cli;
pub mod convert;
pub mod grants;
pub mod loader;
pub mod naming;
pub mod report;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod transport;
pub mod uri_template;
