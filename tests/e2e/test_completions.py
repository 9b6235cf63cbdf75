"""`completion/complete` through plugins, both eras: prompt arguments (with the arguments already filled
in as context) and resource-template variables are completed by the plugin that owns them; the
`completions` capability is advertised only when such a plugin is loaded."""

from __future__ import annotations

import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, expect_rpc_error

pytestmark = pytest.mark.anyio

PLUGIN = "test"


async def values(srv, ref, name: str, value: str, context: dict[str, str] | None = None) -> list[str]:
    result = await srv.client.complete(ref, {"name": name, "value": value}, context_arguments=context)
    return result.completion.values


async def test_prompt_arguments_and_template_variables_complete(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        assert srv.capabilities.completions is not None, srv.capabilities
        prompt = types.PromptReference(type="ref/prompt", name=f"{PLUGIN}_prompt_with_arguments")
        assert await values(srv, prompt, "arg1", "pa") == ["paris", "park", "party"]
        assert await values(srv, prompt, "arg1", "PA") == ["paris", "park", "party"]
        assert await values(srv, prompt, "arg1", "zz") == []
        # arg2's suggestions depend on arg1, which the client passes as context.
        assert await values(srv, prompt, "arg2", "", {"arg1": "paris"}) == ["france", "texas", "ontario"]
        assert await values(srv, prompt, "arg2", "", {"arg1": "hello"}) == ["world", "there", "everyone"]

        template = types.ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data")
        assert await values(srv, template, "id", "4") == ["42", "456"]

        # An argument without a completer: an empty list, not an error.
        simple = types.PromptReference(type="ref/prompt", name=f"{PLUGIN}_prompt_with_embedded_resource")
        assert await values(srv, simple, "resourceUri", "x") == []


async def test_unknown_targets_are_invalid_params(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode) as srv:
        missing = types.PromptReference(type="ref/prompt", name="test_no_such_prompt")
        error = await expect_rpc_error(INVALID_PARAMS, values(srv, missing, "a", ""))
        assert "test_no_such_prompt" in error.message
        nowhere = types.ResourceTemplateReference(type="ref/resource", uri="nope://{x}")
        error = await expect_rpc_error(INVALID_PARAMS, values(srv, nowhere, "x", ""))
        assert "nope://{x}" in error.message


async def test_no_completions_capability_without_a_completing_plugin(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv:
        assert srv.capabilities.completions is None, srv.capabilities
