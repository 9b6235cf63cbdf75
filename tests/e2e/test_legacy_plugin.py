"""Plugins built for `capsule:plugin@0.1.0` keep working on a host that speaks 0.2.0.

`plugins/legacy` is written against the frozen 0.1.0 WIT (`wit/0.1.0/plugin.wit`) with raw wit-bindgen
bindings: its component imports `capsule:plugin/host@0.1.0` and exports the 0.1.0 interfaces. The host
links both minors and lifts 0.1.0 answers into its 0.2.0 types; these tests exercise every 0.1.0 path
(describe, list and call tools, typed errors, log and progress imports, resources, prompts) in both eras.
"""

from __future__ import annotations

import mcp_types as types
import pytest
from conftest import LEGACY, RESOURCE_NOT_FOUND_LEGACY, expect_rpc_error, text_blocks

pytestmark = pytest.mark.anyio


async def test_a_0_1_plugin_serves_tools_resources_and_prompts(capsule, mode):
    async with capsule.serve(["legacy"], mode=mode, log_level="info") as srv:
        tools = (await srv.client.list_tools()).tools
        assert [t.name for t in tools] == ["legacy_shout"]
        # Portable (issue #21): every property required, the optional `fail` nullable.
        assert tools[0].input_schema["required"] == ["fail", "text"]
        assert tools[0].input_schema["additionalProperties"] is False

        progress: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(value)

        # `"fail": null` means "not given": the tool shouts.
        result = await srv.client.call_tool(
            "legacy_shout", {"text": "quiet please", "fail": None}, progress_callback=on_progress
        )
        assert not result.is_error, result
        assert text_blocks(result) == ["QUIET PLEASE"]
        assert progress == [1.0]
        assert any(getattr(log, "data", None) == "shouting" for log in srv.logs), srv.logs

        contents = (await srv.client.read_resource("legacy://motto")).contents
        assert [c.text for c in contents] == ["old but gold"]
        prompt = await srv.client.get_prompt("legacy_recall", {"topic": "WIT"})
        assert prompt.messages[0].content.text == "Tell me about WIT, as in 0.1.0."

        # 0.1.0 has no completions export: no capability, and nothing to suggest.
        assert srv.capabilities.completions is None


async def test_a_0_1_plugins_typed_errors_map_as_before(capsule, mode):
    async with capsule.serve(["legacy"], mode=mode) as srv:
        invalid = await srv.client.call_tool("legacy_shout", {"text": "x", "fail": "invalid"})
        assert invalid.is_error and "invalid arguments: you asked for invalid" in text_blocks(invalid)[0]
        denied = await srv.client.call_tool("legacy_shout", {"text": "x", "fail": "denied"})
        assert denied.is_error and "denied by policy: you asked for denied" in text_blocks(denied)[0]
        if mode == LEGACY:
            await expect_rpc_error(RESOURCE_NOT_FOUND_LEGACY, srv.client.read_resource("legacy://other"))
        # Retry parameters of 2026-07-28 mean nothing to a 0.1.0 plugin: ignored, the call runs.
        if mode != LEGACY:
            again = await srv.client.session.call_tool(
                "legacy_shout", {"text": "hi", "fail": None}, input_responses={"k": types.ElicitResult(action="decline")}
            )
            assert text_blocks(again) == ["HI"]
