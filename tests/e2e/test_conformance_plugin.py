"""The conformance plugin (plugins/conformance, served as `test.wasm`) answers exactly what the official
MCP conformance suite's scenarios expect, in both eras.

`make conformance` runs the suite itself over HTTP (it needs Node 22 and takes a while); these tests pin
the plugin's side of each scenario with the Python client over stdio, so a change that would break a
scenario fails here, fast. Expectations are those of @modelcontextprotocol/conformance 0.2.0-alpha.12
(src/scenarios/server/{tools,resources,prompts,stateless}.ts).
"""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, LEGACY, MODERN, RESOURCE_NOT_FOUND_LEGACY, expect_rpc_error, text_blocks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import run  # noqa: E402  (tests/conformance/run.py: the suite's runner and the plugin's policy)

pytestmark = pytest.mark.anyio

PLUGIN = "test"

# Every tool the scenarios call by name (the suite's `test_<name>`), and the diagnostics of
# server-stateless, server-sse-polling and http-custom-header-server-validation.
TOOLS = {
    "test_simple_text",
    "test_image_content",
    "test_audio_content",
    "test_embedded_resource",
    "test_multiple_content_types",
    "test_tool_with_logging",
    "test_tool_with_progress",
    "test_error_handling",
    "test_logging_tool",
    "test_streaming_elicitation",
    "test_reconnection",
    "test_custom_header",
    "test_touch_watched_resource",
    # Questions to the client (sampling, elicitation, roots): 2025-11-25 tools and the SEP-2322
    # input-required family of 2026-07-28, plus the -32021 probe of server-stateless.
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
    "test_missing_capability",
    "test_input_required_result_elicitation",
    "test_input_required_result_sampling",
    "test_input_required_result_list_roots",
    "test_input_required_result_request_state",
    "test_input_required_result_tampered_state",
    "test_input_required_result_multiple_inputs",
    "test_input_required_result_multi_round",
    "test_input_required_result_capabilities",
    # The tasks extension fixtures; tool_with_task keeps its prefix (the suite calls it so).
    "test_tool_with_task",
    # Called by their bare names: the policy of tests/conformance/run.py renames them.
    *run.BARE_NAMES,
}
POLICY = run.PLUGIN_POLICY.encode()
RESOURCES = {
    "test://static-text": "text/plain",
    "test://static-binary": "image/png",
    "test://watched-resource": "text/plain",
}
TEMPLATE = "test://template/{id}/data"
# prompt -> {argument: required}
PROMPTS = {
    "test_simple_prompt": {},
    "test_prompt_with_arguments": {"arg1": True, "arg2": True},
    "test_prompt_with_embedded_resource": {"resourceUri": True},
    "test_prompt_with_image": {},
    "test_input_required_result_prompt": {},
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The suite's tool-name rule (SEP-986).
SUITE_TOOL_NAME = re.compile(r"^[A-Za-z0-9_./-]{1,64}$")


def only(blocks, kind):
    found = [b for b in blocks if isinstance(b, kind)]
    assert len(found) == 1, blocks
    return found[0]


def assert_png(block: types.ImageContent) -> None:
    assert block.mime_type == "image/png"
    assert base64.b64decode(block.data, validate=True).startswith(PNG_SIGNATURE)


async def test_lists_match_the_scenarios(capsule, mode):
    """tools-list, resources-list, prompts-list: names, descriptions, schemas and arguments."""
    async with capsule.serve([PLUGIN], mode=mode, extra={"test.toml": POLICY}) as srv:
        tools = {t.name: t for t in (await srv.client.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description, tool
            assert tool.input_schema.get("type") == "object", tool
            assert SUITE_TOOL_NAME.match(tool.name) or tool.name == "json_schema_2020_12_tool", tool.name
        # SEP-2243: one string parameter mirrored into an `Mcp-Param-Region` header.
        region = tools["test_custom_header"].input_schema["properties"]["region"]
        assert region["type"] == "string" and region["x-mcp-header"] == "Region", region
        # SEP-1613 and SEP-2106: the 2020-12 keywords reach the client as the plugin wrote them.
        schema = tools["json_schema_2020_12_tool"].input_schema
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", schema
        assert schema["$defs"]["address"]["$anchor"] == "addressDef", schema
        assert schema["additionalProperties"] is False and {"allOf", "if", "then", "else"} <= set(schema)
        arguments = {"name": "Ada", "contactMethod": "email", "email": "a@b.c"}
        ok = await srv.client.call_tool("json_schema_2020_12_tool", arguments)
        assert not ok.is_error and text_blocks(ok) == ["ok"], ok
        # The host checks arguments against it: the `if`/`then` branch requires `phone`.
        refused = await srv.client.call_tool("json_schema_2020_12_tool", {"contactMethod": "phone", "email": "a@b.c"})
        assert refused.is_error and '"phone" is a required property' in text_blocks(refused)[0], refused

        resources = {r.uri: r for r in (await srv.client.list_resources()).resources}
        assert {uri: r.mime_type for uri, r in resources.items()} == RESOURCES
        assert all(r.name and r.description for r in resources.values()), resources
        templates = (await srv.client.list_resource_templates()).resource_templates
        assert [(t.uri_template, t.mime_type) for t in templates] == [(TEMPLATE, "application/json")]

        prompts = {p.name: p for p in (await srv.client.list_prompts()).prompts}
        assert set(prompts) == set(PROMPTS)
        for name, expected in PROMPTS.items():
            assert prompts[name].description, prompts[name]
            got = {a.name: bool(a.required) for a in prompts[name].arguments or []}
            assert got == expected, (name, got)


async def test_content_tools(capsule, mode):
    """tools-call-simple-text, -image, -audio, -embedded-resource, -mixed-content, -error."""
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        # The scenario sends no `arguments` at all.
        simple = await srv.client.call_tool("test_simple_text")
        assert not simple.is_error
        assert text_blocks(simple) == ["This is a simple text response for testing."]

        image = await srv.client.call_tool("test_image_content", {})
        assert_png(only(image.content, types.ImageContent))

        audio = only((await srv.client.call_tool("test_audio_content", {})).content, types.AudioContent)
        assert audio.mime_type == "audio/wav"
        wav = base64.b64decode(audio.data, validate=True)
        assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE", wav[:16]

        embedded = only((await srv.client.call_tool("test_embedded_resource", {})).content, types.EmbeddedResource)
        assert embedded.resource == types.TextResourceContents(
            uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
        )

        mixed = (await srv.client.call_tool("test_multiple_content_types", {})).content
        assert [b.type for b in mixed] == ["text", "image", "resource"]
        assert mixed[0].text == "Multiple content types test:"
        assert_png(mixed[1])
        assert mixed[2].resource.uri == "test://mixed-content-resource"
        assert mixed[2].resource.mime_type == "application/json"
        assert json.loads(mixed[2].resource.text) == {"test": "data", "value": 123}

        error = await srv.client.call_tool("test_error_handling", {})
        assert error.is_error is True
        assert text_blocks(error) == ["This tool intentionally returns an error for testing"]

        header = await srv.client.call_tool("test_custom_header", {"region": "eu-west-1"})
        assert text_blocks(header) == ["Region: eu-west-1"]


async def test_progress_tool(capsule, mode):
    """tools-call-with-progress: at least three notifications, 0 → 50 → 100 of 100, on the request's token."""
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with capsule.serve([PLUGIN], mode=mode) as srv:
        result = await srv.client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
        assert not result.is_error, result
        assert [(p, t) for p, t, _ in seen] == [(0, 100), (50, 100), (100, 100)], seen


async def test_logging_tool_logs_three_info_messages(capsule, mode):
    """tools-call-with-logging (2025-11-25; the client sets level `debug` first): three info messages."""
    async with capsule.serve([PLUGIN], mode=mode, log_level="debug") as srv:
        result = await srv.client.call_tool("test_tool_with_logging", {})
        assert text_blocks(result) == ["Tool with logging executed successfully"]
        messages = [(log.level, log.data) for log in srv.logs]
        assert messages == [
            ("info", "Tool execution started"),
            ("info", "Tool processing data"),
            ("info", "Tool execution completed"),
        ], srv.logs


async def test_stateless_diagnostics(capsule):
    """server-stateless (2026-07-28): `test_logging_tool` sends no log without a `_meta` log level, and
    `test_streaming_elicitation` completes without any server-to-client request."""
    async with capsule.serve([PLUGIN], mode=MODERN) as srv:
        assert text_blocks(await srv.client.call_tool("test_logging_tool", {})) == ["Logging evaluated"]
        assert srv.logs == []
        streamed = await srv.client.call_tool("test_streaming_elicitation", {})
        assert text_blocks(streamed) == ["Streaming complete"]
        reconnection = await srv.client.call_tool("test_reconnection", {})
        assert not reconnection.is_error
    async with capsule.serve([PLUGIN], mode=MODERN, log_level="info") as srv:
        await srv.client.call_tool("test_logging_tool", {})
        assert [(log.level, log.data) for log in srv.logs] == [("info", "Diagnostic trace logging activated")]


async def test_resources(capsule, mode):
    """resources-read-text, -read-binary, -templates-read, and sep-2164-resource-not-found."""
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        text = (await srv.client.read_resource("test://static-text")).contents
        assert text == [
            types.TextResourceContents(
                uri="test://static-text",
                mime_type="text/plain",
                text="This is the content of the static text resource.",
            )
        ]
        (binary,) = (await srv.client.read_resource("test://static-binary")).contents
        assert isinstance(binary, types.BlobResourceContents), binary
        assert (binary.uri, binary.mime_type) == ("test://static-binary", "image/png")
        assert base64.b64decode(binary.blob, validate=True).startswith(PNG_SIGNATURE)

        (watched,) = (await srv.client.read_resource("test://watched-resource")).contents
        assert isinstance(watched, types.TextResourceContents) and watched.text, watched

        (data,) = (await srv.client.read_resource("test://template/123/data")).contents
        assert (data.uri, data.mime_type) == ("test://template/123/data", "application/json")
        assert json.loads(data.text) == {"id": "123", "templateTest": True, "data": "Data for ID: 123"}

        missing = "test://nonexistent-resource-for-conformance-testing"
        code = RESOURCE_NOT_FOUND_LEGACY if mode == LEGACY else INVALID_PARAMS
        await expect_rpc_error(code, srv.client.read_resource(missing))


async def test_prompts(capsule, mode):
    """prompts-get-simple, -with-args, -embedded-resource, -with-image."""
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        simple = await srv.client.get_prompt("test_simple_prompt")
        assert [(m.role, m.content) for m in simple.messages] == [
            ("user", types.TextContent(type="text", text="This is a simple prompt for testing."))
        ]

        args = await srv.client.get_prompt("test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"})
        expected = "Prompt with arguments: arg1='testValue1', arg2='testValue2'"
        assert [m.content.text for m in args.messages] == [expected]

        embedded = await srv.client.get_prompt(
            "test_prompt_with_embedded_resource", {"resourceUri": "test://example-resource"}
        )
        first, second = embedded.messages
        assert first.role == "user" and isinstance(first.content, types.EmbeddedResource), first
        assert first.content.resource == types.TextResourceContents(
            uri="test://example-resource", mime_type="text/plain", text="Embedded resource content for testing."
        )
        assert (second.role, second.content.text) == ("user", "Please process the embedded resource above.")

        image = await srv.client.get_prompt("test_prompt_with_image")
        first, second = image.messages
        assert first.role == "user" and isinstance(first.content, types.ImageContent), first
        assert_png(first.content)
        assert (second.role, second.content.text) == ("user", "Please analyze the image above.")


async def test_custom_header_tool_over_http(capsule, mode):
    """http-custom-header-server-validation (SEP-2243): over Streamable HTTP a real client mirrors the
    `x-mcp-header` parameter into `Mcp-Param-Region` (Base64 for non-ASCII) and the host accepts it."""
    async with capsule.serve([PLUGIN], mode=mode, transport="http") as srv:
        for region in ("eu-west-1", "Zürich"):
            result = await srv.client.call_tool("test_custom_header", {"region": region})
            assert text_blocks(result) == [f"Region: {region}"], result
