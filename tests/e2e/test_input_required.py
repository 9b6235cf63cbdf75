"""Elicitation, sampling and roots through plugins (MCP SEP-2322 multi round-trip requests), both eras.

The conformance plugin (`test.wasm`) answers `input-required` in its first round. The real Python SDK
client answers with its elicitation / sampling / roots callbacks:
- 2025-11-25: Capsule sends `elicitation/create`, `sampling/createMessage` or `roots/list` to the
  client while the `tools/call` is in progress, then calls the plugin again with the answers;
- 2026-07-28: Capsule returns `InputRequiredResult` with a sealed `requestState`, the client's MRTR
  driver answers and retries with `inputResponses`, and Capsule calls the plugin again.
Both over stdio and Streamable HTTP.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, LEGACY, MODERN, expect_rpc_error, text_blocks

pytestmark = pytest.mark.anyio

PLUGIN = "test"
MISSING_CAPABILITY = -32021


def answers(seen: list[str], *, name: str = "Alice", sampled: str = "Paris") -> dict[str, Any]:
    """Client callbacks that answer like a user and a model would, recording what was asked."""

    async def elicit(_context, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(f"elicitation: {params.message}")
        properties = params.requested_schema.get("properties", {}) if hasattr(params, "requested_schema") else {}
        content: dict[str, Any] = {}
        for key, schema in properties.items():
            if schema.get("type") == "boolean":
                content[key] = True
            elif key == "color":
                content[key] = "green"
            else:
                content[key] = name
        return types.ElicitResult(action="accept", content=content)

    async def sample(_context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        seen.append(f"sampling: {len(params.messages)} message(s), maxTokens={params.max_tokens}")
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=sampled),
            model="test-model",
            stop_reason="endTurn",
        )

    async def roots(_context) -> types.ListRootsResult:
        seen.append("roots")
        return types.ListRootsResult(roots=[types.Root(uri="file:///work/project", name="project")])

    return {"elicitation_callback": elicit, "sampling_callback": sample, "list_roots_callback": roots}


def text_of(result: types.CallToolResult) -> str:
    assert not result.is_error, result
    return "\n".join(text_blocks(result))


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_elicitation_round_trip(capsule, mode, transport):
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=mode, transport=transport, callbacks=answers(seen)) as running:
        result = await running.client.call_tool(f"{PLUGIN}_input_required_result_elicitation", {})
        assert "Hello, Alice!" in text_of(result)
        assert seen == ["elicitation: What is your name?"]


async def test_sampling_round_trip(capsule, mode):
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=mode, callbacks=answers(seen, sampled="Lyon")) as running:
        result = await running.client.call_tool(f"{PLUGIN}_input_required_result_sampling", {})
        assert "Lyon" in text_of(result)
        assert seen == ["sampling: 1 message(s), maxTokens=100"]


async def test_roots_round_trip(capsule, mode):
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=mode, callbacks=answers(seen)) as running:
        result = await running.client.call_tool(f"{PLUGIN}_input_required_result_list_roots", {})
        assert "file:///work/project" in text_of(result)
        assert seen == ["roots"]


async def test_several_rounds_carry_the_plugin_state(capsule, mode):
    """Round 1 asks for a name, round 2 (with the state of round 1) for a colour, round 3 answers
    with both: the state survived the trip (sealed through the client in 2026-07-28)."""
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=mode, callbacks=answers(seen, name="Bob")) as running:
        result = await running.client.call_tool(f"{PLUGIN}_input_required_result_multi_round", {})
        text = text_of(result)
        assert "Bob" in text and "green" in text, text
        assert len(seen) == 2 and seen[0].startswith("elicitation: Step 1") and seen[1].startswith("elicitation: Step 2")


async def test_state_round_trip(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode, callbacks=answers([])) as running:
        result = await running.client.call_tool(f"{PLUGIN}_input_required_result_request_state", {})
        assert "state-ok" in text_of(result)


async def test_prompt_with_input_required(capsule, mode):
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=mode, callbacks=answers(seen, name="ocean")) as running:
        result = await running.client.get_prompt(f"{PLUGIN}_input_required_result_prompt", {})
        assert result.messages, result
        assert any("ocean" in getattr(m.content, "text", "") for m in result.messages), result
        assert len(seen) == 1 and seen[0].startswith("elicitation:")


async def test_a_client_without_the_capability_is_refused(capsule, mode):
    """`test_missing_capability` needs sampling; this client declares none: 2026-07-28 gets the spec's
    -32021 naming the capability, a 2025-11-25 session a tool error that says what is missing."""
    async with capsule.serve([PLUGIN], mode=mode) as running:
        if mode == MODERN:
            error = await expect_rpc_error(
                MISSING_CAPABILITY, running.client.call_tool(f"{PLUGIN}_missing_capability", {})
            )
            assert error.data["requiredCapabilities"] == {"sampling": {}}, error.data
        else:
            result = await running.client.call_tool(f"{PLUGIN}_missing_capability", {})
            assert result.is_error
            message = "\n".join(text_blocks(result))
            assert "sampling" in message and "did not declare" in message, message
        # The server is fine afterwards.
        assert (await running.client.call_tool(f"{PLUGIN}_simple_text", {})).content


async def test_request_state_is_sealed(capsule):
    """2026-07-28: the first round's requestState is opaque and integrity-protected. Sent back
    altered, for another tool, or with a forged value, the retry is refused with -32602 and the
    plugin never sees it; sent back intact, the call completes."""
    async with capsule.serve([PLUGIN], mode=MODERN, callbacks=answers([])) as running:
        session = running.client.session
        tool = f"{PLUGIN}_input_required_result_request_state"
        first = await session.call_tool(tool, {}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult), first
        assert first.result_type == "input_required"
        assert set(first.input_requests) == {"confirm"}
        state = first.request_state
        assert state
        reply = {"confirm": types.ElicitResult(action="accept", content={"ok": True})}

        middle = len(state) // 2
        altered = state[:middle] + ("A" if state[middle] != "A" else "B") + state[middle + 1 :]
        for bad_state, bad_tool in [(altered, tool), ("forged", tool), (state, f"{PLUGIN}_input_required_result_elicitation")]:
            error = await expect_rpc_error(
                INVALID_PARAMS, session.call_tool(bad_tool, {}, input_responses=reply, request_state=bad_state)
            )
            assert "requestState" in error.message, error.message

        done = await session.call_tool(tool, {}, input_responses=reply, request_state=state)
        assert isinstance(done, types.CallToolResult), done
        assert "state-ok" in text_of(done)


async def test_a_retry_without_the_answer_asks_again(capsule):
    """A retry whose inputResponses lack the key the plugin asked for gets a new InputRequiredResult,
    not an error (SEP-2322 SHOULD)."""
    async with capsule.serve([PLUGIN], mode=MODERN, callbacks=answers([])) as running:
        session = running.client.session
        tool = f"{PLUGIN}_input_required_result_elicitation"
        first = await session.call_tool(tool, {}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult)
        wrong = {"something_else": types.ElicitResult(action="accept", content={"name": "X"})}
        again = await session.call_tool(
            tool, {}, input_responses=wrong, request_state=first.request_state, allow_input_required=True
        )
        assert isinstance(again, types.InputRequiredResult), again
        assert "user_name" in again.input_requests


async def test_requests_are_never_sent_outside_a_request_in_2026(capsule):
    """2026-07-28 forbids server-to-client requests: with MRTR every question travels in the
    result, so the client's callbacks run only inside its own call (from the driver)."""
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=MODERN, callbacks=answers(seen)) as running:
        first = await running.client.session.call_tool(
            f"{PLUGIN}_input_required_result_elicitation", {}, allow_input_required=True
        )
        assert isinstance(first, types.InputRequiredResult)
        assert seen == []  # nothing was pushed to the client
        assert running.stream_errors == []


@pytest.mark.parametrize("mode", [LEGACY])
async def test_legacy_elicitation_scenarios(capsule, mode):
    """The 2025-11-25 conformance tools ask through a real elicitation/create and echo the answer."""
    seen: list[str] = []
    async with capsule.serve([PLUGIN], mode=mode, callbacks=answers(seen)) as running:
        result = await running.client.call_tool(f"{PLUGIN}_elicitation", {"message": "Who are you?"})
        text = text_of(result)
        assert "accept" in text and "Alice" in text, text
        assert seen == ["elicitation: Who are you?"]
        result = await running.client.call_tool(f"{PLUGIN}_sampling", {"prompt": "Capital of France?"})
        assert "LLM response: Paris" in text_of(result)
