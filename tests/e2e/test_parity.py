"""Parity: the same end-to-end matrix for the example plugin of every guest language (Python, JS, C).

Each language's plugin (see `guests.py`) runs in one `capsule serve` per module (a Python component
takes seconds to compile), with a copy of its sample data granted read-only and a secret file
placed next to the grant. The interactive tool and completions are checked in both protocol eras,
each test with a server of its own and the client it needs (elicitation, sampling or neither);
the host's compile cache makes those starts cheap. A plugin that was not built fails these tests:
`make guest-plugins` builds them all into CAPSULE_PLUGINS.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from agents.strict_schema import ensure_strict_json_schema
from conftest import (
    LEGACY,
    MODERN,
    NAME_RE,
    RESOURCE_NOT_FOUND_LEGACY,
    Capsule,
    Running,
    all_text,
    expect_rpc_error,
    structured,
)
from guests import GUESTS, SECRET, Call, Guest
from tasks_client import Client as TasksClient
from tasks_client import created
from tasks_client import text as task_text
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


def grant(guest: Guest, data: Path) -> list[str]:
    return ["--fs", f"{guest.plugin}:{guest.guest_dir}={data}:ro"]


@pytest.fixture(scope="module", params=LANGUAGES)
async def live(request, capsule_bin, built_plugins, tmp_path_factory) -> AsyncIterator[Live]:
    guest = GUESTS[request.param]
    tmp = tmp_path_factory.mktemp(f"parity-{guest.language}")
    data = guest.prepare(tmp)
    capsule = Capsule(capsule_bin, built_plugins, tmp, tmp)
    async with capsule.serve([guest.plugin], mode=LEGACY, args=grant(guest, data)) as srv:
        yield Live(guest, srv, data, tmp)


@pytest.fixture(params=LANGUAGES)
def guest(request) -> Guest:
    return GUESTS[request.param]


@asynccontextmanager
async def serve(capsule: Capsule, guest: Guest, mode: str, callbacks: dict[str, Any] | None = None) -> AsyncIterator[Running]:
    """The guest's plugin with its sample data granted, and a client in `mode` with `callbacks`."""
    data = guest.prepare(capsule.tmp_path)
    async with capsule.serve([guest.plugin], mode=mode, args=grant(guest, data), callbacks=callbacks) as srv:
        yield srv


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


async def test_input_schemas_are_portable(live: Live):
    """Issue #21 item 4: every tool's input schema is one OpenAI strict mode takes unchanged (the
    SDKs emit the portable profile: closed objects, every property required, optional ones
    nullable, no $ref, no type arrays, no `default`)."""
    for t in (await live.srv.client.list_tools()).tools:
        schema = t.input_schema
        assert ensure_strict_json_schema(copy.deepcopy(schema)) == schema, (t.name, schema)
        text = json.dumps(schema)
        assert '"default":' not in text and '"$ref":' not in text, (t.name, schema)


async def test_call(live: Live):
    c = live.guest.call
    result = await call(live, c)
    assert not result.is_error, all_text(result)
    c.check(all_text(result) if c.text else structured(result))


async def test_the_tool_the_sdk_declares_task_capable_runs_as_a_task(guest: Guest, capsule_bin, built_plugins, tmp_path):
    """Issue #19: each example plugin declares its file tool `optional` through its SDK (Python
    `task_support=`, TypeScript `taskSupport`, C `.task_support`). With no synchronous window every
    call of it from a client that declared the tasks extension (2026-07-28) becomes a task, which
    ends with the result the call gives in its request."""
    data = guest.prepare(tmp_path)
    capsule = Capsule(capsule_bin, built_plugins, tmp_path, tmp_path)
    c = guest.file_call(guest.good_file)
    args = [*grant(guest, data), "--task-sync-window", "0s"]
    async with capsule.http_server([guest.plugin], args=args) as server:
        client = TasksClient(server.mcp_url)
        task_id = created(client.call(c.tool, c.arguments))
        done = client.until(task_id, "completed", "failed", "cancelled")
        assert done["status"] == "completed", done
        result = done["result"]
        assert not result.get("isError"), result
        c.check(task_text(result) if c.text else result["structuredContent"])
        # Tools that declare nothing answer in the request, whatever the window.
        plain = client.call(guest.call.tool, guest.call.arguments)["result"]
        assert plain["resultType"] == "complete" and "taskId" not in plain, plain


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


# ------------------------------------------------------------------------------------------------
# The interactive tool (`describe`, see guests.Describe), in both eras: 2026-07-28 returns
# InputRequiredResult and the client retries with the answers (the state sealed by the host),
# 2025-11-25 asks the client within the call.

MODEL_TEXT = "A short description, written by the client's model."
MISSING_CAPABILITY = -32021


class UserAndModel:
    """A client's user and model: the user answers each question with the next (action, focus) of
    `answers`, the model with MODEL_TEXT; everything asked is recorded."""

    def __init__(self, *answers: tuple[str, str]) -> None:
        self.answers = list(answers)
        self.asked: list[Any] = []

    async def elicit(self, _context, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params)
        action, focus = self.answers.pop(0)
        return types.ElicitResult(action=action, content={"focus": focus} if action == "accept" else None)

    async def sample(self, _context, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.asked.append(params)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=MODEL_TEXT), model="test-model", stop_reason="endTurn"
        )

    def callbacks(self, *, sampling: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"elicitation_callback": self.elicit}
        if sampling:
            out["sampling_callback"] = self.sample
        return out


def check_question(guest: Guest, asked: Any) -> None:
    """The SDK's elicitation request: the message, and a form with one required string `focus`."""
    assert isinstance(asked, types.ElicitRequestFormParams), asked
    assert asked.message == guest.describe.question(), asked.message
    schema = asked.requested_schema
    assert schema["type"] == "object" and set(schema["properties"]) == {"focus"}, schema
    assert schema["properties"]["focus"]["type"] == "string" and schema["required"] == ["focus"], schema


def text_of(result: types.CallToolResult) -> str:
    assert not result.is_error, all_text(result)
    return all_text(result)


async def test_describe_is_listed_with_its_arguments(live: Live):
    d = live.guest.describe
    tool = next(t for t in (await live.srv.client.list_tools()).tools if t.name == d.tool)
    assert set(tool.input_schema["properties"]) == {"path"}, tool.input_schema  # no SDK parameter leaks in
    assert tool.input_schema["required"] == ["path"], tool.input_schema
    assert tool.input_schema["properties"]["path"]["type"] == "string"
    assert tool.annotations is not None and tool.annotations.read_only_hint is True, tool.annotations
    assert tool.output_schema is None, tool.output_schema


async def test_describe_asks_the_user(capsule, mode, guest: Guest):
    """A client that elicits but does not sample: one question per call, then the answer built from
    it; declined and cancelled questions are answered too (the SDK read each action)."""
    d = guest.describe
    client = UserAndModel(("accept", "the first lines"), ("decline", ""), ("cancel", ""))
    async with serve(capsule, guest, mode, client.callbacks(sampling=False)) as srv:
        result = await srv.client.call_tool(d.tool, {"path": d.path})
        assert text_of(result) == d.answer("the first lines")
        assert len(client.asked) == 1
        check_question(guest, client.asked[0])
        for action in ("decline", "cancel"):
            result = await srv.client.call_tool(d.tool, {"path": d.path})
            assert text_of(result) == f"Not described ({action}).", action
        assert len(client.asked) == 3  # never the model: the client did not declare sampling


async def test_describe_has_the_model_write_when_the_client_samples(capsule, mode, guest: Guest):
    """A client that elicits and samples: three rounds (the user's focus, the model's text, the
    answer); the focus reaches the third round only through the plugin's state."""
    d = guest.describe
    client = UserAndModel(("accept", "integrity"))
    async with serve(capsule, guest, mode, client.callbacks(sampling=True)) as srv:
        result = await srv.client.call_tool(d.tool, {"path": d.path})
        assert text_of(result) == d.answer("integrity", MODEL_TEXT)
        question, sampling = client.asked
        check_question(guest, question)
        assert isinstance(sampling, types.CreateMessageRequestParams), sampling
        assert sampling.max_tokens == 200
        [message] = sampling.messages
        assert message.role == "user" and isinstance(message.content, types.TextContent), message
        for needle in (d.path, "integrity", d.facts):
            assert needle in message.content.text, (needle, message.content.text)


async def test_describe_needs_a_client_that_elicits(capsule, mode, guest: Guest):
    """The SDK returns input-required whatever the client declared; for a client without the
    elicitation capability the host answers -32021 (2026-07-28) or a tool error (2025-11-25). A
    bad path fails before anything is asked, and the server keeps serving."""
    d = guest.describe
    async with serve(capsule, guest, mode) as srv:
        if mode == MODERN:
            error = await expect_rpc_error(MISSING_CAPABILITY, srv.client.call_tool(d.tool, {"path": d.path}))
            assert set(error.data["requiredCapabilities"]) == {"elicitation"}, error.data
        else:
            result = await srv.client.call_tool(d.tool, {"path": d.path})
            assert result.is_error, result
            message = all_text(result)
            assert "elicitation" in message and "did not declare" in message, message
        missing = await srv.client.call_tool(d.tool, {"path": "no-such-file" + Path(d.path).suffix})
        assert missing.is_error and "elicitation" not in all_text(missing), all_text(missing)
        assert not (await srv.client.call_tool(guest.call.tool, guest.call.arguments)).is_error


# ------------------------------------------------------------------------------------------------
# Completions of prompt arguments and template variables, from the granted folder.


async def test_completions(capsule, mode, guest: Guest):
    async with serve(capsule, guest, mode) as srv:
        assert srv.capabilities.completions is not None
        for c in guest.completions:
            ref = (
                types.PromptReference(type="ref/prompt", name=c.target)
                if c.ref == "prompt"
                else types.ResourceTemplateReference(type="ref/resource", uri=c.target)
            )
            done = await srv.client.complete(ref, {"name": c.argument, "value": c.value})
            assert done.completion.values == c.values, (c, done.completion)
            # For an argument without a completer the SDKs differ in form only: Python answers
            # total 0, JS and C leave `total` out.
            total = done.completion.total
            assert total == len(c.values) or (not c.values and total is None), (c, done.completion)
            assert not done.completion.has_more, (c, done.completion)
