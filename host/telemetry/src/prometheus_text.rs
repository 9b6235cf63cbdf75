//! The Prometheus side: an OpenTelemetry meter provider whose reader is OpenTelemetry's
//! Prometheus exporter, rendered on demand in the Prometheus text exposition format (0.0.4).

use opentelemetry_prometheus::PrometheusExporter;
use prometheus::{Encoder as _, TextEncoder};

/// The Prometheus side of the installed meter provider; [`Self::render`] is what
/// `GET /metrics` answers.
pub struct PrometheusMetrics {
    registry: prometheus::Registry,
}

/// The `Content-Type` of [`PrometheusMetrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl PrometheusMetrics {
    /// A registry and the meter provider reader that fills it (OpenTelemetry's Prometheus
    /// exporter), for [`crate::install`].
    ///
    /// # Errors
    /// The exporter cannot be built (a duplicate registration).
    pub(crate) fn new() -> Result<(Self, PrometheusExporter), String> {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| format!("the Prometheus exporter: {e}"))?;
        Ok((Self { registry }, exporter))
    }

    /// Every metric, in the Prometheus text exposition format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            return format!("# encoding the metrics failed: {e}\n");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::metrics::{self, Operation, Outcome};

    #[test]
    fn recorded_metrics_render_with_prometheus_names_and_labels() {
        assert!(!metrics::enabled(), "nothing is recorded before install");
        let settings = crate::Settings {
            prometheus: true,
            service_name: "capsule".into(),
            ..crate::Settings::default()
        };
        let exported = crate::install(&settings)
            .expect("the exporter installs")
            .expect("a Prometheus registry");
        metrics::operation(
            &Operation {
                method: "tools/call",
                tool: Some("hello_greet"),
                prompt: None,
                error_type: Some("tool_error"),
                protocol_version: Some("2025-11-25"),
                transport: metrics::network_transport(true),
            },
            Duration::from_millis(3),
        );
        metrics::plugin_call(
            "hello",
            Some("greet"),
            Outcome::Timeout,
            Duration::from_secs(1),
        );
        metrics::plugin_call(
            "hello",
            Some("greet"),
            Outcome::Timeout,
            Duration::from_secs(1),
        );
        metrics::plugins_loaded(4);
        let text = exported.render();
        for expected in [
            "mcp_server_operation_duration_seconds_bucket{",
            "mcp_method_name=\"tools/call\"",
            "gen_ai_tool_name=\"hello_greet\"",
            "gen_ai_operation_name=\"execute_tool\"",
            "error_type=\"tool_error\"",
            "network_transport=\"pipe\"",
            "capsule_plugin_call_duration_seconds_count{",
            "capsule_plugins_loaded{",
            "service_name=\"capsule\"",
        ] {
            assert!(text.contains(expected), "{expected} not in:\n{text}");
        }
        let calls = text
            .lines()
            .find(|l| l.starts_with("capsule_plugin_calls_total{"))
            .unwrap_or_else(|| panic!("no capsule_plugin_calls_total in:\n{text}"));
        assert!(
            calls.contains("capsule_outcome=\"timeout\"") && calls.ends_with(" 2"),
            "{calls}"
        );
    }
}
