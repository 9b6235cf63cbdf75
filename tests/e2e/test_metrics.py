"""Metrics (issue #18): a real Prometheus server (Debian's `prometheus`) scrapes Capsule's
`/metrics` and finds exactly the calls the test made, per tool and outcome, in the names of the
OpenTelemetry MCP semantic conventions (`mcp_server_operation_duration_seconds`) and Capsule's own
(`capsule_plugin_calls_total`, ...). `/metrics` on the MCP listener sits behind its authentication;
`--metrics-addr` serves it alone. Without either flag there is no `/metrics`."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from conftest import LEGACY, stop_process
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from registry import free_port

pytestmark = pytest.mark.anyio

SCRAPE_S = 1


@contextmanager
def prometheus(tmp_path: Path, target: str) -> Iterator[str]:
    """Run Prometheus scraping `target` (`HOST:PORT`, path /metrics) every second; yield its URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: apt-get install prometheus (.ci/run does)")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_S}s\n  evaluation_interval: {SCRAPE_S}s\n"
        f"scrape_configs:\n  - job_name: capsule\n    static_configs:\n      - targets: ['{target}']\n"
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prometheus did not start:\n{(tmp_path / 'prometheus.log').read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process)
        log.close()


def query(url: str, promql: str) -> dict[tuple, float]:
    """An instant PromQL query: {tuple of sorted label items (without __name__, job, instance): value}."""
    response = httpx2.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10)
    body = response.json()
    assert body["status"] == "success", body
    out = {}
    for sample in body["data"]["result"]:
        labels = {k: v for k, v in sample["metric"].items() if k not in ("__name__", "job", "instance")}
        out[tuple(sorted(labels.items()))] = float(sample["value"][1])
    return out


async def eventually(url: str, promql: str, expected: float) -> dict:
    """Poll `promql` until its one value is `expected` (scrapes come every second)."""
    result: dict = {}
    with anyio.move_on_after(30):
        while True:
            result = query(url, promql)
            if list(result.values()) == [expected]:
                return result
            await anyio.sleep(0.5)
    pytest.fail(f"{promql} never gave [{expected}]; last: {result}")


@asynccontextmanager
async def client(server):
    async with Client(streamable_http_client(server.mcp_url), mode=LEGACY, cache=None) as c:
        yield c


async def test_prometheus_finds_exactly_the_calls_made_per_tool_and_outcome(capsule, tmp_path):
    port = free_port()
    args = ["--metrics", "--metrics-addr", f"127.0.0.1:{port}"]
    async with capsule.http_server(["hello", "fixture"], args=args) as server, client(server) as c:
        with prometheus(tmp_path, f"127.0.0.1:{port}") as prom:
            for i in range(3):
                assert not (await c.call_tool("hello_greet", {"name": f"n{i}"})).is_error
            for _ in range(2):
                assert (await c.call_tool("fixture_tool_error", {"message": "nope"})).is_error
            assert (await c.call_tool("fixture_trap", {})).is_error
            await c.list_tools()

            calls = "capsule_plugin_calls_total"
            await eventually(prom, f'{calls}{{gen_ai_tool_name="hello_greet",capsule_outcome="ok"}}', 3)
            await eventually(prom, f'{calls}{{gen_ai_tool_name="fixture_tool_error",capsule_outcome="tool_error"}}', 2)
            await eventually(prom, f'{calls}{{gen_ai_tool_name="fixture_trap",capsule_outcome="trap"}}', 1)
            await eventually(prom, f'sum({calls})', 6)
            ok = query(prom, f'{calls}{{gen_ai_tool_name="hello_greet"}}')
            assert [dict(k)["capsule_plugin"] for k in ok] == ["hello"], ok

            duration = "mcp_server_operation_duration_seconds_count"
            operation = await eventually(
                prom, f'{duration}{{mcp_method_name="tools/call",gen_ai_tool_name="hello_greet"}}', 3
            )
            labels = dict(next(iter(operation)))
            assert labels["gen_ai_operation_name"] == "execute_tool", labels
            assert labels["network_transport"] == "tcp" and labels["mcp_protocol_version"] == "2025-11-25", labels
            assert "error_type" not in labels, labels
            await eventually(
                prom, f'{duration}{{gen_ai_tool_name="fixture_tool_error",error_type="tool_error"}}', 2
            )
            await eventually(prom, 'sum(capsule_plugins_loaded)', 2)
            # Loading describes the plugin in instances of its own too: at least one per call.
            created = query(prom, 'sum(capsule_plugin_instantiation_duration_seconds_count{capsule_plugin="hello"})')
            assert created[()] >= 3, created
            loads = query(prom, 'capsule_plugin_loads_total{capsule_outcome="ok"}')
            assert sorted(dict(k)["capsule_plugin"] for k in loads) == ["fixture", "hello"], loads
            # The trap's instance counts its guest memory too.
            assert query(prom, 'sum(capsule_plugin_memory_peak_bytes_count)')[()] >= 6

            await eventually(prom, 'sum(capsule_sessions_active{network_transport="tcp"})', 1)

        # The same text on the MCP listener (no authentication configured here).
        text = httpx2.get(f"{server.base_url}/metrics", timeout=10)
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert 'capsule_plugin_calls_total{capsule_outcome="ok"' in text.text
        # Every metric Capsule exports is one the operations kit (rules, dashboard) knows.
        kit = (Path(__file__).parents[2] / "deploy/observability/README.md").read_text()
        known = set(re.findall(r"^\| `((?:capsule|mcp)_[a-z_]+)` \|", kit, re.M))
        exported = set(re.findall(r"^# TYPE ((?:capsule|mcp)_[a-z_]+) ", text.text, re.M))
        assert exported and exported <= known, exported - known


async def test_metrics_sit_behind_the_listeners_authentication_and_are_off_by_default(capsule, tmp_path):
    token = "metrics-" + hashlib.sha256(b"metrics").hexdigest()[:40]
    (tmp_path / "tokens.toml").write_text(
        f'[[token]]\nsubject = "ops"\nsha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n'
    )
    args = ["--metrics", "--auth", "bearer", "--auth-tokens", str(tmp_path / "tokens.toml")]
    async with capsule.http_server(["hello"], args=args) as server:
        url = f"{server.base_url}/metrics"
        assert httpx2.get(url, timeout=10).status_code == 401
        assert httpx2.get(url, headers={"authorization": "Bearer wrong"}, timeout=10).status_code == 401
        answer = httpx2.get(url, headers={"authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert 'capsule_auth_failures_total{capsule_reason="missing_token"' in answer.text, answer.text
        assert 'capsule_auth_failures_total{capsule_reason="invalid_token"' in answer.text, answer.text
    async with capsule.http_server(["hello"]) as server:
        assert httpx2.get(f"{server.base_url}/metrics", timeout=10).status_code == 404


async def test_json_logs_are_one_object_per_line_with_plugin_output_tagged(capsule):
    async with capsule.serve(["fixture"], args=["--log-format", "json"]) as srv:
        assert not (await srv.client.call_tool("fixture_print", {"text": "hello from the guest"})).is_error
        await srv.wait_for_stderr("hello from the guest")
        lines = [line for line in srv.stderr().splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        printed = [r for r in records if "hello from the guest" in r["fields"].get("message", "")]
        assert printed and all(r["fields"].get("plugin") == "fixture" for r in printed), printed
        assert all({"timestamp", "level", "target", "fields"} <= set(r) for r in records), records[:3]
