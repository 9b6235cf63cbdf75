"""What the server lists, and the capabilities it advertises, in both protocol eras."""

from __future__ import annotations

import pytest
from conftest import EXPECTED_TOOLS, METHOD_NOT_FOUND, NAME_RE, NOTE_PROMPTS, NOTE_URIS, expect_rpc_error

pytestmark = pytest.mark.anyio

# tool -> {property: acceptable JSON Schema types}; every listed property is required
INPUT_SCHEMAS = {
    "hello_greet": {"name": {"string"}},
    "textkit_word_count": {"text": {"string"}},
    "textkit_slugify": {"text": {"string"}},
    "textkit_sha256": {"text": {"string"}},
    "textkit_base64_encode": {"text": {"string"}},
    "textkit_base64_decode": {"encoded": {"string"}},
    "textkit_reverse": {"text": {"string"}},
    "notes_search": {"query": {"string"}},
    "fixture_add": {"a": {"number"}, "b": {"number"}},
    "fixture_big_output": {"bytes": {"integer", "number"}},
    "fixture_log_progress": {"steps": {"integer", "number"}},
}


async def test_lists_everything_every_plugin_provides(capsule, mode):
    async with capsule.serve(mode=mode) as srv:
        tools = (await srv.client.list_tools()).tools
        names = [t.name for t in tools]
        assert sorted(names) == sorted(set().union(*EXPECTED_TOOLS.values()))
        for tool in tools:
            assert NAME_RE.match(tool.name) and "__" not in tool.name, tool.name
            if not tool.name.startswith("fixture_"):  # the example plugins describe their tools
                assert tool.description, f"{tool.name} has no description"
            assert tool.input_schema.get("type") == "object", (tool.name, tool.input_schema)

        resources = (await srv.client.list_resources()).resources
        assert {r.uri for r in resources} == NOTE_URIS
        assert all(r.mime_type == "text/markdown" for r in resources), resources
        assert all(r.name for r in resources), resources

        templates = (await srv.client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["notes://{name}"]

        prompts = (await srv.client.list_prompts()).prompts
        assert {p.name: {a.name: bool(a.required) for a in p.arguments or []} for p in prompts} == NOTE_PROMPTS


async def test_input_schemas(capsule, mode):
    async with capsule.serve(mode=mode) as srv:
        tools = {t.name: t for t in (await srv.client.list_tools()).tools}
    for tool_name, expected in INPUT_SCHEMAS.items():
        schema = tools[tool_name].input_schema
        assert schema["type"] == "object", (tool_name, schema)
        assert set(schema.get("required", [])) == set(expected), (tool_name, schema)
        for prop, json_types in expected.items():
            declared = schema["properties"][prop]["type"]
            assert declared in json_types, (tool_name, prop, schema)


async def test_capabilities_with_everything_loaded(capsule, mode):
    async with capsule.serve(mode=mode) as srv:
        caps = srv.capabilities
        assert caps.tools is not None
        assert caps.resources is not None
        assert caps.prompts is not None


async def test_capabilities_are_accurate_with_only_tools(capsule, mode):
    """With only `hello` loaded there are no resources or prompts: the server must not advertise them,
    and their methods must not exist (not an empty success)."""
    async with capsule.serve(["hello"], mode=mode) as srv:
        caps = srv.capabilities
        assert caps.tools is not None
        assert caps.prompts is None, caps
        assert caps.resources is None, caps
        assert [t.name for t in (await srv.client.list_tools()).tools] == ["hello_greet"]
        await expect_rpc_error(METHOD_NOT_FOUND, srv.client.list_prompts())
        await expect_rpc_error(METHOD_NOT_FOUND, srv.client.get_prompt("notes_summarize", {"name": "welcome"}))
        await expect_rpc_error(METHOD_NOT_FOUND, srv.client.list_resources())
        await expect_rpc_error(METHOD_NOT_FOUND, srv.client.list_resource_templates())
        await expect_rpc_error(METHOD_NOT_FOUND, srv.client.read_resource("notes://welcome"))
        # and the server still answers after the refusals
        assert not (await srv.client.call_tool("hello_greet", {"name": "x"})).is_error
