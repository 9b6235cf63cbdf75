"""Pagination of every list (MCP "Utilities → Pagination"): `--page-size` items per page, opaque
`nextCursor`, every item exactly once in order, foreign cursors refused with -32602; over stdio and
HTTP, both eras."""

from __future__ import annotations

import pytest
from conftest import EXPECTED_TOOLS, INVALID_PARAMS, LEGACY, NOTE_PROMPTS, NOTE_URIS, expect_rpc_error

pytestmark = pytest.mark.anyio

PAGE = 3


async def collect(list_page, items_of) -> tuple[list[str], int]:
    """Follow nextCursor to the end; return the keys in order and the number of pages."""
    keys: list[str] = []
    pages = 0
    cursor = None
    while True:
        result = await list_page(cursor=cursor)
        pages += 1
        page_keys = items_of(result)
        assert len(page_keys) <= PAGE, page_keys
        keys += page_keys
        cursor = result.next_cursor
        if cursor is None:
            return keys, pages
        assert len(page_keys) == PAGE, "only the last page may be short"


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_every_list_pages_through_everything_once(capsule, mode, transport):
    plugins = ("hello", "textkit", "notes", "fixture")
    args = ["--page-size", str(PAGE)]
    async with capsule.serve(plugins, mode=mode, transport=transport, args=args) as srv:
        client = srv.client
        tools, pages = await collect(client.list_tools, lambda r: [t.name for t in r.tools])
        expected = sorted(set().union(*(EXPECTED_TOOLS[p] for p in plugins)))
        assert tools == expected and pages == -(-len(expected) // PAGE), (tools, pages)

        uris, _ = await collect(client.list_resources, lambda r: [str(x.uri) for x in r.resources])
        assert uris == sorted(NOTE_URIS)
        prompts, _ = await collect(client.list_prompts, lambda r: [p.name for p in r.prompts])
        assert prompts == sorted(NOTE_PROMPTS)
        templates, _ = await collect(
            client.list_resource_templates, lambda r: [t.uri_template for t in r.resource_templates]
        )
        assert templates == ["notes://{name}"]

        for bogus in ("not-a-cursor", "dG9vbF8wMQ"):
            await expect_rpc_error(INVALID_PARAMS, client.list_tools(cursor=bogus))


async def test_default_page_holds_a_small_catalog_whole(capsule):
    async with capsule.serve(["hello", "textkit"], mode=LEGACY) as srv:
        result = await srv.client.list_tools()
        assert result.next_cursor is None
        assert {t.name for t in result.tools} == EXPECTED_TOOLS["hello"] | EXPECTED_TOOLS["textkit"]
