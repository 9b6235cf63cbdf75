//! What gets exported where: the settings (the standard `OTEL_*` environment variables over
//! capsule.toml's `[telemetry]`) and the installed providers — the meter provider with its
//! Prometheus reader and/or OTLP periodic exporter, the tracer provider with its OTLP batch
//! exporter — flushed by [`shutdown`].
//!
//! Environment variables (OpenTelemetry specification, "SDK environment variables" and
//! "OTLP exporter configuration"): `OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER` /
//! `OTEL_METRICS_EXPORTER` (`otlp` or `none`), `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL; for
//! HTTP the signal's path `/v1/traces` or `/v1/metrics` is appended),
//! `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT` (used as is),
//! `OTEL_EXPORTER_OTLP[_{TRACES,METRICS}]_PROTOCOL` (`grpc` or `http/protobuf`). The exporters
//! themselves read `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT` and `_COMPRESSION`; the SDK reads
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`
//! and `OTEL_METRIC_EXPORT_INTERVAL`.

use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::PrometheusMetrics;

/// capsule.toml's `[telemetry]`: where to export when no `OTEL_*` variable says otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `otlp_endpoint`: the collector's base URL, e.g. `http://127.0.0.1:4317` (gRPC) or
    /// `http://127.0.0.1:4318` (HTTP; `/v1/traces` and `/v1/metrics` are appended).
    pub otlp_endpoint: Option<String>,
    /// `otlp_protocol`: `grpc` (the default) or `http/protobuf`.
    pub otlp_protocol: Option<String>,
    /// `service_name`: the resource's `service.name` when `OTEL_SERVICE_NAME` is unset
    /// (default `capsule`).
    pub service_name: Option<String>,
    /// `traces`: export spans when an endpoint is set (default true).
    pub traces: Option<bool>,
    /// `metrics`: export metrics over OTLP when an endpoint is set (default true).
    pub metrics: Option<bool>,
}

/// The OTLP transport (OTLP specification: OTLP/gRPC and OTLP/HTTP with binary protobuf).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `grpc`: gRPC over plaintext HTTP/2 (a collector beside Capsule; use `http/protobuf` with
    /// an `https://` endpoint for TLS).
    Grpc,
    /// `http/protobuf`: protobuf bodies POSTed over HTTP or HTTPS.
    HttpProtobuf,
}

impl OtlpProtocol {
    fn parse(value: &str, from: &str) -> Result<Self, String> {
        match value.trim() {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            other => Err(format!(
                "{from} = '{other}': Capsule exports OTLP as 'grpc' or 'http/protobuf'"
            )),
        }
    }
}

/// Where one signal goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpTarget {
    /// The full URL the exporter sends to.
    pub endpoint: String,
    /// Its transport.
    pub protocol: OtlpProtocol,
}

/// What to install: resolved from [`TelemetryConfig`] and the environment by
/// [`Settings::resolve`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Serve metrics in the Prometheus text format (`--metrics`, `--metrics-addr`).
    pub prometheus: bool,
    /// Export spans here.
    pub traces: Option<OtlpTarget>,
    /// Export metrics here.
    pub metrics: Option<OtlpTarget>,
    /// `service.name` unless `OTEL_SERVICE_NAME` is set.
    pub service_name: String,
}

impl Settings {
    /// Resolve `config` under the environment read through `env` (a variable's value, or
    /// `None`); `prometheus` as given.
    ///
    /// # Errors
    /// A protocol other than `grpc` and `http/protobuf`, or an exporter other than `otlp` and
    /// `none`, naming the variable or key.
    pub fn resolve(
        config: &TelemetryConfig,
        prometheus: bool,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut settings = Settings {
            prometheus,
            service_name: config
                .service_name
                .clone()
                .unwrap_or_else(|| "capsule".into()),
            ..Settings::default()
        };
        if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(settings);
        }
        let protocol = match (env("OTEL_EXPORTER_OTLP_PROTOCOL"), &config.otlp_protocol) {
            (Some(p), _) => Some(OtlpProtocol::parse(&p, "OTEL_EXPORTER_OTLP_PROTOCOL")?),
            (None, Some(p)) => Some(OtlpProtocol::parse(p, "[telemetry] otlp_protocol")?),
            (None, None) => None,
        };
        let base = env("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| config.otlp_endpoint.clone());
        let signal = |name: &str, path: &str, wanted: Option<bool>| -> Result<_, String> {
            let exporter_var = format!("OTEL_{name}_EXPORTER");
            match env(&exporter_var).as_deref().map(str::trim) {
                None | Some("otlp") => {}
                Some("none") => return Ok(None),
                Some(other) => {
                    return Err(format!(
                        "{exporter_var} = '{other}': Capsule exports 'otlp' or 'none'"
                    ));
                }
            }
            if wanted == Some(false) {
                return Ok(None);
            }
            let protocol_var = format!("OTEL_EXPORTER_OTLP_{name}_PROTOCOL");
            let protocol = match env(&protocol_var) {
                Some(p) => OtlpProtocol::parse(&p, &protocol_var)?,
                None => protocol.unwrap_or(OtlpProtocol::Grpc),
            };
            let endpoint = match (env(&format!("OTEL_EXPORTER_OTLP_{name}_ENDPOINT")), &base) {
                (Some(full), _) => full,
                (None, Some(base)) if protocol == OtlpProtocol::HttpProtobuf => {
                    format!("{}/{path}", base.trim_end_matches('/'))
                }
                (None, Some(base)) => base.clone(),
                (None, None) => return Ok(None),
            };
            Ok(Some(OtlpTarget { endpoint, protocol }))
        };
        settings.traces = signal("TRACES", "v1/traces", config.traces)?;
        settings.metrics = signal("METRICS", "v1/metrics", config.metrics)?;
        Ok(settings)
    }

    /// Whether anything is recorded at all.
    pub fn any(&self) -> bool {
        self.prometheus || self.traces.is_some() || self.metrics.is_some()
    }
}

struct Providers {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

static INSTALLED: OnceLock<Mutex<Option<Providers>>> = OnceLock::new();

/// Install what `settings` ask for as the process's telemetry: the meter provider (so that
/// [`crate::metrics`] records) and the tracer provider (so that [`crate::trace`] records). Call
/// once, inside the Tokio runtime (the gRPC exporter's channel lives there), before anything
/// records. Returns the Prometheus registry to serve when `settings.prometheus`.
///
/// # Errors
/// An exporter cannot be built (an endpoint that is not a URL, a duplicate registration), or
/// telemetry was installed already.
pub fn install(settings: &Settings) -> Result<Option<Arc<PrometheusMetrics>>, String> {
    if !settings.any() {
        return Ok(None);
    }
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(settings.service_name.clone());
    }
    let resource = resource.build();
    let mut prometheus = None;
    let meter = if settings.prometheus || settings.metrics.is_some() {
        let mut builder = SdkMeterProvider::builder().with_resource(resource.clone());
        if settings.prometheus {
            let (metrics, reader) = PrometheusMetrics::new()?;
            builder = builder.with_reader(reader);
            prometheus = Some(Arc::new(metrics));
        }
        if let Some(target) = &settings.metrics {
            let exporter = match target.protocol {
                OtlpProtocol::Grpc => MetricExporter::builder()
                    .with_tonic()
                    .with_endpoint(&target.endpoint)
                    .build(),
                OtlpProtocol::HttpProtobuf => MetricExporter::builder()
                    .with_http()
                    .with_protocol(Protocol::HttpBinary)
                    .with_endpoint(&target.endpoint)
                    .build(),
            }
            .map_err(|e| format!("the OTLP metric exporter ({}): {e}", target.endpoint))?;
            builder = builder.with_periodic_exporter(exporter);
        }
        Some(builder.build())
    } else {
        None
    };
    let tracer = match &settings.traces {
        Some(target) => {
            let exporter = match target.protocol {
                OtlpProtocol::Grpc => SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(&target.endpoint)
                    .build(),
                OtlpProtocol::HttpProtobuf => SpanExporter::builder()
                    .with_http()
                    .with_protocol(Protocol::HttpBinary)
                    .with_endpoint(&target.endpoint)
                    .build(),
            }
            .map_err(|e| format!("the OTLP span exporter ({}): {e}", target.endpoint))?;
            Some(
                SdkTracerProvider::builder()
                    .with_resource(resource)
                    .with_batch_exporter(exporter)
                    .build(),
            )
        }
        None => None,
    };
    let slot = INSTALLED.get_or_init(Mutex::default);
    let mut installed = slot.lock().unwrap_or_else(|e| e.into_inner());
    if installed.is_some() {
        return Err("telemetry is installed already".into());
    }
    if let Some(meter) = &meter {
        opentelemetry::global::set_meter_provider(meter.clone());
        crate::metrics::enable();
    }
    if let Some(tracer) = &tracer {
        crate::trace::enable(tracer.tracer(crate::metrics::SCOPE));
    }
    *installed = Some(Providers { tracer, meter });
    Ok(prometheus)
}

/// Export what is still buffered and stop the exporters (at exit). Blocks up to the exporters'
/// timeouts; call it outside async code, while the Tokio runtime still runs (gRPC needs it).
pub fn shutdown() {
    let Some(slot) = INSTALLED.get() else {
        return;
    };
    let Some(providers) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    if let Some(tracer) = providers.tracer
        && let Err(e) = tracer.shutdown()
    {
        eprintln!("capsule: flushing spans at exit: {e}");
    }
    if let Some(meter) = providers.meter
        && let Err(e) = meter.shutdown()
    {
        eprintln!("capsule: flushing metrics at exit: {e}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve(config: &TelemetryConfig, vars: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(config, false, |name| vars.get(name).cloned())
    }

    fn target(endpoint: &str, protocol: OtlpProtocol) -> Option<OtlpTarget> {
        Some(OtlpTarget {
            endpoint: endpoint.into(),
            protocol,
        })
    }

    #[test]
    fn nothing_is_exported_without_an_endpoint() {
        let s = resolve(&TelemetryConfig::default(), &[]).unwrap();
        assert!(!s.any());
        assert_eq!(s.service_name, "capsule");
    }

    #[test]
    fn the_environment_endpoint_is_a_base_for_http_and_as_is_for_grpc() {
        let grpc = resolve(
            &TelemetryConfig::default(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")],
        )
        .unwrap();
        assert_eq!(
            grpc.traces,
            target("http://127.0.0.1:4317", OtlpProtocol::Grpc)
        );
        assert_eq!(
            grpc.metrics,
            target("http://127.0.0.1:4317", OtlpProtocol::Grpc)
        );
        let http = resolve(
            &TelemetryConfig::default(),
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:1/x"),
            ],
        )
        .unwrap();
        let h = OtlpProtocol::HttpProtobuf;
        assert_eq!(http.traces, target("http://127.0.0.1:4318/v1/traces", h));
        assert_eq!(http.metrics, target("http://m:1/x", h));
    }

    #[test]
    fn the_environment_wins_over_the_config_and_none_turns_a_signal_off() {
        let config = TelemetryConfig {
            otlp_endpoint: Some("http://collector:4318".into()),
            otlp_protocol: Some("http/protobuf".into()),
            service_name: Some("edge".into()),
            traces: None,
            metrics: Some(false),
        };
        let s = resolve(&config, &[]).unwrap();
        assert_eq!(
            s.traces,
            target(
                "http://collector:4318/v1/traces",
                OtlpProtocol::HttpProtobuf
            )
        );
        assert_eq!(s.metrics, None, "metrics = false");
        assert_eq!(s.service_name, "edge");
        let s = resolve(
            &config,
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4317"),
            ],
        )
        .unwrap();
        assert_eq!(s.traces, target("http://other:4317", OtlpProtocol::Grpc));
        let off = resolve(&config, &[("OTEL_TRACES_EXPORTER", "none")]).unwrap();
        assert!(!off.any());
        let disabled = resolve(&config, &[("OTEL_SDK_DISABLED", "true")]).unwrap();
        assert!(!disabled.any());
    }

    #[test]
    fn unsupported_protocols_and_exporters_are_named() {
        let e = resolve(
            &TelemetryConfig::default(),
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ],
        )
        .unwrap_err();
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json'"),
            "{e}"
        );
        let e = resolve(
            &TelemetryConfig::default(),
            &[("OTEL_TRACES_EXPORTER", "zipkin")],
        )
        .unwrap_err();
        assert!(e.contains("OTEL_TRACES_EXPORTER = 'zipkin'"), "{e}");
    }
}
