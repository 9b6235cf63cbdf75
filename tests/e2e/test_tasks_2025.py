"""Tool calls as the experimental tasks of MCP 2025-11-25 ("Basic → Utilities → Tasks"), end to end
against the real binary and the conformance plugin's task fixtures, for clients that speak that
revision: `initialize` sessions over Streamable HTTP and stdio, with `tools/call` + `params.task`,
`tasks/get`, `tasks/result` (which blocks, and puts a task's questions to its client), `tasks/list`
and `tasks/cancel`; plus the MCP project's own tasks requester (`@modelcontextprotocol/ext-tasks`) in
its 2025-11-25 generation (tests/e2e/js/tasks_client_2025.mjs).

The 2026-07-28 extension has its own tests (test_tasks.py); the two share the task store, caps,
ownership, time limit and retention, so these tests check what differs on the wire.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx2
import pytest
from mcp import types
from conftest import text_blocks
from tasks_client import Polling
from test_tasks import ALICE, BOB, INVALID_PARAMS, bearer_args, cpu_over, policy, requester_completes, stdio_server

pytestmark = pytest.mark.anyio

REVISION = "2025-11-25"
METHOD_NOT_FOUND = -32601
RELATED = "io.modelcontextprotocol/related-task"
# `tasks/list` only where the server tells requestors apart (stdio, authenticated HTTP).
CAPABILITY = {"cancel": {}, "requests": {"tools": {"call": {}}}}
LISTING = {"list": {}, **CAPABILITY}
TERMINAL = ("completed", "failed", "cancelled")


class Session(Polling):
    """A raw MCP 2025-11-25 session over Streamable HTTP: `initialize`, then every request with the
    session's `Mcp-Session-Id` and `MCP-Protocol-Version`."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, self.token = url, token
        self.ids = 0
        self.session_id: str | None = None
        self.http = httpx2.Client(timeout=60)
        init = self.request("initialize", {
            "protocolVersion": REVISION,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "raw-2025-tasks", "version": "1"},
        })
        self.initialized = init["result"]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def post(self, body: dict[str, Any]) -> httpx2.Response:
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
            headers["mcp-protocol-version"] = REVISION
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        response = self.http.post(self.url, headers=headers, json=body)
        self.session_id = self.session_id or response.headers.get("mcp-session-id")
        return response

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.ids += 1
        response = self.post({"jsonrpc": "2.0", "id": self.ids, "method": method, "params": params or {}})
        assert response.status_code == 200, (response.status_code, response.text)
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            return response.json()
        # A session's answers come as an SSE stream: the data lines, up to the answer's.
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message = json.loads(line[5:])
                if message.get("id") == self.ids and "method" not in message:
                    return message
        pytest.fail(f"no answer to {method} in {response.text!r}")

    def call_task(self, tool: str, arguments: dict[str, Any], ttl: int | None = 60_000) -> dict[str, Any]:
        task = {} if ttl is None else {"ttl": ttl}
        return self.request("tools/call", {"name": tool, "arguments": arguments, "task": task})

    def task(self, method: str, task_id: str) -> dict[str, Any]:
        return self.request(method, {"taskId": task_id})

    def get(self, task_id: str) -> dict[str, Any]:
        answer = self.task("tasks/get", task_id)
        assert answer.get("result", {}).get("taskId") == task_id, answer
        return answer["result"]

    def close(self) -> None:
        if self.session_id:
            self.http.delete(self.url, headers={"mcp-session-id": self.session_id, "mcp-protocol-version": REVISION})
        self.http.close()


def created(answer: dict[str, Any]) -> dict[str, Any]:
    """The task of a 2025-11-25 `CreateTaskResult` (`{"task": Task}`)."""
    assert "result" in answer and set(answer["result"]) == {"task"}, answer
    return answer["result"]["task"]


def text(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"] if block["type"] == "text")


async def test_a_session_learns_the_capability_and_a_long_call_runs_as_a_task(capsule):
    async with capsule.http_server(["test"], extra=policy()) as server:
        client = Session(server.mcp_url)
        try:
            assert client.initialized["protocolVersion"] == REVISION
            assert client.initialized["capabilities"]["tasks"] == CAPABILITY
            tools = {t["name"]: t for t in client.request("tools/list")["result"]["tools"]}
            assert tools["slow_compute"]["execution"] == {"taskSupport": "optional"}
            assert tools["failing_job"]["execution"] == {"taskSupport": "required"}
            assert "execution" not in tools["greet"]
            assert all("capsule/taskSupport" not in t.get("_meta", {}) for t in tools.values())

            task = created(client.call_task("slow_compute", {"seconds": 3, "label": "crawl"}))
            assert task["status"] == "working"
            assert task["pollInterval"] == 1000
            assert task["ttl"] >= 3600 * 1000, "task_timeout (1 h) plus the retention asked (60 s)"
            assert task["createdAt"] and task["lastUpdatedAt"]
            # Progress becomes the status message.
            deadline = time.monotonic() + 10
            working = client.get(task["taskId"])
            while "statusMessage" not in working and time.monotonic() < deadline:
                time.sleep(0.2)
                working = client.get(task["taskId"])
            assert working["status"] == "working" and working["statusMessage"].startswith("crawl: "), working
            assert set(working) <= {"taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt", "ttl", "pollInterval"}
            # tasks/result blocks until the end, then answers the call's own result.
            result = client.task("tasks/result", task["taskId"])["result"]
            assert text(result) == "crawl: computed for 3 s", result
            assert result["_meta"][RELATED] == {"taskId": task["taskId"]}
            assert client.get(task["taskId"])["status"] == "completed"
            # Every client without authentication is the same subject: no listing for them.
            unlisted = client.request("tasks/list")["error"]
            assert unlisted["code"] == METHOD_NOT_FOUND and "--auth" in unlisted["message"], unlisted
        finally:
            client.close()
        # A new session on a new connection (the same subject) gets the result again.
        again = Session(server.mcp_url)
        try:
            assert text(again.task("tasks/result", task["taskId"])["result"]) == "crawl: computed for 3 s"
        finally:
            again.close()


async def test_task_support_is_enforced_and_tool_errors_fail_the_task(capsule):
    async with capsule.http_server(["test"], extra=policy()) as server:
        client = Session(server.mcp_url)
        try:
            # `required` without a task, `forbidden` with one: -32601 (2025-11-25 "Tool-Level Negotiation").
            required = client.request("tools/call", {"name": "failing_job", "arguments": {}})
            assert required["error"]["code"] == METHOD_NOT_FOUND, required
            assert "params.task" in required["error"]["message"]
            forbidden = client.call_task("greet", {"name": "x"})
            assert forbidden["error"]["code"] == METHOD_NOT_FOUND, forbidden
            # A tool error makes the task `failed`; tasks/result answers the result with isError.
            task = created(client.call_task("failing_job", {}))
            failed = client.until(task["taskId"], *TERMINAL)
            assert failed["status"] == "failed", failed
            assert failed["statusMessage"] == "failing_job failed on purpose after 1 s"
            result = client.task("tasks/result", task["taskId"])["result"]
            assert result["isError"] is True and text(result) == "failing_job failed on purpose after 1 s"
            # A crash is the call's JSON-RPC error.
            crash = created(client.call_task("protocol_error_job", {}))
            error = client.task("tasks/result", crash["taskId"])["error"]
            assert error["code"] == -32603, error
            assert client.get(crash["taskId"])["status"] == "failed"
            # Arguments the schema refuses: a task that failed at once, with the usual tool error.
            refused = created(client.call_task("slow_compute", {"seconds": "many"}))
            assert refused["status"] == "failed", refused
            assert "invalid arguments for tool 'slow_compute'" in refused["statusMessage"]
            # Unknown ids and bad parameters.
            assert client.task("tasks/get", "no-such-task")["error"]["code"] == INVALID_PARAMS
            assert client.request("tasks/result", {})["error"]["code"] == INVALID_PARAMS
            bad_ttl = client.request("tools/call", {"name": "slow_compute", "arguments": {"seconds": 0}, "task": {"ttl": "soon"}})
            assert bad_ttl["error"]["code"] == INVALID_PARAMS, bad_ttl
        finally:
            client.close()


async def test_cancel_stops_the_instance_and_an_ended_task_cannot_be_cancelled(capsule):
    extra = {"fixture.toml": b'[tools.spin]\ntask_support = "optional"\n'}
    async with capsule.http_server(["fixture"], extra=extra) as server:
        client = Session(server.mcp_url)
        try:
            task = created(client.call_task("fixture_spin", {}))
            assert cpu_over(server.process.pid, 1.5) > 0.5, "the spinning plugin uses a CPU"
            cancelled = client.task("tasks/cancel", task["taskId"])["result"]
            assert cancelled["taskId"] == task["taskId"] and cancelled["status"] == "cancelled", cancelled
            time.sleep(0.5)
            assert cpu_over(server.process.pid, 1.5) < 0.3, "its instance stopped with the cancel"
            again = client.task("tasks/cancel", task["taskId"])["error"]
            assert again["code"] == INVALID_PARAMS and "already ended" in again["message"], again
            assert client.task("tasks/result", task["taskId"])["error"]["code"] == -32603
        finally:
            client.close()


async def test_the_caps_and_the_time_limit_answer_clear_errors(capsule):
    extra = policy('[limits]\nmax_tasks = 1\ntask_timeout = "2s"\n')
    async with capsule.http_server(["test"], extra=extra) as server:
        client = Session(server.mcp_url)
        try:
            first = created(client.call_task("slow_compute", {"seconds": 60, "label": None}))
            full = client.call_task("slow_compute", {"seconds": 60, "label": None})["error"]
            assert full["code"] == -32000, full
            assert full["message"] == (
                "too many tasks: plugin 'test' already runs 1 tasks ([limits] max_tasks); try again when one has ended"
            )
            # tasks/result waits for the end: the time limit, as the call's JSON-RPC error.
            late = client.task("tasks/result", first["taskId"])["error"]
            assert late["code"] == -32603, late
            assert late["message"] == "task of tool 'slow_compute' ran past its time limit of 2s ([limits] task_timeout)"
            ended = client.get(first["taskId"])
            assert ended["status"] == "failed" and ended["statusMessage"] == late["message"], ended
            assert created(client.call_task("slow_compute", {"seconds": 0, "label": None}))["status"] == "working"
        finally:
            client.close()


async def test_tasks_belong_to_their_subject_and_list_in_pages(capsule, tmp_path):
    args = [*bearer_args(capsule, tmp_path), "--page-size", "1"]
    async with capsule.http_server(["test"], extra=policy(), args=args) as server:
        alice, bob = Session(server.mcp_url, ALICE), Session(server.mcp_url, BOB)
        try:
            assert alice.initialized["capabilities"]["tasks"] == LISTING
            ids = {created(alice.call_task("slow_compute", {"seconds": 30, "label": None}))["taskId"] for _ in range(2)}
            for method in ("tasks/get", "tasks/result", "tasks/cancel"):
                refused = bob.task(method, next(iter(ids)))["error"]
                assert refused["code"] == INVALID_PARAMS and refused["message"].startswith("unknown task"), refused
            assert bob.request("tasks/list")["result"] == {"tasks": []}
            first = alice.request("tasks/list")["result"]
            assert len(first["tasks"]) == 1 and first["nextCursor"], first
            second = alice.request("tasks/list", {"cursor": first["nextCursor"]})["result"]
            assert len(second["tasks"]) == 1 and "nextCursor" not in second, second
            assert {first["tasks"][0]["taskId"], second["tasks"][0]["taskId"]} == ids
            assert alice.request("tasks/list", {"cursor": "bogus"})["error"]["code"] == INVALID_PARAMS
            for task_id in ids:
                assert alice.task("tasks/cancel", task_id)["result"]["status"] == "cancelled"
        finally:
            alice.close()
            bob.close()


async def test_a_task_asks_its_question_through_tasks_result_over_stdio(capsule):
    """Over stdio: the task waits in `input_required`; `tasks/result` puts the plugin's question to
    the client as `elicitation/create` tied to the task, and the answer lets the task finish."""
    process = stdio_server(capsule)
    asked: list[dict[str, Any]] = []

    def send(message: dict[str, Any]) -> None:
        assert process.stdin
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()

    def request(id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a request and read up to its answer, answering the server's elicitations (accept)."""
        assert process.stdout
        send({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        while True:
            message = json.loads(process.stdout.readline())
            if message.get("method") == "elicitation/create":
                asked.append(message["params"])
                send({"jsonrpc": "2.0", "id": message["id"], "result": {"action": "accept", "content": {"confirm": True}}})
            elif message.get("id") == id and "method" not in message:
                return message

    try:
        init = request(1, "initialize", {
            "protocolVersion": REVISION,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "raw-stdio-2025", "version": "1"},
        })["result"]
        assert init["capabilities"]["tasks"] == LISTING
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = {t["name"]: t for t in request(2, "tools/list", {})["result"]["tools"]}
        assert tools["confirm_delete"]["execution"] == {"taskSupport": "optional"}
        answer = request(3, "tools/call", {"name": "confirm_delete", "arguments": {"filename": "draft.md"}, "task": {}})
        task = answer["result"]["task"]
        deadline = time.monotonic() + 20
        for id in range(4, 1000):
            status = request(id, "tasks/get", {"taskId": task["taskId"]})["result"]["status"]
            if status != "working" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status == "input_required"
        result = request(1000, "tasks/result", {"taskId": task["taskId"]})["result"]
        assert text(result) == "Deleted draft.md", result
        assert result["_meta"][RELATED] == {"taskId": task["taskId"]}
        assert [a["message"] for a in asked] == ["Delete draft.md?"]
        assert asked[0]["_meta"][RELATED] == {"taskId": task["taskId"]}
        assert request(1001, "tasks/get", {"taskId": task["taskId"]})["result"]["status"] == "completed"
    finally:
        assert process.stdin
        process.stdin.close()
        process.wait(timeout=20)


@pytest.mark.parametrize("transport", ["stdio", "http", "sse"])
async def test_the_python_sdk_runs_a_task_that_asks_a_question(capsule, transport):
    """The official Python SDK (mcp 2.3, 2025-11-25 session) over each transport: it reads the
    capability and `execution` with its own types, sends the task requests as typed requests (the SDK
    validates every answer against the revision's schema), and answers the task's question through
    its elicitation callback while `tasks/result` waits."""
    asked: list[types.ElicitRequestParams] = []

    async def elicit(_context, params):
        asked.append(params)
        return types.ElicitResult(action="accept", content={"confirm": True})

    callbacks = {"elicitation_callback": elicit}
    async with capsule.serve(["test"], transport=transport, extra=policy(), callbacks=callbacks) as running:
        assert running.capabilities.tasks is not None
        assert running.capabilities.tasks.requests.tools.call is not None
        assert running.capabilities.tasks.cancel is not None
        # stdio's one client is told apart from others; HTTP clients without authentication are not.
        assert (running.capabilities.tasks.list is not None) == (transport == "stdio")
        session = running.client.session
        tools = {t.name: t for t in (await running.client.list_tools()).tools}
        assert tools["confirm_delete"].execution.task_support == "optional"
        assert tools["greet"].execution is None
        params = types.CallToolRequestParams(
            name="confirm_delete", arguments={"filename": "draft.md"}, task=types.TaskMetadata(ttl=60_000)
        )
        # mcp 2.3 checks every 2025-11-25 `tools/call` answer as a CallToolResult (its method table
        # does not know task-augmented calls), so this one request goes through the same session's
        # raw dispatcher, and its answer is checked as the SDK's CreateTaskResult.
        raw = await session._dispatcher.send_raw_request(
            "tools/call", params.model_dump(by_alias=True, mode="json", exclude_none=True), {}
        )
        task = types.CreateTaskResult.model_validate(raw, by_name=False).task
        assert task.status == "working" and task.poll_interval == 1000
        get = types.GetTaskRequest(params=types.GetTaskRequestParams(task_id=task.task_id))
        with anyio.fail_after(20):
            while (await session.send_request(get, types.GetTaskResult)).status == "working":
                await anyio.sleep(0.1)
        assert (await session.send_request(get, types.GetTaskResult)).status == "input_required"
        fetch = types.GetTaskPayloadRequest(params=types.GetTaskPayloadRequestParams(task_id=task.task_id))
        result = await session.send_request(fetch, types.CallToolResult)
        assert text_blocks(result) == ["Deleted draft.md"]
        assert result.meta[RELATED] == {"taskId": task.task_id}
        assert [a.message for a in asked] == ["Delete draft.md?"]
        assert (await session.send_request(get, types.GetTaskResult)).status == "completed"
        if transport == "stdio":
            listed = await session.send_request(types.ListTasksRequest(), types.ListTasksResult)
            assert [t.task_id for t in listed.tasks] == [task.task_id]


@pytest.mark.parametrize(
    ("tool", "arguments", "answer", "expected", "fetch_input"),
    [
        ("slow_compute", {"seconds": 2, "label": "ext-tasks"}, None, "ext-tasks: computed for 2 s", False),
        ("confirm_delete", {"filename": "draft.md"}, {"confirm": True}, "Deleted draft.md", False),
        ("confirm_delete", {"filename": "draft.md"}, {"confirm": True}, "Deleted draft.md", True),
    ],
)
async def test_the_official_tasks_requester_in_its_2025_generation(
    capsule, tmp_path, tool, arguments, answer, expected, fetch_input
):
    """The MCP project's own requester (@modelcontextprotocol/ext-tasks over the TypeScript SDK v2
    client, in a 2025-11-25 session) creates the task, polls it, answers its question and gets the
    result. The library only polls, so the question reaches it on the session's own stream; with
    `fetch_input` the script also calls `tasks/result` on `input_required`, as the spec advises, and
    the question comes there instead (once either way)."""
    env = {"FETCH_INPUT": "1" if fetch_input else "0"}
    async with capsule.http_server(["test"], extra=policy()) as server:
        call = (tool, arguments, answer, expected)
        seen = requester_completes("tasks_client_2025.mjs", server.mcp_url, call, tmp_path, env)
        assert seen["protocolVersion"] == REVISION, seen
