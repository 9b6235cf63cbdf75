"""The host imports (``capsule:plugin/host``): log, progress, cancelled, client_capabilities,
resource_updated.

They act on the request being served. Outside a component (native unit tests) ``log`` prints to
stderr, ``progress`` does nothing, ``cancelled`` is ``False``, ``client_capabilities`` answers
``native_host.capabilities`` (``{}`` unless a test sets it) and ``resource_updated`` appends to
``native_host.updated``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from ._interaction import ClientCapabilities

__all__ = ["log", "progress", "cancelled", "client_capabilities", "resource_updated", "native_host", "LogHandler",
           "LEVELS"]

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


def client_capabilities() -> ClientCapabilities:
    """The capabilities the client declared (MCP ``ClientCapabilities``, a ``dict`` of the JSON),
    with helpers: ``.elicitation``, ``.elicitation_url``, ``.sampling``, ``.roots``,
    ``.supports(request)``. Look here before returning ``InputRequired``: asking for what the
    client did not declare fails the request. Empty outside a request."""
    if _wit_host is None:
        return ClientCapabilities(native_host.capabilities)
    return ClientCapabilities.parse(_wit_host.client_capabilities())


def resource_updated(uri: str) -> None:
    """Tell the clients subscribed to ``uri`` that it changed (``notifications/resources/updated``).
    Only URIs this plugin serves (listed, or matching one of its templates) are passed on."""
    if _wit_host is None:
        native_host.updated.append(str(uri))
    else:
        _wit_host.resource_updated(str(uri))


@dataclass
class NativeHost:
    """What the host functions see and do outside a component (native tests): set
    ``capabilities`` to what the client declares; ``updated`` collects ``resource_updated`` URIs."""

    capabilities: dict[str, Any] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)


#: The stand-in host of native runs (tests); unused inside a component.
native_host = NativeHost()


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
