//! Capsule's telemetry: OpenTelemetry metrics — the MCP semantic conventions' operation and
//! session durations (OpenTelemetry semantic conventions, GenAI / MCP page; status
//! "development", as of semantic conventions 1.37) and Capsule's own plugin metrics — recorded
//! through the OpenTelemetry API ([`metrics`]) and exposed in the Prometheus text format
//! ([`PrometheusMetrics`]).
//!
//! Off by default, and then free: until [`PrometheusMetrics::install`] runs, no meter provider
//! is installed, [`metrics::enabled`] is false and every recording function returns at once
//! without building an attribute.

pub mod metrics;
mod prometheus_text;

pub use prometheus_text::{CONTENT_TYPE, PrometheusMetrics};
