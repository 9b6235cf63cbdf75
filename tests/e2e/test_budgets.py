"""Availability, attacked: the `hostile` plugin (plugins/hostile) and a hostile operator directory try to
slow, starve or break the host and the other plugins (issue #14). Every attack must be refused or bounded
with the documented error naming its `[limits]` key, AND another plugin (`hello_greet`) must keep answering
meanwhile: a freeze is seconds, a pass is milliseconds, so the bounds below are generous.

`hostile` chooses its load-time attack from the environment variable HOSTILE, granted in its policy (see
plugins/hostile/src/lib.rs); `hostile_slow.wasm` sleeps inside `describe`, before any policy applies. The
handle, memory, disk and link attacks are in test_budgets_handles.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from conftest import LEGACY, all_text
from mcp.shared.exceptions import MCPError
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.anyio

# A call that takes longer than this froze; the healthy answer takes milliseconds.
RESPONSIVE_S = 2.0


def hostile_policy(mode: str, limits: str = "") -> bytes:
    return f'[env]\nHOSTILE = {{ value = "{mode}" }}\n{limits}'.encode()


def plugins_json(capsule, plugin_dir: Path, timeout: float = 60) -> tuple[dict, float]:
    """`capsule plugins --json` on `plugin_dir`: the report and how long it took."""
    started = time.monotonic()
    done = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json", "--no-cache", timeout=timeout)
    return json.loads(done.stdout), time.monotonic() - started


def failure(report: dict, stem: str) -> str:
    reasons = [e["reason"] for e in report["errors"] if Path(e["path"]).stem == stem]
    assert reasons, f"{stem} should have failed to load: {report['errors']}"
    return reasons[0]


def served(report: dict) -> set[str]:
    return {p["name"] for p in report["plugins"]}


async def greet_quickly(client: Client) -> float:
    """Call hello_greet and return how long it took; fail if it did not answer like a healthy server."""
    started = time.monotonic()
    with anyio.fail_after(RESPONSIVE_S * 5):
        result = await client.call_tool("hello_greet", {"name": "bystander"})
    took = time.monotonic() - started
    assert not result.is_error, all_text(result)
    assert "bystander" in all_text(result)
    assert took < RESPONSIVE_S, f"hello_greet took {took:.2f}s"
    return took


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@asynccontextmanager
async def http_client(server):
    async with Client(streamable_http_client(server.mcp_url), mode=LEGACY, cache=None, read_timeout_seconds=30) as client:
        yield client


# -------------------------------------------------------------------------------------------------------------
# 1. Schemas


@pytest.mark.parametrize(
    ("mode", "needle"),
    [
        ("schema=exponential", "unfolds to more than 20000 subschemas through its $refs (combinator fan-out)"),
        ("schema=big", "over the limit of 262144 ([limits] max_schema)"),
    ],
)
def test_a_schema_that_would_make_validation_expensive_refuses_the_plugin(capsule, mode, needle):
    plugin_dir = capsule.plugin_dir(["hello", "hostile"], extra={"hostile.toml": hostile_policy(mode)})
    report, took = plugins_json(capsule, plugin_dir)
    reason = failure(report, "hostile")
    assert "tool 'echo': input-schema" in reason and needle in reason, reason
    assert "hello" in served(report)
    assert took < 20, f"loading took {took:.1f}s"


async def test_other_plugins_answer_while_a_hostile_schema_is_refused(capsule):
    extra = {"hostile.toml": hostile_policy("schema=exponential")}
    async with capsule.serve(["hello", "hostile"], extra=extra) as srv:
        await greet_quickly(srv.client)
        tools = {t.name for t in (await srv.client.list_tools()).tools}
        assert not any(t.startswith("hostile_") for t in tools), tools


async def test_a_client_cannot_make_argument_checks_hold_up_other_clients(capsule):
    """A big argument is checked off the async workers: hello answers while it is checked."""
    async with capsule.serve(["hello", "hostile"], extra={"hostile.toml": hostile_policy("")}) as srv:
        big = {"text": "t", "pad": [{"k": [i, str(i), None]} for i in range(60_000)]}
        async with anyio.create_task_group() as tg:
            tg.start_soon(srv.client.call_tool, "hostile_echo", big)
            await anyio.sleep(0.05)
            for _ in range(3):
                await greet_quickly(srv.client)


# -------------------------------------------------------------------------------------------------------------
# 4. Output


@pytest.mark.parametrize("kind", ["annotation", "mime", "link", "meta"])
async def test_output_hidden_outside_text_counts_against_max_output(capsule, kind):
    extra = {"hostile.toml": hostile_policy("", '[limits]\nmax_output = "1MiB"\n')}
    async with capsule.serve(["hello", "hostile"], extra=extra) as srv:
        result = await srv.client.call_tool("hostile_output", {"kind": kind, "bytes": 3 << 20})
        assert result.is_error
        text = all_text(result)
        assert "over its limit of 1.0 MiB ([limits] max_output)" in text, text[:500]
        small = await srv.client.call_tool("hostile_output", {"kind": kind, "bytes": 1000})
        assert "max_output" not in all_text(small), all_text(small)[:500]
        await greet_quickly(srv.client)


async def test_many_empty_blocks_are_capped_and_memory_stays_bounded(capsule):
    extra = {"hostile.toml": hostile_policy("")}
    async with capsule.http_server(["hello", "hostile"], extra=extra) as server, http_client(server) as client:
        before = rss_kib(server.process.pid)
        for _ in range(3):
            result = await client.call_tool("hostile_output", {"kind": "blocks", "count": 100_000})
            assert result.is_error
            assert "100000 content blocks, over its limit of 1000 ([limits] max_content_blocks)" in all_text(result)
        grown = rss_kib(server.process.pid) - before
        assert grown < 150 * 1024, f"RSS grew by {grown} KiB"
        ok = await client.call_tool("hostile_output", {"kind": "blocks", "count": 1000})
        assert not ok.is_error and len(ok.content) == 1000
        await greet_quickly(client)


# -------------------------------------------------------------------------------------------------------------
# 5. Load: time, size and self-description


def test_a_plugin_that_waits_while_describing_itself_is_cut_off(capsule):
    """`list-tools` sleeps in a host call (where the epoch deadline cannot reach); `hostile_slow` sleeps in
    `describe`. Both are refused at `load_timeout`, and the other plugins load meanwhile."""
    limits = '[limits]\nload_timeout = "1s"\n'
    plugin_dir = capsule.plugin_dir(
        ["hello", "hostile", "hostile_slow"],
        extra={"hostile.toml": hostile_policy("sleep=60", limits), "hostile_slow.toml": limits.encode()},
    )
    report, took = plugins_json(capsule, plugin_dir)
    for stem in ("hostile", "hostile_slow"):
        reason = failure(report, stem)
        assert "took longer than 1s to describe itself" in reason and "[limits] load_timeout" in reason, reason
    assert "hello" in served(report)
    assert took < 15, f"loading took {took:.1f}s"


async def test_a_slow_plugin_does_not_delay_hot_reload_of_others(capsule):
    """`hostile_slow` takes its whole load_timeout (8 s) to fail; a plugin added meanwhile is served before
    that, as soon as it has loaded."""
    async with capsule.serve(["hello"]) as srv:
        (srv.plugin_dir / "hostile_slow.toml").write_text('[limits]\nload_timeout = "8s"\n')
        shutil.copyfile(capsule.built / "hostile_slow.wasm", srv.plugin_dir / ".slow.tmp")
        os.rename(srv.plugin_dir / ".slow.tmp", srv.plugin_dir / "hostile_slow.wasm")
        await anyio.sleep(0.3)
        shutil.copyfile(capsule.built / "textkit.wasm", srv.plugin_dir / ".textkit.tmp")
        os.rename(srv.plugin_dir / ".textkit.tmp", srv.plugin_dir / "textkit.wasm")
        with anyio.fail_after(20):
            while "textkit_reverse" not in {t.name for t in (await srv.client.list_tools()).tools}:
                await anyio.sleep(0.05)
        assert "[limits] load_timeout" not in srv.stderr(), "textkit waited for the slow plugin to fail"
        await greet_quickly(srv.client)
        log = await srv.wait_for_stderr("[limits] load_timeout", timeout=15)
        assert "hostile_slow" in log


@pytest.mark.parametrize(
    ("mode", "needle"),
    [
        ("tools=5000", "the plugin lists 5007 tools, over its limit of 1000 ([limits] max_tools)"),
        ("description=40000", "its description is 39.1 KiB long, over the limit of 32.0 KiB ([limits] max_description)"),
    ],
)
def test_self_description_is_capped(capsule, mode, needle):
    plugin_dir = capsule.plugin_dir(["hello", "hostile"], extra={"hostile.toml": hostile_policy(mode)})
    report, _ = plugins_json(capsule, plugin_dir)
    assert needle in failure(report, "hostile")
    assert "hello" in served(report)


def test_self_description_caps_are_settable(capsule):
    policy = hostile_policy("tools=1500", "[limits]\nmax_tools = 2000\n")
    plugin_dir = capsule.plugin_dir(["hostile"], extra={"hostile.toml": policy})
    report, _ = plugins_json(capsule, plugin_dir)
    assert "hostile" in served(report), report["errors"]


# -------------------------------------------------------------------------------------------------------------
# 7 (operator side). Files that are not what they seem


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def test_fifos_devices_big_and_truncated_files_are_skipped_without_waiting(capsule):
    hello = (capsule.built / "hello.wasm").read_bytes()
    plugin_dir = capsule.plugin_dir(
        ["hello", "textkit"],
        extra={
            "truncated.wasm": hello[: len(hello) // 2],
            "big.wasm": hello + b"\0" * 4096,
            "big.toml": b'[limits]\nmax_component_size = "4KiB"\n',
        },
    )
    make_fifo(plugin_dir / "textkit.toml")  # a policy file that is a FIFO
    make_fifo(plugin_dir / "pipe.wasm")
    (plugin_dir / "zero.wasm").symlink_to("/dev/zero")
    report, took = plugins_json(capsule, plugin_dir, timeout=30)
    assert took < 15, f"took {took:.1f}s"
    assert "not a regular file (a FIFO)" in failure(report, "textkit")
    assert "not a regular file (a FIFO)" in failure(report, "pipe")
    assert "not a regular file (a character device)" in failure(report, "zero")
    assert "over the limit of 4.0 KiB ([limits] max_component_size)" in failure(report, "big")
    assert "does not compile" in failure(report, "truncated")
    assert served(report) == {"hello"}


async def test_a_fifo_policy_file_appearing_while_serving_hangs_nothing(capsule):
    async with capsule.http_server(["hello", "textkit"]) as server, http_client(server) as client:
        make_fifo(server.plugin_dir / "textkit.toml")
        await server.wait_for_stderr("not a regular file (a FIFO)", timeout=10)
        await greet_quickly(client)
        # The previous version of textkit keeps serving.
        result = await client.call_tool("textkit_reverse", {"text": "abc"})
        assert "cba" in all_text(result)
        started = time.monotonic()
        server.process.terminate()
        assert server.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5


# -------------------------------------------------------------------------------------------------------------
# 6. Names


async def test_a_plugin_cannot_take_another_plugins_tool_name_in_either_order(capsule):
    """`my.wasm` (hostile) declares tool `tools_greet`, which publishes as `my_tools_greet`, the name of
    `my_tools.wasm`'s (hello's) `greet`. The name is in my_tools' namespace: hello keeps it, whichever
    plugin was there first."""
    squat = {"my.toml": hostile_policy("tool=tools_greet")}
    hostile = (capsule.built / "hostile.wasm").read_bytes()
    hello = (capsule.built / "hello.wasm").read_bytes()
    for first, second in ((("my.wasm", hostile), ("my_tools.wasm", hello)), (("my_tools.wasm", hello), ("my.wasm", hostile))):
        async with capsule.serve([], extra={**squat, first[0]: first[1]}) as srv:
            (srv.plugin_dir / ".tmp").write_bytes(second[1])
            os.rename(srv.plugin_dir / ".tmp", srv.plugin_dir / second[0])
            # Both are loaded once the host reports the contested name.
            log = await srv.wait_for_stderr("'my_tools_greet' is claimed by plugins my, my_tools; my_tools serves it")
            assert "my_tools serves it" in log
            assert {"my_tools_greet", "my_echo"} <= {t.name for t in (await srv.client.list_tools()).tools}
            result = await srv.client.call_tool("my_tools_greet", {"name": "owner"})
            assert "owner" in all_text(result), f"{first[0]} first: {all_text(result)}"


async def test_a_newcomer_cannot_take_a_served_resource_uri(capsule, notes_data):
    """hostile claims notes' URI and template after notes serves them: notes keeps both."""
    squat = hostile_policy("uri=notes://welcome,template=notes://{x}")
    async with capsule.serve(["notes"]) as srv:
        welcome = await srv.client.read_resource("notes://welcome")
        (srv.plugin_dir / "hostile.toml").write_bytes(squat)
        shutil.copyfile(capsule.built / "hostile.wasm", srv.plugin_dir / ".tmp")
        os.rename(srv.plugin_dir / ".tmp", srv.plugin_dir / "hostile.wasm")
        with anyio.fail_after(10):
            while "hostile_echo" not in {t.name for t in (await srv.client.list_tools()).tools}:
                await anyio.sleep(0.05)
        for uri in ("notes://welcome", "notes://ideas"):
            contents = await srv.client.read_resource(uri)
            text = contents.contents[0].text
            assert "hostile's copy" not in text, text
        assert (await srv.client.read_resource("notes://welcome")).contents[0].text == welcome.contents[0].text
        # A URI only the templates match is notes' to answer (here: no such note).
        with pytest.raises(MCPError) as info:
            await srv.client.read_resource("notes://no-such-note")
        assert "hostile" not in str(info.value)
        log = await srv.wait_for_stderr("resource URI 'notes://welcome' is claimed by plugins hostile, notes; notes serves it")
        assert "notes serves it" in log


def test_at_start_up_the_older_file_keeps_a_contested_uri(capsule):
    plugin_dir = capsule.plugin_dir(["notes", "hostile"], extra={"hostile.toml": hostile_policy("uri=notes://welcome")})
    data = capsule.notes_data_dir
    old, new = time.time() - 3600, time.time()
    for stem, when in (("notes", old), ("hostile", new)):
        os.utime(plugin_dir / f"{stem}.wasm", (when, when))
    done = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json", "--fs", f"notes:/notes={data}:ro")
    report = json.loads(done.stdout)
    owners = {p["name"]: p["resources"] for p in report["plugins"]}
    assert "notes://welcome" in owners["notes"] and "notes://welcome" not in owners["hostile"], owners
    for stem, when in (("notes", new), ("hostile", old)):
        os.utime(plugin_dir / f"{stem}.wasm", (when, when))
    report = json.loads(capsule.cli("plugins", "--plugins", str(plugin_dir), "--json", "--fs", f"notes:/notes={data}:ro").stdout)
    owners = {p["name"]: p["resources"] for p in report["plugins"]}
    assert "notes://welcome" in owners["hostile"] and "notes://welcome" not in owners["notes"], owners


# -------------------------------------------------------------------------------------------------------------
# 6. Emissions


async def test_log_floods_are_bounded_and_cannot_forge_host_lines(capsule):
    forged = "innocent\n2026-12-06T00:00:00.000000Z  INFO capsule: FORGED by hostile\r\u001b[2K"
    async with capsule.http_server(["hello", "hostile"], extra={"hostile.toml": hostile_policy("")}) as server, http_client(server) as client:
        await client.call_tool("hostile_log", {"count": 1, "text": forged})
        before = server.stderr_path.stat().st_size
        started = time.monotonic()
        result = await client.call_tool("hostile_log", {"count": 200_000, "text": "x" * 100})
        assert not result.is_error
        await greet_quickly(client)
        await client.call_tool("hostile_print", {"bytes": 4 << 20, "stream": "stdout"})
        await client.call_tool("hostile_print", {"bytes": 4 << 20, "stream": "stderr"})
        await greet_quickly(client)
        assert time.monotonic() - started < 20
        log = await server.wait_for_stderr("dropped", timeout=5)
        grown = server.stderr_path.stat().st_size - before
        # 1000 lines at once + 100/s, 1 MiB at once + 64 KiB/s: a few hundred KiB, not hundreds of MiB.
        assert grown < 3 << 20, f"stderr grew by {grown} bytes"
        assert "dropped" in log and "log lines of the plugin: over its budget" in log
        lines = log.splitlines()
        assert not any(line.startswith("2026-12-06T00:00:00.000000Z") for line in lines)
        assert any("innocent\\n2026-12-06T00:00:00.000000Z  INFO capsule: FORGED" in line for line in lines)
        assert "\u001b" not in log


async def test_progress_and_resource_update_floods_are_bounded(capsule):
    async with capsule.http_server(["hello", "hostile"], extra={"hostile.toml": hostile_policy("uri=hostile://x")}) as server, http_client(server) as client:
        before = rss_kib(server.process.pid)
        got: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            got.append(progress)

        result = await client.call_tool("hostile_progress", {"count": 100_000}, progress_callback=on_progress)
        assert not result.is_error
        await anyio.sleep(0.2)
        assert 0 < len(got) <= 200, len(got)
        await client.call_tool("hostile_updated", {"count": 100_000, "uri": "hostile://x"})
        await greet_quickly(client)
        grown = rss_kib(server.process.pid) - before
        assert grown < 60 * 1024, f"RSS grew by {grown} KiB"
        log = await server.wait_for_stderr("progress reports of the plugin: over its budget", timeout=5)
        assert "dropped" in log


# -------------------------------------------------------------------------------------------------------------
# Clients: URIs against plugin templates


async def test_a_hostile_uri_against_a_many_variable_template_is_answered_at_once(capsule):
    """`x://{a}-{b}-{c}` made a backtracking matcher try O(n^3) splits of a client's URI; matching is now
    linear, and URIs past 64 KiB are refused before any template is tried."""
    extra = {"hostile.toml": hostile_policy("template=x://{a}-{b}-{c}")}
    async with capsule.serve(["hello", "hostile"], extra=extra) as srv:
        with anyio.fail_after(20):
            with pytest.raises(MCPError) as info:
                # Every split of the dashes fits the variables until the final '/', which none may hold.
                await srv.client.read_resource("x://" + "-" * (60 << 10) + "/")
        assert "not found" in str(info.value).lower(), info.value
        contents = await srv.client.read_resource("x://1-2-3")
        assert "hostile's copy of x://1-2-3" in contents.contents[0].text
        with anyio.fail_after(20):
            with pytest.raises(MCPError) as info:
                await srv.client.read_resource("x://" + "-" * (1 << 20))
        assert "over the limit of 65536 bytes" in str(info.value), info.value
        await greet_quickly(srv.client)
