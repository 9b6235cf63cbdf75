//! Capsule's telemetry, through the OpenTelemetry API and SDK:
//! - [`metrics`]: the MCP semantic conventions' operation and session durations and Capsule's own
//!   plugin metrics, served in the Prometheus text format ([`PrometheusMetrics`]) and/or exported
//!   over OTLP;
//! - [`trace`]: a server span per MCP request with its children (validation, instantiation, the
//!   export call, input-required rounds, the plugin's outgoing HTTP requests), exported over OTLP,
//!   with W3C trace context taken from the request and passed on to the plugin's requests.
//!
//! The MCP conventions are those of semantic-conventions-genai v0.1.0 (`docs/gen-ai/mcp.md`;
//! status "development"). [`pipeline`] decides what is exported where (`OTEL_*` environment
//! variables over capsule.toml's `[telemetry]`) and installs it.
//!
//! Off by default, and then free: until [`install`] runs, no provider is installed,
//! [`metrics::enabled`] and [`trace::enabled`] are false and every recording function returns at
//! once without building an attribute.

pub mod metrics;
pub mod pipeline;
mod prometheus_text;
pub mod trace;

pub use pipeline::{Settings, TelemetryConfig, install, shutdown};
pub use prometheus_text::{CONTENT_TYPE, PrometheusMetrics};
