"""Traces (issue #18): Capsule exports OpenTelemetry spans over OTLP (gRPC or HTTP/protobuf) to a real
receiver (`otlp.py`, decoding with the official protobuf definitions), named and attributed as the MCP
semantic conventions say, continuing the client's trace (`_meta.traceparent`, else the HTTP
`traceparent` header) down to the HTTP request a plugin makes, whose server sees the same trace id.
JSON logs inside a traced request carry its trace and span ids. Off unless an endpoint is configured.

Every test starts its receiver (127.0.0.1, free ports, except where the default ports are the point), its
Capsule and any HTTP server the plugin calls, and stops them before it ends. Capsule gets
OTEL_BSP_SCHEDULE_DELAY=100 so spans arrive within a fraction of a second.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx2
import pytest
from conftest import (
    INVALID_PARAMS,
    LEGACY,
    LEGACY_VERSION,
    MODERN,
    RAW_HEADERS,
    expect_rpc_error,
    raw_initialize,
    structured,
)
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from otlp import OtlpReceiver, SpanRecord, metric_total, otlp_receiver

pytestmark = pytest.mark.anyio

MISSING = "<missing>"
# How long spans may take to arrive: the batch delay is 100 ms, so this is slack for a slow machine.
ARRIVAL_S = 10.0
# How long a receiver that must get nothing is watched after Capsule exited (exit flushes everything).
QUIET_S = 1.5


# --------------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as receiver:
        yield receiver


def new_ids() -> tuple[str, str]:
    """A fresh (trace id, parent span id) pair, lowercase hex, as a client would make them."""
    return secrets.token_hex(16), secrets.token_hex(8)


def traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def trace_with(trace_id: str, *names: str):
    """A `wait_for_spans` predicate: the spans of `trace_id` once every one of `names` is among them."""

    def predicate(spans: list[SpanRecord]) -> list[SpanRecord] | None:
        mine = [s for s in spans if s.trace_id == trace_id]
        return mine if all(any(s.name == n for s in mine) for n in names) else None

    return predicate


def the(spans: list[SpanRecord], name: str) -> SpanRecord:
    """The one span called `name` among `spans`."""
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"expected one span {name!r}, got {len(found)}:\n" + "\n".join(s.brief() for s in spans)
    return found[0]


def assert_attributes(span: SpanRecord, expected: dict[str, Any]) -> None:
    got = {key: span.attributes.get(key, MISSING) for key in expected}
    assert got == expected, f"{span.name!r}: {got} != {expected}\nall attributes: {span.attributes}"


def assert_ok(span: SpanRecord) -> None:
    assert "error.type" not in span.attributes and span.status_code != "ERROR", span.brief()


def assert_within(child: SpanRecord, parent: SpanRecord) -> None:
    assert parent.start_ns <= child.start_ns <= child.end_ns <= parent.end_ns, (
        f"{child.name!r} [{child.start_ns}, {child.end_ns}] is not inside {parent.name!r} "
        f"[{parent.start_ns}, {parent.end_ns}]"
    )


def fetch_policy(origin: str) -> dict[str, bytes]:
    return {"fetch.toml": f"[network]\nallow = {json.dumps([origin])}\n".encode()}


@dataclass
class Origin:
    """A loopback HTTP server the `fetch` plugin calls; it records the path and headers of each request."""

    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def origin() -> Iterator[Origin]:
    state = Origin()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            body = b"hello, traced"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@dataclass
class Wire:
    """What the SDK client sent and got over Streamable HTTP: the JSON-RPC bodies it posted and the
    session id the server gave it."""

    posted: list[dict[str, Any]] = field(default_factory=list)
    session_id: str | None = None

    async def on_request(self, request: httpx2.Request) -> None:
        if request.method == "POST":
            self.posted.append(json.loads(request.content))

    async def on_response(self, response: httpx2.Response) -> None:
        self.session_id = response.headers.get("mcp-session-id", self.session_id)

    def request(self, method: str, tool: str | None = None) -> dict[str, Any]:
        """The last posted request of `method` (for `tools/call`: of the tool)."""
        found = [
            m
            for m in self.posted
            if m.get("method") == method and (tool is None or m.get("params", {}).get("name") == tool)
        ]
        assert found, f"no {method} {tool or ''} was posted: {self.posted}"
        return found[-1]


@asynccontextmanager
async def sdk_client(url: str) -> AsyncIterator[tuple[Client, Wire]]:
    """The MCP Python SDK on a 2025-11-25 Streamable HTTP session, with what it sends recorded."""
    wire = Wire()
    async with (
        httpx2.AsyncClient(
            timeout=httpx2.Timeout(30, read=300),
            event_hooks={"request": [wire.on_request], "response": [wire.on_response]},
        ) as http,
        Client(streamable_http_client(url, http_client=http), mode=LEGACY, cache=None) as client,
    ):
        yield client, wire


def messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a POST answer, JSON or an SSE stream."""
    if response.headers["content-type"].startswith("application/json"):
        return [response.json()]
    out = []
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            out.append(json.loads(line[5:]))
    return out


async def raw_session(http: httpx2.AsyncClient, url: str) -> dict[str, str]:
    """Initialize a 2025-11-25 session by hand; return the headers its requests carry."""
    answer = await http.post(url, headers=RAW_HEADERS, json=raw_initialize("traces-raw"))
    assert answer.status_code == 200, answer.text
    headers = {
        **RAW_HEADERS,
        "mcp-session-id": answer.headers["mcp-session-id"],
        "mcp-protocol-version": LEGACY_VERSION,
    }
    done = await http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert done.status_code == 202, done.text
    return headers


async def raw_call(http: httpx2.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> dict:
    answer = await http.post(url, headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    replies = [m for m in messages(answer) if m.get("id") == body["id"]]
    assert len(replies) == 1 and "result" in replies[0], answer.text
    return replies[0]["result"]


def assert_fetch_trace(
    spans: list[SpanRecord], origin: Origin, server_name: str = "tools/call fetch_fetch"
) -> tuple[SpanRecord, SpanRecord]:
    """The span tree of one `fetch_fetch` call of `{origin}/hello?...`, checked; returns (server, client)."""
    server = the(spans, server_name)
    validate = the(spans, "validate arguments")
    instantiate = the(spans, "instantiate")
    call = the(spans, "call-tool")
    client = the(spans, "GET")

    assert validate.kind == instantiate.kind == call.kind == "INTERNAL", [validate.kind, instantiate.kind, call.kind]
    assert validate.parent_span_id == server.span_id, validate.brief()
    assert call.parent_span_id == server.span_id, call.brief()
    assert instantiate.parent_span_id in (server.span_id, call.span_id), instantiate.brief()
    assert_attributes(instantiate, {"capsule.plugin.name": "fetch"})
    assert_attributes(call, {"capsule.plugin.name": "fetch", "capsule.plugin.export": "call-tool"})

    assert client.kind == "CLIENT", client.brief()
    assert client.parent_span_id == call.span_id, client.brief()
    assert_attributes(
        client,
        {
            "http.request.method": "GET",
            "server.address": "127.0.0.1",
            "server.port": origin.port,
            "url.full": f"{origin.origin}/hello",  # the query is dropped
            "http.response.status_code": 200,
        },
    )
    for span in (validate, instantiate, call, client):
        assert_ok(span)
        assert_within(span, server)
    assert_within(client, call)
    return server, client


def assert_origin_saw(origin: Origin, trace_id: str, client: SpanRecord) -> None:
    """The plugin's HTTP request reached `origin` once, carrying the CLIENT span's context."""
    assert [path for path, _ in origin.requests] == ["/hello?token=s3cret"], origin.requests
    headers = origin.requests[0][1]
    assert "traceparent" in headers, f"the plugin's request carried no traceparent: {headers}"
    version, seen_trace, seen_parent, flags = headers["traceparent"].split("-")
    assert (version, seen_trace, seen_parent, flags) == ("00", trace_id, client.span_id, "01"), headers["traceparent"]


# --------------------------------------------------------------------------------------------------
# Streamable HTTP


async def test_a_tools_call_over_http_continues_the_meta_traceparent_down_to_the_plugins_http_request(
    capsule, otlp, origin
):
    """OTLP/gRPC; the MCP Python SDK on a 2025-11-25 session sets `_meta.traceparent` (and tracestate)."""
    trace_id, parent = new_ids()
    env = otlp.env("grpc")
    async with capsule.http_server(["fetch"], extra=fetch_policy(origin.origin), env=env) as server:
        async with sdk_client(server.mcp_url) as (client, wire):
            meta = {"traceparent": traceparent(trace_id, parent), "tracestate": "e2e=t61rcWkgMzE"}
            result = await client.call_tool("fetch_fetch", {"url": f"{origin.origin}/hello?token=s3cret"}, meta=meta)
            assert structured(result)["status"] == 200
            sent = wire.request("tools/call", "fetch_fetch")
            assert sent["params"]["_meta"]["traceparent"] == meta["traceparent"], sent
            spans = await otlp.async_wait_for_spans(
                trace_with(trace_id, "tools/call fetch_fetch", "validate arguments", "instantiate", "call-tool", "GET"),
                ARRIVAL_S,
            )
        assert wire.session_id, "the server gave the SDK a session id"

    server_span, client_span = assert_fetch_trace(spans, origin)
    assert server_span.kind == "SERVER", server_span.brief()
    assert server_span.parent_span_id == parent, server_span.brief()
    assert server_span.trace_state == meta["tracestate"], server_span.trace_state
    assert_attributes(
        server_span,
        {
            "mcp.method.name": "tools/call",
            "gen_ai.tool.name": "fetch_fetch",
            "gen_ai.operation.name": "execute_tool",
            "jsonrpc.request.id": str(sent["id"]),
            "network.transport": "tcp",
            "mcp.protocol.version": LEGACY_VERSION,
            "mcp.session.id": wire.session_id,
            "capsule.plugin.name": "fetch",
        },
    )
    assert_ok(server_span)
    assert server_span.resource.get("service.name") == "capsule", server_span.resource
    assert_origin_saw(origin, trace_id, client_span)
    # They came over gRPC, and only over it.
    assert {(r.signal, r.transport) for r in otlp.requests() if r.signal == "traces"} == {("traces", "grpc")}
    assert {s.transport for s in otlp.spans()} == {"grpc"}


async def test_the_http_traceparent_header_is_the_parent_when_meta_has_none_and_meta_wins_over_it(
    capsule, otlp, origin
):
    """OTLP/HTTP protobuf; raw Streamable HTTP with the W3C `traceparent` header; resource from the env."""
    header_trace, header_parent = new_ids()
    env = otlp.env(
        "http/protobuf",
        OTEL_SERVICE_NAME="capsule-e2e",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=e2e,team=capsule",
    )
    url = f"{origin.origin}/hello?token=s3cret"
    async with capsule.http_server(["fetch"], extra=fetch_policy(origin.origin), env=env) as server:
        async with httpx2.AsyncClient(timeout=30) as http:
            session = await raw_session(http, server.mcp_url)
            call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "fetch_fetch", "arguments": {"url": url}}}
            headers = {**session, "traceparent": traceparent(header_trace, header_parent)}
            result = await raw_call(http, server.mcp_url, headers, call)
            assert result["structuredContent"]["status"] == 200, result
            spans = await otlp.async_wait_for_spans(
                trace_with(header_trace, "tools/call fetch_fetch", "validate arguments", "instantiate", "call-tool", "GET"),
                ARRIVAL_S,
            )
            server_span, client_span = assert_fetch_trace(spans, origin)
            assert server_span.kind == "SERVER" and server_span.parent_span_id == header_parent, server_span.brief()
            assert_attributes(
                server_span,
                {
                    "mcp.method.name": "tools/call",
                    "gen_ai.tool.name": "fetch_fetch",
                    "jsonrpc.request.id": "7",
                    "network.transport": "tcp",
                    "mcp.protocol.version": LEGACY_VERSION,
                    "mcp.session.id": session["mcp-session-id"],
                    "capsule.plugin.name": "fetch",
                },
            )
            assert_origin_saw(origin, header_trace, client_span)

            # Both: `_meta.traceparent` is the parent, the header is not.
            other_trace, other_parent = new_ids()
            meta_trace, meta_parent = new_ids()
            call = {
                "jsonrpc": "2.0",
                "id": "second-call",
                "method": "tools/call",
                "params": {
                    "name": "fetch_fetch",
                    "arguments": {"url": url},
                    "_meta": {"traceparent": traceparent(meta_trace, meta_parent)},
                },
            }
            headers = {**session, "traceparent": traceparent(other_trace, other_parent)}
            assert (await raw_call(http, server.mcp_url, headers, call))["structuredContent"]["status"] == 200
            spans = await otlp.async_wait_for_spans(trace_with(meta_trace, "tools/call fetch_fetch", "GET"), ARRIVAL_S)
            second = the(spans, "tools/call fetch_fetch")
            assert second.parent_span_id == meta_parent, second.brief()
            assert_attributes(second, {"jsonrpc.request.id": "second-call"})

    assert not [s for s in otlp.spans() if s.trace_id == other_trace], otlp.dump()
    assert str(origin.requests[1][1].get("traceparent")).split("-")[1:2] == [meta_trace], origin.requests
    resource = server_span.resource
    assert (resource.get("service.name"), resource.get("deployment.environment.name"), resource.get("team")) == (
        "capsule-e2e",
        "e2e",
        "capsule",
    ), resource
    traces = [r for r in otlp.requests() if r.signal == "traces"]
    assert traces and {(r.transport, r.path, r.content_type) for r in traces} == {
        ("http", "/v1/traces", "application/x-protobuf")
    }, traces
    assert otlp.rejected == [], otlp.rejected


async def test_a_tool_error_and_a_json_rpc_error_mark_their_spans_and_tools_list_has_its_own(capsule, otlp):
    env = otlp.env("grpc")
    failing, listing, unknown = new_ids(), new_ids(), new_ids()
    async with capsule.http_server(["fixture"], env=env) as server:
        async with sdk_client(server.mcp_url) as (client, wire):
            result = await client.call_tool(
                "fixture_tool_error", {"message": "nope"}, meta={"traceparent": traceparent(*failing)}
            )
            assert result.is_error
            tools = await client.list_tools(meta={"traceparent": traceparent(*listing)})
            assert any(t.name == "fixture_tool_error" for t in tools.tools)
            error = await expect_rpc_error(
                INVALID_PARAMS,
                client.call_tool("fixture_nope", {}, meta={"traceparent": traceparent(*unknown)}),
            )
            tool_error = the(
                await otlp.async_wait_for_spans(trace_with(failing[0], "tools/call fixture_tool_error"), ARRIVAL_S),
                "tools/call fixture_tool_error",
            )
            listed = the(await otlp.async_wait_for_spans(trace_with(listing[0], "tools/list"), ARRIVAL_S), "tools/list")
            # A name the catalog does not publish stays out of the span name (names are low
            # cardinality), but the span's attribute records what was asked for.
            rejected = the(
                await otlp.async_wait_for_spans(trace_with(unknown[0], "tools/call"), ARRIVAL_S),
                "tools/call",
            )
            session_id = wire.session_id

    assert tool_error.kind == "SERVER" and tool_error.parent_span_id == failing[1], tool_error.brief()
    assert_attributes(
        tool_error,
        {
            "mcp.method.name": "tools/call",
            "gen_ai.tool.name": "fixture_tool_error",
            "gen_ai.operation.name": "execute_tool",
            "capsule.plugin.name": "fixture",
            "error.type": "tool_error",
        },
    )
    assert tool_error.status_code == "ERROR", tool_error.brief()

    assert listed.kind == "SERVER" and listed.parent_span_id == listing[1], listed.brief()
    assert_attributes(
        listed,
        {
            "mcp.method.name": "tools/list",
            "network.transport": "tcp",
            "mcp.protocol.version": LEGACY_VERSION,
            "mcp.session.id": session_id,
        },
    )
    assert "gen_ai.tool.name" not in listed.attributes and "gen_ai.operation.name" not in listed.attributes, listed.brief()
    assert_ok(listed)

    assert_attributes(
        rejected, {"mcp.method.name": "tools/call", "gen_ai.tool.name": "fixture_nope", "error.type": str(error.code)}
    )
    assert rejected.status_code == "ERROR", rejected.brief()


# --------------------------------------------------------------------------------------------------
# stdio


@pytest.mark.parametrize("era", [LEGACY, MODERN])
async def test_stdio_spans_say_pipe_and_are_flushed_when_capsule_exits(capsule, otlp, era):
    """A batch delay of a minute: what arrives, arrives because Capsule flushed on exit (stdin closed)."""
    trace_id, parent = new_ids()
    env = otlp.env("grpc", OTEL_BSP_SCHEDULE_DELAY="60000")
    async with capsule.serve(["hello"], mode=era, env=env) as srv:
        result = await srv.client.call_tool("hello_greet", {"name": "pipe"}, meta={"traceparent": traceparent(trace_id, parent)})
        assert structured(result) == {"greeting": "Hello, pipe!"}
        await anyio.sleep(1.0)
        assert otlp.spans() == [], f"spans came before the batch delay or exit:\n{otlp.dump()}"
    spans = otlp.wait_for_spans(trace_with(trace_id, "tools/call hello_greet", "call-tool"), ARRIVAL_S)
    server = the(spans, "tools/call hello_greet")
    assert server.kind == "SERVER" and server.parent_span_id == parent, server.brief()
    assert_attributes(
        server,
        {
            "mcp.method.name": "tools/call",
            "gen_ai.tool.name": "hello_greet",
            "gen_ai.operation.name": "execute_tool",
            "network.transport": "pipe",
            "mcp.protocol.version": LEGACY_VERSION if era == LEGACY else MODERN,
            "capsule.plugin.name": "hello",
        },
    )
    assert_ok(server)
    assert the(spans, "call-tool").parent_span_id == server.span_id


async def test_one_calls_client_spans_are_capped_and_later_requests_still_carry_the_trace(capsule, otlp, origin):
    """A plugin that sends many requests in one call gets 100 client spans (the span queue is shared by
    every plugin); the rest go out with the export call's context and are counted on its span."""
    trace_id, parent = new_ids()
    count, cap = 130, 100
    policy = {"mallory.toml": f"[network]\nallow = {json.dumps([origin.origin])}\n".encode()}
    async with capsule.serve(["mallory"], extra=policy, env=otlp.env("grpc")) as srv:
        result = await srv.client.call_tool(
            "mallory_http_flood",
            {"authority": f"127.0.0.1:{origin.port}", "count": count},
            meta={"traceparent": traceparent(trace_id, parent)},
        )
        assert structured(result) == {"ok": count}, result
        spans = await otlp.async_wait_for_spans(trace_with(trace_id, "tools/call mallory_http_flood", "call-tool"), ARRIVAL_S)
    export = the(spans, "call-tool")
    clients = [s for s in spans if s.kind == "CLIENT"]
    assert len(clients) == cap and all(s.parent_span_id == export.span_id for s in clients), export.brief()
    assert export.attributes.get("capsule.http.untraced_requests") == count - cap, export.brief()
    assert len(origin.requests) == count
    seen = [headers.get("traceparent", "").split("-") for _, headers in origin.requests]
    assert all(len(t) == 4 and t[1] == trace_id for t in seen), seen
    client_ids = {s.span_id for s in clients}
    assert sorted(t[2] in client_ids for t in seen) == [False] * (count - cap) + [True] * cap
    assert all(t[2] == export.span_id for t in seen[cap:]), seen[cap:]


async def test_an_unsampled_parent_is_not_exported_by_default(capsule, otlp):
    """The default sampler is parentbased_always_on: a parent with flags 00 is not sampled."""
    unsampled, sampled = new_ids(), new_ids()
    async with capsule.serve(["hello"], env=otlp.env("grpc")) as srv:
        for (trace_id, parent), flag in ((unsampled, False), (sampled, True)):
            meta = {"traceparent": traceparent(trace_id, parent, sampled=flag)}
            assert not (await srv.client.call_tool("hello_greet", {"name": "s"}, meta=meta)).is_error
        await otlp.async_wait_for_spans(trace_with(sampled[0], "tools/call hello_greet"), ARRIVAL_S)
    # Capsule has exited, so everything it had is flushed.
    assert not [s for s in otlp.spans() if s.trace_id == unsampled[0]], otlp.dump()


async def test_json_log_lines_inside_a_traced_call_carry_its_trace_and_span_ids(capsule, otlp):
    trace_id, parent = new_ids()
    text = "printed inside a traced call"
    async with capsule.serve(["fixture"], args=["--log-format", "json"], env=otlp.env("grpc")) as srv:
        result = await srv.client.call_tool("fixture_print", {"text": text}, meta={"traceparent": traceparent(trace_id, parent)})
        assert not result.is_error
        await srv.wait_for_stderr(text)
        spans = await otlp.async_wait_for_spans(trace_with(trace_id, "tools/call fixture_print", "call-tool"), ARRIVAL_S)
    server = the(spans, "tools/call fixture_print")
    assert server.trace_id == trace_id and server.parent_span_id == parent, server.brief()
    records = [json.loads(line) for line in srv.stderr().splitlines() if line.strip()]
    printed = [r for r in records if text in str(r.get("fields", {}).get("message", ""))]
    assert printed, records
    ours = {s.span_id: s.name for s in otlp.spans() if s.trace_id == trace_id}
    for record in printed:
        assert record.get("trace_id") == server.trace_id, record
        assert record.get("span_id") in ours, f"span_id {record.get('span_id')} is none of {ours}: {record}"


# --------------------------------------------------------------------------------------------------
# Configuration: off by default, the standard switches, capsule.toml


async def test_nothing_is_exported_without_an_endpoint_even_to_the_default_ports(capsule, origin):
    """No endpoint: a receiver on the default OTLP ports (4317 gRPC, 4318 HTTP) gets nothing, over HTTP
    and stdio; the same receiver gets spans once the endpoint is set."""
    with ExitStack() as stack:
        try:
            receiver = stack.enter_context(otlp_receiver(grpc_port=4317, http_port=4318))
        except OSError as exc:
            pytest.fail(f"the default OTLP ports 127.0.0.1:4317/4318 must be free for this test: {exc}")
        trace_id, parent = new_ids()
        meta = {"traceparent": traceparent(trace_id, parent)}
        # Everything but an endpoint.
        env = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "off"}
        for protocol in ("grpc", "http/protobuf"):
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
            async with capsule.http_server(["fetch"], extra=fetch_policy(origin.origin), env=env) as server:
                async with sdk_client(server.mcp_url) as (client, _):
                    result = await client.call_tool("fetch_fetch", {"url": f"{origin.origin}/hello"}, meta=meta)
                    assert structured(result)["status"] == 200
                    await client.list_tools()
        async with capsule.serve(["hello"], env=env) as srv:
            assert not (await srv.client.call_tool("hello_greet", {"name": "off"}, meta=meta)).is_error
        await anyio.sleep(QUIET_S)
        assert len(origin.requests) == 2, origin.requests
        assert receiver.requests() == [], receiver.dump()

        # The control: the same receiver, the endpoint set.
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.http_endpoint
        async with capsule.serve(["hello"], env=env) as srv:
            assert not (await srv.client.call_tool("hello_greet", {"name": "on"}, meta=meta)).is_error
        receiver.wait_for_spans(trace_with(trace_id, "tools/call hello_greet"), ARRIVAL_S)


async def test_the_standard_switches_turn_signals_off_and_metrics_go_over_otlp_too(capsule):
    async def two_calls(receiver: OtlpReceiver, **extra: str) -> None:
        env = receiver.env("grpc", OTEL_METRIC_EXPORT_INTERVAL="200", **extra)
        async with capsule.serve(["hello"], env=env) as srv:
            for name in ("a", "b"):
                assert not (await srv.client.call_tool("hello_greet", {"name": name})).is_error

    def calls(receiver: OtlpReceiver) -> float:
        points = [
            p
            for p in receiver.metric_points()
            if p.name == "capsule.plugin.calls"
            and p.attributes.get("gen_ai.tool.name") == "hello_greet"
            and p.attributes.get("capsule.outcome") == "ok"
        ]
        return metric_total(points)

    with otlp_receiver() as receiver:
        await two_calls(receiver, OTEL_SDK_DISABLED="true")
        await anyio.sleep(QUIET_S)
        assert receiver.requests() == [], "OTEL_SDK_DISABLED=true exported something"

    with otlp_receiver() as receiver:
        await two_calls(receiver, OTEL_TRACES_EXPORTER="none")
        receiver.wait_for_metrics(lambda points: calls(receiver) == 2, ARRIVAL_S)
        durations = [
            p
            for p in receiver.metric_points()
            if p.name == "mcp.server.operation.duration"
            and p.attributes.get("mcp.method.name") == "tools/call"
            and p.attributes.get("gen_ai.tool.name") == "hello_greet"
        ]
        assert metric_total(durations) == 2 and all(p.type == "histogram" for p in durations), durations
        assert {p.transport for p in receiver.metric_points()} == {"grpc"}
        assert receiver.spans() == [], f"OTEL_TRACES_EXPORTER=none exported spans:\n{receiver.dump()}"

    with otlp_receiver() as receiver:
        await two_calls(receiver, OTEL_METRICS_EXPORTER="none")
        spans = receiver.wait_for_spans(lambda s: [x for x in s if x.name == "tools/call hello_greet"], ARRIVAL_S)
        assert len(spans) == 2, receiver.dump()
        assert [r for r in receiver.requests() if r.signal == "metrics"] == [], "OTEL_METRICS_EXPORTER=none exported metrics"


async def test_signal_endpoints_are_used_as_is(capsule, otlp):
    env = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{otlp.http_endpoint}/v1/traces",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"{otlp.http_endpoint}/v1/metrics",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    async with capsule.serve(["hello"], env=env) as srv:
        assert not (await srv.client.call_tool("hello_greet", {"name": "x"})).is_error
    otlp.wait_for_spans(lambda s: [x for x in s if x.name == "tools/call hello_greet"], ARRIVAL_S)
    otlp.wait_for_metrics(lambda points: [p for p in points if p.name == "capsule.plugin.calls"], ARRIVAL_S)
    assert otlp.rejected == [], otlp.rejected
    assert {(r.signal, r.path) for r in otlp.requests()} == {("traces", "/v1/traces"), ("metrics", "/v1/metrics")}


async def test_capsule_toml_telemetry_and_the_environment_winning_over_it(capsule, otlp, tmp_path):
    config = tmp_path / "capsule.toml"
    config.write_text(
        "[telemetry]\n"
        f'otlp_endpoint = "{otlp.http_endpoint}"\n'
        'otlp_protocol = "http/protobuf"\n'
        'service_name = "capsule-toml"\n'
    )
    args = ["--config", str(config)]
    env = {"OTEL_BSP_SCHEDULE_DELAY": "100"}
    async with capsule.serve(["hello"], args=args, env=env) as srv:
        assert not (await srv.client.call_tool("hello_greet", {"name": "toml"})).is_error
    from_toml = otlp.wait_for_spans(lambda s: [x for x in s if x.name == "tools/call hello_greet"], ARRIVAL_S)
    assert [(s.transport, s.resource.get("service.name")) for s in from_toml] == [("http", "capsule-toml")], otlp.dump()

    env = {**env, **otlp.env("grpc"), "OTEL_SERVICE_NAME": "capsule-env"}
    async with capsule.serve(["hello"], args=args, env=env) as srv:
        assert not (await srv.client.call_tool("hello_greet", {"name": "env"})).is_error
    from_env = otlp.wait_for_spans(
        lambda s: [x for x in s if x.name == "tools/call hello_greet" and x.transport == "grpc"], ARRIVAL_S
    )
    assert [s.resource.get("service.name") for s in from_env] == ["capsule-env"], otlp.dump()
