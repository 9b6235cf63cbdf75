//! Capsule: an MCP server whose tools, resources and prompts live in sandboxed WebAssembly
//! components implementing the `capsule:plugin` WIT package (`wit/plugin.wit`).
//!
//! Data flows one way: [`cli`] → [`loader`] (reads the plugin directory through [`files`], kept
//! current by [`watch`]) → [`runtime`] (compiles or loads from the compile cache, links,
//! instantiates per call, with the per-plugin budgets) with [`grants`] (what each plugin may reach
//! and its limits) → [`admission`] (caps on what a plugin says about itself, with [`schema`]'s
//! vetting) → [`catalog`] (the merged, namespaced view; contested names settled by [`claims`],
//! published through the [`hub`]) → [`server`] (rmcp handler) → [`transport`], with [`auth`] (who
//! may call what, rate limits, audit log) around the HTTP routes and in the server.

pub mod admission;
pub mod auth;
pub mod catalog;
pub mod claims;
pub mod cli;
pub mod convert;
pub mod files;
pub mod grants;
pub mod hub;
pub mod loader;
pub mod mrtr;
pub mod naming;
pub mod pagination;
pub mod policy;
pub mod report;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod transport;
pub mod uri_template;
pub mod watch;
