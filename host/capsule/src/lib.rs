//! Capsule: an MCP server whose tools, resources and prompts live in sandboxed WebAssembly
//! components implementing the `capsule:plugin` WIT package (`wit/plugin.wit`).
//!
//! This crate is the `capsule` binary's: [`cli`] (arguments) and [`config`] (`capsule.toml`) →
//! [`loader`] (reads the plugin directory, loads each plugin into the sandbox with its policy,
//! admits it into the catalog; kept current by [`watch`]) → `capsule-server` (catalog, hub, MCP
//! handler, transports), with [`report`] for `capsule plugins`. Definition pinning (rug-pull
//! protection): [`lock`] (the lock file), [`store`] (content-addressed store), [`definitions`]
//! (what a plugin publishes, hashed and diffed), [`pinning`] (the verdict the loader applies) and
//! [`pin_commands`] (`capsule lock`, `capsule approve`). [`json_log`] is `--log-format json`
//! with trace ids. The sandbox (`capsule-sandbox`),
//! authentication (`capsule-auth`) and the server are crates of their own: ARCHITECTURE.md §1
//! has the map and the rules.

pub mod cli;
pub mod commands;
pub mod config;
pub mod definitions;
pub mod json_log;
pub mod loader;
pub mod lock;
pub mod oci;
pub mod pin_commands;
pub mod pinning;
pub mod report;
pub mod sources;
pub mod store;
pub mod watch;
