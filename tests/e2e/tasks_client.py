"""A raw MCP 2026-07-28 client of the tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) for the
end-to-end tests: stateless requests, each on a new HTTP connection, with the extension declared in
the request's `_meta` capabilities (or not, with `tasks=False`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "auth"))
from harness import modern_call, modern_headers  # noqa: E402

TASKS = "io.modelcontextprotocol/tasks"


class Polling:
    """Polls a task with `get` (each era's `tasks/get`) until it reaches a status."""

    def get(self, task_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def until(self, task_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.get(task_id)
            if task["status"] in statuses:
                return task
            time.sleep(0.1)
        pytest.fail(f"task {task_id} did not reach {statuses}: {task}")


class Client(Polling):
    """Raw stateless 2026-07-28 requests: every one on a new connection (nothing is kept between them)."""

    def __init__(self, url: str, token: str | None = None, *, tasks: bool = True) -> None:
        self.url, self.token, self.tasks = url, token, tasks
        self.ids = 0

    def request(self, method: str, params: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        self.ids += 1
        body = modern_call(method, params, self.ids)
        capabilities: dict[str, Any] = {"elicitation": {}}
        if self.tasks:
            capabilities["extensions"] = {TASKS: {}}
        body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = capabilities
        with httpx2.Client(timeout=30) as http:
            response = http.post(self.url, headers=modern_headers(self.token, method, name), json=body)
        assert response.status_code in (200, 400), response.text
        return response.json()

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": tool, "arguments": arguments}, tool)

    def task(self, method: str, task_id: str, **params: Any) -> dict[str, Any]:
        return self.request(method, {"taskId": task_id, **params}, task_id)

    def get(self, task_id: str) -> dict[str, Any]:
        answer = self.task("tasks/get", task_id)
        assert "result" in answer, answer
        return answer["result"]


def created(answer: dict[str, Any]) -> str:
    """The task id of a `CreateTaskResult`."""
    result = answer.get("result", {})
    assert result.get("resultType") == "task", answer
    return result["taskId"]


def text(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"] if block["type"] == "text")


