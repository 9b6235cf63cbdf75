"""tools/call: real inputs and exact outputs, tool errors, validation, traps, big and non-text output."""

from __future__ import annotations

import base64
import hashlib
import re

import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, all_text, expect_rpc_error, structured

pytestmark = pytest.mark.anyio

WORDS = "The quick brown fox\njumps over the café\n  lazy   dog"
DIGEST_INPUT = "Capsule runs plugins in WebAssembly ✓"
B64_INPUT = "Capsule ✓ ??> end"  # multi-byte UTF-8, and '+' in the standard alphabet's encoding
# Mixed types, a null, a nested and an empty array. Not an object: `fixture_echo`'s input schema is
# portable (issue #21), and a portable schema cannot take an object with free-form keys.
ECHO_VALUE = [1, "two", None, True, 2.5, ["nested", 3, None, False], []]

# (tool, arguments, expected structuredContent) - expectations computed here, not copied from the plugin
CASES = [
    ("hello_greet", {"name": "Ada"}, {"greeting": "Hello, Ada!"}),
    (
        "textkit_word_count",
        {"text": WORDS},
        {"words": len(WORDS.split()), "lines": len(WORDS.splitlines()), "chars": len(WORDS)},
    ),
    ("textkit_slugify", {"text": "  Hello, World!  Capsule 2026 "}, {"slug": "hello-world-capsule-2026"}),
    ("textkit_sha256", {"text": DIGEST_INPUT}, {"hex": hashlib.sha256(DIGEST_INPUT.encode()).hexdigest()}),
    ("textkit_base64_encode", {"text": B64_INPUT}, {"encoded": base64.b64encode(B64_INPUT.encode()).decode()}),
    ("textkit_base64_decode", {"encoded": base64.b64encode(B64_INPUT.encode()).decode()}, {"text": B64_INPUT}),
    ("textkit_reverse", {"text": "stressed ✓"}, {"text": "stressed ✓"[::-1]}),
    ("fixture_echo", {"value": ECHO_VALUE}, {"value": ECHO_VALUE}),
    ("fixture_add", {"a": 2.5, "b": 4}, {"sum": 6.5}),
    ("fixture_add", {"a": -7, "b": 7}, {"sum": 0}),
]


def plugin_of(tool: str) -> str:
    return tool.split("_", 1)[0]


@pytest.mark.parametrize(("tool", "arguments", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_tool_output(capsule, mode, tool, arguments, expected):
    async with capsule.serve([plugin_of(tool)], mode=mode) as srv:
        result = await srv.client.call_tool(tool, arguments)
        assert structured(result) == expected


async def test_hello_text_block_is_the_json(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv:
        result = await srv.client.call_tool("hello_greet", {"name": "Capsule"})
        assert [b.type for b in result.content] == ["text"]
        assert structured(result) == {"greeting": "Hello, Capsule!"}


async def test_invalid_base64_is_a_tool_error(capsule, mode):
    async with capsule.serve(["textkit"], mode=mode) as srv:
        result = await srv.client.call_tool("textkit_base64_decode", {"encoded": "@@not base64@@"})
        assert result.is_error, result
        assert all_text(result).strip(), "a tool error must say what went wrong"


@pytest.mark.parametrize(
    ("tool", "arguments", "must_match"),
    [
        # wrong type: the message names the expected type
        ("fixture_add", {"a": "x", "b": 1}, [r"number"]),
        # missing required property: the message names it and says it is required/missing
        ("fixture_add", {"a": 1}, [r"\bb\b", r"(?i)required|missing"]),
        # both problems at once (the example)
        ("fixture_add", {"a": "x"}, [r"(?i)number|required|missing"]),
        ("hello_greet", {}, [r"\bname\b", r"(?i)required|missing"]),
        ("hello_greet", {"name": 42}, [r"string"]),
    ],
    ids=["wrong-type", "missing-b", "both", "greet-missing-name", "greet-wrong-type"],
)
async def test_invalid_arguments_are_rejected_before_the_plugin_runs(capsule, mode, tool, arguments, must_match):
    async with capsule.serve([plugin_of(tool)], mode=mode) as srv:
        result = await srv.client.call_tool(tool, arguments)
        assert result.is_error, f"invalid arguments {arguments} were accepted: {result}"
        assert not result.structured_content, result
        text = all_text(result)
        for pattern in must_match:
            assert re.search(pattern, text), f"{pattern!r} not in validation message {text!r}"


async def test_unknown_tool_is_invalid_params(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv:
        error = await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool("hello_nope", {}))
        assert "hello_nope" in error.message, error.message
        # un-namespaced and other-plugin names are unknown too
        await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool("greet", {"name": "x"}))
        await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool("textkit_reverse", {"text": "x"}))


@pytest.mark.parametrize("kind", ["invalid-arguments", "not-found", "denied", "internal"])
async def test_plugin_errors_become_tool_errors(capsule, mode, kind):
    message = f"deliberate {kind} failure #42"
    async with capsule.serve(["fixture"], mode=mode) as srv:
        result = await srv.client.call_tool("fixture_fail", {"kind": kind, "message": message})
        assert result.is_error, result
        assert message in all_text(result)


async def test_tool_error_result(capsule, mode):
    async with capsule.serve(["fixture"], mode=mode) as srv:
        result = await srv.client.call_tool("fixture_tool_error", {"message": "the widget is on fire"})
        assert result.is_error, result
        assert "the widget is on fire" in all_text(result)


async def test_trap_is_a_tool_error_and_the_server_survives(capsule, mode):
    async with capsule.serve(["fixture", "hello"], mode=mode) as srv:
        for round_ in range(2):
            trapped = await srv.client.call_tool("fixture_trap", {})
            assert trapped.is_error, trapped
            assert all_text(trapped).strip(), "a trap must be reported with a message"
            # the same plugin still works (fresh instance per call), and so do the others
            echoed = await srv.client.call_tool("fixture_echo", {"value": round_})
            assert structured(echoed) == {"value": round_}
            greeted = await srv.client.call_tool("hello_greet", {"name": "after trap"})
            assert structured(greeted) == {"greeting": "Hello, after trap!"}


async def test_big_output_arrives_intact(capsule, mode):
    size = 200_000
    async with capsule.serve(["fixture"], mode=mode) as srv:
        result = await srv.client.call_tool("fixture_big_output", {"bytes": size})
        assert not result.is_error, all_text(result)[:500]
        assert len(result.content) == 1 and isinstance(result.content[0], types.TextContent), result.content[:2]
        text = result.content[0].text
        assert len(text) == size
        assert text == "x" * size
        # and the stream is still in sync afterwards
        assert structured(await srv.client.call_tool("fixture_echo", {"value": "after"})) == {"value": "after"}
    assert not srv.stream_errors


async def test_image_and_resource_link_blocks(capsule, mode):
    async with capsule.serve(["fixture"], mode=mode) as srv:
        result = await srv.client.call_tool("fixture_image", {})
        assert not result.is_error, all_text(result)
        images = [b for b in result.content if isinstance(b, types.ImageContent)]
        links = [b for b in result.content if isinstance(b, types.ResourceLink)]
        assert len(images) == 1 and len(links) == 1, result.content
        image = images[0]
        assert image.mime_type == "image/png"
        png = base64.b64decode(image.data, validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), png[:16]
        link = links[0]
        assert re.match(r"^[a-z][a-z0-9+.-]*:", link.uri), link.uri
        assert link.name, link


async def test_a_runaway_plugin_is_stopped_at_the_time_limit(capsule, mode):
    """`fixture_spin` loops forever and never checks `cancelled()`: the epoch deadline must stop it,
    report an `isError` result naming the limit, and leave the server serving."""
    async with capsule.serve(["fixture"], mode=mode, args=["--timeout", "500ms"]) as srv:
        result = await srv.client.call_tool("fixture_spin", {})
        assert result.is_error, result
        assert "time limit" in all_text(result), result
        assert structured(await srv.client.call_tool("fixture_echo", {"value": 1})) == {"value": 1}
