"""Progress and log notifications from a running plugin call, in both eras."""

from __future__ import annotations

import mcp_types as types
import pytest
from conftest import LEGACY, MODERN, structured

pytestmark = pytest.mark.anyio

STEPS = 5


async def test_progress_is_monotonic(capsule, mode):
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with capsule.serve(["fixture"], mode=mode) as srv:
        result = await srv.client.call_tool("fixture_log_progress", {"steps": STEPS}, progress_callback=on_progress)
        assert structured(result) == {"steps": STEPS}
        progress = [p for p, _, _ in seen]
        assert len(progress) >= STEPS, f"expected a progress notification per step, got {seen}"
        assert all(a < b for a, b in zip(progress, progress[1:], strict=False)), f"not increasing: {seen}"
        totals = {t for _, t, _ in seen}
        if totals != {None}:
            assert totals == {STEPS}, seen
            assert progress[-1] == STEPS, seen

        # A request without a progress token must not get progress notifications.
        before = len(srv.notifications)
        assert structured(await srv.client.call_tool("fixture_log_progress", {"steps": 2})) == {"steps": 2}
        stray = [n for n in srv.notifications[before:] if isinstance(n, types.ProgressNotification)]
        assert not stray, stray


async def test_logs_reach_a_client_that_asked(capsule, mode):
    """Legacy: after `logging/setLevel`; 2026-07-28: with the per-request `_meta` log-level opt-in."""
    async with capsule.serve(["fixture"], mode=mode, log_level="debug") as srv:
        assert structured(await srv.client.call_tool("fixture_log_progress", {"steps": STEPS})) == {"steps": STEPS}
        assert len(srv.logs) >= STEPS, f"expected a log message per step, got {srv.logs}"
        for log in srv.logs:
            assert log.level in ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
            assert log.data not in (None, "", {}), log


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_2025_session_gets_info_logs_without_asking_unless_the_default_is_off(capsule, transport):
    """Most 2025-11-25 clients never send `logging/setLevel`: they get plugin logs at the default
    level (`info`) all the same; `--default-log-level off` restores "none until asked" (issue #21)."""
    async with capsule.serve(["fixture"], mode=LEGACY, transport=transport) as srv:
        assert structured(await srv.client.call_tool("fixture_log_progress", {"steps": STEPS})) == {"steps": STEPS}
        assert [log.data for log in srv.logs] == [f"step {i} of {STEPS}" for i in range(1, STEPS + 1)], srv.logs
        assert {log.level for log in srv.logs} == {"info"}, srv.logs
    async with capsule.serve(["fixture"], mode=LEGACY, transport=transport, args=["--default-log-level", "off"]) as srv:
        assert structured(await srv.client.call_tool("fixture_log_progress", {"steps": STEPS})) == {"steps": STEPS}
        assert srv.logs == []
    async with capsule.serve(["fixture"], mode=LEGACY, args=["--default-log-level", "error"]) as srv:
        assert structured(await srv.client.call_tool("fixture_log_progress", {"steps": STEPS})) == {"steps": STEPS}
        assert srv.logs == []


@pytest.mark.parametrize(
    ("mode", "asked"),
    # (a 2025-11-25 server may log before any logging/setLevel, so "not asked" is checked on 2026-07-28 only)
    [(LEGACY, "emergency"), (MODERN, "emergency"), (MODERN, None)],
    ids=["legacy-above-every-level", "2026-above-every-level", "2026-not-asked"],
)
async def test_logs_respect_the_clients_level(capsule, mode, asked):
    async with capsule.serve(["fixture"], mode=mode, log_level=asked) as srv:
        assert structured(await srv.client.call_tool("fixture_log_progress", {"steps": STEPS})) == {"steps": STEPS}
        assert [log for log in srv.logs if log.level != "emergency"] == []
