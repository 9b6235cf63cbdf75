"""Asking the client (MCP multi round-trip requests, SEP-2322) and argument completion.

A tool or prompt that needs something from the client (the user's answer, the client's model, its
roots) returns :class:`InputRequired` built from :func:`elicit`, :func:`sample` and
:func:`list_roots`, optionally with some state. The host asks the client and calls the handler
again with the arguments of the first round; the handler reads the answers from a parameter
annotated :class:`Resumption` (``None`` in the first round)::

    @tool
    def delete(path: str, answers: Optional[Resumption] = None) -> str:
        if answers is None or answers.action("ok") is None:
            return InputRequired(elicit("ok", f"Delete {path}?", Confirm))
        if answers.elicited("ok", Confirm) is None:
            return "Kept it."
        ...

Completions: ``@completion(prompt="name", argument="arg")`` or ``@completion(template="x://{v}",
argument="v")`` on ``def fn(value: str[, context: dict[str, str]])`` returning the suggestions.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Optional, TypeVar, Union

from . import _schema
from ._content import Audio, Image, Message, Text

__all__ = [
    "InputRequest",
    "InputRequired",
    "Resumption",
    "elicit",
    "elicit_url",
    "sample",
    "list_roots",
    "Completion",
    "ClientCapabilities",
    "MAX_STATE_BYTES",
    "MAX_COMPLETION_VALUES",
]

#: The largest ``state`` the host carries between rounds.
MAX_STATE_BYTES = 16 * 1024
#: The most suggestions one completion answers (MCP's limit; the rest is ``has_more``).
MAX_COMPLETION_VALUES = 100

T = TypeVar("T")
Kind = Literal["elicitation", "sampling", "list-roots"]


# ------------------------------------------------------------------------------------------------
# requests


@dataclass(frozen=True)
class InputRequest:
    """One question for the client, under ``key`` (the answer comes back under the same key).
    Build it with :func:`elicit`, :func:`elicit_url`, :func:`sample` or :func:`list_roots`.
    ``params`` are the MCP request's ``params`` (``None`` for ``roots/list``)."""

    key: str
    kind: Kind
    params: Optional[dict[str, Any]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError("an input request needs a non-empty string key")
        if self.kind not in ("elicitation", "sampling", "list-roots"):
            raise ValueError(f"unknown input request kind {self.kind!r}")


def elicit(key: str, message: str, schema: Any = None) -> InputRequest:
    """Ask the user (``elicitation/create``, form mode): ``message`` and the fields to fill in.

    ``schema`` is a JSON Schema object with flat, primitive properties (string, number, integer,
    boolean, enum), or a dataclass / ``TypedDict`` whose fields are ``str``, ``int``, ``float``,
    ``bool`` or ``Literal`` (read the answer back as that type with
    :meth:`Resumption.elicited`). ``None`` asks for nothing but an accept/decline. Needs the
    client's ``elicitation`` capability (:attr:`ClientCapabilities.elicitation`)."""
    if schema is None:
        requested: dict[str, Any] = {"type": "object", "properties": {}}
    elif isinstance(schema, Mapping):
        requested = dict(schema)
    else:
        requested = _elicitation_schema(_schema.schema_of(schema))
    if requested.get("type") != "object":
        raise TypeError("an elicitation schema is an object schema (a dataclass, a TypedDict or a dict)")
    return InputRequest(key, "elicitation", {"message": str(message), "requestedSchema": requested})


def elicit_url(key: str, message: str, url: str, elicitation_id: str) -> InputRequest:
    """Send the user to ``url`` (``elicitation/create``, URL mode: sign-ins, payments, anything
    the client must not see). Needs :attr:`ClientCapabilities.elicitation_url`."""
    return InputRequest(key, "elicitation", {"mode": "url", "message": str(message), "url": str(url),
                                             "elicitationId": str(elicitation_id)})


def sample(key: str, messages: Union[str, Message, Iterable[Union[str, Message]], Mapping[str, Any]],
           max_tokens: int = 1000, *, system_prompt: Optional[str] = None, temperature: Optional[float] = None,
           **params: Any) -> InputRequest:
    """Ask the client's model (``sampling/createMessage``).

    ``messages`` is a ``str`` (one user message), a :class:`Message` (``user(...)``,
    ``assistant(...)``, with text, image or audio content) or a list of them; further MCP
    parameters go in as keywords in camelCase (``modelPreferences={...}``, ``stopSequences=[...]``).
    A ``dict`` instead of messages is taken as the whole ``CreateMessageRequestParams``. Needs the
    client's ``sampling`` capability."""
    if isinstance(messages, Mapping):
        return InputRequest(key, "sampling", dict(messages))
    if isinstance(messages, (str, Message)):
        messages = [messages]
    out: dict[str, Any] = {"messages": [_sampling_message(m) for m in messages], "maxTokens": int(max_tokens)}
    if system_prompt is not None:
        out["systemPrompt"] = system_prompt
    if temperature is not None:
        out["temperature"] = float(temperature)
    out.update(params)
    return InputRequest(key, "sampling", out)


def list_roots(key: str) -> InputRequest:
    """Ask for the client's roots (``roots/list``). Needs the client's ``roots`` capability."""
    return InputRequest(key, "list-roots")


def _sampling_message(m: Union[str, Message]) -> dict[str, Any]:
    if isinstance(m, str):
        m = Message("user", m)
    if not isinstance(m, Message):
        raise TypeError(f"sampling messages are str or Message (user(...), assistant(...)), not {type(m).__name__}")
    block = m.block()
    if isinstance(block, Text):
        content: dict[str, Any] = {"type": "text", "text": block.text}
    elif isinstance(block, (Image, Audio)):
        content = {"type": "image" if isinstance(block, Image) else "audio",
                   "data": base64.b64encode(bytes(block.data)).decode("ascii"), "mimeType": block.mime_type}
    else:
        raise TypeError(f"a sampling message holds text, an image or audio, not {type(block).__name__}")
    return {"role": m.role, "content": content}


def _elicitation_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Elicitation schemas give every property one type: ``Optional[str]`` (``["string",
    "null"]``) becomes ``string`` (optional fields are the ones with a default)."""
    props = {}
    for name, prop in schema.get("properties", {}).items():
        t = prop.get("type")
        if isinstance(t, list):
            rest = [x for x in t if x != "null"]
            prop = {**prop, "type": rest[0] if len(rest) == 1 else rest}
        props[name] = prop
    out = {**schema, "properties": props}
    return out


class InputRequired:
    """What a tool or prompt returns when it needs answers from the client first:
    ``InputRequired(elicit(...), sample(...), state=...)``.

    ``state`` is whatever the handler needs in the next round (:attr:`Resumption.state`):
    ``bytes``, or a ``str`` (UTF-8) or a JSON value (read back with
    :meth:`Resumption.state_json`). At most 16 KiB, and readable by the client: keep secrets out.
    """

    __slots__ = ("requests", "state")

    def __init__(self, *requests: Union[InputRequest, Iterable[InputRequest]], state: Any = None) -> None:
        flat: list[InputRequest] = []
        for r in requests:
            flat.extend([r] if isinstance(r, InputRequest) else list(r))
        if not flat:
            raise ValueError("InputRequired needs at least one request (elicit, sample or list_roots)")
        for r in flat:
            if not isinstance(r, InputRequest):
                raise TypeError(f"not an input request: {r!r} (use elicit, sample or list_roots)")
        keys = [r.key for r in flat]
        dup = next((k for k in keys if keys.count(k) > 1), None)
        if dup is not None:
            raise ValueError(f"input request key {dup!r} is used twice")
        self.requests: list[InputRequest] = flat
        self.state: Optional[bytes] = _state_bytes(state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InputRequired) and (self.requests, self.state) == (other.requests, other.state)

    def __repr__(self) -> str:
        return f"InputRequired({', '.join(map(repr, self.requests))}, state={self.state!r})"

    def request(self, key: str) -> InputRequest:
        """The request under ``key`` (``KeyError`` if there is none)."""
        for r in self.requests:
            if r.key == key:
                return r
        raise KeyError(key)


def _state_bytes(state: Any) -> Optional[bytes]:
    if state is None:
        return None
    if isinstance(state, (bytes, bytearray, memoryview)):
        data = bytes(state)
    elif isinstance(state, str):
        data = state.encode("utf-8")
    else:
        data = json.dumps(_schema.to_json(state), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_STATE_BYTES:
        raise ValueError(f"input-required state is {len(data)} bytes, over the host's limit of {MAX_STATE_BYTES}")
    return data


# ------------------------------------------------------------------------------------------------
# answers


class Resumption:
    """The client's answers to the previous round's requests, and the state it returned.

    ``responses`` maps each key to the MCP result as parsed JSON (``ElicitResult``,
    ``CreateMessageResult``, ``ListRootsResult``). A client may leave keys out (check, and ask
    again for what is missing). The helpers answer ``None`` for a missing key.
    """

    __slots__ = ("responses", "state")

    def __init__(self, responses: Union[Mapping[str, Any], Iterable[tuple[str, Any]], None] = None,
                 state: Any = None) -> None:
        items = responses.items() if isinstance(responses, Mapping) else (responses or ())
        parsed: dict[str, Any] = {}
        for key, value in items:
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass  # kept as text; the helpers treat it as no answer
            parsed[key] = value
        self.responses: dict[str, Any] = parsed
        self.state: Optional[bytes] = _state_bytes(state)

    def __repr__(self) -> str:
        return f"Resumption({self.responses!r}, state={self.state!r})"

    def __contains__(self, key: str) -> bool:
        return key in self.responses

    def get(self, key: str, default: Any = None) -> Any:
        """The answer under ``key`` as parsed JSON, or ``default``."""
        return self.responses.get(key, default)

    def state_json(self) -> Any:
        """The state parsed as JSON (as given to ``InputRequired(state=...)`` as a JSON value),
        ``None`` when there is none."""
        return None if self.state is None else json.loads(self.state.decode("utf-8"))

    def action(self, key: str) -> Optional[str]:
        """An elicitation's outcome: ``"accept"``, ``"decline"``, ``"cancel"``; ``None`` when
        there is no answer under ``key``."""
        answer = self.responses.get(key)
        action = answer.get("action") if isinstance(answer, dict) else None
        return action if isinstance(action, str) else None

    @typing.overload
    def elicited(self, key: str) -> Optional[dict[str, Any]]: ...
    @typing.overload
    def elicited(self, key: str, as_type: type[T]) -> Optional[T]: ...

    def elicited(self, key, as_type=None):
        """What the user entered, when they accepted: the ``content`` object, or an instance of
        ``as_type`` (a dataclass or ``TypedDict``, e.g. the one given to :func:`elicit`; a value
        that does not fit raises ``InvalidArguments``). ``None`` when they declined, cancelled or
        did not answer (:meth:`action` tells which)."""
        if self.action(key) != "accept":
            return None
        content = self.responses[key].get("content") or {}
        return content if as_type is None else _schema.convert(content, as_type, key)

    def sampled(self, key: str) -> Optional[dict[str, Any]]:
        """A sampling answer (``CreateMessageResult``: ``role``, ``content``, ``model``,
        ``stopReason``), or ``None``."""
        answer = self.responses.get(key)
        return answer if isinstance(answer, dict) and "content" in answer else None

    def sampled_text(self, key: str) -> Optional[str]:
        """The text the client's model answered (text blocks joined), or ``None``."""
        answer = self.sampled(key)
        if answer is None:
            return None
        content = answer["content"]
        blocks = content if isinstance(content, list) else [content]
        texts = [b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text" and "text" in b]
        return "".join(texts) if texts else None

    def roots(self, key: str) -> Optional[list[dict[str, Any]]]:
        """The client's roots (``[{"uri": "file:///...", "name": ...}]``), or ``None``."""
        answer = self.responses.get(key)
        roots = answer.get("roots") if isinstance(answer, dict) else None
        return [r for r in roots if isinstance(r, dict)] if isinstance(roots, list) else None


def is_resumption_hint(hint: Any) -> bool:
    """``Resumption``, ``Optional[Resumption]`` or ``Annotated`` of them."""
    base, _ = _schema._split_annotated(hint)
    if base is Resumption:
        return True
    if typing.get_origin(base) in _schema._UNION_ORIGINS:
        members = [a for a in typing.get_args(base) if a is not type(None)]
        return members == [Resumption]
    return False


def without_input_required(hint: Any) -> Any:
    """A return hint with ``InputRequired`` taken out of its union (``str | InputRequired`` →
    ``str``), so the output schema describes the finished result."""
    base, _ = _schema._split_annotated(hint)
    if base is InputRequired:
        return typing.Any
    if typing.get_origin(base) in _schema._UNION_ORIGINS:
        members = [a for a in typing.get_args(base) if a is not InputRequired]
        if len(members) != len(typing.get_args(base)):
            return Union[tuple(members)] if len(members) > 1 else members[0]
    return hint


# ------------------------------------------------------------------------------------------------
# completions


@dataclass
class Completion:
    """Suggestions for an argument (MCP ``CompleteResult.completion``). A completer may return a
    plain list instead: the SDK keeps the first 100 and sets ``total`` and ``has_more``."""

    values: list[str] = field(default_factory=list)
    total: Optional[int] = None
    has_more: bool = False

    @classmethod
    def of(cls, value: Any) -> Completion:
        """A ``Completion`` from what a completer returned (``Completion``, ``None`` or strings)."""
        if isinstance(value, Completion):
            out = dataclasses.replace(value, values=[str(v) for v in value.values])
        elif value is None:
            out = cls()
        elif isinstance(value, str):
            raise TypeError("a completer returns a list of strings (or a Completion), not one string")
        else:
            values = [str(v) for v in value]
            out = cls(values, len(values), len(values) > MAX_COMPLETION_VALUES)
        if len(out.values) > MAX_COMPLETION_VALUES:
            out.values, out.has_more = out.values[:MAX_COMPLETION_VALUES], True
        if out.total is not None and out.total < len(out.values):
            out.total = len(out.values)
        return out


def prefix_matches(choices: Iterable[str], value: str) -> list[str]:
    """The choices that start with ``value`` (case-insensitive), in their order."""
    low = value.lower()
    return [c for c in choices if c.lower().startswith(low)]


# ------------------------------------------------------------------------------------------------
# client capabilities


class ClientCapabilities(dict):
    """The capabilities the client declared (MCP ``ClientCapabilities``), a ``dict`` of the JSON
    with helpers for what :class:`InputRequired` may ask for."""

    def _section(self, name: str) -> Optional[dict[str, Any]]:
        value = self.get(name)
        return value if isinstance(value, dict) else None

    @property
    def elicitation(self) -> bool:
        """Form-mode elicitation (:func:`elicit`): ``elicitation`` declared, as ``{}`` or with
        ``form``."""
        e = self._section("elicitation")
        return e is not None and ("form" in e or "url" not in e)

    @property
    def elicitation_url(self) -> bool:
        """URL-mode elicitation (:func:`elicit_url`): ``elicitation.url`` declared."""
        e = self._section("elicitation")
        return e is not None and "url" in e

    @property
    def sampling(self) -> bool:
        """Sampling (:func:`sample`)."""
        return self._section("sampling") is not None

    @property
    def roots(self) -> bool:
        """Roots (:func:`list_roots`)."""
        return self._section("roots") is not None

    def supports(self, request: InputRequest) -> bool:
        """Whether the client can answer ``request``."""
        if request.kind == "sampling":
            return self.sampling
        if request.kind == "list-roots":
            return self.roots
        if (request.params or {}).get("mode") == "url":
            return self.elicitation_url
        return self.elicitation

    @classmethod
    def parse(cls, text: Optional[str]) -> ClientCapabilities:
        """From the host's JSON text; anything but an object gives no capabilities."""
        try:
            value = json.loads(text) if text else {}
        except json.JSONDecodeError:
            value = {}
        return cls(value if isinstance(value, dict) else {})
