"""Type hints -> JSON Schema (draft 2020-12, MCP's default), JSON arguments -> typed Python values,
Python results -> JSON. Pure Python: componentize-py cannot load compiled extensions, so no
pydantic.

Supported hints: ``str``, ``int``, ``float``, ``bool``, ``None``, ``bytes`` (base64 text),
``list[T]`` / ``Sequence[T]`` / ``set[T]`` / ``tuple[...]``, ``dict[str, T]``, ``Optional[T]`` /
``T | None``, ``Union[...]``, ``Literal[...]``, ``Enum`` subclasses, dataclasses, ``TypedDict``,
``Any``, and ``Annotated[T, ...]`` whose extras are a description (a ``str``) or schema keywords
to merge (a ``dict``, e.g. ``{"minimum": 0}``).

Tool *input* schemas (``function_schema``, ``portable_schema_of``) are portable: accepted as they
are by OpenAI strict function calling, Gemini and Claude (see the notes above
``portable_schema_of``). Output and elicitation schemas (``schema_of``) are plain JSON Schema.
"""

from __future__ import annotations

import base64
import collections.abc as cabc
import dataclasses
import enum
import inspect
import json
import math
import re
import types
import typing
from typing import Any, Callable

from ._errors import InvalidArguments

__all__ = [
    "schema_of",
    "portable_schema_of",
    "function_schema",
    "convert",
    "to_json",
    "parse_docstring",
    "type_hints",
]

NoneType = type(None)
_UNION_ORIGINS = {typing.Union, getattr(types, "UnionType", typing.Union)}
_SEQUENCE_ORIGINS = {list, cabc.Sequence, cabc.MutableSequence, cabc.Iterable, cabc.Collection}
_SET_ORIGINS = {set, frozenset, cabc.Set, cabc.MutableSet}
_MAPPING_ORIGINS = {dict, cabc.Mapping, cabc.MutableMapping}
_REQ_WRAPPERS = tuple(w for w in (getattr(typing, "Required", None), getattr(typing, "NotRequired", None)) if w)


# ------------------------------------------------------------------------------------------------
# docstrings


_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Attributes|Fields|Keyword Args|Keyword Arguments|Other Parameters"
    r"|Returns?|Raises|Yields?|Examples?|Notes?|See Also|Warnings?|References)\s*:?\s*$"
)
_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "attributes", "fields", "keyword args",
                   "keyword arguments", "other parameters"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(:\s*.*)?$")
_REST_PARAM = re.compile(r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """Split a docstring into a description and per-parameter descriptions.

    Understands Google style (``Args:`` with ``name (type): text`` entries), NumPy style
    (``Parameters`` underlined with dashes, ``name : type`` then indented text) and reST
    (``:param name: text``). The description is the text before the first section.
    """
    if not doc:
        return None, {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    entry_indent: int | None = None
    numpy_style = False
    current: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        underlined = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip()) is not None
        header = _SECTION.match(stripped) if indent == 0 else None
        if header and (stripped.endswith(":") or underlined):
            section, entry_indent, current = header.group(1).lower(), None, None
            numpy_style = underlined
            i += 2 if underlined else 1
            continue
        rest = _REST_PARAM.match(stripped)
        if rest:
            section, current = "rest", rest.group(1)
            params[current] = rest.group(2).strip()
        elif section in (None, "rest") and stripped.startswith(":"):
            section, current = "rest", None  # :returns:, :raises:, ...
        elif section is None:
            description.append(line)
        elif not stripped:
            pass
        elif section in _PARAM_SECTIONS:
            if entry_indent is None:
                entry_indent = indent
            entry = (_NUMPY_ENTRY if numpy_style else _GOOGLE_ENTRY).match(stripped)
            if indent <= entry_indent and entry:
                current = entry.group(1)
                params[current] = "" if numpy_style else entry.group(3).strip()
            elif current:
                params[current] = (params[current] + " " + stripped).strip()
        elif current and section == "rest":
            params[current] = (params[current] + " " + stripped).strip()
        i += 1
    return _unwrap("\n".join(description).strip()) or None, {k: v for k, v in params.items() if v}


def _unwrap(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph; keep paragraph breaks, list items and
    indented lines."""
    out: list[str] = []
    for line in text.splitlines():
        prev = out[-1] if out else ""
        starts_block = not line.strip() or line[:1].isspace() or re.match(r"\s*([-*+]|\d+[.)])\s", line)
        if out and prev.strip() and not starts_block:
            out[-1] = prev.rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _class_doc(tp: type) -> tuple[str | None, dict[str, str]]:
    doc = tp.__doc__
    if dataclasses.is_dataclass(tp) and doc and doc.startswith(tp.__name__ + "("):
        doc = None  # the signature dataclasses writes when there is no docstring
    if typing.is_typeddict(tp) and doc and doc.strip() in (dict.__doc__ or "").strip():
        doc = None
    return parse_docstring(doc)


# ------------------------------------------------------------------------------------------------
# hints -> schema


def type_hints(obj: Any) -> dict[str, Any]:
    """``typing.get_type_hints`` with ``Annotated`` extras kept. A hint that names something not
    defined at module level (a class defined inside a function) is a ``TypeError``."""
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except NameError as e:
        raise TypeError(f"{getattr(obj, '__qualname__', obj)}: cannot resolve a type hint ({e}); "
                        "define the types it uses at module level") from None


def _split_annotated(tp: Any) -> tuple[Any, dict[str, Any]]:
    extra: dict[str, Any] = {}
    while typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        tp = args[0]
        for meta in args[1:]:
            if isinstance(meta, str):
                extra.setdefault("description", meta)
            elif isinstance(meta, dict):
                extra.update(meta)
    return tp, extra


def _typeddict_required(tp: type, hints: dict[str, Any]) -> set[str]:
    """The keys a ``TypedDict`` requires. ``Required[...]`` / ``NotRequired[...]`` count from the
    hints too: with ``from __future__ import annotations`` the class cannot see them itself."""
    keys = set(getattr(tp, "__required_keys__", hints))
    for name, hint in hints.items():
        _, required = _unwrap_required(_split_annotated(hint)[0])
        if required is True:
            keys.add(name)
        elif required is False:
            keys.discard(name)
    return keys


def _unwrap_required(tp: Any) -> tuple[Any, bool | None]:
    origin = typing.get_origin(tp)
    if _REQ_WRAPPERS and origin in _REQ_WRAPPERS:
        return typing.get_args(tp)[0], origin is getattr(typing, "Required", None)
    return tp, None


def schema_of(tp: Any, _seen: tuple[Any, ...] = ()) -> dict[str, Any]:
    """The JSON Schema of a type hint (inline, no ``$ref``). Raises ``TypeError`` for hints it
    cannot express (the build reports it with the tool's name)."""
    tp, extra = _split_annotated(tp)
    schema = _schema(tp, _seen)
    if extra:
        schema = {**schema, **extra}
    return schema


# The JSON Schema type of each primitive hint (the same in the plain and the portable schemas).
_PRIMITIVES: dict[Any, str] = {NoneType: "null", bool: "boolean", int: "integer", float: "number", str: "string"}


def _with_enum_doc(out: dict[str, Any], tp: type) -> dict[str, Any]:
    """``out`` (an ``Enum`` subclass's schema) with the class's own docstring as its description."""
    desc, _ = _class_doc(tp)
    if desc and tp.__doc__ != enum.Enum.__doc__ and not desc.startswith("An enumeration"):
        out["description"] = desc
    return out


def _schema(tp: Any, seen: tuple[Any, ...]) -> dict[str, Any]:
    if tp is Any or tp is object or tp is inspect.Parameter.empty:
        return {}
    if tp is None or tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[NoneType if tp is None else tp]}
    if tp in (bytes, bytearray):
        return {"type": "string", "contentEncoding": "base64"}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        members = [schema_of(a, seen) for a in args]
        simple = [m.get("type") for m in members if set(m) == {"type"} and isinstance(m.get("type"), str)]
        if len(simple) == len(members):
            return {"type": list(dict.fromkeys(simple))}
        return {"anyOf": members}
    if origin is typing.Literal:
        values = list(args)
        kinds = {_json_type(v) for v in values}
        out: dict[str, Any] = {"enum": values}
        if len(kinds) == 1:
            out = {"type": kinds.pop(), "enum": values}
        return out
    if origin in _SEQUENCE_ORIGINS or tp in (list, cabc.Sequence):
        return {"type": "array", "items": schema_of(args[0], seen)} if args else {"type": "array"}
    if origin in _SET_ORIGINS or tp in (set, frozenset):
        out = {"type": "array", "uniqueItems": True}
        if args:
            out["items"] = schema_of(args[0], seen)
        return out
    if origin is tuple or tp is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            return {"type": "array", "items": schema_of(args[0], seen)} if args else {"type": "array"}
        if args == ((),):
            return {"type": "array", "maxItems": 0}
        items = [schema_of(a, seen) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
    if origin in _MAPPING_ORIGINS or tp in (dict, cabc.Mapping):
        if args and args[0] not in (str, Any):
            raise TypeError(f"{_name(tp)}: JSON object keys are strings; use dict[str, ...]")
        out = {"type": "object"}
        if args and args[1] is not Any:
            out["additionalProperties"] = schema_of(args[1], seen)
        return out
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        kinds = {_json_type(v) for v in values}
        out = {"enum": values}
        if len(kinds) == 1:
            out = {"type": kinds.pop(), "enum": values}
        return _with_enum_doc(out, tp)
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)):
        if tp in seen:
            raise TypeError(f"{tp.__name__} refers to itself; recursive types are not supported")
        return _object_schema(tp, seen + (tp,))
    raise TypeError(f"cannot derive a JSON Schema from the type hint {_name(tp)}")


def _object_schema(tp: type, seen: tuple[Any, ...]) -> dict[str, Any]:
    hints = type_hints(tp)
    description, docs = _class_doc(tp)
    properties: dict[str, Any] = {}
    required: list[str] = []
    if dataclasses.is_dataclass(tp):
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            prop = schema_of(hints.get(f.name, Any), seen)
            doc = f.metadata.get("description") or docs.get(f.name)
            if doc and "description" not in prop:
                prop = {**prop, "description": doc}
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
            elif f.default is not dataclasses.MISSING and _is_json_literal(f.default):
                prop = {**prop, "default": to_json(f.default)}
            properties[f.name] = prop
    else:  # TypedDict
        required_keys = _typeddict_required(tp, hints)
        for name, hint in hints.items():
            hint, _ = _unwrap_required(hint)
            prop = schema_of(hint, seen)
            if docs.get(name) and "description" not in prop:
                prop = {**prop, "description": docs[name]}
            properties[name] = prop
            if name in required_keys:
                required.append(name)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


def function_schema(fn: Callable[..., Any], *, skip: tuple[str, ...] = (),
                    problems: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The *portable* object schema of a function's parameters (see :func:`portable_schema_of`),
    and the resolved hints by parameter name.

    Every parameter is listed in ``required``; one with a default (the function's default is
    what a ``null`` or a missing argument gives it) is nullable, its default described in text
    ("Default: 3."). The object is closed (``additionalProperties: false``). ``*args`` is refused;
    ``**kwargs`` leaves the object open, which makes the schema non-portable (noted in
    ``problems``, if given).
    """
    sig = inspect.signature(fn)
    hints = type_hints(fn)
    _, docs = parse_docstring(fn.__doc__)
    properties: dict[str, Any] = {}
    params: dict[str, Any] = {}
    open_ended = False
    found: list[str] = []
    for name, p in sig.parameters.items():
        if name in skip:
            continue
        if p.kind is p.VAR_POSITIONAL:
            raise TypeError(f"{fn.__name__}: *{name} cannot be passed as JSON arguments; name the parameters")
        if p.kind is p.VAR_KEYWORD:
            open_ended = True
            found.append(f"**{name} (extra arguments of any name)")
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise TypeError(f"{fn.__name__}: positional-only parameter {name} cannot be passed by name")
        hint = hints.get(name, Any)
        try:
            prop = _portable(hint, (), found, name)
        except TypeError as e:
            raise TypeError(f"{fn.__name__}: parameter {name}: {e}") from None
        if docs.get(name) and "description" not in prop:
            prop = {**prop, "description": docs[name]}
        if p.default is not p.empty:
            prop = _optional(prop, p.default)
        properties[name] = prop
        params[name] = hint
    properties = _sorted(properties)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties)}
    if not open_ended:
        schema["additionalProperties"] = False
    if problems is not None:
        problems.extend(dict.fromkeys(found))
    return _finish(schema), params


# ------------------------------------------------------------------------------------------------
# portable input schemas (issue #21): what OpenAI strict mode, Gemini and Claude all accept as is
#
# Rewritten, meaning kept (the SDK's `convert` still checks what the schema no longer says):
#   Optional / defaulted parameters and fields -> required + nullable anyOf, "Default: X." in text;
#   objects closed, their properties sorted by name (as the host publishes them) and all required;
#   unions -> anyOf (never a type array); bytes -> string, "Base64-encoded." in text; set -> array
#   (duplicates collapse); fixed tuple -> array with minItems = maxItems; non-string Literal / Enum
#   values -> typed, bounded, "One of: ..." in text.
# Refused (TypeError at definition time): Annotated keywords outside the profile, recursive types.
# Emitted as is and reported in `problems` (the host reports the tool as non-portable): Any,
#   dict[str, T] (free-form maps), **kwargs.

_NOTES = "x-capsule-notes"  # internal: text added to the description when the schema is finished
_EXTRA_TYPES = {
    "pattern": ("string",),
    "format": ("string",),
    "enum": ("string",),
    "minimum": ("integer", "number"),
    "maximum": ("integer", "number"),
    "minItems": ("array",),
    "maxItems": ("array",),
}
_EXTRA_ADVICE = {
    "default": "give the parameter or field a Python default instead",
    "minLength": "use a `pattern` (e.g. r\"^[\\s\\S]{1,64}$\"), or say it in the description and check it in the function",
    "maxLength": "use a `pattern` (e.g. r\"^[\\s\\S]{1,64}$\"), or say it in the description and check it in the function",
    "exclusiveMinimum": "use `minimum`, or say it in the description and check it in the function",
    "exclusiveMaximum": "use `maximum`, or say it in the description and check it in the function",
    "multipleOf": "say it in the description and check it in the function",
    "uniqueItems": "use a set[...] hint (duplicates collapse), or check it in the function",
    "const": "use Literal[...] with one value",
}


def portable_schema_of(tp: Any, problems: list[str] | None = None) -> dict[str, Any]:
    """The portable JSON Schema of a tool parameter's type hint (the profile of issue #21; see
    the module's notes on what is rewritten, refused and reported). Raises ``TypeError`` for
    hints it cannot express and for ``Annotated`` keywords outside the profile; appends what makes
    the schema non-portable (``Any``, ``dict[str, T]``) to ``problems``."""
    found: list[str] = []
    schema = _finish(_portable(tp, (), found))
    if problems is not None:
        problems.extend(dict.fromkeys(found))
    return schema


def _portable(tp: Any, seen: tuple[Any, ...], problems: list[str], where: str = "") -> dict[str, Any]:
    tp, extra = _split_annotated(tp)
    schema = _portable_bare(tp, seen, problems, where)
    return _apply_extras(schema, extra) if extra else schema


def _portable_bare(tp: Any, seen: tuple[Any, ...], problems: list[str], where: str) -> dict[str, Any]:
    if tp is Any or tp is object or tp is inspect.Parameter.empty:
        problems.append(f"{where or 'a value'}: Any (any JSON value) has no portable schema")
        return {}
    if tp is None or tp in _PRIMITIVES:
        return {"type": _PRIMITIVES[NoneType if tp is None else tp]}
    if tp in (bytes, bytearray):
        return {"type": "string", _NOTES: ["Base64-encoded bytes."]}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        return _any_of([_portable(a, seen, problems, where) for a in args])
    if origin is typing.Literal:
        return _portable_values(list(args))
    if origin in _SEQUENCE_ORIGINS or tp in (list, cabc.Sequence) or origin in _SET_ORIGINS or tp in (set, frozenset):
        return {"type": "array", "items": _portable(args[0] if args else Any, seen, problems, f"{where}[]")}
    if origin is tuple or tp is tuple:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            return {"type": "array", "items": _portable(args[0] if args else Any, seen, problems, f"{where}[]")}
        if args == ((),):
            return {"type": "array", "items": {"type": "null"}, "maxItems": 0}
        items = [_portable(a, seen, problems, f"{where}[{i}]") for i, a in enumerate(args)]
        out = {"type": "array", "items": _any_of(items), "minItems": len(items), "maxItems": len(items)}
        if len({_key(i) for i in items}) > 1:
            out[_NOTES] = [f"Exactly {len(items)} items, in this order: "
                           f"{', '.join(_kind(i) for i in items)}."]
        return out
    if origin in _MAPPING_ORIGINS or tp in (dict, cabc.Mapping):
        if args and args[0] not in (str, Any):
            raise TypeError(f"{_name(tp)}: JSON object keys are strings; use dict[str, ...]")
        problems.append(f"{where or 'a value'}: {_name(tp)} (a map of any keys) has no portable schema; "
                        "a dataclass or TypedDict with named fields has")
        out = {"type": "object"}
        if args and args[1] is not Any:
            out["additionalProperties"] = _portable(args[1], seen, problems, f"{where}{{}}")
        return out
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        out = _portable_values([m.value for m in tp])
        return _with_enum_doc(out, tp)
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)):
        if tp in seen:
            raise TypeError(f"{tp.__name__} refers to itself; recursive types are not supported")
        return _portable_object(tp, seen + (tp,), problems, where)
    raise TypeError(f"cannot derive a JSON Schema from the type hint {_name(tp)}")


def _portable_object(tp: type, seen: tuple[Any, ...], problems: list[str], where: str) -> dict[str, Any]:
    hints = type_hints(tp)
    description, docs = _class_doc(tp)
    properties: dict[str, Any] = {}
    prefix = f"{where}." if where else ""
    if dataclasses.is_dataclass(tp):
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            prop = _portable(hints.get(f.name, Any), seen, problems, prefix + f.name)
            doc = f.metadata.get("description") or docs.get(f.name)
            if doc and "description" not in prop:
                prop = {**prop, "description": doc}
            if f.default is not dataclasses.MISSING:
                prop = _optional(prop, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                # An empty list, dict or set is worth saying; other factories are not called here.
                empty = f.default_factory() if f.default_factory in (list, dict, set, frozenset, tuple) else _NO_DEFAULT
                prop = _optional(prop, empty)
            properties[f.name] = prop
    else:  # TypedDict
        required_keys = _typeddict_required(tp, hints)
        for name, hint in hints.items():
            hint, _ = _unwrap_required(hint)
            prop = _portable(hint, seen, problems, prefix + name)
            if docs.get(name) and "description" not in prop:
                prop = {**prop, "description": docs[name]}
            if name not in required_keys:
                prop = _optional(prop, _NO_DEFAULT)
            properties[name] = prop
    properties = _sorted(properties)
    out: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties),
                           "additionalProperties": False}
    if description:
        out["description"] = description
    return out


def _sorted(properties: dict[str, Any]) -> dict[str, Any]:
    """Properties by name. The host publishes JSON objects with their keys sorted, and strict mode
    wants ``required`` in the order of ``properties``: sorted here, both agree whatever the host
    does with key order."""
    return dict(sorted(properties.items()))


_NO_DEFAULT = object()
_OUTER = ("description", "title", _NOTES)


def _optional(schema: dict[str, Any], default: Any) -> dict[str, Any]:
    """An optional parameter or field: nullable (null = not given), its default in text."""
    out = _nullable(schema)
    if default is not _NO_DEFAULT and default is not None and _is_json_literal(default):
        text = json.dumps(to_json(default), ensure_ascii=False)
        out = {**out, _NOTES: [*out.get(_NOTES, []), f"Default: {text}."]}
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"anyOf": [schema, {"type": "null"}]}`` with the description outside the branches."""
    inner = {k: v for k, v in schema.items() if k not in _OUTER}
    outer = {k: v for k, v in schema.items() if k in _OUTER}
    if not inner or inner == {"type": "null"}:
        return schema  # accepts null already
    branches = inner["anyOf"] if set(inner) == {"anyOf"} else [inner]
    if {"type": "null"} in branches:
        return schema
    return {"anyOf": [*branches, {"type": "null"}], **outer}


def _any_of(members: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema accepting any of ``members``: nested anyOf flattened, duplicates dropped, null
    last; a single member stays itself."""
    flat: list[dict[str, Any]] = []
    for m in members:
        flat.extend(m["anyOf"] if set(m) == {"anyOf"} else [m])
    unique = list({_key(m): m for m in flat}.values())
    rest = [m for m in unique if m != {"type": "null"}]
    if len(rest) == 1 and len(unique) == 2:
        return _nullable(rest[0])
    if len(unique) == 1:
        return unique[0]
    return {"anyOf": rest + ([{"type": "null"}] if len(rest) < len(unique) else [])}


def _portable_values(values: list[Any]) -> dict[str, Any]:
    """Literal / Enum values: strings as an enum; other values typed and bounded, listed in text
    (the SDK refuses anything else before the function runs)."""
    groups: dict[str, list[Any]] = {}
    for v in values:
        kind = _json_type(v)
        if kind not in ("string", "integer", "number", "boolean", "null"):
            raise TypeError(f"the value {v!r} is not a JSON string, number, boolean or null")
        groups.setdefault("number" if kind == "integer" and any(
            _json_type(x) == "number" for x in values) else kind, []).append(v)
    branches = []
    exact = True
    for kind, vs in groups.items():
        if kind == "string":
            branches.append({"type": "string", "enum": vs})
        elif kind in ("integer", "number"):
            branches.append({"type": kind, "minimum": min(vs), "maximum": max(vs)})
            exact = exact and len(set(vs)) == 1
        else:
            branches.append({"type": kind})
            exact = exact and (kind == "null" or len(set(vs)) == 2)
    out = _any_of(branches)
    if not exact:
        out = {**out, _NOTES: [f"One of: {', '.join(json.dumps(v) for v in values)}."]}
    return out


def _apply_extras(schema: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``Annotated[T, {...}]`` keywords on a portable schema: description and title outside,
    constraints on the branches they apply to; keywords outside the profile are refused."""
    out = dict(schema)
    for key, value in extra.items():
        if key in ("description", "title"):
            out[key] = value
        elif key == "$comment":
            continue
        elif key == "examples":
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in values)
            out[_NOTES] = [*out.get(_NOTES, []), f"Example{'s' if len(values) > 1 else ''}: {shown}."]
        elif key in _EXTRA_TYPES:
            if key == "format" and value != "date-time":
                raise TypeError(f"format {value!r} is not portable (only \"date-time\" is): say it in the "
                                "description, or use a pattern")
            if key == "enum" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise TypeError("a portable enum lists strings only: use Literal[...] for other values")
            branches = out["anyOf"] if "anyOf" in out else [out]
            fit = [b for b in branches if b.get("type") in _EXTRA_TYPES[key]]
            if not fit:
                raise TypeError(f"`{key}` applies to {' or '.join(_EXTRA_TYPES[key])} values, "
                                f"not to {_kind(schema)}")
            if "anyOf" in out:
                out["anyOf"] = [{**b, key: value} if b in fit else b for b in branches]
            else:
                out[key] = value
        else:
            advice = _EXTRA_ADVICE.get(key, "portable schemas use only type, properties, items, anyOf, enum "
                                            "(strings), description, title, pattern, format (date-time), "
                                            "minimum, maximum, minItems and maxItems; say the rest in the "
                                            "description and check it in the function")
            raise TypeError(f"the schema keyword `{key}` is not portable (OpenAI strict mode, Gemini): {advice}")
    return out


def _finish(schema: Any) -> Any:
    """Turn the internal notes into description text, everywhere in ``schema``."""
    if isinstance(schema, list):
        return [_finish(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k == _NOTES:
            continue
        if k == "properties":
            out[k] = {name: _finish(s) for name, s in v.items()}
        elif k in ("items", "anyOf", "additionalProperties"):
            out[k] = _finish(v)
        else:
            out[k] = v
    notes = schema.get(_NOTES)
    if notes:
        text = " ".join(notes)
        desc = (out.get("description") or "").rstrip()
        if desc:
            text = desc + (" " if desc.endswith((".", "!", "?", ":")) else ". ") + text
        out["description"] = text
    return out


def _key(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=str)


def _kind(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_kind(b) for b in schema["anyOf"])
    return str(schema.get("type", "any value"))


def _is_json_literal(value: Any) -> bool:
    try:
        to_json(value)
        return True
    except (TypeError, ValueError):
        return False


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


# ------------------------------------------------------------------------------------------------
# JSON -> typed values


def _what(value: Any) -> str:
    kind = _json_type(value)
    return {"null": "null", "boolean": "a boolean", "integer": "a number", "number": "a number",
            "string": "a string", "array": "an array", "object": "an object"}.get(kind, kind)


def _bad(path: str, expected: str, value: Any) -> InvalidArguments:
    where = f"`{path}`" if path else "the arguments"
    return InvalidArguments(f"invalid arguments: {where} must be {expected}, not {_what(value)}")


def convert(value: Any, tp: Any, path: str = "", *, null_is_absent: bool = False) -> Any:
    """Convert a decoded JSON value to the type hint ``tp``: build dataclasses, enums, tuples and
    sets; check everything else. Raises :class:`InvalidArguments` naming the path on mismatch.

    With ``null_is_absent`` (tool arguments, whose portable schemas make optional fields nullable),
    a ``null`` for a dataclass field with a default, or for a ``TypedDict`` key that is not
    required, counts as not given: the field gets its default, the key is left out."""
    nia = null_is_absent
    tp, _ = _split_annotated(tp)
    tp, _ = _unwrap_required(tp)
    if tp is Any or tp is object or tp is inspect.Parameter.empty:
        return value
    if tp is NoneType or tp is None:
        if value is None:
            return None
        raise _bad(path, "null", value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _bad(path, "a boolean", value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _bad(path, "an integer", value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _bad(path, "a number", value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _bad(path, "a string", value)
    if tp in (bytes, bytearray):
        if isinstance(value, str):
            try:
                return tp(base64.b64decode(value, validate=True))
            except ValueError:
                raise InvalidArguments(f"invalid arguments: `{path}` is not valid base64") from None
        raise _bad(path, "a base64 string", value)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        if value is None and NoneType in args:
            return None
        errors = []
        for member in args:
            if member is NoneType:
                continue
            try:
                return convert(value, member, path, null_is_absent=nia)
            except InvalidArguments as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        raise InvalidArguments(f"invalid arguments: `{path or 'arguments'}` matches none of the allowed types")
    if origin is typing.Literal:
        for allowed in args:
            if value == allowed and type(value) is type(allowed):
                return allowed
        raise InvalidArguments(f"invalid arguments: `{path}` must be one of {', '.join(map(repr, args))}")
    if origin in _SEQUENCE_ORIGINS or tp in (list, cabc.Sequence) or origin in _SET_ORIGINS or tp in (set, frozenset):
        if not isinstance(value, list):
            raise _bad(path, "an array", value)
        item = args[0] if args else Any
        items = [convert(v, item, f"{path}[{i}]", null_is_absent=nia) for i, v in enumerate(value)]
        if origin in _SET_ORIGINS or tp in (set, frozenset):
            return frozenset(items) if (origin is frozenset or tp is frozenset) else set(items)
        return items
    if origin is tuple or tp is tuple:
        if not isinstance(value, list):
            raise _bad(path, "an array", value)
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = args[0] if args else Any
            return tuple(convert(v, item, f"{path}[{i}]", null_is_absent=nia) for i, v in enumerate(value))
        if args == ((),):
            args = ()
        if len(value) != len(args):
            raise InvalidArguments(f"invalid arguments: `{path}` must have exactly {len(args)} items")
        return tuple(convert(v, a, f"{path}[{i}]", null_is_absent=nia) for i, (v, a) in enumerate(zip(value, args)))
    if origin in _MAPPING_ORIGINS or tp in (dict, cabc.Mapping):
        if not isinstance(value, dict):
            raise _bad(path, "an object", value)
        item = args[1] if args else Any
        return {k: convert(v, item, _join(path, k), null_is_absent=nia) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            raise InvalidArguments(f"invalid arguments: `{path}` must be one of {allowed}") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _bad(path, "an object", value)
        hints = type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            if f.name in value and not (nia and has_default and value[f.name] is None):
                kwargs[f.name] = convert(value[f.name], hints.get(f.name, Any), _join(path, f.name), null_is_absent=nia)
            elif not has_default:
                raise InvalidArguments(f"invalid arguments: missing field `{_join(path, f.name)}`")
        return tp(**kwargs)
    if isinstance(tp, type) and typing.is_typeddict(tp):
        if not isinstance(value, dict):
            raise _bad(path, "an object", value)
        hints = type_hints(tp)
        out = {}
        required_keys = _typeddict_required(tp, hints)
        for name in required_keys:
            if name not in value:
                raise InvalidArguments(f"invalid arguments: missing field `{_join(path, name)}`")
        for name, v in value.items():
            if nia and v is None and name in hints and name not in required_keys:
                continue
            out[name] = convert(v, hints.get(name, Any), _join(path, name), null_is_absent=nia) if name in hints else v
        return out
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise InvalidArguments(f"invalid arguments: `{path}` has an unsupported type {_name(tp)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ------------------------------------------------------------------------------------------------
# Python -> JSON


def to_json(value: Any) -> Any:
    """A JSON-serializable copy of ``value``: dataclasses and TypedDicts become objects, enums
    their values, tuples and sets arrays, bytes base64 text. Non-finite floats are refused (JSON
    has no NaN), so is anything else unknown."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be represented in JSON; return None (null) instead")
        return value
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k.value if isinstance(k, enum.Enum) else k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_json(v) for v in sorted(value, key=repr)]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot represent a {type(value).__name__} as JSON")
