"""Operator control of published names (issue #21): a plugin policy's `[publish]` table sets another
prefix or none, renames tools and prompts, and include/exclude globs choose what is published, in
both eras, on hot reload, and for `[auth.scopes]`, which name the published names. Names that
collide after that follow the catalog's claim rules. `strict_schemas` refuses non-portable tools."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from conftest import MODERN, all_text, expect_rpc_error

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import call_over_http, capsule_on, free_port, mcp_client  # noqa: E402

pytestmark = pytest.mark.anyio

INVALID_PARAMS = -32602

TEXTKIT_POLICY = b"""
[publish]
prefix = "tk"
exclude = ["base64_*"]
rename = { word_count = "count_words" }
"""

NOTES_POLICY = b"""
[publish]
prefix = ""
include = ["search", "summarize"]
rename = { summarize = "summarize_notes" }
"""


async def test_prefix_rename_include_and_exclude_shape_what_clients_see(capsule, mode):
    extra = {"textkit.toml": TEXTKIT_POLICY, "notes.toml": NOTES_POLICY}
    async with capsule.serve(["hello", "textkit", "notes"], mode=mode, extra=extra) as srv:
        tools = {t.name for t in (await srv.client.list_tools()).tools}
        assert tools == {"hello_greet", "tk_reverse", "tk_sha256", "tk_slugify", "count_words", "search"}
        prompts = {p.name for p in (await srv.client.list_prompts()).prompts}
        assert prompts == {"summarize_notes"}, "brainstorm is not included"

        assert "3" in all_text(await srv.client.call_tool("count_words", {"text": "one two three"}))
        assert "a-slug" in all_text(await srv.client.call_tool("tk_slugify", {"text": "A slug"}))
        found = await srv.client.call_tool("search", {"query": "capsule"})
        assert not found.is_error, all_text(found)
        prompt = await srv.client.get_prompt("summarize_notes", {"name": "welcome"})
        assert prompt.messages, prompt
        # The old names, hidden items and the item's own name are unknown names now.
        for hidden in ("textkit_word_count", "textkit_reverse", "tk_base64_encode", "word_count", "notes_search"):
            await expect_rpc_error(INVALID_PARAMS, srv.client.call_tool(hidden, {"text": "x"}))


async def test_the_report_shows_published_names_and_unknown_renames(capsule):
    policy = TEXTKIT_POLICY + b'rename_typo = 1\n'
    plugin_dir = capsule.plugin_dir(["textkit"], extra={"textkit.toml": policy})
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [error] = json.loads(proc.stdout)["errors"]
    assert "textkit.toml:6" in error["reason"] and "unknown field `rename_typo`" in error["reason"], error

    policy = b'[publish]\nrename = { word_count = "count_words", nonexistent = "x" }\n'
    plugin_dir = capsule.plugin_dir(["textkit"], extra={"textkit.toml": policy})
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    report = json.loads(proc.stdout)
    [plugin] = report["plugins"]
    assert "count_words" in plugin["tools"] and "textkit_reverse" in plugin["tools"]
    assert any(
        "publish.rename.nonexistent: the plugin has no tool or prompt 'nonexistent'" in p["message"]
        for p in report["problems"]
    ), report["problems"]


async def test_unprefixed_names_never_take_a_prefixed_plugins_name(capsule):
    """`hello` publishes its tool unprefixed as `textkit_reverse`, a name in textkit's namespace:
    textkit keeps it. Two unprefixed plugins claiming one name: the senior one keeps it."""
    hello = b'[publish]\nrename = { greet = "textkit_reverse" }\n'
    plugin_dir = capsule.plugin_dir(["hello", "textkit"], extra={"hello.toml": hello})
    report = json.loads(capsule.cli("plugins", "--plugins", str(plugin_dir), "--json").stdout)
    by_name = {p["name"]: p for p in report["plugins"]}
    assert "textkit_reverse" in by_name["textkit"]["tools"]
    assert by_name["hello"]["tools"] == []
    assert any(
        "textkit serves it (the name is in its namespace)" in p["message"] for p in report["problems"]
    ), report["problems"]

    async with capsule.serve(["hello"], extra={"hello.toml": b'[publish]\nprefix = ""\n'}) as srv:
        assert {t.name for t in (await srv.client.list_tools()).tools} == {"greet"}
        # A newcomer that also publishes `greet` unprefixed: the plugin already serving keeps it.
        (srv.plugin_dir / "other.toml").write_text('[publish]\nprefix = ""\n')
        (srv.plugin_dir / "other.wasm").write_bytes((capsule.built / "hello.wasm").read_bytes())
        claim = "tool name 'greet' is claimed by plugins hello, other; hello serves it"
        assert claim in await srv.wait_for_stderr(claim)
        result = await srv.client.call_tool("greet", {"name": "Ada"})
        assert "Hello, Ada" in all_text(result)


async def test_a_policy_change_renames_on_hot_reload(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv:
        assert {t.name for t in (await srv.client.list_tools()).tools} == {"hello_greet"}
        (srv.plugin_dir / "hello.toml").write_text('[publish]\nprefix = "hi"\n')
        assert "plugin replaced by a new version" in await srv.wait_for_stderr("plugin replaced by a new version")
        assert {t.name for t in (await srv.client.list_tools()).tools} == {"hi_greet"}
        (srv.plugin_dir / "hello.toml").write_text('[publish]\nexclude = ["*"]\n')
        with anyio.move_on_after(10):
            while srv.stderr().count("plugin replaced by a new version") < 2:
                await anyio.sleep(0.05)
        assert (await srv.client.list_tools()).tools == []


async def test_scopes_name_the_published_names(capsule, tmp_path):
    token = "publishing-test-token-0123456789abcdef"
    config = """
[auth]
mode = "bearer"

[[auth.token]]
subject = "ci"
env = "CAPSULE_TEST_TOKEN"
scopes = ["counting"]

[auth.scopes]
"counting" = ["tool:count_words"]
"""
    port = free_port()
    plugins = ("textkit",)
    env = {"CAPSULE_TEST_TOKEN": token}
    async with capsule_on(capsule, plugins, port, config=config, env=env) as server:
        (server.plugin_dir / "textkit.toml").write_bytes(TEXTKIT_POLICY)
        assert "plugin replaced by a new version" in await server.wait_for_stderr("plugin replaced by a new version")
        async with mcp_client(server.mcp_url, token=token, mode=MODERN) as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"count_words"}
        assert call_over_http(server.mcp_url, token, "count_words", {"text": "a b"}).status_code == 200
        assert call_over_http(server.mcp_url, token, "tk_reverse", {"text": "ab"}).status_code == 403


async def test_strict_schemas_refuses_tools_that_are_not_portable(capsule, tmp_path):
    """`wasmcp_echo` (a component of another toolchain, served unchanged) has open object schemas:
    `capsule plugins` reports each tool with its reasons, and `strict_schemas` (host `[publish]`, or
    the plugin's policy) keeps them unpublished."""
    plugin_dir = capsule.plugin_dir(["hello", "wasmcp_echo"])
    report = json.loads(capsule.cli("plugins", "--plugins", str(plugin_dir), "--json").stdout)
    by_name = {p["name"]: p for p in report["plugins"]}
    assert by_name["hello"]["portability"] == {}, "hello is portable"
    portability = by_name["wasmcp_echo"]["portability"]
    assert set(portability) == set(by_name["wasmcp_echo"]["tools"]), portability
    tool, findings = next(iter(portability.items()))
    assert {"provider", "at", "rule", "message"} <= set(findings[0]), findings
    assert {f["provider"] for f in findings} <= {"openai", "gemini", "claude"}

    config = tmp_path / "capsule.toml"
    config.write_text("[publish]\nstrict_schemas = true\n")
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--config", str(config), "--json")
    report = json.loads(proc.stdout)
    by_name = {p["name"]: p for p in report["plugins"]}
    assert by_name["hello"]["tools"] == ["hello_greet"]
    assert by_name["wasmcp_echo"]["tools"] == []
    assert any(
        f"tool '{tool.removeprefix('wasmcp_echo_')}' skipped: its input schema is not portable and strict_schemas is on"
        in p["message"]
        for p in report["problems"]
    ), report["problems"]

    # The plugin's own policy wins over the host default.
    (plugin_dir / "wasmcp_echo.toml").write_text("[publish]\nstrict_schemas = false\n")
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--config", str(config), "--json")
    by_name = {p["name"]: p for p in json.loads(proc.stdout)["plugins"]}
    assert tool in by_name["wasmcp_echo"]["tools"]
