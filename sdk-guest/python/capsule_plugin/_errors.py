"""The typed errors of the contract (WIT `capsule:plugin/types.error`).

Raise one of these from a tool, resource or prompt handler; the SDK answers the host with the
matching WIT case and the host turns it into the MCP shape:

==================  ===================  ===========================  ==========================
exception           WIT case             ``tools/call``               ``resources/read``,
                                                                      ``prompts/get``
==================  ===================  ===========================  ==========================
InvalidArguments    invalid-arguments    result with isError: true    JSON-RPC -32602
NotFound            not-found            result with isError: true    resource-not-found / -32602
Denied              denied               result with isError: true    JSON-RPC -32603
Internal            internal             result with isError: true    JSON-RPC -32603
==================  ===================  ===========================  ==========================

Any other exception becomes ``internal`` with ``"<ExceptionType>: <message>"`` (its traceback goes
to the plugin's stderr, which the host writes to its log); ``FileNotFoundError`` becomes
``not-found`` and ``PermissionError`` becomes ``denied``, like ``std::io::Error`` in the Rust SDK.
The message reaches the client: say what to do next and keep secrets out of it.
"""

from __future__ import annotations

import sys
import traceback

__all__ = ["CapsuleError", "InvalidArguments", "NotFound", "Denied", "Internal", "classify"]


class CapsuleError(Exception):
    """Base class of the typed errors. ``kind`` is the WIT case name."""

    kind = "internal"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArguments(CapsuleError):
    """The arguments do not fit what the operation expects (WIT ``invalid-arguments``). The SDK
    raises it on its own when arguments cannot be converted to the handler's parameter types."""

    kind = "invalid-arguments"


class NotFound(CapsuleError):
    """The named thing (tool, prompt, resource URI, file) does not exist (WIT ``not-found``)."""

    kind = "not-found"


class Denied(CapsuleError):
    """The sandbox refused a capability the operation needed; say which (WIT ``denied``)."""

    kind = "denied"


class Internal(CapsuleError):
    """Anything else (WIT ``internal``)."""

    kind = "internal"


def classify(exc: BaseException) -> tuple[str, str]:
    """``(kind, message)`` for an exception raised by a handler.

    Unexpected exceptions (not a :class:`CapsuleError`) also print their traceback to stderr,
    which the host logs with the plugin's name; the client only sees the message.
    """
    if isinstance(exc, CapsuleError):
        return exc.kind, exc.message
    if isinstance(exc, FileNotFoundError):
        return "not-found", _describe(exc)
    if isinstance(exc, PermissionError):
        return "denied", _describe(exc)
    traceback.print_exception(exc, file=sys.stderr)
    return "internal", _describe(exc)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
