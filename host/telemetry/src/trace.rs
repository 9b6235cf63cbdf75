//! Spans: the server span of each MCP request and its children, per the OpenTelemetry semantic
//! conventions for MCP (semantic-conventions-genai v0.1.0, `docs/gen-ai/mcp.md`; status
//! "development"), trace context in and out in the W3C Trace Context format (`traceparent`,
//! `tracestate`) with W3C Baggage.
//!
//! A span lives in a [`Span`] guard and ends when the guard drops. The context a child needs is
//! [`Span::context`]; code running inside a request reaches it as the current context
//! ([`Context::current`]) because the request's future runs under it ([`FutureExt`]).
//!
//! Off unless [`crate::install`] exported traces: then [`enabled`] is false and every
//! function here returns at once with an inert guard, building no attribute and no context.

use std::borrow::Cow;
use std::sync::OnceLock;

use opentelemetry::Value;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{Status, Tracer as _};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracer;

pub use opentelemetry::context::FutureExt;
pub use opentelemetry::propagation::{Extractor, Injector};
pub use opentelemetry::trace::{SpanKind, TraceContextExt};
pub use opentelemetry::{Context, KeyValue};

static TRACER: OnceLock<SdkTracer> = OnceLock::new();
static PROPAGATOR: OnceLock<TextMapCompositePropagator> = OnceLock::new();

/// Whether spans are recorded and exported.
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

pub(crate) fn enable(tracer: SdkTracer) {
    let _ = PROPAGATOR.set(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let _ = TRACER.set(tracer);
}

/// One span, ended when dropped. Inert (records nothing) when tracing is off.
#[derive(Default)]
pub struct Span {
    cx: Option<Context>,
}

impl Span {
    /// The context holding this span: the parent of its children. Empty when inert.
    pub fn context(&self) -> Context {
        self.cx.clone().unwrap_or_default()
    }

    /// Whether the span records (tracing is on).
    pub fn is_recording(&self) -> bool {
        self.cx.is_some()
    }

    /// Set one attribute.
    pub fn set(&self, key: &'static str, value: impl Into<Value>) {
        if let Some(cx) = &self.cx {
            cx.span().set_attribute(KeyValue::new(key, value));
        }
    }

    /// Mark the span failed with `error.type` = `error_type` and status `Error` (semantic
    /// conventions, "Recording errors"): the span's outcome is an error.
    pub fn fail(&self, error_type: &str) {
        if let Some(cx) = &self.cx {
            let span = cx.span();
            span.set_attribute(KeyValue::new("error.type", error_type.to_string()));
            span.set_status(Status::error(error_type.to_string()));
        }
    }
}

/// Run `future` with `cx` as the current context (so that log lines carry its span's ids and
/// children find their parent); just `future` when `cx` holds no span (tracing off).
pub async fn within<F: Future>(cx: Context, future: F) -> F::Output {
    if cx.has_active_span() {
        future.with_context(cx).await
    } else {
        future.await
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(cx) = &self.cx {
            cx.span().end();
        }
    }
}

/// A span named `name` of kind `kind` under `parent`, with `attributes` (built only when
/// tracing is on).
pub fn start(
    parent: &Context,
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> Vec<KeyValue>,
) -> Span {
    let Some(tracer) = TRACER.get() else {
        return Span::default();
    };
    let span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_attributes(attributes())
        .start_with_context(tracer, parent);
    Span {
        cx: Some(parent.with_span(span)),
    }
}

/// A span named `name` of kind `kind` under `parent`, or an inert one when `parent` holds no span
/// (work outside any traced request, such as loading a plugin, is not traced).
pub fn start_child(
    parent: &Context,
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> Vec<KeyValue>,
) -> Span {
    if !parent.has_active_span() {
        return Span::default();
    }
    start(parent, name, kind, attributes)
}

/// An internal span named `name` under the current context (the request's, or a child's).
pub fn child(
    name: impl Into<Cow<'static, str>>,
    attributes: impl FnOnce() -> Vec<KeyValue>,
) -> Span {
    if !enabled() {
        return Span::default();
    }
    start(&Context::current(), name, SpanKind::Internal, attributes)
}

/// The remote parent carried by `carrier` (`traceparent`, `tracestate`, `baggage`; W3C Trace
/// Context and Baggage), or `None` when it carries no valid `traceparent` or tracing is off.
pub fn extract(carrier: &dyn Extractor) -> Option<Context> {
    let propagator = PROPAGATOR.get()?;
    let cx = propagator.extract(carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// Write `cx`'s trace context into `carrier` (`traceparent`, and `tracestate` and `baggage` when
/// they are not empty). Nothing when tracing is off or `cx` holds no span.
pub fn inject(cx: &Context, carrier: &mut dyn Injector) {
    if let Some(propagator) = PROPAGATOR.get()
        && cx.span().span_context().is_valid()
    {
        propagator.inject_context(cx, carrier);
    }
}

/// The trace and span ids of the current span as lowercase hex (W3C Trace Context), for log
/// lines; `None` outside any span or when tracing is off.
pub fn current_ids() -> Option<(String, String)> {
    if !enabled() {
        return None;
    }
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn inert_without_a_tracer() {
        // No install in this test binary: nothing is built, nothing is extracted.
        let span = start(&Context::new(), "x", SpanKind::Server, || {
            panic!("attributes are not built when tracing is off")
        });
        assert!(!span.is_recording());
        let carrier: HashMap<String, String> = HashMap::from([(
            "traceparent".into(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        )]);
        assert!(extract(&carrier).is_none());
        assert!(current_ids().is_none());
    }
}
