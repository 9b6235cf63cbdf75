//! The Prometheus side: an OpenTelemetry meter provider whose reader is OpenTelemetry's
//! Prometheus exporter, rendered on demand in the Prometheus text exposition format (0.0.4).

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Encoder as _, TextEncoder};

/// The installed metrics pipeline; [`Self::render`] is what `GET /metrics` answers.
pub struct PrometheusMetrics {
    registry: prometheus::Registry,
    provider: SdkMeterProvider,
}

/// The `Content-Type` of [`PrometheusMetrics::render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl PrometheusMetrics {
    /// Install the global meter provider (so that [`crate::metrics`] records) with a Prometheus
    /// reader. The resource is OpenTelemetry's defaults plus `OTEL_RESOURCE_ATTRIBUTES`, and
    /// `service.name` = `OTEL_SERVICE_NAME` or `capsule`. Call once, before anything records.
    ///
    /// # Errors
    /// The exporter cannot be built (a duplicate registration).
    pub fn install() -> Result<Self, String> {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| format!("the Prometheus exporter: {e}"))?;
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("capsule");
        }
        let provider = SdkMeterProvider::builder()
            .with_reader(exporter)
            .with_resource(resource.build())
            .build();
        opentelemetry::global::set_meter_provider(provider.clone());
        crate::metrics::enable();
        Ok(Self { registry, provider })
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

impl Drop for PrometheusMetrics {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::{self, Operation, Outcome};

    #[test]
    fn recorded_metrics_render_with_prometheus_names_and_labels() {
        assert!(!metrics::enabled(), "nothing is recorded before install");
        let exported = PrometheusMetrics::install().expect("the exporter installs");
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
