//! Capsule's MCP server: the catalog of what the loaded plugins offer, and the MCP handler and
//! transports that serve it (ARCHITECTURE.md §1).
//!
//! Data flows one way: [`admission`] (caps on what a plugin says about itself) → [`catalog`] (the
//! merged, namespaced view; names by [`naming`], contested names settled by [`claims`], resource
//! templates by [`uri_template`]) → [`hub`] (publishes catalog swaps, list-changed and
//! resource-updated notifications) → [`server`] (the rmcp handler; [`convert`] between WIT and MCP
//! types, [`mrtr`] for requests a plugin makes of the client with states sealed by
//! [`request_state`], [`pagination`]) → [`transport`] (stdio, Streamable HTTP with the
//! authentication layer of `capsule-auth`; graceful shutdown waits for the work [`shutdown`]
//! tracks).
//!
//! Plugins run in `capsule-sandbox`; this crate hands each call a [`server::client::McpClient`]
//! as the sandbox's `Client`.

pub mod admission;
pub mod catalog;
pub mod claims;
pub mod convert;
pub mod hub;
pub mod mrtr;
pub use capsule_common::naming;
pub mod pagination;
pub mod request_state;
pub mod server;
pub mod shutdown;
pub mod tasks;
#[cfg(test)]
mod testing;
pub mod transport;
pub mod uri_template;
