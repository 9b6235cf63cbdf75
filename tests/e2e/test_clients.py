"""Clients of other ecosystems (issue #21): fastmcp's `Client` over stdio, Streamable HTTP and HTTP+SSE,
and the OpenAI Agents SDK's MCP layer (`agents.mcp`), both from PyPI, against the real binary. No
model API is called: the Agents SDK is used for its MCP server connection and its conversion of tool
schemas to strict OpenAI functions.

Era by transport: fastmcp's `auto` mode speaks 2026-07-28 on stdio and Streamable HTTP, and
2025-11-25 on HTTP+SSE. `ping` exists in 2025-11-25 only (2026-07-28 removed it): it is answered
there, and refused with -32601 on every transport under 2026-07-28."""

from __future__ import annotations

import copy
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from agents.mcp import MCPServerStdio, MCPServerStreamableHttp, MCPUtil
from agents.strict_schema import ensure_strict_json_schema
from agents.tool_context import ToolContext
from conftest import LEGACY_VERSION, MODERN, expect_rpc_error
from fastmcp import Client as FastMCPClient
from fastmcp.client.transports import StdioTransport

pytestmark = pytest.mark.anyio

METHOD_NOT_FOUND = -32601
PLUGINS = ("hello", "fixture", "notes")


class FastMCPRun:
    """A fastmcp client on one transport, with what the server sent it."""

    def __init__(self, target: Any) -> None:
        self.logs: list[Any] = []
        self.progress: list[float] = []

        async def on_log(message: Any) -> None:
            self.logs.append(message)

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            self.progress.append(progress)

        self.client = FastMCPClient(target, log_handler=on_log, progress_handler=on_progress, timeout=30)


def fastmcp_target(capsule, transport: str, server) -> Any:
    if transport == "stdio":
        plugin_dir = capsule.plugin_dir(PLUGINS)
        return StdioTransport(str(capsule.binary), capsule.serve_args(plugin_dir, notes=True))
    return server.mcp_url if transport == "http" else server.sse_url


@pytest.mark.parametrize("transport", ["stdio", "http", "sse"])
async def test_fastmcp_client_on_every_transport(capsule, transport, caplog):
    caplog.set_level(logging.WARNING)
    async with capsule.http_server(PLUGINS) as server:
        run = FastMCPRun(fastmcp_target(capsule, transport, server))
        async with run.client as client:
            version = client.protocol_version
            assert version == (LEGACY_VERSION if transport == "sse" else MODERN), version
            tools = {t.name for t in await client.list_tools()}
            assert {"hello_greet", "fixture_log_progress", "notes_search"} <= tools
            greeting = await client.call_tool("hello_greet", {"name": "Ada"})
            assert greeting.structured_content == {"greeting": "Hello, Ada!"}

            # Plugin logs and progress reach the client without it asking for a log level: fastmcp
            # never calls logging/setLevel (2025-11-25: the server's --default-log-level, info).
            await client.call_tool("fixture_log_progress", {"steps": 3})
            assert len(run.progress) == 3, run.progress
            assert len([m for m in run.logs if m.level == "info"]) >= 3, run.logs

            contents = await client.read_resource("notes://welcome")
            assert "Welcome" in contents[0].text
            prompt = await client.get_prompt("notes_summarize", {"name": "welcome"})
            assert prompt.messages

            if version == MODERN:
                # The same code on both transports (Streamable HTTP: with HTTP 404, as the
                # conformance suite checks).
                refused = await expect_rpc_error(METHOD_NOT_FOUND, client.ping())
                if transport == "stdio":
                    assert "removed in MCP 2026-07-28" in str(refused), refused
            else:
                assert await client.ping() is True
    # Closing the session (DELETE /mcp) is quiet: the SDK warns when it is not a 200.
    assert not [r for r in caplog.records if "termination failed" in r.getMessage().lower()], caplog.text


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_ping_is_answered_alike_on_every_transport(capsule, mode, transport):
    """2025-11-25: `ping` gets `{}`; 2026-07-28 removed it: -32601, on stdio (before and after other
    requests: rmcp answers a first ping itself) as over Streamable HTTP."""
    async with capsule.serve(["hello"], mode=mode, transport=transport) as srv:
        for _ in range(2):
            if mode == MODERN:
                await expect_rpc_error(METHOD_NOT_FOUND, srv.client.send_ping())
            else:
                await srv.client.send_ping()
            assert (await srv.client.call_tool("hello_greet", {"name": "x"})).structured_content


# ------------------------------------------------------------------------------- OpenAI Agents SDK

# Every tool of the example plugins (Rust, Python, TypeScript, C, and the 0.1.0 `legacy`), with the
# arguments a model in strict mode sends: every property, `null` for the ones it leaves out.
EXAMPLES = ("hello", "textkit", "notes", "fetch", "checksum", "tabular", "markdown", "fixture", "legacy")
# The calls that fail on purpose (a tool error, a trap, a timeout): their arguments must still pass.
FAILING = {"fixture_fail", "fixture_spin", "fixture_tool_error", "fixture_trap"}
# The tools that ask the user (elicitation), which the Agents SDK's client does not offer: the host
# refuses them with -32021 naming the capability, after the arguments passed.
INTERACTIVE = {"checksum_describe", "markdown_describe", "tabular_describe"}
MISSING_CAPABILITY = -32021


def strict_arguments(fetch_url: str) -> dict[str, dict[str, Any]]:
    text = {"text": "Hello World"}
    return {
        "hello_greet": {"name": "Ada"},
        "textkit_base64_decode": {"encoded": "aGk="},
        "textkit_base64_encode": text,
        "textkit_reverse": text,
        "textkit_sha256": text,
        "textkit_slugify": text,
        "textkit_word_count": text,
        "notes_search": {"query": "capsule"},
        "fetch_fetch": {"url": fetch_url},
        "checksum_checksum": {"input": "123456789", "encoding": "text", "algorithm": None},
        "checksum_checksum_file": {"path": "check.txt", "algorithm": "adler32"},
        "checksum_describe": {"path": "check.txt"},
        "checksum_verify": {"input": "MTIzNDU2Nzg5", "encoding": "base64", "expected": "cbf43926", "algorithm": None},
        "tabular_describe": {"path": "cities.csv"},
        "tabular_summarize": {"csv_text": "a,b\n1,2\n3,4\n", "columns": None, "delimiter": None, "top": None},
        "tabular_summarize_file": {"path": "sales.tsv", "columns": None, "delimiter": "\t", "top": 2},
        "markdown_describe": {"path": "guide.md"},
        "markdown_outline": {"markdown": "# A\n\n## B\n", "max_level": None},
        "markdown_outline_file": {"path": "guide.md"},
        "markdown_render": {"markdown": "# A\n\ntext\n"},
        "markdown_section": {"markdown": "# A\n\ntext\n", "heading": "A"},
        "fixture_add": {"a": 1, "b": 2.5},
        "fixture_big_output": {"bytes": 10},
        "fixture_config_all": {},
        "fixture_config_get": {"key": "greeting"},
        "fixture_echo": {"value": [1, "two", None, True]},
        "fixture_fail": {"kind": "denied", "message": "no"},
        "fixture_image": {},
        "fixture_log_progress": {"steps": 1},
        "fixture_print": {"text": "printed"},
        "fixture_sleep": {"ms": 1},
        "fixture_spin": {},
        "fixture_tool_error": {"message": "failed on purpose"},
        "fixture_trap": {},
        "legacy_shout": {"text": "hi", "fail": None},
    }


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = b"a page for fetch_fetch"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def normalized(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every `required` list sorted: property order is not meaning."""
    if isinstance(schema, dict):
        return {k: sorted(v) if k == "required" else normalized(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [normalized(v) for v in schema]
    return schema


async def test_openai_agents_sdk_converts_every_example_tool_to_a_strict_function(capsule, tmp_path):
    """The Agents SDK's MCP layer lists the tools over stdio and converts each to a strict OpenAI
    function: the conversion changes nothing (the schema was portable already), and a call with
    every property filled in, `null` where the model gives nothing, runs."""
    page = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{page.server_address[1]}"
    arguments = strict_arguments(f"{origin}/page")
    policies = {
        "fetch.toml": f'[network]\nallow = ["{origin}"]\n'.encode(),
        "fixture.toml": b'[config]\ngreeting = { value = "Hello" }\n[limits]\ntimeout = "1s"\n',
    }
    plugin_dir = capsule.plugin_dir(EXAMPLES, extra=policies)
    data = Path(__file__).resolve().parents[2] / "plugins"
    args = [
        *capsule.serve_args(plugin_dir, notes=True),
        "--fs", f"checksum:/data={data / 'checksum' / 'data'}:ro",
        "--fs", f"tabular:/data={data / 'tabular' / 'data'}:ro",
        "--fs", f"markdown:/docs={data / 'markdown' / 'docs'}:ro",
    ]
    try:
        server = MCPServerStdio(params={"command": str(capsule.binary), "args": args}, client_session_timeout_seconds=30)
        async with server:
            tools = await server.list_tools()
            assert {t.name for t in tools} == set(arguments), "every example tool has its arguments here"
            for tool in tools:
                function = MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
                assert function.strict_json_schema, f"{tool.name}: the SDK fell back to a non-strict schema"
                assert normalized(function.params_json_schema) == normalized(tool.input_schema), tool.name
                assert ensure_strict_json_schema(copy.deepcopy(tool.input_schema)) is not None
                sent = arguments[tool.name]
                assert set(sent) == set(tool.input_schema["properties"]), f"{tool.name}: a strict model sends every property"
                if tool.name in INTERACTIVE:
                    refused = await expect_rpc_error(MISSING_CAPABILITY, server.call_tool(tool.name, sent))
                    assert "elicitation" in str(refused.data), refused
                    continue
                result = await server.call_tool(tool.name, sent)
                texts = " ".join(getattr(c, "text", "") for c in result.content)
                assert result.is_error == (tool.name in FAILING), (tool.name, texts)
            # The path a model's call takes: the function tool invokes the MCP tool.
            greet = next(t for t in tools if t.name == "hello_greet")
            function = MCPUtil.to_function_tool(greet, server, convert_schemas_to_strict=True)
            raw = json.dumps(arguments["hello_greet"])
            context = ToolContext(context=None, tool_name="hello_greet", tool_call_id="call-1", tool_arguments=raw)
            assert "Hello, Ada!" in str(await function.on_invoke_tool(context, raw))
    finally:
        page.shutdown()


async def test_openai_agents_sdk_over_streamable_http(capsule):
    async with capsule.http_server(("hello", "checksum")) as http:
        async with MCPServerStreamableHttp(params={"url": http.mcp_url}, cache_tools_list=False) as server:
            names = {t.name for t in await server.list_tools()}
            assert {"hello_greet", "checksum_checksum"} <= names
            result = await server.call_tool(
                "checksum_checksum", {"input": "123456789", "encoding": "text", "algorithm": None}
            )
            assert not result.is_error and result.structured_content["hex"] == "cbf43926", result


async def test_every_example_tool_is_portable(capsule):
    """The checker `capsule plugins` uses finds nothing in any example plugin, in any language."""
    plugin_dir = capsule.plugin_dir(EXAMPLES)
    report = json.loads(capsule.cli("plugins", "--plugins", str(plugin_dir), "--json").stdout)
    assert sorted(p["name"] for p in report["plugins"]) == sorted(EXAMPLES)
    for plugin in report["plugins"]:
        assert plugin["tools"], plugin["name"]
        assert plugin["portability"] == {}, (plugin["name"], plugin["portability"])
