"""MCP over HTTP with the official Python SDK client: Streamable HTTP (`/mcp`) in both protocol eras
and the 2024-11-05 HTTP+SSE transport (`/sse` + `/messages`). The same catalog, results, errors,
progress and logging as over stdio."""

from __future__ import annotations

import mcp_types as types
import pytest
from conftest import (
    EXPECTED_TOOLS,
    INVALID_PARAMS,
    LEGACY,
    MODES,
    NOTE_URIS,
    all_text,
    expect_rpc_error,
    structured,
)

pytestmark = pytest.mark.anyio

# (transport, mode): Streamable HTTP in both eras; HTTP+SSE predates 2026-07-28 and has only legacy.
CONNECTIONS = [("http", m) for m in MODES] + [("sse", LEGACY)]
IDS = [f"{t}-{m}" for t, m in CONNECTIONS]


@pytest.mark.parametrize(("transport", "mode"), CONNECTIONS, ids=IDS)
async def test_lists_and_calls(capsule, transport, mode):
    plugins = ("hello", "textkit", "notes", "fixture")
    async with capsule.serve(plugins, mode=mode, transport=transport) as srv:
        tools = {t.name for t in (await srv.client.list_tools()).tools}
        assert tools == set().union(*(EXPECTED_TOOLS[p] for p in plugins))

        assert structured(await srv.client.call_tool("hello_greet", {"name": "HTTP"})) == {
            "greeting": "Hello, HTTP!"
        }
        assert structured(await srv.client.call_tool("textkit_reverse", {"text": "stressed ✓"})) == {
            "text": "✓ desserts"
        }
        # Argument validation and unknown names keep their stdio behaviour.
        bad = await srv.client.call_tool("hello_greet", {"name": 42})
        assert bad.is_error and "invalid arguments" in all_text(bad)
        await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool("nope_nothing", {}))

        uris = {str(r.uri) for r in (await srv.client.list_resources()).resources}
        assert uris == NOTE_URIS
        read = await srv.client.read_resource("notes://welcome")
        assert "Welcome" in read.contents[0].text

        prompt = await srv.client.get_prompt("notes_summarize", {"name": "ideas"})
        assert prompt.messages, prompt


@pytest.mark.parametrize(("transport", "mode"), CONNECTIONS, ids=IDS)
async def test_progress_and_logging(capsule, transport, mode):
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with capsule.serve(["fixture"], mode=mode, transport=transport, log_level="debug") as srv:
        result = await srv.client.call_tool("fixture_log_progress", {"steps": 3}, progress_callback=on_progress)
        assert structured(result) == {"steps": 3}
        assert len(seen) >= 3 and all(a < b for a, b in zip(seen, seen[1:], strict=False)), seen
        assert srv.logs, "no notifications/message arrived over HTTP"
        assert all(isinstance(log, types.LoggingMessageNotificationParams) for log in srv.logs)


@pytest.mark.parametrize(("transport", "mode"), CONNECTIONS, ids=IDS)
async def test_a_crashing_plugin_is_a_tool_error_and_the_server_keeps_serving(capsule, transport, mode):
    async with capsule.serve(["fixture", "hello"], mode=mode, transport=transport) as srv:
        crashed = await srv.client.call_tool("fixture_trap", {})
        assert crashed.is_error and "crashed" in all_text(crashed)
        assert structured(await srv.client.call_tool("hello_greet", {"name": "again"})) == {
            "greeting": "Hello, again!"
        }


async def test_stdio_and_http_together_serve_one_catalog(capsule):
    """`--http ADDR --stdio`: a stdio client and an HTTP client of the same process see the same plugins,
    and the process ends when the stdio client goes."""
    from conftest import LISTENING_RE
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with capsule.serve(["hello"], args=["--http", "127.0.0.1:0", "--stdio"]) as srv:
        stderr = await srv.wait_for_stderr("listening on")
        match = LISTENING_RE.search(stderr)
        assert match, stderr
        url = f"http://127.0.0.1:{match.group(3)}/mcp"
        async with Client(streamable_http_client(url), mode=MODES[1], cache=None) as http_client:
            over_http = await http_client.call_tool("hello_greet", {"name": "both"})
        over_stdio = await srv.client.call_tool("hello_greet", {"name": "both"})
        assert structured(over_http) == structured(over_stdio) == {"greeting": "Hello, both!"}
    assert "stdin closed: shutting down" in srv.stderr()
