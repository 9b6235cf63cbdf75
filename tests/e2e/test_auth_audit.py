"""The audit log (`--audit-log`, JSON Lines) and rate limits (`[rate_limits]`): one correct line per call
— including calls refused for scope or rate — over HTTP with real OAuth tokens and over stdio, none lost
at shutdown under load, and no token or secret in it."""

from __future__ import annotations

import hashlib
import json
import signal
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from conftest import all_text, stop_process

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import (  # noqa: E402
    ROBOT,
    SCOPES,
    authorization_server,
    call_over_http,
    capsule_on,
    free_port,
    modern_call,
    modern_headers,
    oauth_config,
)

pytestmark = pytest.mark.anyio

PLUGINS = ("hello", "textkit", "notes", "fixture")


def digest(arguments: dict) -> str:
    """SHA-256 of the compact JSON the host hashes (keys sorted, as serde_json's map keeps them)."""
    return hashlib.sha256(json.dumps(arguments, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_every_call_and_refusal_gets_one_correct_line(capsule, tmp_path):
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    audit = tmp_path / "audit.jsonl"
    with authorization_server(tmp_path, {resource: {"scope": SCOPES, "format": "jwt"}}) as auth_server:
        config = oauth_config(resource, auth_server.issuer) + '\n[rate_limits.tools]\nhello_greet = "2/h"\n'
        args = ["--audit-log", str(audit)]
        token = auth_server.token(ROBOT, resource, "hello notes:read fixture")
        async with capsule_on(capsule, PLUGINS, port, config=config, args=args) as server:
            url = server.mcp_url
            statuses = [call_over_http(url, token, "hello_greet", {"name": f"n{i}"}, id=i).status_code for i in (1, 2, 3)]
            assert statuses == [200, 200, 429]
            limited = call_over_http(url, token, "hello_greet", {"name": "n4"}, id=4)
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 60
            assert limited.json()["id"] == 4 and "rate limit" in limited.json()["error"]["message"]
            assert call_over_http(url, token, "textkit_slugify", {"text": "x"}, id=5).status_code == 403
            tool_error = call_over_http(url, token, "fixture_tool_error", {"message": "boom"}, id=6)
            assert tool_error.status_code == 200 and '"isError":true' in tool_error.text.replace(" ", "")
            assert call_over_http(url, token, "no_such_tool", {}, id=7).status_code == 200
            read = httpx2.post(url, headers=modern_headers(token, "resources/read", "notes://welcome"),
                               json=modern_call("resources/read", {"uri": "notes://welcome"}, 8))
            assert read.status_code == 200, read.text
            assert call_over_http(url, "not-a-valid-token-0123456789", "hello_greet", {"name": "x"}, id=9).status_code == 401
            assert call_over_http(url, None, "hello_greet", {"name": "x"}, id=10).status_code == 401
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=15) == 0

    lines = read_lines(audit)
    calls = {line["request_id"]: line for line in lines if line["event"] == "call"}
    assert len(calls) == sum(1 for line in lines if line["event"] == "call") == 8, lines
    common = {"subject": "robot", "client_id": "robot", "transport": "http"}
    for rid in (1, 2):
        assert calls[rid] | common == calls[rid]
        assert calls[rid]["outcome"] == "ok" and calls[rid]["tool"] == "hello_greet" and calls[rid]["plugin"] == "hello"
        assert calls[rid]["arguments_sha256"] == digest({"name": f"n{rid}"})
        assert "arguments" not in calls[rid]
        assert calls[rid]["duration_ms"] >= 0 and calls[rid]["method"] == "tools/call"
    for rid in (3, 4):
        assert calls[rid]["outcome"] == "limited" and "hello_greet" in calls[rid]["reason"]
    assert calls[5]["outcome"] == "denied" and calls[5]["reason"].startswith("insufficient_scope")
    assert calls[5]["plugin"] == "textkit" and "'text'" in calls[5]["reason"]
    # The tool's error text may echo arguments: not without --audit-arguments.
    assert calls[6]["outcome"] == "tool_error" and "reason" not in calls[6]
    assert calls[7]["outcome"] == "error" and calls[7]["tool"] == "no_such_tool" and "plugin" not in calls[7]
    assert calls[8] | {"outcome": "ok", "method": "resources/read", "resource": "notes://welcome", "plugin": "notes"} == calls[8]
    refused = [line for line in lines if line["event"] == "auth"]
    assert [line["reason"].split(":")[0] for line in refused] == ["invalid_token", "no access token"]
    assert all(line["subject"] is None and line["method"] == "POST /mcp" for line in refused)
    assert all(line["time"].endswith("Z") for line in lines)
    text = audit.read_text()
    assert token not in text and "not-a-valid-token" not in text
    assert audit.stat().st_mode & 0o777 == 0o600


async def test_stdio_rate_limit_is_a_tool_error_and_is_audited(capsule, tmp_path):
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "capsule.toml"
    config.write_text('[rate_limits]\nper_subject = "3/h"\n')
    args = ["--config", str(config), "--audit-log", str(audit), "--audit-arguments"]
    async with capsule.serve(["hello"], args=args) as running:
        results = [await running.client.call_tool("hello_greet", {"name": f"s{i}"}) for i in range(4)]
    assert [r.is_error for r in results] == [False, False, False, True]
    assert "rate limit exceeded" in all_text(results[3]) and "retry after" in all_text(results[3])
    lines = read_lines(audit)
    assert [line["outcome"] for line in lines] == ["ok", "ok", "ok", "limited"]
    assert all(line["transport"] == "stdio" and line["subject"] is None for line in lines)
    assert [line["arguments"] for line in lines] == [{"name": f"s{i}"} for i in range(4)]


async def test_no_line_is_lost_when_shutting_down_under_load(capsule, tmp_path):
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    audit = tmp_path / "audit.jsonl"
    with authorization_server(tmp_path, {resource: {"scope": SCOPES, "format": "jwt"}}) as auth_server:
        token = auth_server.token(ROBOT, resource, SCOPES)
        async with capsule_on(capsule, ("fixture",), port, config=oauth_config(resource, auth_server.issuer),
                              args=["--audit-log", str(audit)]) as server:
            answered: set[int] = set()
            async with httpx2.AsyncClient(timeout=30) as http:
                async def worker(w: int) -> None:
                    for i in range(10_000):
                        body = modern_call("tools/call", {"name": "fixture_echo", "arguments": {"value": [w, i]}}, w * 100_000 + i)
                        try:
                            response = await http.post(server.mcp_url, json=body,
                                                       headers=modern_headers(token, "tools/call", "fixture_echo"))
                        except httpx2.HTTPError:
                            return  # the server has stopped taking requests
                        if response.status_code != 200:
                            return
                        answered.add(w * 100_000 + i)

                async def stop_midway() -> None:
                    while len(answered) < 300:
                        await anyio.sleep(0.01)
                    server.process.send_signal(signal.SIGTERM)

                async with anyio.create_task_group() as tg:
                    for w in range(8):
                        tg.start_soon(worker, w)
                    tg.start_soon(stop_midway)
            assert server.process.wait(timeout=15) == 0
    lines = read_lines(audit)  # every line is whole JSON
    audited = {line["request_id"] for line in lines}
    assert len(answered) >= 300
    assert answered <= audited, f"{len(answered - audited)} answered calls are missing from the audit log"
    assert len(lines) == len(audited) and all(line["outcome"] == "ok" for line in lines)
