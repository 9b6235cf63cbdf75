"""Tool calls as MCP tasks (the 2026-07-28 `io.modelcontextprotocol/tasks` extension, SEP-2663), end to
end over Streamable HTTP against the real binary and the conformance plugin's task fixtures
(`slow_compute`, `confirm_delete`, ...), plus the fixture plugin's `spin` made task-capable by policy.

Each request is a fresh stateless 2026-07-28 request on its own HTTP connection, as a client that
disconnected and came back would send it. The official conformance suite (`make conformance`) checks
the wire; these tests check what it does not: progress as `statusMessage`, that a cancel stops the
plugin's instance (its CPU use ends), ownership between subjects, the caps and the task time limit,
retention, and input asked inside a task; and the MCP project's own tasks requester
(`@modelcontextprotocol/ext-tasks`, tests/e2e/js/tasks_client.mjs) drives a task to its result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from tasks_client import TASKS, Client, created, text
from harness import modern_call, modern_headers
from test_js_clients import JS, NODE22, run_node

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
import run  # noqa: E402  (the conformance plugin's policy: bare fixture names)

pytestmark = pytest.mark.anyio

INVALID_PARAMS = -32602
MISSING_CAPABILITY = -32021
ALICE = "tok_alice_0123456789abcdefghijklmnop"
BOB = "tok_bob_0123456789abcdefghijklmnopqr"


def policy(extra: str = "") -> dict[str, bytes]:
    """The conformance plugin as `test.wasm` with its fixtures under their bare names, plus `extra`."""
    return {"test.toml": (run.PLUGIN_POLICY + extra).encode()}


def metrics(server) -> str:
    """What `/metrics` shows now (`--metrics` on the MCP listener, no authentication)."""
    return httpx2.get(f"{server.base_url}/metrics", timeout=10).text


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_over(pid: int, seconds: float) -> float:
    start = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - start


async def test_a_long_call_becomes_a_task_the_client_polls_to_its_result(capsule):
    async with capsule.http_server(["test"], extra=policy()) as server:
        client = Client(server.mcp_url)
        answer = client.call("slow_compute", {"seconds": 3, "label": "crawl"})
        task_id = created(answer)
        seed = answer["result"]
        assert seed["status"] == "working"
        assert seed["pollIntervalMs"] == 1000
        assert seed["ttlMs"] >= 3600 * 1000 * 2, "task_timeout (1 h) plus retention (1 h)"
        # Progress reports become the task's status message.
        working = client.until(task_id, "working")
        deadline = time.monotonic() + 10
        while "statusMessage" not in working and time.monotonic() < deadline:
            time.sleep(0.2)
            working = client.get(task_id)
        assert working["statusMessage"].startswith("crawl: "), working
        assert "result" not in working
        # A new client (another connection, nothing shared but the subject) gets the result.
        done = Client(server.mcp_url).until(task_id, "completed", "failed", "cancelled")
        assert done["status"] == "completed", done
        assert text(done["result"]) == "crawl: computed for 3 s"
        assert done["resultType"] == "complete"


async def test_tasks_over_stdio_belong_to_the_process(capsule):
    """Over stdio the one client (the process that started the server) owns its tasks: JSON lines in,
    the task's result out, the same requests as over HTTP."""
    process = stdio_server(capsule)
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw-stdio", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}},
    }

    def request(id: int, method: str, params: dict) -> dict:
        assert process.stdin and process.stdout
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": {**params, "_meta": meta}}) + "\n")
        process.stdin.flush()
        while True:
            message = json.loads(process.stdout.readline())
            if message.get("id") == id:
                return message

    try:
        answer = request(1, "tools/call", {"name": "slow_compute", "arguments": {"seconds": 2, "label": "stdio"}})
        task_id = created(answer)
        deadline = time.monotonic() + 20
        task = answer["result"]
        for id in range(2, 1000):
            task = request(id, "tasks/get", {"taskId": task_id})["result"]
            if task["status"] != "working" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert task["status"] == "completed", task
        assert text(task["result"]) == "stdio: computed for 2 s"
        assert "statusMessage" not in task, "a finished task drops its last progress message"
    finally:
        process.stdin.close()
        process.wait(timeout=20)


async def test_a_fast_call_answers_in_its_request_and_clients_without_tasks_never_get_one(capsule):
    async with capsule.http_server(["test"], extra=policy()) as server:
        with_tasks = Client(server.mcp_url)
        quick = with_tasks.call("slow_compute", {"seconds": 0, "label": "now"})["result"]
        assert quick["resultType"] == "complete" and text(quick) == "now: computed for 0 s", quick
        without = Client(server.mcp_url, tasks=False)
        slow = without.call("slow_compute", {"seconds": 1, "label": None})["result"]
        assert slow["resultType"] == "complete" and text(slow) == "job: computed for 1 s", slow
        refused = without.call("failing_job", {})
        assert refused["error"]["code"] == MISSING_CAPABILITY, refused
        assert refused["error"]["data"]["requiredCapabilities"] == {"extensions": {TASKS: {}}}
        assert "failing_job" in refused["error"]["message"]
        for method in ("tasks/get", "tasks/cancel"):
            assert without.task(method, "x")["error"]["code"] == MISSING_CAPABILITY


async def test_cancel_stops_the_running_instance_at_once(capsule):
    # `spin` loops forever; the operator makes it task-capable in the fixture's policy.
    extra = {"fixture.toml": b'[tools.spin]\ntask_support = "optional"\n'}
    async with capsule.http_server(["fixture"], extra=extra, args=["--metrics"]) as server:
        client = Client(server.mcp_url)
        task_id = created(client.call("fixture_spin", {}))
        assert cpu_over(server.process.pid, 1.5) > 0.5, "the spinning plugin uses a CPU"
        assert 'capsule_tasks_active{capsule_plugin="fixture",otel_scope_name="capsule"} 1' in metrics(server)
        ack = client.task("tasks/cancel", task_id)["result"]
        assert ack == {"resultType": "complete"}
        assert client.until(task_id, "cancelled", "completed", "failed", timeout=10)["status"] == "cancelled"
        time.sleep(0.5)
        assert cpu_over(server.process.pid, 1.5) < 0.3, "its instance stopped with the cancel"
        exported = metrics(server)
        assert 'capsule_tasks_active{capsule_plugin="fixture",otel_scope_name="capsule"} 0' in exported
        assert 'capsule_tasks_ended_total{capsule_outcome="cancelled",capsule_plugin="fixture"' in exported, exported
        # Cancelling an ended task changes nothing.
        assert client.task("tasks/cancel", task_id)["result"] == {"resultType": "complete"}
        assert client.get(task_id)["status"] == "cancelled"


async def test_a_client_that_leaves_before_the_call_became_a_task_leaves_nothing_running(capsule):
    # A long synchronous window: the call is still the request's when the client hangs up.
    args = ["--metrics", "--task-sync-window", "30s"]
    async with capsule.http_server(["test"], extra=policy(), args=args) as server:
        active = 'capsule_tasks_active{capsule_plugin="test",otel_scope_name="capsule"}'
        body = modern_call("tools/call", {"name": "slow_compute", "arguments": {"seconds": 60, "label": None}})
        body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {"extensions": {TASKS: {}}}
        with pytest.raises(httpx2.TimeoutException):
            httpx2.post(server.mcp_url, headers=modern_headers(None, "tools/call", "slow_compute"), json=body, timeout=1.5)
        # The series exists (the call was a task candidate) and falls back to 0: its round stopped.
        deadline = time.monotonic() + 10
        while f"{active} 0" not in metrics(server):
            assert time.monotonic() < deadline, metrics(server)
            time.sleep(0.2)


def requester_completes(
    script: str,
    url: str,
    call: tuple[str, dict, dict | None, str],
    home: Path,
    env: dict | None = None,
) -> dict:
    """Run one of the ext-tasks requester scripts (tests/e2e/js) on `call` (tool, arguments, the
    answer to its question or None, the result text expected), check that the call ran as a task to
    that result (asking its question, if any, once), and return the script's report."""
    tool, arguments, answer, expected = call
    if not NODE22.exists():
        pytest.fail(f"{NODE22} is missing: run `make setup` (npm ci in tests/e2e/js)")
    args = [str(JS / script), url, tool, json.dumps(arguments)]
    if answer is not None:
        args.append(json.dumps(answer))
    ran = run_node(NODE22, *args, home=home, env=env)
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert seen["kind"] == "task" and seen["taskId"], seen
    assert seen["outcome"] == "completed", seen
    assert text(seen["result"]) == expected, seen
    if answer is not None:
        assert seen["asked"] == ["Delete draft.md?"], seen
        assert "input_required" in seen["statuses"], seen
    return seen


def stdio_server(capsule) -> subprocess.Popen[str]:
    """`capsule serve` over stdio (text pipes) with the conformance plugin's task fixtures."""
    plugin_dir = capsule.plugin_dir(["test"], policy())
    return subprocess.Popen(
        [str(capsule.binary), "serve", "--plugins", str(plugin_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def bearer_args(capsule, tmp_path: Path) -> list[str]:
    """`capsule serve` flags for bearer authentication with two subjects: `alice` (token ALICE) and
    `bob` (token BOB)."""

    def digest(token: str) -> str:
        hashed = subprocess.run(
            [str(capsule.binary), "auth", "hash-token"], input=token, capture_output=True, text=True, check=True
        )
        return hashed.stdout.strip()

    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[[token]]\nsubject = "alice"\nsha256 = "{digest(ALICE)}"\n'
        f'[[token]]\nsubject = "bob"\nsha256 = "{digest(BOB)}"\n'
    )
    return ["--auth", "bearer", "--auth-tokens", str(tokens)]


async def test_a_task_belongs_to_the_subject_that_created_it(capsule, tmp_path):
    args = bearer_args(capsule, tmp_path)
    async with capsule.http_server(["test"], extra=policy(), args=args) as server:
        alice, bob = Client(server.mcp_url, ALICE), Client(server.mcp_url, BOB)
        task_id = created(alice.call("confirm_delete", {"filename": "report.txt"}))
        for method, params in (("tasks/get", {}), ("tasks/update", {"inputResponses": {}}), ("tasks/cancel", {})):
            refused = bob.task(method, task_id, **params)
            assert refused["error"]["code"] == INVALID_PARAMS, refused
            assert refused["error"]["message"].startswith(f"unknown task '{task_id}'")
        unknown = bob.task("tasks/get", "no-such-task")["error"]["message"]
        assert unknown.replace("no-such-task", task_id) == refused["error"]["message"], "no oracle"
        assert alice.until(task_id, "input_required")["status"] == "input_required", "bob changed nothing"


async def test_input_asked_inside_a_task_waits_for_tasks_update(capsule):
    async with capsule.http_server(["test"], extra=policy()) as server:
        client = Client(server.mcp_url)
        task_id = created(client.call("confirm_delete", {"filename": "old.log"}))
        waiting = client.until(task_id, "input_required")
        assert list(waiting["inputRequests"]) == ["confirm"]
        assert waiting["inputRequests"]["confirm"]["method"] == "elicitation/create"
        assert "old.log" in waiting["inputRequests"]["confirm"]["params"]["message"]
        ack = client.task("tasks/update", task_id, inputResponses={"confirm": {"action": "accept", "content": {"confirm": True}}})
        assert ack["result"] == {"resultType": "complete"}
        done = client.until(task_id, "completed", "failed", "cancelled")
        assert text(done["result"]) == "Deleted old.log", done


async def test_caps_and_the_task_time_limit(capsule):
    extra = policy('[limits]\nmax_tasks = 1\ntask_timeout = "3s"\n')
    async with capsule.http_server(["test"], extra=extra, args=["--max-tasks-per-subject", "2"]) as server:
        client = Client(server.mcp_url)
        first = created(client.call("slow_compute", {"seconds": 60, "label": None}))
        refused = client.call("slow_compute", {"seconds": 60, "label": None})["result"]
        assert refused["isError"] is True
        assert text(refused) == "too many tasks: plugin 'test' already runs 1 tasks ([limits] max_tasks); try again when one has ended"
        failed = client.until(first, "failed", "completed", "cancelled", timeout=20)
        assert failed["status"] == "failed", failed
        assert failed["error"]["code"] == -32603
        assert failed["error"]["message"] == "task of tool 'slow_compute' ran past its time limit of 3s ([limits] task_timeout)"
        second = created(client.call("slow_compute", {"seconds": 60, "label": None}))
        client.task("tasks/cancel", second)
        client.until(second, "cancelled")
        over = client.call("slow_compute", {"seconds": 60, "label": None})["result"]
        assert over["isError"] is True and "--max-tasks-per-subject" in text(over), over


async def test_a_finished_task_is_dropped_after_its_retention(capsule):
    async with capsule.http_server(["test"], extra=policy(), args=["--task-ttl", "1s"]) as server:
        client = Client(server.mcp_url)
        task_id = created(client.call("slow_compute", {"seconds": 1, "label": None}))
        done = client.until(task_id, "completed")
        assert done["ttlMs"] < 10_000, "ttlMs shrinks to end + retention once the task ended"
        time.sleep(1.5)
        gone = client.task("tasks/get", task_id)
        assert gone["error"]["code"] == INVALID_PARAMS, gone


def test_capsule_plugins_reports_task_support_from_the_plugin_and_the_policy(capsule):
    plugin_dir = capsule.plugin_dir(
        ["test", "fixture"],
        {**policy(), "fixture.toml": b'[tools.spin]\ntask_support = "required"\n'},
    )
    listed = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert listed.returncode == 0, listed.stderr
    tasks = {p["name"]: p["tasks"] for p in json.loads(listed.stdout)["plugins"]}
    assert tasks["fixture"] == {"fixture_spin": "required"}
    assert tasks["test"] == {
        "slow_compute": "optional",
        "failing_job": "required",
        "protocol_error_job": "required",
        "confirm_delete": "optional",
        "multi_input": "optional",
        "test_tool_with_task": "required",
    }
    text_report = capsule.cli("plugins", "--plugins", str(plugin_dir)).stdout
    assert "  tasks:      fixture_spin (required)" in text_report, text_report


@pytest.mark.parametrize(
    ("tool", "arguments", "answer", "expected"),
    [
        ("slow_compute", {"seconds": 2, "label": "ext-tasks"}, None, "ext-tasks: computed for 2 s"),
        ("confirm_delete", {"filename": "draft.md"}, {"confirm": True}, "Deleted draft.md"),
    ],
)
async def test_the_official_tasks_requester_gets_the_result(capsule, tmp_path, tool, arguments, answer, expected):
    """The MCP project's own requester (@modelcontextprotocol/ext-tasks over the TypeScript SDK v2
    client) creates the task, polls it, answers its question through `tasks/update`, and gets the
    result."""
    async with capsule.http_server(["test"], extra=policy()) as server:
        requester_completes("tasks_client.mjs", server.mcp_url, (tool, arguments, answer, expected), tmp_path)
