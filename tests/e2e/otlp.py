"""An OTLP receiver for the end-to-end tests: what an OpenTelemetry collector would receive from Capsule.

It serves both OTLP transports on 127.0.0.1, each on a free port:
  - OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export` and
    `...metrics.v1.MetricsService/Export` (a grpcio server);
  - OTLP/HTTP with protobuf bodies: `POST /v1/traces` and `POST /v1/metrics` (an `http.server`), answering
    an empty `Export*ServiceResponse` as `application/x-protobuf`.
Bodies are decoded with the official protobuf definitions (PyPI `opentelemetry-proto`). Every request is
kept (signal, transport, path, content type, decoded message) and spans are flattened into `SpanRecord`s,
metric data points into `MetricPoint`s, all behind one lock.

    with otlp_receiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint}
        ...
        span = receiver.wait_for_spans(lambda spans: next((s for s in spans if s.name == "tools/list"), None))
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import anyio
import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

T = TypeVar("T")

TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
PROTOBUF = "application/x-protobuf"


# --------------------------------------------------------------------------------------------------
# Decoding


def any_value(value: common_pb2.AnyValue) -> Any:
    """An OTLP `AnyValue` as a plain Python value (None when unset)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    return getattr(value, kind)


def key_values(pairs: Any) -> dict[str, Any]:
    return {pair.key: any_value(pair.value) for pair in pairs}


def _kind_name(kind: int) -> str:
    """`SPAN_KIND_SERVER` -> `SERVER`."""
    return trace_pb2.Span.SpanKind.Name(kind).removeprefix("SPAN_KIND_")


def _status_name(code: int) -> str:
    """`STATUS_CODE_ERROR` -> `ERROR`."""
    return trace_pb2.Status.StatusCode.Name(code).removeprefix("STATUS_CODE_")


@dataclass(frozen=True)
class SpanRecord:
    """One span as received, with its resource and scope folded in. Ids are lowercase hex; a root span's
    `parent_span_id` is ""."""

    name: str
    kind: str  # INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER, UNSPECIFIED
    trace_id: str
    span_id: str
    parent_span_id: str
    trace_state: str  # the W3C tracestate the span carries ("" when none)
    attributes: dict[str, Any]
    status_code: str  # UNSET, OK, ERROR
    status_message: str
    resource: dict[str, Any]
    scope: str
    start_ns: int
    end_ns: int
    events: tuple[tuple[str, dict[str, Any]], ...]
    transport: str  # how it arrived: "grpc" or "http"

    def brief(self) -> str:
        """One line for assertion messages."""
        return (
            f"{self.name!r} {self.kind} trace={self.trace_id} span={self.span_id} parent={self.parent_span_id or '-'} "
            f"status={self.status_code} attrs={self.attributes}"
        )


@dataclass(frozen=True)
class MetricPoint:
    """One data point of one metric. `value` is the number of a sum or gauge point; for a histogram it is
    the count, and `sum` its sum."""

    name: str
    unit: str
    type: str  # sum, gauge, histogram, exponential_histogram, summary
    temporality: str  # "cumulative" or "delta" (sums and histograms), "" otherwise
    attributes: dict[str, Any]
    value: float
    sum: float | None
    resource: dict[str, Any]
    scope: str
    transport: str


def spans_of(request: trace_service_pb2.ExportTraceServiceRequest, transport: str) -> list[SpanRecord]:
    records = []
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                records.append(
                    SpanRecord(
                        name=span.name,
                        kind=_kind_name(span.kind),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        trace_state=span.trace_state,
                        attributes=key_values(span.attributes),
                        status_code=_status_name(span.status.code),
                        status_message=span.status.message,
                        resource=resource,
                        scope=scope_spans.scope.name,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        events=tuple((e.name, key_values(e.attributes)) for e in span.events),
                        transport=transport,
                    )
                )
    return records


def _number(point: Any) -> float:
    return point.as_int if point.WhichOneof("value") == "as_int" else point.as_double


def metric_total(points: list[MetricPoint]) -> float:
    """What a counter (or a histogram's count) adds up to over the points of one series, whether they were
    exported cumulative (the last one is the total) or delta (they add up)."""
    if not points:
        return 0
    if all(p.temporality == "delta" for p in points):
        return sum(p.value for p in points)
    return max(p.value for p in points)


def metric_points_of(request: metrics_service_pb2.ExportMetricsServiceRequest, transport: str) -> list[MetricPoint]:
    points = []
    for resource_metrics in request.resource_metrics:
        resource = key_values(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                data = getattr(metric, kind)
                temporality = ""
                if kind in ("sum", "histogram", "exponential_histogram"):
                    temporality = metrics_pb2.AggregationTemporality.Name(data.aggregation_temporality)
                    temporality = temporality.removeprefix("AGGREGATION_TEMPORALITY_").lower()
                for point in data.data_points:
                    if kind in ("sum", "gauge"):
                        value, total = _number(point), None
                    elif kind == "summary":
                        value, total = point.count, point.sum
                    else:
                        value, total = point.count, (point.sum if point.HasField("sum") else None)
                    points.append(
                        MetricPoint(
                            name=metric.name,
                            unit=metric.unit,
                            type=kind,
                            temporality=temporality,
                            attributes=key_values(point.attributes),
                            value=value,
                            sum=total,
                            resource=resource,
                            scope=scope_metrics.scope.name,
                            transport=transport,
                        )
                    )
    return points


# --------------------------------------------------------------------------------------------------
# The receiver


@dataclass(frozen=True)
class Received:
    """One export request as it arrived."""

    signal: str  # "traces" or "metrics"
    transport: str  # "grpc" or "http"
    path: str  # the gRPC method or the HTTP path
    content_type: str
    message: Any  # the decoded Export*ServiceRequest


@dataclass
class OtlpReceiver:
    """The received requests and the servers that receive them; use `otlp_receiver()` to run one."""

    grpc_port: int = 0
    http_port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _requests: list[Received] = field(default_factory=list)
    _spans: list[SpanRecord] = field(default_factory=list)
    _points: list[MetricPoint] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # HTTP requests answered with an error, for diagnosis

    @property
    def grpc_endpoint(self) -> str:
        """`OTEL_EXPORTER_OTLP_ENDPOINT` for `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`."""
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """`OTEL_EXPORTER_OTLP_ENDPOINT` for `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` (the exporter appends
        /v1/traces and /v1/metrics)."""
        return f"http://127.0.0.1:{self.http_port}"

    def env(self, protocol: str = "grpc", **extra: str) -> dict[str, str]:
        """Environment that points an OTel SDK at this receiver, with a 100 ms batch delay."""
        endpoint = self.grpc_endpoint if protocol == "grpc" else self.http_endpoint
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            **extra,
        }

    # -- recording (called from the server threads)

    def record(self, signal: str, transport: str, path: str, content_type: str, message: Any) -> None:
        with self._lock:
            self._requests.append(Received(signal, transport, path, content_type, message))
            if signal == "traces":
                self._spans.extend(spans_of(message, transport))
            else:
                self._points.extend(metric_points_of(message, transport))

    # -- reading

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def spans(self) -> list[SpanRecord]:
        with self._lock:
            return list(self._spans)

    def metric_points(self) -> list[MetricPoint]:
        with self._lock:
            return list(self._points)

    def dump(self) -> str:
        """Every span received, one per line (for assertion messages)."""
        spans = self.spans()
        return "\n".join(s.brief() for s in spans) if spans else "(no spans received)"

    def wait_for_spans(self, predicate: Callable[[list[SpanRecord]], T], timeout: float = 10.0) -> T:
        """Poll until `predicate(spans)` is truthy and return its value; fail with every span received if
        it is still falsy after `timeout` seconds. Blocks the calling thread: from async code use
        `await receiver.async_wait_for_spans(...)`."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate(self.spans())
            if found:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"no span matched within {timeout}s; received:\n{self.dump()}")
            time.sleep(0.05)

    async def async_wait_for_spans(self, predicate: Callable[[list[SpanRecord]], T], timeout: float = 10.0) -> T:
        """`wait_for_spans` on a worker thread, so that the event loop keeps running."""
        return await anyio.to_thread.run_sync(self.wait_for_spans, predicate, timeout)

    def wait_for_metrics(self, predicate: Callable[[list[MetricPoint]], T], timeout: float = 10.0) -> T:
        """Like `wait_for_spans`, over the metric data points received."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate(self.metric_points())
            if found:
                return found
            if time.monotonic() >= deadline:
                names = sorted({p.name for p in self.metric_points()})
                raise AssertionError(f"no metric point matched within {timeout}s; metrics received: {names}")
            time.sleep(0.05)


# --------------------------------------------------------------------------------------------------
# OTLP/gRPC


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request, context):  # noqa: N802 - the generated servicer's naming
        self.receiver.record("traces", "grpc", "TraceService/Export", "application/grpc", request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request, context):  # noqa: N802
        self.receiver.record("metrics", "grpc", "MetricsService/Export", "application/grpc", request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


# --------------------------------------------------------------------------------------------------
# OTLP/HTTP (protobuf)

_HTTP_SIGNALS = {
    TRACES_PATH: ("traces", trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    METRICS_PATH: (
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
}


def _handler(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as exporters expect
        timeout = 30  # an idle kept-alive connection is dropped after this

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _refuse(self, status: int, why: str) -> None:
            receiver.rejected.append(f"{self.command} {self.path}: {status} {why}")
            self._answer(status, why.encode(), "text/plain; charset=utf-8")

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self._body()
            path = self.path.split("?", 1)[0]
            if path not in _HTTP_SIGNALS:
                self._refuse(404, "not an OTLP path")
                return
            content_type = self.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() != PROTOBUF:
                self._refuse(415, f"only {PROTOBUF} is served here, not {content_type!r}")
                return
            encoding = self.headers.get("Content-Encoding", "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding not in ("", "identity"):
                self._refuse(415, f"content encoding {encoding!r}")
                return
            signal, request_type, response_type = _HTTP_SIGNALS[path]
            message = request_type()
            try:
                message.ParseFromString(body)
            except Exception as exc:  # noqa: BLE001 - a bad body is the exporter's bug: answer 400 and keep it
                self._refuse(400, f"undecodable {request_type.__name__}: {exc}")
                return
            receiver.record(signal, "http", path, content_type, message)
            self._answer(200, response_type().SerializeToString(), PROTOBUF)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


# --------------------------------------------------------------------------------------------------
# Running one


@contextmanager
def otlp_receiver(grpc_port: int = 0, http_port: int = 0) -> Iterator[OtlpReceiver]:
    """Run an OTLP receiver (gRPC and HTTP, both on 127.0.0.1) until the block ends. Ports 0 (the default)
    mean free ones; a given port that is taken fails (no SO_REUSEPORT sharing)."""
    receiver = OtlpReceiver()
    grpc_server = grpc.server(
        ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-grpc"), options=[("grpc.so_reuseport", 0)]
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(receiver), grpc_server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsService(receiver), grpc_server)
    try:
        receiver.grpc_port = grpc_server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    except RuntimeError as exc:  # grpcio raises for a port it cannot bind
        raise OSError(f"the OTLP/gRPC receiver cannot bind 127.0.0.1:{grpc_port}: {exc}") from None
    if not receiver.grpc_port:
        raise OSError(f"the OTLP/gRPC receiver cannot bind 127.0.0.1:{grpc_port}")
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", http_port), _handler(receiver))
    except OSError:
        grpc_server.stop(grace=None).wait(timeout=10)
        raise
    receiver.http_port = httpd.server_address[1]
    http_thread = threading.Thread(target=httpd.serve_forever, name="otlp-http", daemon=True)
    grpc_server.start()
    http_thread.start()
    try:
        yield receiver
    finally:
        httpd.shutdown()
        httpd.server_close()
        http_thread.join(timeout=10)
        grpc_server.stop(grace=None).wait(timeout=10)
