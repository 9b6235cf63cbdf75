"""Parity: the same end-to-end matrix for the example plugin of every guest language (Python, JS, C).

Each language's plugin (see `guests.py`) runs in one `capsule serve` per module (a Python component
takes seconds to compile), with a copy of its sample data granted read-only and a secret file
placed next to the grant. A plugin that was not built fails these tests: `make guest-plugins`
builds them all into CAPSULE_PLUGINS.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import mcp_types as types
import pytest
from conftest import (
    LEGACY,
    NAME_RE,
    RESOURCE_NOT_FOUND_LEGACY,
    Capsule,
    Running,
    all_text,
    expect_rpc_error,
    structured,
)
from guests import GUESTS, SECRET, Call, Guest
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio

# Languages under test; CI builds all of them. CAPSULE_GUESTS=python,js narrows it for local runs.
LANGUAGES = [lang for lang in os.environ.get("CAPSULE_GUESTS", ",".join(GUESTS)).split(",") if lang]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Live:
    guest: Guest
    srv: Running
    data: Path
    tmp: Path


@pytest.fixture(scope="module", params=LANGUAGES)
async def live(request, capsule_bin, built_plugins, tmp_path_factory) -> AsyncIterator[Live]:
    guest = GUESTS[request.param]
    tmp = tmp_path_factory.mktemp(f"parity-{guest.language}")
    data = guest.prepare(tmp)
    capsule = Capsule(capsule_bin, built_plugins, tmp, tmp)
    grant = f"{guest.plugin}:{guest.guest_dir}={data}:ro"
    async with capsule.serve([guest.plugin], mode=LEGACY, args=["--fs", grant]) as srv:
        yield Live(guest, srv, data, tmp)


async def call(live: Live, c: Call) -> types.CallToolResult:
    return await live.srv.client.call_tool(c.tool, c.arguments)


async def failure_message(live: Live, c: Call) -> str:
    result = await call(live, c)
    assert result.is_error, f"{c.tool}({c.arguments}) should fail, got {result}"
    return all_text(result)


# ------------------------------------------------------------------------------------------------


async def test_lists(live: Live):
    g, client = live.guest, live.srv.client
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == g.tools
    for t in tools:
        assert NAME_RE.match(t.name) and "__" not in t.name, t.name
        assert t.input_schema.get("type") == "object", t
        assert t.description, f"{t.name} has no description"
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == g.templates
    resources = {r.uri for r in (await client.list_resources()).resources}
    assert g.resources <= resources, resources
    prompts = {p.name: {a.name: bool(a.required) for a in p.arguments or []} for p in (await client.list_prompts()).prompts}
    assert prompts == g.prompts


async def test_call(live: Live):
    c = live.guest.call
    result = await call(live, c)
    assert not result.is_error, all_text(result)
    c.check(all_text(result) if c.text else structured(result))


async def test_schema_invalid_arguments_are_an_error_result(live: Live):
    message = await failure_message(live, live.guest.schema_invalid)
    assert "invalid arguments" in message, message
    live.guest.schema_invalid.check(message)


async def test_plugin_invalid_arguments_are_an_error_result(live: Live):
    message = await failure_message(live, live.guest.plugin_invalid)
    assert "invalid arguments" in message, message
    live.guest.plugin_invalid.check(message)


async def test_raised_error_is_an_error_result_with_its_message(live: Live):
    message = await failure_message(live, live.guest.raises)
    assert "crashed" not in message, f"a handled error must not look like a trap: {message}"
    live.guest.raises.check(message)
    # the instance that failed is gone; the next call gets a fresh one
    assert not (await call(live, live.guest.call)).is_error


async def test_resource_read(live: Live):
    uri, check = live.guest.read
    result = await live.srv.client.read_resource(uri)
    assert [c.uri for c in result.contents] == [uri]
    contents = result.contents[0]
    assert isinstance(contents, types.TextResourceContents), contents
    check(live.data, contents.text)
    assert contents.mime_type


async def test_unknown_resource_is_resource_not_found(live: Live):
    scheme = live.guest.read[0].split("://")[0]
    await expect_rpc_error(RESOURCE_NOT_FOUND_LEGACY, live.srv.client.read_resource(f"{scheme}://no-such-file.txt"))


async def test_prompt(live: Live):
    name, arguments, expected = live.guest.prompt
    result = await live.srv.client.get_prompt(name, arguments)
    assert result.messages
    texts = []
    for m in result.messages:
        assert m.role in ("user", "assistant")
        if isinstance(m.content, types.TextContent):
            texts.append(m.content.text)
        elif isinstance(m.content, types.EmbeddedResource):
            texts.append(getattr(m.content.resource, "text", ""))
    assert expected in "\n".join(texts), texts


async def test_grant_is_honoured(live: Live):
    c = live.guest.file_call(live.guest.good_file)
    result = await call(live, c)
    assert not result.is_error, all_text(result)
    c.check(all_text(result) if c.text else structured(result))


@pytest.mark.parametrize("where", ["dotdot", "absolute-guest", "absolute-host"])
async def test_path_outside_the_grant_is_refused(live: Live, where: str):
    g = live.guest
    secret = live.tmp / g.secret_name
    assert secret.is_file()
    path = {
        "dotdot": f"../{secret.name}",
        "absolute-guest": f"/{secret.name}",
        "absolute-host": str(secret),
    }[where]
    result = await call(live, g.file_call(path))
    assert result.is_error, f"{path} was readable: {result}"
    assert SECRET not in all_text(result) and SECRET not in str(result.structured_content)


async def test_template_cannot_escape_the_grant(live: Live):
    for uri in live.guest.escape_uris:
        with pytest.raises(MCPError) as info:
            await live.srv.client.read_resource(uri)
        assert SECRET not in str(info.value.error), uri
