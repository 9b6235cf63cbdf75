"""What one HTTP client can make the host hold is bounded (issue #14, part 10): sessions in total and
per subject with idle expiry, long-lived streams per subject, open connections, the time a connection
may take to send a request head or stay idle, and idle connections at shutdown. Each test floods the
real `capsule serve --http 127.0.0.1:0` (small caps and short timeouts set by flags) and checks that
the flood is refused with the documented error, that the server's memory stays bounded, and that a
well-behaved client is still served meanwhile (a `tools/call` of `hello_greet`; the time bounds only
tell a frozen server from a working one)."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import time
from pathlib import Path

import httpx2
import pytest
from conftest import LEGACY_VERSION, RAW_ACCEPT, RAW_HEADERS, raw_initialize

pytestmark = pytest.mark.anyio

PROTOCOL = LEGACY_VERSION
ACCEPT = RAW_ACCEPT
HEADERS = RAW_HEADERS
INITIALIZE = raw_initialize("flood")
GREET = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "hello_greet", "arguments": {"name": "ok"}}}

# A well-behaved call on a loaded 2-core machine takes milliseconds; seconds mean a frozen server.
FREEZE_S = 5.0
# Resident memory of the server under each flood: it starts near 25 MB; unbounded growth was ~54 KB
# per session (1.1 GB for 20 000).
RSS_BOUND_KB = 200_000


def rss_kb(pid: int) -> int:
    """The process's resident set (VmRSS, KiB) from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def messages(response: httpx2.Response) -> list[dict]:
    """The JSON-RPC messages of a POST response, JSON or SSE."""
    if response.headers["content-type"].startswith("application/json"):
        return [response.json()]
    return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]


def initialize(client: httpx2.Client, url: str, headers: dict | None = None) -> httpx2.Response:
    return client.post(url, headers={**HEADERS, **(headers or {})}, json=INITIALIZE)


def open_session(client: httpx2.Client, url: str, headers: dict | None = None) -> dict[str, str]:
    """Initialize a session; return the headers its later requests carry."""
    response = initialize(client, url, headers)
    assert response.status_code == 200, response.text
    session = {
        **HEADERS,
        **(headers or {}),
        "mcp-session-id": response.headers["mcp-session-id"],
        "mcp-protocol-version": PROTOCOL,
    }
    done = client.post(url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert done.status_code == 202, done.text
    return session


def greet_within_bound(client: httpx2.Client, url: str, session: dict[str, str]) -> float:
    """A `tools/call hello_greet` on `session`: it succeeds, and the seconds it took."""
    started = time.monotonic()
    response = client.post(url, headers=session, json=GREET)
    took = time.monotonic() - started
    assert response.status_code == 200, response.text
    result = messages(response)[-1]["result"]
    assert result.get("isError") is not True, result
    assert took < FREEZE_S, f"a well-behaved call took {took:.1f} s: the server froze"
    return took


def refused(response: httpx2.Response, status: int, flag: str) -> str:
    """Assert the documented refusal: `status`, Retry-After, a JSON-RPC error naming `flag`."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["retry-after"] == "5"
    error = response.json()["error"]
    assert f"({flag} raises it)" in error["message"], error
    return error["message"]


def readyz(client: httpx2.Client, base_url: str) -> dict:
    return client.get(f"{base_url}/readyz").json()


async def test_a_session_flood_is_refused_at_the_subject_cap_and_memory_stays_bounded(capsule):
    args = ["--max-sessions-per-subject", "20", "--max-sessions", "1000"]
    async with capsule.http_server(["hello"], args=args) as srv:
        with httpx2.Client(timeout=10) as client:
            good = open_session(client, srv.mcp_url)
            before = rss_kb(srv.process.pid)
            for _ in range(19):
                assert initialize(client, srv.mcp_url).status_code == 200
            refusals = [initialize(client, srv.mcp_url) for _ in range(2000)]
            message = refused(refusals[0], 429, "--max-sessions-per-subject")
            assert message.startswith("Too Many Requests: subject 'anonymous' holds its limit of 20 sessions"), message
            assert refusals[0].json()["id"] == 1
            assert all(r.status_code == 429 for r in refusals)
            after = rss_kb(srv.process.pid)
            assert after < RSS_BOUND_KB, (before, after)
            assert readyz(client, srv.base_url)["sessions"] == 20
            greet_within_bound(client, srv.mcp_url, good)

            # Ending a session frees its place at once.
            assert client.delete(srv.mcp_url, headers=good).status_code == 200
            assert readyz(client, srv.base_url)["sessions"] == 19
            greet_within_bound(client, srv.mcp_url, open_session(client, srv.mcp_url))


async def test_the_global_cap_answers_503_and_subjects_are_capped_apart(capsule, tmp_path):
    tokens = {name: f"{name}-" + hashlib.sha256(name.encode()).hexdigest()[:40] for name in ("alice", "bob", "carol")}
    entries = "".join(
        f'[[token]]\nsubject = "{name}"\nsha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n\n'
        for name, token in tokens.items()
    )
    (tmp_path / "tokens.toml").write_text(entries)
    args = [
        "--auth", "bearer", "--auth-tokens", str(tmp_path / "tokens.toml"),
        "--max-sessions", "5", "--max-sessions-per-subject", "3",
    ]  # fmt: skip
    auth = {name: {"authorization": f"Bearer {token}"} for name, token in tokens.items()}
    async with capsule.http_server(["hello"], args=args) as srv:
        with httpx2.Client(timeout=10) as client:
            alice = [open_session(client, srv.mcp_url, auth["alice"]) for _ in range(3)]
            message = refused(initialize(client, srv.mcp_url, auth["alice"]), 429, "--max-sessions-per-subject")
            assert "subject 'alice'" in message, message
            # Alice's cap is hers: Bob still gets sessions, until the server's cap.
            bob = [open_session(client, srv.mcp_url, auth["bob"]) for _ in range(2)]
            message = refused(initialize(client, srv.mcp_url, auth["carol"]), 503, "--max-sessions")
            assert message.startswith("Service Unavailable: the server holds its limit of 5 sessions"), message
            # The legacy transport counts against the same caps.
            assert refused(client.get(srv.sse_url, headers=auth["carol"]), 503, "--max-sessions")
            greet_within_bound(client, srv.mcp_url, alice[0])
            greet_within_bound(client, srv.mcp_url, bob[1])
            client.delete(srv.mcp_url, headers=bob[0])
            greet_within_bound(client, srv.mcp_url, open_session(client, srv.mcp_url, auth["carol"]))


async def test_idle_sessions_expire_their_next_request_gets_404_and_their_place_is_free(capsule):
    args = ["--session-idle-timeout", "1s", "--max-sessions-per-subject", "200"]
    async with capsule.http_server(["hello"], args=args) as srv:
        with httpx2.Client(timeout=10) as client:
            with client.stream("GET", srv.sse_url) as legacy:
                lines = legacy.iter_lines()
                endpoint = next(line for line in lines if line.startswith("data:")).partition(":")[2].strip()
                sessions = [open_session(client, srv.mcp_url) for _ in range(199)]
                assert initialize(client, srv.mcp_url).status_code == 429
                assert readyz(client, srv.base_url)["sessions"] == 200
                deadline = time.monotonic() + 10
                while readyz(client, srv.base_url)["sessions"] > 0 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert readyz(client, srv.base_url)["sessions"] == 0
            # MCP 2025-11-25 "Session Management": 404 for an ended session; the client
            # initializes again.
            assert client.post(srv.mcp_url, headers=sessions[0], json=GREET).status_code == 404
            fresh = open_session(client, srv.mcp_url)
            greet_within_bound(client, srv.mcp_url, fresh)
            r = client.post(f"{srv.base_url}/{endpoint}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert r.status_code == 404, r.text
            assert rss_kb(srv.process.pid) < RSS_BOUND_KB


async def test_an_idle_legacy_session_is_closed(capsule):
    async with capsule.http_server(["hello"], args=["--session-idle-timeout", "1s"]) as srv:
        with httpx2.Client(timeout=10) as client:
            started = time.monotonic()
            with client.stream("GET", srv.sse_url) as legacy:
                lines = list(legacy.iter_lines())  # ends when the server closes the stream
            assert time.monotonic() - started < FREEZE_S
            assert any(line.startswith("event: endpoint") for line in lines), lines
            assert readyz(client, srv.base_url)["legacySseSessions"] == 0


async def test_streams_per_subject_are_capped(capsule):
    args = ["--max-streams-per-subject", "2"]
    async with capsule.http_server(["hello"], args=args) as srv:
        with httpx2.Client(timeout=10) as client:
            session = open_session(client, srv.mcp_url)
            get = {k: v for k, v in session.items() if k != "content-type"} | {"accept": "text/event-stream"}
            with client.stream("GET", srv.mcp_url, headers=get) as one, client.stream("GET", srv.mcp_url, headers=get) as two:
                assert (one.status_code, two.status_code) == (200, 200)
                third = client.get(srv.mcp_url, headers=get)
                message = refused(third, 429, "--max-streams-per-subject")
                assert "holds its limit of 2 open streams" in message, message
                greet_within_bound(client, srv.mcp_url, session)
            # Closed streams give their places back.
            with client.stream("GET", srv.mcp_url, headers=get) as again:
                assert again.status_code == 200


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (EOF or reset)."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


HALF_HEAD = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"


async def test_a_connection_flood_is_capped_and_idle_or_slow_connections_are_closed(capsule):
    args = ["--max-connections", "100", "--header-timeout", "1s"]
    async with capsule.http_server(["hello"], args=args) as srv:
        with httpx2.Client(timeout=10) as client:
            session = open_session(client, srv.mcp_url)
        idle = [connect(srv.port) for _ in range(50)]
        half = [connect(srv.port) for _ in range(50)]
        for sock in half:
            sock.sendall(HALF_HEAD)
        time.sleep(0.2)
        # The 101st connection is answered 503 naming the flag.
        over = connect(srv.port)
        over.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        over.settimeout(5)
        answer = b""
        while chunk := over.recv(65536):
            answer += chunk
        over.close()
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"(--max-connections raises it)" in answer, answer
        assert rss_kb(srv.process.pid) < RSS_BOUND_KB
        # The header timeout closes idle and half-sent connections.
        assert all(closed_by_server(sock, 5) for sock in idle + half)
        for sock in idle + half:
            sock.close()
        # A kept-alive connection idle past the timeout is closed too.
        kept = connect(srv.port)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        kept.settimeout(5)
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")
        assert closed_by_server(kept, 5)
        kept.close()
        with httpx2.Client(timeout=10) as client:
            greet_within_bound(client, srv.mcp_url, session)
            assert readyz(client, srv.base_url)["connections"] <= 2


async def test_sigterm_with_idle_connections_open_exits_at_once(capsule):
    args = ["--shutdown-timeout", "20s", "--header-timeout", "60s"]
    async with capsule.http_server(["hello"], args=args) as srv:
        with httpx2.Client(timeout=10) as client:
            session = open_session(client, srv.mcp_url)
            greet_within_bound(client, srv.mcp_url, session)
        idle = [connect(srv.port) for _ in range(100)]
        half = [connect(srv.port) for _ in range(100)]
        for sock in half:
            sock.sendall(HALF_HEAD)
        kept = [connect(srv.port) for _ in range(20)]
        for sock in kept:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.settimeout(5)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.2)
        started = time.monotonic()
        srv.process.send_signal(signal.SIGTERM)
        status = srv.process.wait(timeout=15)
        took = time.monotonic() - started
        for sock in idle + half + kept:
            sock.close()
        assert status == 0, srv.stderr()
        # Far below the 20 s shutdown timeout: nothing was in flight.
        assert took < FREEZE_S, f"SIGTERM took {took:.1f} s with idle connections open"
