"""Components built for the wasmcp toolchain run on Capsule unchanged (issue #16).

`plugins/wasmcp-echo` is shaped like a wasmcp capability component: written with plain wit-bindgen
against Capsule's declaration of the `wasmcp:mcp-v20251125@0.1.1` interfaces (same shapes as wasmcp's
own WIT), it exports `tools` (echo with structured output, fail with is-error, whoami calling a wasmcp
host function Capsule does not provide), `resources` (one resource, one template) and `prompts` (one
prompt with an argument). These tests go through the real binary and the Python MCP client in both
protocol eras.
"""

from __future__ import annotations

import base64

import mcp_types as types
import pytest
from conftest import LEGACY, RESOURCE_NOT_FOUND_LEGACY, expect_rpc_error, text_blocks
from test_cli import plugins_json

pytestmark = pytest.mark.anyio

PLUGIN = "wasmcp_echo"


async def test_wasmcp_tools_are_listed_and_called(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        tools = {t.name: t for t in (await srv.client.list_tools()).tools}
        # Both pages of the component's list-tools.
        assert sorted(tools) == ["wasmcp_echo_echo", "wasmcp_echo_fail", "wasmcp_echo_whoami"]
        echo = tools["wasmcp_echo_echo"]
        assert echo.title == "Echo"
        assert echo.description == "Says the text back, with its length"
        assert echo.input_schema["required"] == ["text"]
        assert echo.output_schema["required"] == ["echoed", "length"]
        assert echo.annotations is not None and echo.annotations.read_only_hint is True
        assert echo.annotations.destructive_hint is False

        result = await srv.client.call_tool("wasmcp_echo_echo", {"text": "hello wasmcp"})
        assert not result.is_error, result
        assert result.structured_content == {"echoed": "hello wasmcp", "length": 12}
        # The message context carries the protocol version this client negotiated.
        negotiated = "2025-11-25" if mode == LEGACY else "2026-07-28"
        assert result.meta is not None
        assert result.meta["example.com/protocol-version"] == negotiated
        text, image, audio, link, embedded = result.content
        assert isinstance(text, types.TextContent) and text.text == "hello wasmcp"
        assert text.annotations is not None and text.annotations.priority == 0.5
        assert isinstance(image, types.ImageContent) and image.mime_type == "image/png"
        assert base64.b64decode(image.data) == b"\x89PNG"
        assert isinstance(audio, types.AudioContent) and base64.b64decode(audio.data) == b"RIFF"
        assert isinstance(link, types.ResourceLink) and str(link.uri) == "echo://readme"
        assert link.title == "Read me" and link.size == 42
        assert isinstance(embedded, types.EmbeddedResource)
        assert embedded.resource.text == "hello wasmcp"

        failed = await srv.client.call_tool("wasmcp_echo_fail", {"reason": "on purpose"})
        assert failed.is_error
        assert text_blocks(failed) == ["failed as asked: on purpose"]

        # whoami calls server-auth.decode, which Capsule does not provide: that call fails, the
        # component keeps serving.
        crashed = await srv.client.call_tool("wasmcp_echo_whoami", {})
        assert crashed.is_error
        again = await srv.client.call_tool("wasmcp_echo_echo", {"text": "still here"})
        assert not again.is_error and again.structured_content == {"echoed": "still here", "length": 10}
    assert "wasmcp:mcp-v20251125/server-auth#decode is not provided by Capsule" in srv.stderr()


async def test_wasmcp_resources_and_templates_are_read(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        resources = (await srv.client.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["echo://readme"]
        readme_listing = resources[0]
        assert readme_listing.title == "Read me" and readme_listing.size == 42
        assert readme_listing.mime_type == "text/plain"
        templates = (await srv.client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["echo://echo/{text}"]
        assert templates[0].title == "Echo"

        readme = (await srv.client.read_resource("echo://readme")).contents
        assert [c.text for c in readme] == ["A wasmcp component, served by Capsule."]
        assert readme[0].mime_type == "text/plain"

        echoed = (await srv.client.read_resource("echo://echo/hi")).contents
        text, blob, streamed = echoed
        assert text.text == "hi"
        assert base64.b64decode(blob.blob) == b"hi" and blob.mime_type == "application/octet-stream"
        assert streamed.text == "", "standard input, streamed, is closed in the sandbox"

        if mode == LEGACY:
            await expect_rpc_error(RESOURCE_NOT_FOUND_LEGACY, srv.client.read_resource("echo://echo/error"))


async def test_wasmcp_prompts_are_rendered(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        prompts = (await srv.client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["wasmcp_echo_greet"]
        greet = prompts[0]
        assert greet.title == "Greet" and greet.description == "A greeting"
        assert [(a.name, a.required) for a in greet.arguments or []] == [("name", True)]

        prompt = await srv.client.get_prompt("wasmcp_echo_greet", {"name": "Ada"})
        assert prompt.description == "A greeting for Ada"
        assert [(m.role, m.content.text) for m in prompt.messages] == [
            ("user", "Please greet Ada."),
            ("assistant", "Hello, Ada!"),
        ]


def test_plugins_json_shows_the_wasmcp_kind(capsule):
    status, plugins, errors, problems = plugins_json(capsule, capsule.plugin_dir([PLUGIN, "hello"]))
    assert status == 0 and errors == [] and problems == [], (errors, problems)
    by_name = {p["name"]: p for p in plugins}
    echo = by_name[PLUGIN]
    assert echo["kind"] == "wasmcp"
    assert by_name["hello"]["kind"] == "capsule"
    assert echo["exports"] == {"tools": True, "resources": True, "prompts": True, "completions": False}
    assert echo["resources"] == ["echo://readme"] and echo["resource_templates"] == ["echo://echo/{text}"]
    assert echo["prompts"] == ["wasmcp_echo_greet"]
    assert "wasmcp:mcp-v20251125/server-auth@0.1.1" in echo["imports"]
    decode = [s for s in echo["skipped"] if s["function"] == "wasmcp:mcp-v20251125/server-auth@0.1.1#decode"]
    assert len(decode) == 1 and decode[0]["reason"].startswith("imported but not provided by Capsule"), echo["skipped"]
    assert echo["undocumented"] == ["wasmcp_echo_whoami"]
