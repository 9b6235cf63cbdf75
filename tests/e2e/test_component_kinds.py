"""Every kind of component is one kind of plugin to the server (issue #16): a plain component and a
wasmcp component get the same scopes, rate limits and audit lines as an SDK plugin, over HTTP with
real OAuth tokens, and come out of the compile cache on a restart."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import (  # noqa: E402
    ROBOT,
    authorization_server,
    call_over_http,
    capsule_on,
    free_port,
    oauth_config,
)

pytestmark = pytest.mark.anyio

PLUGINS = ("hello", "plain_types", "wasmcp_echo")
SCOPES = "plain wasmcp hello"
SCOPE_TABLE = """
[auth.scopes]
"plain" = ["plugin:plain_types"]
"wasmcp" = ["tool:wasmcp_echo_echo"]
"hello" = ["tool:hello_*"]
"""


async def test_scopes_rate_limits_and_audit_treat_every_kind_alike(capsule, tmp_path):
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    audit = tmp_path / "audit.jsonl"
    robot = {"client_id": ROBOT[0], "client_secret": ROBOT[1], "scope": SCOPES}
    with authorization_server(tmp_path, {resource: {"scope": SCOPES, "format": "jwt"}}, clients=[robot]) as auth_server:
        config = oauth_config(resource, auth_server.issuer, scopes=SCOPE_TABLE) + (
            '\n[rate_limits.tools]\nplain_types_add = "1/h"\nwasmcp_echo_echo = "1/h"\n'
        )
        token = auth_server.token(ROBOT, resource, "plain hello")
        async with capsule_on(capsule, PLUGINS, port, config=config, args=["--audit-log", str(audit)]) as server:
            url = server.mcp_url
            statuses = {
                1: call_over_http(url, token, "plain_types_add", {"a": 1, "b": 2}, id=1).status_code,
                2: call_over_http(url, token, "plain_types_add", {"a": 1, "b": 2}, id=2).status_code,
                3: call_over_http(url, token, "plain_types_greet", {"name": "x"}, id=3).status_code,
                # The token lacks the `wasmcp` scope.
                4: call_over_http(url, token, "wasmcp_echo_echo", {"text": "x"}, id=4).status_code,
            }
            assert statuses == {1: 200, 2: 429, 3: 200, 4: 403}
            wide = auth_server.token(ROBOT, resource, SCOPES)
            assert call_over_http(url, wide, "wasmcp_echo_echo", {"text": "x"}, id=5).status_code == 200
            assert call_over_http(url, wide, "wasmcp_echo_echo", {"text": "x"}, id=6).status_code == 429
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=15) == 0

    calls = {line["request_id"]: line for line in map(json.loads, audit.read_text().splitlines()) if line["event"] == "call"}
    assert [calls[i]["outcome"] for i in range(1, 7)] == ["ok", "limited", "ok", "denied", "ok", "limited"]
    assert [calls[i]["plugin"] for i in (1, 3, 4, 5)] == ["plain_types", "plain_types", "wasmcp_echo", "wasmcp_echo"]
    assert calls[1]["tool"] == "plain_types_add" and calls[5]["tool"] == "wasmcp_echo_echo"


async def test_every_kind_comes_from_the_compile_cache_on_a_restart(capsule, tmp_path):
    cache = tmp_path / "compile-cache"
    cache.mkdir(mode=0o700)
    args = ["--cache-dir", str(cache)]
    async with capsule.serve(list(PLUGINS), args=args) as cold:
        stderr = await cold.wait_for_stderr("serving on stdio")
    assert stderr.count("compiled the component") == len(PLUGINS), stderr[-3000:]

    async with capsule.serve(list(PLUGINS), args=args) as warm:
        stderr = await warm.wait_for_stderr("serving on stdio")
        names = {t.name for t in (await warm.client.list_tools()).tools}
        assert {"plain_types_greet", "wasmcp_echo_echo", "hello_greet"} <= names
    assert "compiled the component" not in stderr, stderr[-3000:]
    for plugin in PLUGINS:
        assert f'loaded the component from the compile cache plugin="{plugin}"' in stderr, stderr[-3000:]


async def test_the_policy_describes_the_tools_of_an_sdk_plugin_too(capsule):
    policy = (
        '[tools.greet]\ntitle = "Say hello"\ndescription = "Greets by name, politely."\n'
        'params.name = "Who to greet"\n'
    )
    async with capsule.serve(["hello"], extra={"hello.toml": policy.encode()}) as srv:
        (greet,) = (await srv.client.list_tools()).tools
        assert greet.name == "hello_greet" and greet.title == "Say hello"
        assert greet.description == "Greets by name, politely."
        assert greet.input_schema["properties"]["name"]["description"] == "Who to greet"


async def test_a_policy_describing_a_tool_that_does_not_exist_refuses_the_load(capsule):
    policy = '[limits]\ntimeout = "5s"\n\n[tools.wave]\ndescription = "Waves."\n'
    plugin_dir = capsule.plugin_dir(["hello"], extra={"hello.toml": policy.encode()})
    report = capsule.cli("plugins", "--plugins", str(plugin_dir))
    assert "hello.toml:4: [tools.wave]: the plugin has no tool 'wave' (its tools: greet)" in report.stdout + report.stderr
