"""The host imports (``capsule:plugin/host``): log, progress, cancelled.

They act on the request being served. Outside a component (native unit tests) ``log`` prints to
stderr, ``progress`` does nothing and ``cancelled`` is ``False``.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, Optional

__all__ = ["log", "progress", "cancelled", "LogHandler", "LEVELS"]

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
Level = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

try:  # only importable inside a component built by componentize-py
    import componentize_py_runtime  # noqa: F401
    from wit_world.imports import host as _wit_host
    from wit_world.imports import types as _wit_types
except ImportError:
    _wit_host = None
    _wit_types = None


def log(level: Level, message: str) -> None:
    """Log ``message`` at ``level`` (``"debug"`` ... ``"emergency"``). It always reaches the host
    log, tagged with the plugin; the host forwards it to the client as ``notifications/message``
    when the client asked for that level."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    if _wit_host is None:
        print(f"[{level}] {message}", file=sys.stderr)
    else:
        _wit_host.log(_wit_types.LogLevel[level.upper()], str(message))


def progress(progress: float, total: Optional[float] = None, message: Optional[str] = None) -> None:
    """Report progress on the current request (MCP ``notifications/progress``). ``progress`` must
    grow from one call to the next; ``total`` is the final value when known."""
    if _wit_host is not None:
        _wit_host.progress(float(progress), None if total is None else float(total), message)


def cancelled() -> bool:
    """Whether the client cancelled the current request: check it between steps of long work."""
    return bool(_wit_host.cancelled()) if _wit_host is not None else False


class LogHandler(logging.Handler):
    """A ``logging`` handler that sends records to the host log:
    ``logging.getLogger().addHandler(capsule_plugin.LogHandler())``."""

    _MAP = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
            logging.ERROR: "error", logging.CRITICAL: "critical"}

    def emit(self, record: logging.LogRecord) -> None:
        level = "debug"
        for threshold, name in sorted(self._MAP.items()):
            if record.levelno >= threshold:
                level = name
        try:
            log(level, self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
