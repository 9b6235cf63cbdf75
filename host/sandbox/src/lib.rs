//! Capsule's sandbox: everything that runs a plugin component and keeps it inside what it was
//! granted, and nothing that speaks MCP or serves HTTP (ARCHITECTURE.md §1).
//!
//! - [`grants`]: what each plugin may reach (filesystem, environment, network) and its limits,
//!   from its operator policy ([`grants::policy`]) intersected with what it requests.
//! - [`runtime`]: the wasmtime engine, the compile cache, per-call instances with their budgets
//!   (memory, CPU, handles, output, emissions), and the host side of the `capsule:plugin` WIT
//!   package. The MCP layer reaches a call only through [`runtime::Client`] and
//!   [`runtime::ResourceUpdates`], traits this crate defines.
//! - [`plain`]: plain components (any component without the `capsule:plugin` exports): tools
//!   derived from their exported functions and WIT types.
//! - [`wasmcp`]: components built for the wasmcp toolchain (`wasmcp:mcp-v20251125@0.1.x`
//!   tools, resources and prompts): finding their exports, building their requests, converting
//!   their answers.
//! - [`schema`]: vetting and checking the JSON Schemas plugins declare.
//! - [`files`]: reading plugin, policy and config files without blocking on FIFOs or devices.
//!
//! The layering is the compiler's: this crate depends on no other Capsule crate but
//! `capsule-common`, and not on rmcp or axum.

pub mod files;
pub mod grants;
pub mod plain;
pub mod runtime;
pub mod schema;
pub mod wasmcp;
