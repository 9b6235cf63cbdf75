"""The HTTP layer at the wire: Host/Origin protection, status codes for bad input, sessions, stream
resumption, the operations endpoints, safe binding and graceful shutdown. Raw HTTP (httpx2) against
the real `capsule serve --http` on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import time

import http.client

import anyio
import httpx2
import pytest
from conftest import LEGACY, LEGACY_VERSION, RAW_ACCEPT, RAW_HEADERS, raw_initialize, stop_process

pytestmark = pytest.mark.anyio

PROTOCOL = LEGACY_VERSION
ACCEPT = RAW_ACCEPT
HEADERS = RAW_HEADERS
INITIALIZE = raw_initialize("raw")


def sleep_call(request_id: int, ms: int) -> dict:
    """A `tools/call` of `fixture_sleep` for `ms` milliseconds."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "fixture_sleep", "arguments": {"ms": ms}},
    }


def sse_events(lines) -> list[dict[str, str]]:
    """Parse server-sent events (`field: value` lines, blank line ends an event)."""
    events, current = [], {}
    for line in lines:
        if line == "":
            if current:
                events.append(current)
            current = {}
            continue
        name, _, value = line.partition(":")
        current[name] = current.get(name, "") + value.removeprefix(" ")
    if current:
        events.append(current)
    return events


def json_messages(response: httpx2.Response) -> list[dict]:
    """The JSON-RPC messages of a POST response, whether JSON or an SSE stream."""
    if response.headers["content-type"].startswith("application/json"):
        return [response.json()]
    return [json.loads(e["data"]) for e in sse_events(response.text.splitlines()) if e.get("data")]


def open_session(client: httpx2.Client, url: str) -> dict[str, str]:
    """Initialize a 2025-11-25 session; return the headers its later requests carry."""
    response = client.post(url, headers=HEADERS, json=INITIALIZE)
    assert response.status_code == 200, response.text
    session = {**HEADERS, "mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
    done = client.post(url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert done.status_code == 202, done.text
    return session


async def test_foreign_origin_and_host_get_403_on_every_mcp_endpoint(capsule):
    async with capsule.http_server(["hello"]) as srv, httpx2.AsyncClient(timeout=10) as client:
        for origin in ("https://evil.example", "http://localhost.evil.example:8080", "null"):
            r = await client.post(srv.mcp_url, headers={**HEADERS, "origin": origin}, json=INITIALIZE)
            assert r.status_code == 403, (origin, r.status_code, r.text)
            assert "--allowed-origin" in r.text
            r = await client.get(srv.sse_url, headers={"origin": origin})
            assert r.status_code == 403, r.text
            r = await client.post(f"{srv.base_url}/messages?sessionId=x", headers={"origin": origin}, json={})
            assert r.status_code == 403, r.text
        # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1.
        for host in ("evil.example", f"evil.example:{srv.port}", "127.0.0.2"):
            r = await client.post(srv.mcp_url, headers={**HEADERS, "host": host}, json=INITIALIZE)
            assert r.status_code == 403, (host, r.status_code, r.text)
            assert "--allowed-host" in r.text
            r = await client.get(srv.sse_url, headers={"host": host})
            assert r.status_code == 403, r.text
        # Local browser origins and loopback hosts pass.
        r = await client.post(srv.mcp_url, headers={**HEADERS, "origin": "http://localhost:6274"}, json=INITIALIZE)
        assert r.status_code == 200, r.text
        r = await client.post(srv.mcp_url, headers={**HEADERS, "host": f"localhost:{srv.port}"}, json=INITIALIZE)
        assert r.status_code == 200, r.text
        # The operations endpoints are not MCP and not guarded.
        assert (await client.get(f"{srv.base_url}/healthz", headers={"origin": "https://evil.example"})).status_code == 200


async def test_allowed_host_and_origin_flags_admit_exactly_what_they_name(capsule):
    args = ["--allowed-host", "mcp.example.com", "--allowed-origin", "https://app.example.com"]
    async with capsule.http_server(["hello"], args=args) as srv, httpx2.AsyncClient(timeout=10) as client:
        ok = {**HEADERS, "host": "mcp.example.com", "origin": "https://app.example.com"}
        assert (await client.post(srv.mcp_url, headers=ok, json=INITIALIZE)).status_code == 200
        wrong_port = {**ok, "origin": "https://app.example.com:8443"}
        assert (await client.post(srv.mcp_url, headers=wrong_port, json=INITIALIZE)).status_code == 403
        wrong_scheme = {**ok, "origin": "http://app.example.com"}
        assert (await client.post(srv.mcp_url, headers=wrong_scheme, json=INITIALIZE)).status_code == 403
        other_host = {**ok, "host": "other.example.com"}
        assert (await client.post(srv.mcp_url, headers=other_host, json=INITIALIZE)).status_code == 403


async def test_bad_bodies_get_json_rpc_errors_and_the_size_limit_413(capsule):
    async with capsule.http_server(["hello"], args=["--max-request-body", "1KiB"]) as srv:
        async with httpx2.AsyncClient(timeout=10) as client:
            for body, code in (
                (b"[" + json.dumps(INITIALIZE).encode() + b"]", -32600),  # a batch
                (b"{not json", -32700),
                (b"", -32700),
                (b'{"id": 3, "method": "ping"}', -32600),  # no "jsonrpc": "2.0"
                (b"42", -32600),
            ):
                r = await client.post(srv.mcp_url, headers=HEADERS, content=body)
                assert r.status_code == 400, (body, r.status_code, r.text)
                assert r.json()["error"]["code"] == code, (body, r.text)
            big = {**INITIALIZE, "params": {**INITIALIZE["params"], "pad": "x" * 2048}}
            r = await client.post(srv.mcp_url, headers=HEADERS, json=big)
            assert r.status_code == 413, r.text

            # The same rules on the legacy transport's message endpoint.
            async with client.stream("GET", srv.sse_url) as stream:
                lines = stream.aiter_lines()
                endpoint = None
                async for line in lines:
                    if line.startswith("data:"):
                        endpoint = line.partition(":")[2].strip()
                        break
                assert endpoint and endpoint.startswith("messages?sessionId="), endpoint
                url = f"{srv.base_url}/{endpoint}"
                r = await client.post(url, headers=HEADERS, content=b"[1, 2]")
                assert r.status_code == 400 and r.json()["error"]["code"] == -32600, r.text
                r = await client.post(url, headers=HEADERS, content=b"{oops")
                assert r.status_code == 400 and r.json()["error"]["code"] == -32700, r.text
                r = await client.post(url, headers=HEADERS, json=big)
                assert r.status_code == 413, r.text
                r = await client.post(url, headers=HEADERS, json=INITIALIZE)
                assert r.status_code == 202, r.text

        # The server is still healthy after all of it.
        async with httpx2.AsyncClient(timeout=10) as client:
            assert (await client.get(f"{srv.base_url}/healthz")).text == "ok\n"


def post_head_then_body(conn: http.client.HTTPConnection, headers: dict[str, str], body: bytes, pause: float):
    """POST /mcp writing the head, then (after `pause` seconds) the body, as clients that write them
    separately do; the response is read in full."""
    conn.putrequest("POST", "/mcp", skip_accept_encoding=True)
    for name, value in {**HEADERS, **headers, "content-length": str(len(body))}.items():
        conn.putheader(name, value)
    conn.endheaders()
    time.sleep(pause)
    conn.send(body)
    response = conn.getresponse()
    response.read()
    return response


async def test_a_connection_kept_after_a_refusal_serves_the_next_request(capsule, tmp_path):
    """A refusal decided from the head (no token, foreign Origin, body over the limit) is sent before
    the body is read, so the server cannot reuse the connection: the response must say
    `Connection: close`. A response that does not say so must leave the connection usable — a client
    pools it, and an OAuth client's next request (metadata discovery right after the 401) would
    otherwise fail with "server disconnected"."""
    token = "tok_keepalive_0123456789abcdefghijkl"
    config = tmp_path / "capsule.toml"
    config.write_text('[auth]\nmode = "bearer"\n[[auth.token]]\nsubject = "t"\nenv = "CAPSULE_TEST_TOKEN"\n')
    args = ["--config", str(config), "--max-request-body", "1KiB"]
    authorized = {"authorization": f"Bearer {token}"}
    small = json.dumps(INITIALIZE).encode()
    big = json.dumps({**INITIALIZE, "params": {**INITIALIZE["params"], "pad": "x" * (1 << 20)}}).encode()
    cases = [
        ({}, small, 401),
        ({**authorized, "origin": "https://evil.example"}, small, 403),
        (authorized, big, 413),
        (authorized, small, 200),
    ]
    async with capsule.http_server(["hello"], args=args, env={"CAPSULE_TEST_TOKEN": token}) as srv:
        for headers, body, status in cases:
            for pause in (0.0, 0.2):
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                try:
                    response = post_head_then_body(conn, headers, body, pause)
                    assert response.status == status, (headers.keys(), pause, response.status)
                    says_close = (response.getheader("connection") or "").lower() == "close"
                    # Refused before the body arrived: closed. Served: kept. (A refusal with the body
                    # already in hand may read it and keep the connection; then it must be usable.)
                    if pause and status != 200:
                        assert says_close, (status, response.getheaders())
                    if status == 200:
                        assert not says_close, response.getheaders()
                    if not says_close:
                        time.sleep(0.1)  # let a close, if the server were to close, arrive first
                        conn.request("GET", "/healthz")
                        follow_up = conn.getresponse()
                        assert (follow_up.status, follow_up.read()) == (200, b"ok\n")
                finally:
                    conn.close()


async def test_sessions_unknown_and_deleted_get_404(capsule):
    async with capsule.http_server(["hello"]) as srv:
        with httpx2.Client(timeout=10) as client:
            bogus = {**HEADERS, "mcp-session-id": "no-such-session", "mcp-protocol-version": PROTOCOL}
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            assert client.post(srv.mcp_url, headers=bogus, json=ping).status_code == 404
            assert client.get(srv.mcp_url, headers={**bogus, "accept": "text/event-stream"}).status_code == 404
            r = client.post(f"{srv.base_url}/messages?sessionId=no-such-session", headers=HEADERS, json=ping)
            assert r.status_code == 404, r.text

            session = open_session(client, srv.mcp_url)
            r = client.post(srv.mcp_url, headers=session, json=ping)
            assert r.status_code == 200 and json_messages(r)[-1]["result"] == {}, r.text
            # 200 with an empty body: what clients expect (the Python SDK warns on anything but 200/204).
            closed = client.delete(srv.mcp_url, headers=session)
            assert closed.status_code == 200 and closed.content == b"", (closed.status_code, closed.text)
            assert client.post(srv.mcp_url, headers=session, json=ping).status_code == 404


async def test_the_python_sdk_ends_its_session_without_a_warning(capsule, caplog):
    """The official SDK sends DELETE when it leaves a 2025-11-25 session and warns "Session termination
    failed" unless the answer is 200 or 204 (issue #21)."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    deletes: list[int] = []

    async def seen(response: httpx2.Response) -> None:
        if response.request.method == "DELETE":
            deletes.append(response.status_code)

    async with capsule.http_server(["hello"]) as srv:
        with caplog.at_level(logging.WARNING, logger="mcp.client.streamable_http"):
            async with (
                httpx2.AsyncClient(timeout=30, event_hooks={"response": [seen]}) as http,
                Client(streamable_http_client(srv.mcp_url, http_client=http), mode=LEGACY, cache=None) as client,
            ):
                assert (await client.call_tool("hello_greet", {"name": "bye"})).is_error is not True
    assert deletes == [200], deletes
    warned = [r.getMessage() for r in caplog.records if "termination" in r.getMessage()]
    assert warned == [], warned


async def test_a_dropped_response_stream_resumes_with_last_event_id(capsule):
    """2025-11-25 resumability: the client loses the stream of a call in flight and reconnects with
    `Last-Event-ID`; the response arrives on the resumed stream."""
    async with capsule.http_server(["fixture"]) as srv:
        with httpx2.Client(timeout=20) as client:
            session = open_session(client, srv.mcp_url)
            call = sleep_call(7, 2000)
            first: list[str] = []
            with client.stream("POST", srv.mcp_url, headers=session, json=call) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                for line in stream.iter_lines():
                    first.append(line)
                    if line == "":
                        break  # the priming event is in; drop the connection
            priming = sse_events(first)[0]
            assert "id" in priming and priming.get("data", "") == "", first

            resumed = {**session, "accept": "text/event-stream", "last-event-id": priming["id"]}
            with client.stream("GET", srv.mcp_url, headers=resumed) as stream:
                assert stream.status_code == 200
                answer = None
                lines: list[str] = []
                for line in stream.iter_lines():
                    lines.append(line)
                    if line.startswith("data:") and line.partition(":")[2].strip():
                        answer = json.loads(line.partition(":")[2])
                        if answer.get("id") == 7:
                            break
            assert answer is not None, lines
            assert answer["result"]["structuredContent"] == {"slept_ms": 2000}, answer


async def test_healthz_and_readyz(capsule):
    async with capsule.http_server(["hello", "textkit"]) as srv, httpx2.AsyncClient(timeout=10) as client:
        health = await client.get(f"{srv.base_url}/healthz")
        assert (health.status_code, health.text) == (200, "ok\n")
        ready = await client.get(f"{srv.base_url}/readyz")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready" and body["plugins"] == 2 and body["tools"] == 7, body


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", "192.0.2.1:8080"])
async def test_a_non_loopback_bind_without_auth_refuses_to_start(capsule, address):
    plugins = capsule.plugin_dir(["hello"])
    result = capsule.cli("serve", "--plugins", str(plugins), "--http", address)
    assert result.returncode == 2, result
    assert "--insecure-no-auth" in result.stderr and "not a loopback address" in result.stderr, result.stderr


async def test_sigterm_lets_the_call_in_flight_finish_then_exits(capsule):
    async with capsule.http_server(["fixture"]) as srv:
        with httpx2.Client(timeout=20) as client:
            session = open_session(client, srv.mcp_url)
            call = sleep_call(9, 1500)
            with client.stream("POST", srv.mcp_url, headers=session, json=call) as stream:
                lines = stream.iter_lines()
                assert next(lines) is not None  # the call is under way
                srv.process.send_signal(signal.SIGTERM)
                rest = list(lines)
            answers = [json.loads(e["data"]) for e in sse_events(rest) if e.get("data")]
            assert answers and answers[-1]["result"]["structuredContent"] == {"slept_ms": 1500}, rest
        assert srv.process.wait(timeout=15) == 0
        assert "shutting down" in srv.stderr()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()


async def test_shutdown_timeout_bounds_a_call_that_does_not_finish(capsule):
    async with capsule.http_server(["fixture"], args=["--shutdown-timeout", "1s", "--timeout", "60s"]) as srv:
        async with httpx2.AsyncClient(timeout=30) as client:
            session = open_session(httpx2.Client(timeout=10), srv.mcp_url)
            call = sleep_call(4, 50000)

            async def hang() -> None:
                try:
                    await client.post(srv.mcp_url, headers=session, json=call)
                except httpx2.HTTPError:
                    pass  # the server closes the connection at the timeout

            async with anyio.create_task_group() as tg:
                tg.start_soon(hang)
                await anyio.sleep(0.5)
                srv.process.send_signal(signal.SIGTERM)
                # Far below the call's own 50 s: the shutdown timeout ended it.
                with anyio.fail_after(20):
                    while srv.process.poll() is None:
                        await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
        assert srv.process.returncode == 0, srv.stderr()
        assert "still running" in srv.stderr()


async def test_port_in_use_is_a_clear_error(capsule):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        plugins = capsule.plugin_dir(["hello"])
        started = time.monotonic()
        result = capsule.cli("serve", "--plugins", str(plugins), "--http", f"127.0.0.1:{port}")
        assert result.returncode == 2, result
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr
        assert time.monotonic() - started < 25


def test_stop_process_helper_reports_exit_status():
    """`stop_process` (used by every HTTP test) returns the real exit status."""
    proc = subprocess.Popen(["sleep", "30"])
    assert stop_process(proc) == -signal.SIGTERM
