"""The server keeps going: broken plugin files at start-up, plugins that print, many calls in a row."""

from __future__ import annotations

import json
import os
import subprocess

import anyio
import pytest
from conftest import CORE_MODULE_BYTES, structured

pytestmark = pytest.mark.anyio

BROKEN = {
    "random-bytes.wasm": os.urandom(4096),
    "core-module.wasm": CORE_MODULE_BYTES,  # valid wasm, but a core module, not a component
    "empty.wasm": b"",
}


async def test_broken_plugins_do_not_stop_start_up(capsule, mode):
    async with capsule.serve(["hello", "textkit"], extra=BROKEN, mode=mode) as srv:
        names = {t.name for t in (await srv.client.list_tools()).tools}
        assert "hello_greet" in names and "textkit_reverse" in names, names
        stems = [f.removesuffix(".wasm") for f in BROKEN]
        assert not [n for n in names if n.startswith(tuple(f"{s}_" for s in stems))], names
        assert structured(await srv.client.call_tool("hello_greet", {"name": "still"})) == {"greeting": "Hello, still!"}
        stderr = await srv.wait_for_stderr(*BROKEN)
        missing = [f for f in BROKEN if f not in stderr]
        assert not missing, f"server stderr does not name {missing}:\n{stderr[-3000:]}"
        assert not srv.stream_errors, srv.stream_errors[:3]


def test_server_exits_cleanly_when_stdin_closes(capsule):
    """stdio lifecycle: with no request at all the server prints nothing on stdout, and closing its
    stdin ends it with status 0 (no signal needed)."""
    plugin_dir = capsule.plugin_dir(["hello", "textkit"], BROKEN)
    proc = subprocess.Popen(
        [str(capsule.binary), *capsule.serve_args(plugin_dir, notes=False)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(input=b"", timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"server still running 20 s after stdin closed; stderr:\n{err.decode(errors='replace')[-2000:]}")
    assert out == b"", f"unexpected stdout without any request: {out[:500]!r}"
    assert proc.returncode == 0, f"exit status {proc.returncode}; stderr:\n{err.decode(errors='replace')[-2000:]}"


async def test_plugin_output_stays_off_the_json_rpc_stream(capsule, mode):
    """`fixture_print` writes to the plugin's stdout and stderr; none of it may reach the client's
    stdin (it would break JSON-RPC framing), all of it should reach the server's stderr, tagged."""
    markers = [f"capsule-print-marker-{i:03d}" for i in range(60)]
    async with capsule.serve(["fixture", "hello"], mode=mode) as srv:
        for marker in markers[:30]:
            result = await srv.client.call_tool("fixture_print", {"text": marker})
            assert not result.is_error, result

        async def call(marker: str) -> None:
            result = await srv.client.call_tool("fixture_print", {"text": marker})
            assert not result.is_error, result

        async with anyio.create_task_group() as tg:  # concurrent calls: output must not interleave into stdout
            for marker in markers[30:]:
                tg.start_soon(call, marker)

        for i in range(5):
            assert structured(await srv.client.call_tool("fixture_echo", {"value": i})) == {"value": i}
        assert structured(await srv.client.call_tool("hello_greet", {"name": "z"})) == {"greeting": "Hello, z!"}
        assert not srv.stream_errors, f"non-JSON-RPC output on stdout: {srv.stream_errors[:3]}"

        stderr = await srv.wait_for_stderr(*markers)
        missing = [m for m in markers if m not in stderr]
        assert not missing, f"{len(missing)} printed markers missing from server stderr, e.g. {missing[:3]}"
        untagged = [line for line in stderr.splitlines() if "capsule-print-marker" in line and "fixture" not in line]
        assert not untagged, f"plugin output not tagged with the plugin name: {untagged[:3]}"


async def test_many_sequential_and_concurrent_calls(capsule, mode):
    async with capsule.serve(["textkit"], mode=mode) as srv:
        for i in range(50):
            text = f"call {i} ✓"
            assert structured(await srv.client.call_tool("textkit_reverse", {"text": text})) == {"text": text[::-1]}

        results: dict[int, dict] = {}

        async def call(i: int) -> None:
            results[i] = structured(await srv.client.call_tool("textkit_reverse", {"text": f"concurrent {i}"}))

        async with anyio.create_task_group() as tg:
            for i in range(32):
                tg.start_soon(call, i)
        assert results == {i: {"text": f"concurrent {i}"[::-1]} for i in range(32)}
        assert not srv.stream_errors


def test_malformed_json_rpc_gets_an_error_and_the_session_goes_on(capsule):
    """JSON-RPC 2.0 §5.1 over stdio: a line that is not JSON gets -32700, a batch array or a
    non-JSON-RPC object gets -32600 (MCP 2025-11-25 removed batching); valid messages after them
    are served as usual."""
    plugin_dir = capsule.plugin_dir(["hello"])
    lines = [
        "this is not json",
        '[{"jsonrpc":"2.0","id":90,"method":"ping"}]',
        '{"id":91,"method":"ping"}',
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}',
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hello_greet","arguments":{"name":"raw"}}}',
    ]
    proc = subprocess.run(
        [str(capsule.binary), *capsule.serve_args(plugin_dir, notes=False)],
        input=("\n".join(lines) + "\n").encode(),
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    replies = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    errors = [(r["id"], r["error"]["code"]) for r in replies if "error" in r]
    assert sorted(errors, key=str) == sorted([(None, -32700), (None, -32600), (91, -32600)], key=str), replies
    by_id = {r["id"]: r for r in replies if "result" in r}
    assert by_id[1]["result"]["serverInfo"]["name"] == "capsule"
    assert by_id[2]["result"]["structuredContent"] == {"greeting": "Hello, raw!"}
