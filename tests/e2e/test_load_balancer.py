"""Three Capsule replicas behind a real load balancer (issue #20): HAProxy from Debian with the shipped
deploy/loadbalancer/haproxy.cfg, and nginx with deploy/loadbalancer/nginx.conf.

The replicas are plain `capsule serve --http` processes on loopback ports sharing one plugin directory
and one `--request-state-key` file. Shown with HAProxy: 2026-07-28 requests spread over every replica,
a multi round-trip request whose rounds are answered by different replicas, 2025-11-25 sessions that
stay on their replica (and the clear error when it is gone), a plugin dropped into the shared
directory reaching every replica and its listen streams, and a rolling restart of all three under
continuous `capsule-bench` load with zero failed requests. With nginx: both eras through the shipped
configuration (stateless requests spread; sessions kept by client address)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
import pytest
from conftest import (
    LEGACY,
    LISTENING_RE,
    MODERN,
    RAW_ACCEPT,
    STARTUP_TIMEOUT_S,
    raw_initialize,
    stop_process,
)
from mcp.client.subscriptions import ToolsListChanged

import sys

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import free_port, mcp_client, modern_call, modern_headers  # noqa: E402

pytestmark = pytest.mark.anyio

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "loadbalancer"
REPLICAS = 3
PLUGINS = ("hello", "test")  # `test` is the conformance plugin: its input-required tools
MRTR_TOOL = "test_input_required_result_request_state"
MRTR_ANSWER = {"confirm": {"action": "accept", "content": {"ok": True}}}
HEADER = "x-capsule-replica"


@dataclass
class Replica:
    """One `capsule serve --http` process on a fixed loopback port (so it can restart in place)."""

    name: str
    command: list[str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        with self.log.open("a", encoding="utf-8") as errlog:
            errlog.write(f"--- start {time.monotonic():.3f}\n")
        errlog = self.log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog)
        errlog.close()

    def wait_listening(self, since: int = 0) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
            if LISTENING_RE.search(self.log.read_text(errors="replace")[since:]):
                return
            time.sleep(0.02)
        pytest.fail(f"{self.name} did not start listening:\n{self.log.read_text()[-3000:]}")

    def ready(self) -> bool:
        try:
            return httpx2.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200
        except httpx2.HTTPError:
            return False

    def stop(self) -> int:
        assert self.process is not None
        return stop_process(self.process)


@dataclass
class Cluster:
    replicas: list[Replica]
    plugin_dir: Path
    lb_url: str
    lb_log: Path
    names: set[str] = field(default_factory=set)


def replica_commands(capsule, plugin_dir: Path, key: Path, ports: Sequence[int]) -> list[list[str]]:
    return [
        [
            str(capsule.binary),
            "serve",
            "--plugins",
            str(plugin_dir),
            "--http",
            f"127.0.0.1:{port}",
            "--request-state-key",
            str(key),
            "--shutdown-timeout",
            "10s",
        ]
        for port in ports
    ]


@contextmanager
def replicas(capsule, tmp_path: Path, plugins: Sequence[str] = PLUGINS) -> Iterator[tuple[list[Replica], Path]]:
    plugin_dir = capsule.plugin_dir(plugins)
    key = tmp_path / "request-state.key"
    key.write_bytes(os.urandom(32))
    ports = [free_port() for _ in range(REPLICAS)]
    group = [
        Replica(f"capsule{i + 1}", command, port, tmp_path / f"capsule{i + 1}.log")
        for i, (command, port) in enumerate(zip(replica_commands(capsule, plugin_dir, key, ports), ports))
    ]
    try:
        for r in group:
            r.start()
        for r in group:
            r.wait_listening()
        yield group, plugin_dir
    finally:
        for r in group:
            if r.process is not None:
                r.stop()


def wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx2.HTTPError:
            time.sleep(0.05)
    pytest.fail(f"the load balancer did not listen on {port}:\n{log.read_text()}")


def served_by(url: str, tool: str = "hello_greet", arguments: dict | None = None) -> str:
    """Which replica answered one stateless 2026-07-28 call through the load balancer."""
    response = httpx2.post(
        url,
        headers=modern_headers(None, "tools/call", tool),
        json=modern_call("tools/call", {"name": tool, "arguments": arguments or {"name": "lb"}}),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "error" not in response.json(), response.text
    return response.headers[HEADER]


def elicitation_call(params: dict, id: int) -> dict:
    """A 2026-07-28 `tools/call` from a client that declares elicitation."""
    body = modern_call("tools/call", params, id)
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {"elicitation": {}}
    return body


def wait_all_up(url: str, names: set[str]) -> None:
    """Until consecutive requests through the load balancer have reached every replica."""
    deadline = time.monotonic() + 20
    seen: set[str] = set()
    while time.monotonic() < deadline and seen != names:
        seen.add(served_by(url))
    assert seen == names, seen


@asynccontextmanager
async def haproxy(capsule, tmp_path: Path, plugins: Sequence[str] = PLUGINS) -> AsyncIterator[Cluster]:
    with replicas(capsule, tmp_path, plugins) as (group, plugin_dir):
        port = free_port()
        env = {
            **os.environ,
            "CAPSULE_LB_BIND": f"127.0.0.1:{port}",
            **{f"CAPSULE_{i + 1}": f"127.0.0.1:{r.port}" for i, r in enumerate(group)},
        }
        log = tmp_path / "haproxy.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                ["haproxy", "-db", "-f", str(DEPLOY / "haproxy.cfg")], env=env, stdout=out, stderr=out
            )
        try:
            wait_port(port, process, log)
            cluster = Cluster(group, plugin_dir, f"http://127.0.0.1:{port}/mcp", log, {r.name for r in group})
            wait_all_up(cluster.lb_url, cluster.names)
            yield cluster
        finally:
            stop_process(process)


def legacy_post(url: str, body: dict, session: str | None = None) -> httpx2.Response:
    headers = {"content-type": "application/json", "accept": RAW_ACCEPT}
    if session:
        headers["mcp-session-id"] = session
        headers["mcp-protocol-version"] = "2025-11-25"
    return httpx2.post(url, headers=headers, json=body, timeout=30)


def legacy_session(url: str) -> tuple[str, str]:
    """Initialize a 2025-11-25 session through `url`: (session id, replica)."""
    response = legacy_post(url, raw_initialize("lb-test"))
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert legacy_post(url, initialized, session).status_code == 202
    return session, response.headers[HEADER]


# ------------------------------------------------------------------------------------------ HAProxy


async def test_stateless_requests_spread_and_rounds_cross_replicas(capsule, tmp_path):
    async with haproxy(capsule, tmp_path) as cluster:
        counts: dict[str, int] = {}
        for _ in range(9):
            name = served_by(cluster.lb_url)
            counts[name] = counts.get(name, 0) + 1
        assert counts == {name: 3 for name in cluster.names}, counts

        # A multi round-trip request: the first round's requestState is sealed by one replica and
        # opened by another (round robin sends consecutive requests to different replicas).
        first = httpx2.post(
            cluster.lb_url,
            headers=modern_headers(None, "tools/call", MRTR_TOOL),
            json=elicitation_call({"name": MRTR_TOOL, "arguments": {}}, 1),
            timeout=30,
        )
        assert "result" in first.json(), first.text
        result = first.json()["result"]
        assert result["resultType"] == "input_required", result
        retry = {"name": MRTR_TOOL, "arguments": {}, "inputResponses": MRTR_ANSWER, "requestState": result["requestState"]}
        second = httpx2.post(
            cluster.lb_url,
            headers=modern_headers(None, "tools/call", MRTR_TOOL),
            json=elicitation_call(retry, 2),
            timeout=30,
        )
        assert second.headers[HEADER] != first.headers[HEADER]
        done = second.json()["result"]
        assert not done.get("isError") and "state-ok" in json.dumps(done), done


async def test_sessions_stay_on_their_replica_and_a_lost_one_is_a_clear_error(capsule, tmp_path):
    async with haproxy(capsule, tmp_path) as cluster:
        # The Python SDK's 2025-11-25 client works through the balancer: every request of its
        # session reaches the replica that holds the session.
        async with mcp_client(cluster.lb_url, mode=LEGACY) as client:
            for i in range(6):
                result = await client.call_tool("hello_greet", {"name": f"n{i}"})
                assert not result.is_error, result

        session, home = legacy_session(cluster.lb_url)
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        for _ in range(6):
            response = legacy_post(cluster.lb_url, call, session)
            assert response.status_code == 200 and response.headers[HEADER] == home, response.headers

        # Its replica goes away: the request is sent elsewhere, which does not know the session.
        next(r for r in cluster.replicas if r.name == home).stop()
        response = legacy_post(cluster.lb_url, call, session)
        assert response.status_code == 404, (response.status_code, response.text)
        assert response.headers[HEADER] != home
        assert "session" in response.text.lower(), response.text
        # A new session works, on a replica still running.
        _, other = legacy_session(cluster.lb_url)
        assert other != home


async def test_a_dropped_plugin_reaches_every_replica_and_its_listen_streams(capsule, tmp_path):
    async with haproxy(capsule, tmp_path, plugins=("hello",)) as cluster:
        async with anyio.create_task_group() as tg:
            heard: dict[str, bool] = {}

            async def listen(replica: Replica, ready: anyio.Event) -> None:
                async with mcp_client(replica.url, mode=MODERN) as client:
                    async with client.listen(tools_list_changed=True) as stream:
                        ready.set()
                        async for event in stream:
                            if isinstance(event, ToolsListChanged):
                                heard[replica.name] = True
                                return

            events = []
            for replica in cluster.replicas:
                ready = anyio.Event()
                events.append(ready)
                tg.start_soon(listen, replica, ready)
            with anyio.fail_after(30):
                for ready in events:
                    await ready.wait()
                shutil.copyfile(capsule.built / "textkit.wasm", cluster.plugin_dir / "textkit.wasm")
                while len(heard) < REPLICAS:
                    await anyio.sleep(0.05)
        assert set(heard) == cluster.names
        seen = {served_by(cluster.lb_url, "textkit_reverse", {"text": "ab"}) for _ in range(REPLICAS)}
        assert seen == cluster.names


async def test_a_rolling_restart_under_load_fails_no_request(capsule, tmp_path):
    """SIGTERM one replica at a time (it drains: /readyz 503, calls in flight finish), start it again,
    wait until the balancer uses it, then the next, while capsule-bench keeps 8 calls in flight."""
    bench = Path(os.environ.get("CAPSULE_BENCH", capsule.binary.parent / "capsule-bench"))
    assert bench.is_file(), f"{bench} not found: cargo build -p capsule-bench"
    async with haproxy(capsule, tmp_path, plugins=("hello",)) as cluster:
        report = tmp_path / "bench.json"
        load = subprocess.Popen(
            [
                str(bench), "load", "--url", cluster.lb_url, "--era", MODERN, "--tool", "hello_greet",
                "--args", '{"name":"rolling"}', "--concurrency", "8", "--warmup", "16",
                "--calls", "10000000", "--max-seconds", "40", "--json", str(report),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            time.sleep(2)
            for replica in cluster.replicas:
                assert replica.stop() == 0, replica.log.read_text()[-3000:]
                mark = len(replica.log.read_text(errors="replace"))
                replica.start()
                replica.wait_listening(since=mark)
                deadline = time.monotonic() + 20
                while not replica.ready() and time.monotonic() < deadline:
                    time.sleep(0.05)
                # Back in the balancer's rotation (it must answer twice before HAProxy sends to it).
                wait_all_up(cluster.lb_url, cluster.names)
            output, _ = load.communicate(timeout=120)
        finally:
            if load.poll() is None:
                load.kill()
                load.wait()
        text = output.decode(errors="replace")
        assert load.returncode == 0, text
        run = json.loads(report.read_text())
        [level] = (run[0] if isinstance(run, list) else run)["levels"]
        assert level["calls"] > 0 and level["errors"] == 0, (level, text)
        for replica in cluster.replicas:
            assert "shutting down" in replica.log.read_text(), replica.name


# -------------------------------------------------------------------------------------------- nginx


def nginx_config(template: str, lb_port: int, ports: Sequence[int], prefix: Path) -> str:
    """The shipped nginx.conf with this test's addresses (its `server 127.0.0.1:808N` lines and its
    `listen`) and a writable prefix for nginx's own files."""
    servers = iter(ports * 2)
    text = re.sub(r"server 127\.0\.0\.1:808[1-3]", lambda _: f"server 127.0.0.1:{next(servers)}", template)
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{lb_port};")
    return text.replace("/var/lib/capsule-nginx", str(prefix))


async def test_nginx_serves_both_eras(capsule, tmp_path):
    with replicas(capsule, tmp_path, plugins=("hello",)) as (group, _):
        lb_port = free_port()
        prefix = tmp_path / "nginx"
        (prefix / "logs").mkdir(parents=True)
        config = prefix / "nginx.conf"
        config.write_text(nginx_config((DEPLOY / "nginx.conf").read_text(), lb_port, [r.port for r in group], prefix))
        log = prefix / "logs" / "error.log"
        process = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(config), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_port(lb_port, process, log)
            url = f"http://127.0.0.1:{lb_port}/mcp"
            # 2026-07-28: round robin over every replica.
            seen = {served_by(url) for _ in range(REPLICAS * 2)}
            assert len(seen) == REPLICAS, seen
            # 2025-11-25: a session and its requests from one client address stay on one replica.
            session, home = legacy_session(url)
            for _ in range(5):
                response = legacy_post(url, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, session)
                assert response.status_code == 200 and response.headers[HEADER] == home
            async with mcp_client(url, mode=LEGACY) as client:
                assert not (await client.call_tool("hello_greet", {"name": "nginx"})).is_error
            async with mcp_client(url, mode=MODERN) as client:
                assert not (await client.call_tool("hello_greet", {"name": "nginx"})).is_error
        finally:
            process.send_signal(signal.SIGQUIT)
            stop_process(process)
