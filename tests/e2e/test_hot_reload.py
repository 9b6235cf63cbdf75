"""Hot reload: the plugin directory of a running server changes, connected clients are told and see
the new catalog, in both eras (2025-11-25: `notifications/*/list_changed` on the session;
2026-07-28: events on a `subscriptions/listen` stream). Plus the compile cache across restarts."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, LEGACY, expect_rpc_error, structured
from mcp.client.subscriptions import PromptsListChanged, ResourcesListChanged, ToolsListChanged

pytestmark = pytest.mark.anyio

NOTIFY_TIMEOUT_S = 10.0
QUIET_S = 1.0  # how long "no notification" is watched for

LEGACY_KINDS = {
    "tools": types.ToolListChangedNotification,
    "prompts": types.PromptListChangedNotification,
    "resources": types.ResourceListChangedNotification,
}
MODERN_KINDS = {"tools": ToolsListChanged, "prompts": PromptsListChanged, "resources": ResourcesListChanged}


class Changes:
    """The list-changed signals one client receives, the era's way."""

    def __init__(self, srv, subscription=None) -> None:
        self.srv = srv
        self.sub = subscription
        self.seen_legacy = len(srv.notifications)

    def _legacy_new(self) -> list[str]:
        fresh = self.srv.notifications[self.seen_legacy :]
        return [k for n in fresh for k, cls in LEGACY_KINDS.items() if isinstance(n, cls)]

    async def next(self, timeout: float = NOTIFY_TIMEOUT_S) -> set[str] | None:
        """The kinds announced by the next change (None if nothing arrives within `timeout`)."""
        if self.sub is None:
            with anyio.move_on_after(timeout):
                while not self._legacy_new():
                    await anyio.sleep(0.02)
                await anyio.sleep(0.1)  # the kinds of one change arrive back to back
                kinds = set(self._legacy_new())
                self.seen_legacy = len(self.srv.notifications)
                return kinds
            return None
        kinds: set[str] = set()
        with anyio.move_on_after(timeout):
            event = await self.sub.__anext__()
            kinds |= {k for k, cls in MODERN_KINDS.items() if isinstance(event, cls)}
            with anyio.move_on_after(0.1):
                while True:
                    event = await self.sub.__anext__()
                    kinds |= {k for k, cls in MODERN_KINDS.items() if isinstance(event, cls)}
            return kinds
        return None


@asynccontextmanager
async def changes(srv) -> AsyncIterator[Changes]:
    if srv.mode == LEGACY:
        yield Changes(srv)
        return
    async with srv.client.listen(
        tools_list_changed=True, prompts_list_changed=True, resources_list_changed=True
    ) as sub:
        yield Changes(srv, sub)


def drop(src: Path, dest: Path) -> None:
    """Atomically place `src` at `dest`: copy beside it under a temporary name, then rename."""
    tmp = dest.parent / f".{dest.name}.tmp"
    shutil.copyfile(src, tmp)
    tmp.rename(dest)


async def tool_names(srv) -> set[str]:
    return {t.name for t in (await srv.client.list_tools()).tools}


async def test_capabilities_announce_list_changed(capsule, mode):
    async with capsule.serve(["notes"], mode=mode) as srv:
        caps = srv.capabilities
        assert caps.tools is not None and caps.tools.list_changed is True, caps
        assert caps.prompts is not None and caps.prompts.list_changed is True, caps
        assert caps.resources is not None and caps.resources.list_changed is True, caps


async def test_a_dropped_plugin_is_announced_and_callable(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv, changes(srv) as seen:
        drop(capsule.built / "textkit.wasm", srv.plugin_dir / "textkit.wasm")
        assert await seen.next() == {"tools"}
        assert "textkit_sha256" in await tool_names(srv)
        result = structured(await srv.client.call_tool("textkit_reverse", {"text": "abc"}))
        assert result == {"text": "cba"}

        # A plugin bringing prompts and resources announces those lists too. A 2026-07-28 listen
        # stream opened while only tools were served accepted only tools/list_changed (its filter
        # is intersected with the advertised capabilities), so it hears about tools alone.
        drop(capsule.built / "notes.wasm", srv.plugin_dir / "notes.wasm")
        expected = {"tools", "prompts", "resources"} if srv.mode == LEGACY else {"tools"}
        assert await seen.next() == expected
        assert "notes_search" in await tool_names(srv)


async def test_an_overwritten_plugin_serves_its_new_version(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv, changes(srv) as seen:
        # The file keeps its name (and so its namespace); its content is another plugin.
        drop(capsule.built / "fixture.wasm", srv.plugin_dir / "hello.wasm")
        assert await seen.next() == {"tools"}
        names = await tool_names(srv)
        assert "hello_echo" in names and "hello_greet" not in names, names
        assert structured(await srv.client.call_tool("hello_echo", {"value": [1, 2]})) == {"value": [1, 2]}
        await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool("hello_greet", {"name": "x"}))


async def test_a_deleted_plugin_is_gone(capsule, mode):
    async with capsule.serve(["hello", "textkit"], mode=mode) as srv, changes(srv) as seen:
        (srv.plugin_dir / "textkit.wasm").unlink()
        assert await seen.next() == {"tools"}
        assert await tool_names(srv) == {"hello_greet"}
        await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool("textkit_reverse", {"text": "x"}))

        # Removing the last plugin leaves an empty, valid server.
        (srv.plugin_dir / "hello.wasm").unlink()
        assert await seen.next() == {"tools"}
        assert await tool_names(srv) == set()


async def test_a_broken_new_version_never_replaces_the_working_one(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv, changes(srv) as seen:
        (srv.plugin_dir / "hello.wasm").write_bytes(b"\x00asm\x0d\x00\x01\x00 not a real component")
        stderr = await srv.wait_for_stderr("previous one keeps serving")
        assert "previous one keeps serving" in stderr, stderr[-2000:]
        assert await seen.next(timeout=QUIET_S) is None, "a failed load must not announce a change"
        assert structured(await srv.client.call_tool("hello_greet", {"name": "old"})) == {"greeting": "Hello, old!"}

        # A first version that fails is never listed.
        (srv.plugin_dir / "broken.wasm").write_bytes(b"garbage")
        await srv.wait_for_stderr("broken.wasm")
        assert await seen.next(timeout=QUIET_S) is None
        assert await tool_names(srv) == {"hello_greet"}

        # Unchanged content (same bytes rewritten) is a no-op.
        drop(capsule.built / "textkit.wasm", srv.plugin_dir / "textkit.wasm")
        assert await seen.next() == {"tools"}
        drop(capsule.built / "textkit.wasm", srv.plugin_dir / "textkit.wasm")
        assert await seen.next(timeout=QUIET_S) is None


async def test_a_call_in_flight_finishes_on_the_version_it_started_with(capsule, mode):
    async with capsule.serve(["fixture"], mode=mode) as srv, changes(srv) as seen:
        results: list[types.CallToolResult] = []

        async def slow_call() -> None:
            results.append(await srv.client.call_tool("fixture_sleep", {"ms": 1500}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_call)
            await anyio.sleep(0.3)  # the call is running in the old version
            drop(capsule.built / "hello.wasm", srv.plugin_dir / "fixture.wasm")
            assert await seen.next() == {"tools"}
            assert await tool_names(srv) == {"fixture_greet"}, "new calls see the new version"
        assert structured(results[0]) == {"slept_ms": 1500}, "the old call finished on the old version"


async def test_no_watch_ignores_changes(capsule):
    async with capsule.serve(["hello"], args=["--no-watch"]) as srv:
        assert not (srv.capabilities.tools and srv.capabilities.tools.list_changed)
        drop(capsule.built / "textkit.wasm", srv.plugin_dir / "textkit.wasm")
        await anyio.sleep(QUIET_S)
        assert await tool_names(srv) == {"hello_greet"}


async def test_a_warm_restart_compiles_nothing(capsule, tmp_path):
    cache = tmp_path / "compile-cache"
    cache.mkdir(mode=0o700)
    plugins = ["hello", "textkit", "notes"]
    async with capsule.serve(plugins, args=["--cache-dir", str(cache)]) as cold:
        stderr = await cold.wait_for_stderr("serving on stdio")
    assert stderr.count("compiled the component") == len(plugins), stderr[-3000:]
    assert list(cache.glob("engine-*/*.cwasm")), "compiled components are stored"

    async with capsule.serve(plugins, args=["--cache-dir", str(cache)]) as warm:
        stderr = await warm.wait_for_stderr("serving on stdio")
        assert "hello_greet" in await tool_names(warm)
    assert "compiled the component" not in stderr, stderr[-3000:]
    assert stderr.count("loaded the component from the compile cache") == len(plugins), stderr[-3000:]


async def test_a_damaged_cache_entry_is_rebuilt_not_trusted(capsule, tmp_path):
    cache = tmp_path / "compile-cache"
    cache.mkdir(mode=0o700)
    async with capsule.serve(["hello"], args=["--cache-dir", str(cache)]):
        pass
    [entry] = list(cache.glob("engine-*/*.cwasm"))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    async with capsule.serve(["hello"], args=["--cache-dir", str(cache)]) as srv:
        stderr = await srv.wait_for_stderr("serving on stdio")
        assert structured(await srv.client.call_tool("hello_greet", {"name": "again"})) == {
            "greeting": "Hello, again!"
        }
    assert "ignoring damaged compile cache entry" in stderr, stderr[-3000:]
    assert "compiled the component" in stderr
