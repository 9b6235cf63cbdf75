//! What every Capsule crate shares and no single layer owns (ARCHITECTURE.md §1): a [`Secret`]
//! that never prints, the JSON-RPC and MCP error codes ([`codes`]), the duration syntax of the
//! config files ([`config_units`]), host environment lookups ([`env`](mod@env)), recovery from poisoned locks ([`sync`]), RFC 3986
//! percent-decoding ([`percent`]) and the rules of published tool and prompt names ([`naming`]).
//!
//! This crate depends on nothing of Capsule's, and nothing in it knows about WebAssembly, MCP or HTTP.

pub mod codes;
pub mod config_units;
pub mod env;
pub mod naming;
pub mod percent;
mod secret;
pub mod sync;
pub mod task_support;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use secret::Secret;
