"""Resources, resource templates, prompts and the filesystem-backed `notes` plugin, in both eras."""

from __future__ import annotations

import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, LEGACY, RESOURCE_NOT_FOUND_LEGACY, expect_rpc_error, structured
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio


def note_text(notes_data, name: str) -> str:
    return (notes_data / f"{name}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["welcome", "ideas", "todo"])
async def test_read_listed_resource(capsule, notes_data, mode, name):
    async with capsule.serve(["notes"], mode=mode) as srv:
        result = await srv.client.read_resource(f"notes://{name}")
        assert len(result.contents) == 1, result.contents
        contents = result.contents[0]
        assert isinstance(contents, types.TextResourceContents), contents
        assert contents.uri == f"notes://{name}"
        assert contents.mime_type == "text/markdown"
        assert contents.text == note_text(notes_data, name)
    if name == "welcome":
        assert "Capsule" in contents.text


async def test_read_through_template(capsule, mode):
    """`notes://{name}` resolves names that are not in the static list: mount a copy of the sample data
    with an extra note that only the template can reach."""
    data = capsule.mount_notes_copy({"extra.md": "# Extra\n\nOnly reachable through the template.\n"})
    async with capsule.serve(["notes"], mode=mode) as srv:
        listed = {r.uri for r in (await srv.client.list_resources()).resources}
        result = await srv.client.read_resource("notes://extra")
        assert [c.text for c in result.contents if isinstance(c, types.TextResourceContents)] == [
            note_text(data, "extra")
        ]
        # a listed note read through the same path gives the same answer
        ideas = await srv.client.read_resource("notes://ideas")
        assert ideas.contents[0].text == note_text(data, "ideas")
    assert {"notes://welcome", "notes://ideas", "notes://todo"} <= listed


@pytest.mark.parametrize("uri", ["notes://nope", "other://welcome"])
async def test_read_unknown_resource_is_resource_not_found(capsule, mode, uri):
    code = RESOURCE_NOT_FOUND_LEGACY if mode == LEGACY else INVALID_PARAMS
    async with capsule.serve(["notes"], mode=mode) as srv:
        await expect_rpc_error(code, srv.client.read_resource(uri))
        # still serving
        assert (await srv.client.read_resource("notes://todo")).contents


@pytest.mark.parametrize("uri", ["notes://../secret", "notes://..%2Fsecret", "notes://%2E%2E/secret"])
async def test_template_cannot_escape_the_mount(capsule, mode, uri):
    """The mount is `<tmp>/notes-data` -> /notes; `<tmp>/secret.md` sits next to it and must stay unreadable."""
    data = capsule.mount_notes_copy()
    (data.parent / "secret.md").write_text("TOP-SECRET-7f3a\n", encoding="utf-8")
    async with capsule.serve(["notes"], mode=mode) as srv:
        with pytest.raises(MCPError) as info:  # any error code: which one is test_read_unknown_resource's business
            await srv.client.read_resource(uri)
        assert "TOP-SECRET-7f3a" not in str(info.value.error)
        result = await srv.client.call_tool("notes_search", {"query": "TOP-SECRET"})
        assert not result.is_error and "TOP-SECRET-7f3a" not in str(result.structured_content)
        assert (await srv.client.read_resource("notes://welcome")).contents


async def test_search(capsule, notes_data, mode):
    async with capsule.serve(["notes"], mode=mode) as srv:
        matches = structured(await srv.client.call_tool("notes_search", {"query": "Capsule"}))["matches"]
        assert matches, "welcome.md mentions Capsule"
        assert any(m["note"].removesuffix(".md") == "welcome" for m in matches), matches
        for match in matches:
            lines = note_text(notes_data, match["note"].removesuffix(".md")).splitlines()
            assert 1 <= match["line"] <= len(lines), match
            assert lines[match["line"] - 1].strip() == match["text"].strip(), match
            assert "capsule" in match["text"].lower(), match

        nothing = structured(await srv.client.call_tool("notes_search", {"query": "zq-no-such-text-xj"}))
        assert nothing == {"matches": []}


async def test_get_prompt_with_arguments(capsule, notes_data, mode):
    async with capsule.serve(["notes"], mode=mode) as srv:
        summary = await srv.client.get_prompt("notes_summarize", {"name": "welcome"})
        assert len(summary.messages) == 1, summary.messages
        message = summary.messages[0]
        assert message.role == "user"
        assert isinstance(message.content, types.TextContent), message.content
        assert note_text(notes_data, "welcome").strip() in message.content.text

        brainstorm = await srv.client.get_prompt("notes_brainstorm", {"topic": "sandboxing", "count": "7"})
        text = "\n".join(m.content.text for m in brainstorm.messages if isinstance(m.content, types.TextContent))
        assert "sandboxing" in text and "7" in text, text
        # the optional argument may be left out
        default = await srv.client.get_prompt("notes_brainstorm", {"topic": "plugins"})
        assert any("plugins" in m.content.text for m in default.messages if isinstance(m.content, types.TextContent))


@pytest.mark.parametrize(
    ("prompt", "arguments"),
    [
        ("notes_summarize", {}),
        ("notes_brainstorm", {"count": "3"}),
        ("notes_summarize", {"name": "nope"}),
        ("notes_nope", {"name": "welcome"}),
    ],
    ids=["missing-name", "missing-topic", "unknown-note", "unknown-prompt"],
)
async def test_get_prompt_errors_are_invalid_params(capsule, mode, prompt, arguments):
    async with capsule.serve(["notes"], mode=mode) as srv:
        await expect_rpc_error(INVALID_PARAMS, srv.client.get_prompt(prompt, arguments))
        assert (await srv.client.get_prompt("notes_summarize", {"name": "todo"})).messages
