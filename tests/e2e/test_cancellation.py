"""Cancellation reaches the running plugin instance: `notifications/cancelled` (stdio, 2025-11-25 over
HTTP) and a closed response stream (2026-07-28 over Streamable HTTP) stop a spinning call at once,
long before its time limit, and the server keeps serving.

`fixture_spin` loops forever and never checks `cancelled()`, so only the host can stop it: the epoch
callback sees the request's cancellation and interrupts the instance. The time limit here is 120 s;
the server must report the cancelled call within seconds, so it was the cancellation that stopped it.
"""

from __future__ import annotations

import anyio
import pytest

pytestmark = pytest.mark.anyio

CANCELLED_LOG = "the client cancelled the call; its instance was stopped"


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_cancelled_spinning_call_stops_and_the_server_stays_healthy(capsule, mode, transport):
    async with capsule.serve(["fixture"], mode=mode, transport=transport, args=["--timeout", "120s"]) as srv:
        with anyio.move_on_after(1.0) as scope:
            await srv.client.call_tool("fixture_spin", {})
        assert scope.cancelled_caught, "fixture_spin returned although it never ends"
        log = await srv.wait_for_stderr(CANCELLED_LOG, timeout=15)
        lines = [line for line in log.splitlines() if CANCELLED_LOG in line]
        assert len(lines) == 1 and "fixture_spin" in lines[0], log[-3000:]
        # Healthy afterwards: the next call is answered.
        result = await srv.client.call_tool("fixture_echo", {"value": 7})
        assert result.structured_content == {"value": 7}, result
