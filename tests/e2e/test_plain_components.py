"""Plain components (issue #16): a component that does not export `capsule:plugin` is served as it is,
each exported function a tool whose JSON Schema comes from its WIT types.

The contract under test:
- names: `<file stem>_<function>` with `-` mapped to `_`; functions of exported interfaces too, with
  the interface's name as a prefix only when two of them share a name (`upper_apply`, `lower_apply`);
- arguments: one property per parameter, named as in WIT (kebab-case kept), the non-option ones
  required, no others allowed; invalid arguments are refused before the component runs;
- results: `structuredContent = {"result": value}` (an `outputSchema` to match), the text the string
  itself for a WIT `string` and compact JSON otherwise, nothing for a function without a result; a
  top-level `result` err is a tool error whose text is the error (a string as is, an enum case name,
  anything else compact JSON); a trap is a tool error and the server keeps serving;
- the WIT -> JSON mapping of every type (integers exact to 64 bits, non-finite floats as strings,
  `list<u8>` as base64, options as absent/null, tuples as arrays, variants and nested results as
  `{"tag", "value"}`, enums as case names, flags as arrays of names);
- functions that cannot be served (resources, `option<option<T>>`) are skipped, and `capsule plugins`
  says which and why; a component importing what the host does not provide does not load, and the
  reason names the import;
- descriptions from the policy's `[tools.NAME]` table, then a `NAME.wit` beside the component, then
  a generic sentence; grants exactly as the policy says (filesystem, network); hot reload.

The components are built by the languages' own toolchains, without Capsule's SDKs (`make plugins`):
plain_types (Rust, wit-bindgen: every type), plain_files (Rust, std::fs), plain_fetch (Rust, wasi:http),
plain_js (componentize-js), plain_py (componentize-py), plain_missing (WAT, an import nobody provides).
Their WIT is in plugins/plain-*/wit/.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import mcp_types as types
import pytest
from conftest import INVALID_PARAMS, NAME_RE, REPO, all_text, text_blocks
from mcp.shared.exceptions import MCPError
from test_hot_reload import QUIET_S, changes, drop, tool_names
from test_network import other, server  # noqa: F401 - the local HTTP servers, as fixtures

pytestmark = pytest.mark.anyio

PT = "plain_types"
PLAIN_TYPES_WIT = REPO / "plugins" / "plain-types" / "wit" / "plain-types.wit"

S64_MIN, S64_MAX = -(2**63), 2**63 - 1
U64_MAX = 2**64 - 1

# Every function plain_types exports that can be served, as published (`plain_types_` + name).
PLAIN_TYPES_TOOLS = {
    # world-level functions
    "echo_bool", "echo_s8", "echo_s16", "echo_s32", "echo_s64", "echo_u8", "echo_u16", "echo_u32",
    "echo_u64", "echo_f32", "echo_f64", "divide", "echo_char", "echo_string", "echo_bytes",
    "echo_strings", "echo_option", "echo_option_list", "echo_tuple", "echo_results",
    "echo_unit_results", "greet", "add", "pad", "shout", "check_even", "ping", "crash",
    # interface shapes
    "echo_shape", "echo_command", "echo_color", "echo_perms", "find_color", "safe_divide",
    # interface math
    "multiply", "mean",
    # interfaces upper and lower both export `apply`: prefixed with the interface's name
    "upper_apply", "lower_apply",
}  # fmt: skip
# Not served: `maybe-maybe` (option<option<u32>>) and everything of interface `handles` (a resource).
# function -> what its reason must say (the spec's reason is "nested option cannot be told apart in JSON";
# the words around it are free)
SKIPPED = {"maybe-maybe": "cannot be told apart in JSON", "counter-value": None}

# tool -> (parameters, the required ones)
PARAMETERS: dict[str, tuple[list[str], set[str]]] = {
    **{t: (["v"], {"v"}) for t in PLAIN_TYPES_TOOLS if t.startswith("echo_") and t != "echo_option"},
    "echo_option": (["v"], set()),
    "divide": (["a", "b"], {"a", "b"}),
    "greet": (["name"], {"name"}),
    "add": (["a", "b"], {"a", "b"}),
    "pad": (["text", "min-width", "fill-char"], {"text", "min-width"}),
    "shout": (["text"], {"text"}),
    "check_even": (["n"], {"n"}),
    "ping": ([], set()),
    "crash": (["message"], {"message"}),
    "find_color": (["name"], {"name"}),
    "safe_divide": (["a", "b"], {"a", "b"}),
    "multiply": (["a", "b"], {"a", "b"}),
    "mean": (["values"], {"values"}),
    "upper_apply": (["text"], {"text"}),
    "lower_apply": (["text"], {"text"}),
}
# Functions with no result type, or `result<_, E>`: no outputSchema, no structured content on success.
NO_RESULT = {"ping", "crash", "check_even"}
# Functions (of any of the components) whose (ok) result type is a WIT `string`: the text block is the
# string itself. Other results that are JSON strings (char, enum, option<string>, a non-finite float)
# should be compact JSON (`"red"`); the text is accepted as that or as the bare string.
STRING_RESULT = {"greet", "echo_string", "pad", "shout", "upper_apply", "lower_apply", "read_file", "fetch"}


def published(tool: str, plugin: str = PT) -> str:
    return f"{plugin}_{tool}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --------------------------------------------------------------------------------------------------
# Expected values


class _AbsentOrNull:
    """In an expected record: an `option` field that is none, which the host may write as null or leave out."""

    def __repr__(self) -> str:
        return "<absent or null>"


NONE_FIELD = _AbsentOrNull()


@dataclass(frozen=True)
class Approx:
    """A float that need only be close (an f32 round trip)."""

    value: float
    tolerance: float = 1e-6


def matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Approx):
        return isinstance(actual, (int, float)) and math.isclose(actual, expected.value, abs_tol=expected.tolerance)
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        for key, want in expected.items():
            if want is NONE_FIELD:
                if actual.get(key) is not None:
                    return False
            elif key not in actual or not matches(want, actual[key]):
                return False
        return set(actual) <= set(expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(matches, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


def plain_json(value: Any) -> Any:
    """`value` as the JSON it stands for (markers replaced), for schema checks."""
    if isinstance(value, Approx):
        return value.value
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items() if v is not NONE_FIELD}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value


SHAPE = {
    "display-name": "square",
    "origin": {"x": -3, "y": 2147483647},
    "label": "a ✓ label",
    "corners": [{"x": 0, "y": 0}, {"x": 1, "y": -1}],
}
SHAPE_WITHOUT_LABEL = {"display-name": "", "origin": {"x": 0, "y": 0}, "corners": []}
ALL_BYTES = bytes(range(256))
UNICODE = 'héllo "quoted" \\ back\nslash ✓ 🦀 \u0000'


@dataclass
class Case:
    """A call and the `result` it must answer (None for functions without one)."""

    tool: str
    arguments: dict[str, Any]
    expected: Any


ROUND_TRIPS: list[Case] = [
    Case("echo_bool", {"v": True}, True),
    Case("echo_bool", {"v": False}, False),
    Case("echo_s8", {"v": -128}, -128),
    Case("echo_s8", {"v": 127}, 127),
    Case("echo_s16", {"v": -32768}, -32768),
    Case("echo_s16", {"v": 32767}, 32767),
    Case("echo_s32", {"v": -(2**31)}, -(2**31)),
    Case("echo_s32", {"v": 2**31 - 1}, 2**31 - 1),
    Case("echo_s64", {"v": S64_MIN}, S64_MIN),
    Case("echo_s64", {"v": S64_MAX}, S64_MAX),
    Case("echo_s64", {"v": 2**53 + 1}, 2**53 + 1),  # past a double's precision: exact all the same
    Case("echo_u8", {"v": 0}, 0),
    Case("echo_u8", {"v": 255}, 255),
    Case("echo_u16", {"v": 65535}, 65535),
    Case("echo_u32", {"v": 2**32 - 1}, 2**32 - 1),
    Case("echo_u64", {"v": 0}, 0),
    Case("echo_u64", {"v": U64_MAX}, U64_MAX),
    Case("echo_u64", {"v": U64_MAX - 1}, U64_MAX - 1),
    Case("echo_f32", {"v": 1.5}, 1.5),
    Case("echo_f32", {"v": -0.25}, -0.25),
    Case("echo_f32", {"v": 0.1}, Approx(0.1)),
    Case("echo_f64", {"v": 0.1}, 0.1),
    Case("echo_f64", {"v": -1e300}, -1e300),
    Case("echo_f64", {"v": 5e-324}, 5e-324),
    Case("echo_f64", {"v": 7}, 7),  # a JSON integer is a number
    Case("divide", {"a": 1, "b": 4}, 0.25),
    Case("divide", {"a": 1, "b": 0}, "Infinity"),
    Case("divide", {"a": -1, "b": 0}, "-Infinity"),
    Case("divide", {"a": 0, "b": 0}, "NaN"),
    Case("echo_char", {"v": "a"}, "a"),
    Case("echo_char", {"v": "é"}, "é"),
    Case("echo_char", {"v": "🦀"}, "🦀"),  # one character, two UTF-16 units
    Case("echo_string", {"v": ""}, ""),
    Case("echo_string", {"v": UNICODE}, UNICODE),
    Case("echo_bytes", {"v": ""}, ""),
    Case("echo_bytes", {"v": b64(ALL_BYTES)}, b64(ALL_BYTES)),
    Case("echo_bytes", {"v": b64(b"\xfb\xff")}, b64(b"\xfb\xff")),  # '+', '/' and padding
    Case("echo_strings", {"v": []}, []),
    Case("echo_strings", {"v": ["a", "", "ü ✓"]}, ["a", "", "ü ✓"]),
    Case("echo_option", {}, None),
    Case("echo_option", {"v": None}, None),
    Case("echo_option", {"v": "x"}, "x"),
    Case("echo_option", {"v": ""}, ""),
    Case("echo_option_list", {"v": [1, None, -3]}, [1, None, -3]),
    Case("echo_option_list", {"v": []}, []),
    Case("echo_tuple", {"v": ["a", 7, True]}, ["a", 7, True]),
    Case("echo_results", {"v": [{"tag": "ok", "value": 1}, {"tag": "err", "value": "no"}]},
         [{"tag": "ok", "value": 1}, {"tag": "err", "value": "no"}]),
    Case("echo_unit_results", {"v": [{"tag": "ok"}, {"tag": "err", "value": "bad"}]},
         [{"tag": "ok"}, {"tag": "err", "value": "bad"}]),
    Case("greet", {"name": "Ada"}, "Hello, Ada!"),
    Case("add", {"a": 2, "b": 40}, 42),
    Case("add", {"a": 2**31 - 1, "b": 1}, -(2**31)),
    Case("pad", {"text": "7", "min-width": 3, "fill-char": "0"}, "007"),
    Case("pad", {"text": "abc", "min-width": 5}, "  abc"),
    Case("pad", {"text": "abc", "min-width": 5, "fill-char": None}, "  abc"),
    Case("shout", {"text": "hi"}, "HI!"),
    Case("ping", {}, None),
    Case("check_even", {"n": 4}, None),
    Case("echo_shape", {"v": SHAPE}, SHAPE),
    Case("echo_shape", {"v": SHAPE_WITHOUT_LABEL}, {**SHAPE_WITHOUT_LABEL, "label": NONE_FIELD}),
    Case("echo_shape", {"v": {**SHAPE_WITHOUT_LABEL, "label": None}}, {**SHAPE_WITHOUT_LABEL, "label": NONE_FIELD}),
    Case("echo_command", {"v": {"tag": "stop"}}, {"tag": "stop"}),
    Case("echo_command", {"v": {"tag": "go", "value": 4294967295}}, {"tag": "go", "value": 4294967295}),
    Case("echo_command", {"v": {"tag": "say", "value": "hi"}}, {"tag": "say", "value": "hi"}),
    Case("echo_command", {"v": {"tag": "move-to", "value": {"x": 1, "y": 2}}},
         {"tag": "move-to", "value": {"x": 1, "y": 2}}),
    Case("echo_color", {"v": "red"}, "red"),
    Case("echo_color", {"v": "dark-blue"}, "dark-blue"),
    Case("echo_perms", {"v": []}, []),
    Case("echo_perms", {"v": ["read", "write"]}, ["read", "write"]),  # (in WIT order; other orders: the next test)
    Case("echo_perms", {"v": ["set-uid"]}, ["set-uid"]),
    Case("find_color", {"name": "green"}, "green"),
    Case("safe_divide", {"a": 7, "b": 2}, 3),
    Case("safe_divide", {"a": -7, "b": 2}, -3),
    Case("multiply", {"a": 3_000_000_000, "b": 3}, 9_000_000_000),
    Case("multiply", {"a": 2**62, "b": 2}, S64_MIN),  # wraps
    Case("mean", {"values": [1, 2, 4]}, Approx(7 / 3, 1e-12)),
    Case("mean", {"values": []}, None),
    Case("upper_apply", {"text": "MiXed ü"}, "MIXED Ü"),
    Case("lower_apply", {"text": "MiXed Ü"}, "mixed ü"),
]  # fmt: skip

# Arguments that do not fit the WIT types: refused before the call. The second element says whether a
# JSON Schema validator can see it (base64 content is only an annotation in JSON Schema).
INVALID: list[tuple[str, dict[str, Any], bool]] = [
    ("echo_bool", {"v": "true"}, True),
    ("echo_bool", {}, True),
    ("echo_s8", {"v": -129}, True),
    ("echo_s8", {"v": 128}, True),
    ("echo_s16", {"v": 32768}, True),
    ("echo_s32", {"v": 2**31}, True),
    ("echo_s64", {"v": S64_MAX + 1}, True),
    ("echo_s64", {"v": S64_MIN - 1}, True),
    ("echo_u8", {"v": 256}, True),
    ("echo_u8", {"v": -1}, True),
    ("echo_u8", {"v": 1.5}, True),
    ("echo_u8", {"v": "1"}, True),
    ("echo_u16", {"v": 65536}, True),
    ("echo_u32", {"v": 2**32}, True),
    ("echo_u64", {"v": U64_MAX + 1}, True),
    ("echo_u64", {"v": -1}, True),
    ("echo_f64", {"v": "1.5"}, True),
    ("echo_f32", {"v": None}, True),
    ("echo_char", {"v": "ab"}, True),
    ("echo_char", {"v": ""}, True),
    ("echo_char", {"v": 65}, True),
    ("echo_string", {"v": None}, True),
    ("echo_string", {"v": "x", "extra": 1}, True),  # no other properties
    ("echo_bytes", {"v": [1, 2]}, True),
    ("echo_bytes", {"v": "@@not base64@@"}, False),
    ("echo_strings", {"v": ["a", 1]}, True),
    ("echo_option", {"v": 5}, True),
    ("echo_option_list", {"v": [1, "two"]}, True),
    ("echo_tuple", {"v": ["a", 1]}, True),
    ("echo_tuple", {"v": ["a", 1, True, 2]}, True),
    ("echo_tuple", {"v": [1, 1, True]}, True),
    ("echo_results", {"v": [{"tag": "maybe", "value": 1}]}, True),
    ("echo_results", {"v": [{"tag": "ok", "value": "one"}]}, True),
    ("echo_shape", {"v": {"display-name": "x", "origin": {"x": 0, "y": 0}}}, True),  # corners missing
    ("echo_shape", {"v": {**SHAPE, "colour": "red"}}, True),  # unknown field
    ("echo_shape", {"v": {**SHAPE, "display_name": "x"}}, True),  # field names are the WIT ones
    ("echo_shape", {"v": {**SHAPE, "origin": {"x": "0", "y": 0}}}, True),
    ("echo_command", {"v": {"tag": "jump"}}, True),
    ("echo_command", {"v": {"tag": "go"}}, True),  # payload missing
    ("echo_command", {"v": {"tag": "go", "value": "fast"}}, True),
    ("echo_command", {"v": "stop"}, True),
    ("echo_color", {"v": "purple"}, True),
    ("echo_color", {"v": "dark_blue"}, True),
    ("echo_perms", {"v": ["read", "read"]}, True),
    ("echo_perms", {"v": ["sudo"]}, True),
    ("echo_perms", {"v": "read"}, True),
    ("pad", {"text": "x"}, True),  # min-width missing
    ("pad", {"text": "x", "min_width": 3}, True),  # parameter names are the WIT ones
    ("pad", {"text": "x", "min-width": 3, "fill-char": "ab"}, True),
    ("greet", {}, True),
    ("add", {"a": 1, "b": 2.5}, True),
    ("ping", {"unexpected": True}, True),
    ("crash", {"message": 42}, True),
    ("mean", {"values": ["1"]}, True),
]


# --------------------------------------------------------------------------------------------------
# Helpers


def result_value(result: types.CallToolResult, tool: str) -> Any:
    """The `result` of a successful call, after checking the result's shape and its text block."""
    assert not result.is_error, f"{tool} failed: {all_text(result)}"
    content = result.structured_content
    assert isinstance(content, dict) and set(content) == {"result"}, f"{tool}: structuredContent {content!r}"
    value = content["result"]
    texts = text_blocks(result)
    assert len(texts) == 1, f"{tool}: one text block expected, got {result.content}"
    text = texts[0]
    if tool in STRING_RESULT:
        assert text == value, f"{tool}: the text of a string result is the string itself: {text!r} vs {value!r}"
    elif isinstance(value, str) and text == value:
        pass
    else:
        assert json.loads(text) == value, f"{tool}: the text {text!r} is not the JSON of {value!r}"
        outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
        assert not re.search(r"\s", outside_strings), f"{tool}: the JSON text is not compact: {text!r}"
    return value


def assert_no_result(result: types.CallToolResult, tool: str) -> None:
    assert not result.is_error, f"{tool} failed: {all_text(result)}"
    assert result.content == [], f"{tool}: a function without a result has no content, got {result.content}"
    assert result.structured_content is None, f"{tool}: no structured content expected, got {result.structured_content}"


async def call(srv, tool: str, arguments: dict[str, Any], plugin: str = PT) -> types.CallToolResult:
    return await srv.client.call_tool(published(tool, plugin), arguments)


async def refused(srv, tool: str, arguments: dict[str, Any], plugin: str = PT) -> str:
    """Call with invalid arguments: an isError result or a -32602 error, with a message. Returns it."""
    try:
        result = await call(srv, tool, arguments, plugin)
    except MCPError as exc:
        assert exc.code == INVALID_PARAMS, f"{tool}{arguments}: JSON-RPC error {exc.code}: {exc}"
        assert exc.message.strip()
        return exc.message
    assert result.is_error, f"{tool}{arguments} was accepted: {result}"
    assert not result.structured_content, result
    text = all_text(result)
    assert text.strip(), f"{tool}{arguments}: a refusal says why"
    return text


async def tool_error(srv, tool: str, arguments: dict[str, Any], plugin: str = PT) -> str:
    """A call that must come back as a tool error; its text."""
    result = await call(srv, tool, arguments, plugin)
    assert result.is_error, f"{tool}{arguments} did not fail: {result}"
    assert not result.structured_content, result
    return all_text(result)


async def list_tools(srv) -> dict[str, types.Tool]:
    return {t.name: t for t in (await srv.client.list_tools()).tools}


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """MCP schemas are JSON Schema 2020-12 unless they say otherwise."""
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def contains(actual: Any, expected: Any, where: str = "") -> list[str]:
    """Where `actual` differs from `expected` taken as a pattern: every key of an expected object is
    there with a matching value (others may be added, descriptions say); `required`, `type` lists and
    `enum` compare as sets, `anyOf`/`oneOf` as sets of patterns; other lists element by element."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '.'}: {actual!r} is not an object like {expected!r}"]
        problems = []
        for key, want in expected.items():
            if key not in actual:
                problems.append(f"{where}/{key}: missing (expected {want!r})")
            elif key in ("required", "enum") or (key == "type" and isinstance(want, list)):
                got = actual[key]
                if not isinstance(got, list) or sorted(map(json.dumps, got)) != sorted(map(json.dumps, want)):
                    problems.append(f"{where}/{key}: {got!r}, expected {want!r} in any order")
            elif key in ("anyOf", "oneOf"):
                got = list(actual[key]) if isinstance(actual[key], list) else []
                if len(got) != len(want):
                    problems.append(f"{where}/{key}: {actual[key]!r}, expected {want!r}")
                    continue
                for pattern in want:
                    hit = next((g for g in got if not contains(g, pattern)), None)
                    if hit is None:
                        problems.append(f"{where}/{key}: nothing like {pattern!r} in {actual[key]!r}")
                    else:
                        got.remove(hit)
            else:
                problems += contains(actual[key], want, f"{where}/{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: {actual!r}, expected {expected!r}"]
        return [p for i, (a, e) in enumerate(zip(actual, expected, strict=True)) for p in contains(a, e, f"{where}/{i}")]
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if type(actual) is type(expected) and actual == expected else [f"{where}: {actual!r}, expected {expected!r}"]
    return [] if actual == expected else [f"{where}: {actual!r}, expected {expected!r}"]


def assert_contains(actual: Any, expected: Any, what: str) -> None:
    problems = contains(actual, expected)
    assert not problems, f"{what}:\n  " + "\n  ".join(problems) + f"\nin {json.dumps(actual, indent=1)}"


def param(tool: types.Tool, name: str) -> dict[str, Any]:
    return tool.input_schema["properties"][name]


def output(tool: types.Tool) -> dict[str, Any]:
    assert tool.output_schema is not None, f"{tool.name} has no outputSchema"
    return tool.output_schema["properties"]["result"]


def integer(lo: int, hi: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi}


POINT = {"type": "object", "properties": {"x": integer(-(2**31), 2**31 - 1), "y": integer(-(2**31), 2**31 - 1)},
         "required": ["x", "y"], "additionalProperties": False}  # fmt: skip
FLOAT_OUT = {"type": ["number", "string"]}

# tool -> (parameter or None for the result, the schema the spec gives for its WIT type)
SPEC_SCHEMAS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("echo_bool", "v", {"type": "boolean"}),
    ("echo_bool", None, {"type": "boolean"}),
    ("echo_s8", "v", integer(-128, 127)),
    ("echo_s16", "v", integer(-32768, 32767)),
    ("echo_s32", "v", integer(-(2**31), 2**31 - 1)),
    ("echo_s64", "v", integer(S64_MIN, S64_MAX)),
    ("echo_s64", None, integer(S64_MIN, S64_MAX)),
    ("echo_u8", "v", integer(0, 255)),
    ("echo_u16", "v", integer(0, 65535)),
    ("echo_u32", "v", integer(0, 2**32 - 1)),
    ("echo_u64", "v", integer(0, U64_MAX)),
    ("echo_u64", None, integer(0, U64_MAX)),
    ("echo_f32", "v", {"type": "number"}),
    ("echo_f32", None, FLOAT_OUT),
    ("echo_f64", "v", {"type": "number"}),
    ("echo_f64", None, FLOAT_OUT),
    ("echo_char", "v", {"type": "string", "minLength": 1, "maxLength": 1}),
    ("echo_char", None, {"type": "string", "minLength": 1, "maxLength": 1}),
    ("echo_string", "v", {"type": "string"}),
    ("echo_bytes", "v", {"type": "string", "contentEncoding": "base64"}),
    ("echo_bytes", None, {"type": "string", "contentEncoding": "base64"}),
    ("echo_strings", "v", {"type": "array", "items": {"type": "string"}}),
    ("echo_option", None, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
    ("echo_option_list", None, {"type": "array", "items": {"anyOf": [integer(-(2**31), 2**31 - 1), {"type": "null"}]}}),
    ("echo_tuple", "v", {"type": "array", "prefixItems": [{"type": "string"}, integer(0, 2**32 - 1), {"type": "boolean"}],
                         "minItems": 3, "maxItems": 3, "items": False}),
    ("echo_tuple", None, {"type": "array", "prefixItems": [{"type": "string"}, integer(0, 2**32 - 1), {"type": "boolean"}],
                          "minItems": 3, "maxItems": 3, "items": False}),
    ("echo_shape", "v", {"type": "object",
                         "properties": {"display-name": {"type": "string"}, "origin": POINT,
                                        "corners": {"type": "array", "items": POINT}},
                         "required": ["display-name", "origin", "corners"], "additionalProperties": False}),
    ("echo_color", "v", {"type": "string", "enum": ["red", "green", "dark-blue"]}),
    ("echo_color", None, {"type": "string", "enum": ["red", "green", "dark-blue"]}),
    ("echo_perms", "v", {"type": "array", "items": {"type": "string", "enum": ["read", "write", "exec", "set-uid"]},
                         "uniqueItems": True}),
    ("echo_perms", None, {"type": "array", "items": {"type": "string", "enum": ["read", "write", "exec", "set-uid"]},
                          "uniqueItems": True}),
    ("greet", "name", {"type": "string"}),
    ("greet", None, {"type": "string"}),
    ("add", "a", integer(-(2**31), 2**31 - 1)),
    ("pad", "min-width", integer(0, 2**32 - 1)),
    ("shout", None, {"type": "string"}),  # the ok type of result<string, string>
    ("find_color", None, {"type": "string", "enum": ["red", "green", "dark-blue"]}),
    ("safe_divide", None, integer(-(2**31), 2**31 - 1)),
    ("mean", None, {"anyOf": [FLOAT_OUT, {"type": "null"}]}),
]  # fmt: skip

# What each schema must refuse, beyond the INVALID arguments (outputs the host must never produce).
INVALID_OUTPUTS: list[tuple[str, Any]] = [
    ("echo_u8", 256),
    ("echo_u8", -1),
    ("echo_s64", S64_MAX + 1),
    ("echo_u64", U64_MAX + 1),
    ("echo_bool", 1),
    ("echo_char", "ab"),
    ("echo_color", "purple"),
    ("echo_perms", ["read", "read"]),
    ("echo_tuple", ["a", 1]),
    ("echo_shape", {"display-name": "x", "origin": {"x": 0}, "corners": []}),
    ("echo_command", {"tag": "jump"}),
    ("echo_results", [{"tag": "ok", "value": "one"}]),
    ("echo_option", 1),
    ("echo_f64", None),
]


# --------------------------------------------------------------------------------------------------
# plain_types: names, schemas, round trips, errors


async def test_every_servable_function_is_a_tool_named_after_it(capsule, mode):
    async with capsule.serve([PT, "hello"], mode=mode) as srv:
        tools = await list_tools(srv)
    assert set(tools) == {published(t) for t in PLAIN_TYPES_TOOLS} | {"hello_greet"}, sorted(tools)
    for name in tools:
        assert NAME_RE.match(name) and "__" not in name, name
    # The skipped functions are nowhere, under any spelling.
    for skipped in ("maybe", "counter", "handles"):
        assert not [n for n in tools if skipped in n], sorted(tools)
    # No prefix without a clash: `multiply` of interface math is plain_types_multiply.
    assert not [n for n in tools if n.startswith(("plain_types_math_", "plain_types_shapes_"))], sorted(tools)


async def test_input_and_output_schemas_follow_the_wit_types(capsule, mode):
    async with capsule.serve([PT], mode=mode) as srv:
        tools = await list_tools(srv)
    for name, (params, required) in PARAMETERS.items():
        tool = tools[published(name)]
        schema = tool.input_schema
        validator(schema)
        assert schema.get("type") == "object", (name, schema)
        assert sorted(schema.get("properties", {})) == sorted(params), (name, "one property per parameter, named as in WIT", schema)
        assert set(schema.get("required", [])) == required, (name, schema)
        assert schema.get("additionalProperties") is False, (name, schema)
        if name in NO_RESULT:
            assert tool.output_schema is None, (name, tool.output_schema)
        else:
            out = tool.output_schema
            assert out is not None, f"{name} has a result but no outputSchema"
            validator(out)
            assert_contains(out, {"type": "object", "required": ["result"]}, f"{name} outputSchema")
            assert set(out.get("properties", {})) == {"result"}, (name, out)
    for name, prop, expected in SPEC_SCHEMAS:
        tool = tools[published(name)]
        where = f"{name} parameter {prop}" if prop else f"{name} result"
        assert_contains(param(tool, prop) if prop else output(tool), expected, where)
    # Shapes the spec leaves open are checked by what they accept (next test); these are fixed:
    assert "oneOf" in param(tools[published("echo_command")], "v"), "a variant is a oneOf of tagged objects"
    assert "oneOf" in output(tools[published("echo_results")])["items"], "a nested result is a oneOf"
    shape = param(tools[published("echo_shape")], "v")
    assert "label" in shape["properties"] and "label" not in shape["required"], shape


async def test_schemas_accept_what_the_wit_types_accept_and_nothing_else(capsule, mode):
    async with capsule.serve([PT], mode=mode) as srv:
        tools = await list_tools(srv)
    problems = []
    for case in ROUND_TRIPS:
        tool = tools[published(case.tool)]
        if not validator(tool.input_schema).is_valid(case.arguments):
            problems.append(f"{case.tool}: input schema refuses valid {case.arguments}")
        if case.tool not in NO_RESULT:
            out = {"result": plain_json(case.expected)}
            if not validator(tool.output_schema).is_valid(out):
                problems.append(f"{case.tool}: output schema refuses valid {out}")
    for name, arguments, visible in INVALID:
        if visible and validator(tools[published(name)].input_schema).is_valid(arguments):
            problems.append(f"{name}: input schema accepts invalid {arguments}")
    for name, value in INVALID_OUTPUTS:
        if validator(tools[published(name)].output_schema).is_valid({"result": value}):
            problems.append(f"{name}: output schema accepts invalid result {value!r}")
    # an option parameter: absent, null or a value
    option = validator(tools[published("echo_option")].input_schema)
    for ok in ({}, {"v": None}, {"v": "x"}):
        if not option.is_valid(ok):
            problems.append(f"echo_option: input schema refuses {ok}")
    assert not problems, "\n".join(problems)


async def test_every_type_makes_the_round_trip(capsule, mode):
    async with capsule.serve([PT], mode=mode) as srv:
        failures = []
        for case in ROUND_TRIPS:
            try:
                result = await call(srv, case.tool, case.arguments)
                if case.tool in NO_RESULT:
                    assert_no_result(result, case.tool)
                else:
                    value = result_value(result, case.tool)
                    assert matches(case.expected, value), f"got {value!r}, expected {case.expected!r}"
            except (AssertionError, MCPError, RuntimeError) as exc:  # RuntimeError: the client's output check
                failures.append(f"{case.tool}({case.arguments}): {exc}")
        assert not failures, f"{len(failures)} of {len(ROUND_TRIPS)} round trips failed:\n" + "\n".join(failures)


async def test_flags_come_back_as_the_set_given(capsule):
    async with capsule.serve([PT]) as srv:
        value = result_value(await call(srv, "echo_perms", {"v": ["set-uid", "write", "read"]}), "echo_perms")
    assert sorted(value) == ["read", "set-uid", "write"], value


async def test_invalid_arguments_are_refused_before_the_call(capsule, mode):
    async with capsule.serve([PT], mode=mode) as srv:
        # (a -32602 for an unknown tool would look like a refusal: the tools must be there first)
        listed = await tool_names(srv)
        assert {published(tool) for tool, _, _ in INVALID} <= listed, sorted(listed)
        failures = []
        for tool, arguments, _ in INVALID:
            try:
                await refused(srv, tool, arguments)
            except (AssertionError, RuntimeError) as exc:
                failures.append(f"{tool}({arguments}): {exc}")
        # `crash` panics whenever it runs: refusing its bad arguments must not have run it.
        text = await refused(srv, "crash", {"message": 42})
        assert "crashed" not in text, text
        assert "panicked" not in srv.stderr(), "a refused call ran the component"
        assert not failures, f"{len(failures)} of {len(INVALID)} invalid calls were not refused:\n" + "\n".join(failures)
        # unknown tools stay unknown
        for name in ("plain_types_maybe_maybe", "plain_types_counter_value", "plain_types_apply"):
            with pytest.raises(MCPError) as info:
                await srv.client.call_tool(name, {})
            assert info.value.code == INVALID_PARAMS, info.value


async def test_a_result_err_is_a_tool_error_with_readable_text(capsule, mode):
    async with capsule.serve([PT], mode=mode) as srv:
        # result<string, string>: the string as it is
        assert await tool_error(srv, "shout", {"text": ""}) == "nothing to shout: the text is empty"
        # result<_, string>
        assert await tool_error(srv, "check_even", {"n": 7}) == "7 is odd"
        # result<color, lookup-error>: the enum case's name
        assert await tool_error(srv, "find_color", {"name": "mauve"}) == "not-found"
        assert await tool_error(srv, "find_color", {"name": ""}) == "empty-name"
        # result<s32, div-error>: compact JSON of the record
        text = await tool_error(srv, "safe_divide", {"a": 7, "b": 0})
        assert json.loads(text) == {"dividend": 7, "reason": "division by zero"}, text
        assert text == '{"dividend":7,"reason":"division by zero"}', f"not compact JSON in WIT order: {text!r}"
        # and the ok side of the same functions still works
        assert result_value(await call(srv, "shout", {"text": "ok"}), "shout") == "OK!"
        assert_no_result(await call(srv, "check_even", {"n": 8}), "check_even")


async def test_a_trap_is_a_tool_error_and_the_server_keeps_serving(capsule, mode):
    async with capsule.serve([PT, "hello"], mode=mode) as srv:
        for round_ in range(2):
            message = f"deliberate panic #{round_}-9c1"
            text = await tool_error(srv, "crash", {"message": message})
            assert "the plugin crashed" in text, text
            # a fresh instance for the next call: the same component and the others still answer
            assert result_value(await call(srv, "greet", {"name": f"after {round_}"}), "greet") == f"Hello, after {round_}!"
            assert result_value(await call(srv, "add", {"a": round_, "b": 1}), "add") == round_ + 1
            greeted = await srv.client.call_tool("hello_greet", {"name": "x"})
            assert not greeted.is_error, all_text(greeted)
            # the panic's message is logged with the trap's details
            assert message in await srv.wait_for_stderr(message), srv.stderr()[-3000:]
    assert not srv.stream_errors


# --------------------------------------------------------------------------------------------------
# `capsule plugins`: kind, imports, skipped functions; components that cannot load


def plugins_json(capsule, plugin_dir: Path) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """`capsule plugins --json` (the shape test_cli.py pins): exit status, plugins, errors."""
    proc = capsule.cli("plugins", *capsule.source_args(plugin_dir, notes=False), "--json")
    assert proc.stdout.strip(), f"no JSON on stdout (exit {proc.returncode}); stderr:\n{proc.stderr[-2000:]}"
    doc = json.loads(proc.stdout)
    return proc.returncode, doc["plugins"], doc.get("errors", [])


def mentions_function(text: str, wit_name: str) -> bool:
    return wit_name in text or wit_name.replace("-", "_") in text


def test_capsule_plugins_shows_the_kind_imports_and_skipped_functions(capsule):
    plugin_dir = capsule.plugin_dir([PT, "hello"])
    status, plugins, errors = plugins_json(capsule, plugin_dir)
    assert errors == [], errors
    by_name = {p["name"]: p for p in plugins}
    assert set(by_name) == {PT, "hello"}, by_name
    entry = by_name[PT]
    assert set(entry["tools"]) == {published(t) for t in PLAIN_TYPES_TOOLS}, entry["tools"]
    assert entry["resources"] == [] and entry["prompts"] == [] and entry["resource_templates"] == [], entry
    assert "plain" in entry.values(), f"the kind of plain_types is 'plain': {entry}"
    assert "capsule" in by_name["hello"].values(), f"the kind of hello is 'capsule': {by_name['hello']}"
    dump = json.dumps(entry)
    # the WASI interfaces it imports (Rust's std on wasm32-wasip2 imports these)
    for interface in ("wasi:cli/stdout", "wasi:cli/environment", "wasi:io/streams"):
        assert interface in dump, f"{interface} not among the imports shown: {entry}"
    for function, reason in SKIPPED.items():
        assert mentions_function(dump, function), f"skipped {function} not shown: {entry}"
        if reason:
            assert reason in dump, f"the reason for skipping {function} ('{reason}') is not shown: {entry}"
    assert "resource" in dump.lower() or "borrow" in dump, f"no reason given for skipping counter-value: {entry}"

    # The table says the same.
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir))
    out = proc.stdout + proc.stderr
    assert "plain" in proc.stdout, out
    for tool in ("plain_types_greet", "plain_types_upper_apply", "plain_types_echo_u64"):
        assert tool in proc.stdout, out
    for function, reason in SKIPPED.items():
        assert mentions_function(out, function), f"skipped {function} not in:\n{out}"
        if reason:
            assert reason in out, f"'{reason}' not in:\n{out}"


def test_a_component_with_an_import_nobody_provides_does_not_load(capsule):
    plugin_dir = capsule.plugin_dir(["plain_missing", PT])
    status, plugins, errors = plugins_json(capsule, plugin_dir)
    assert status == 1, "a file that failed to load makes `capsule plugins` exit 1"
    assert [p["name"] for p in plugins] == [PT], plugins
    assert [Path(e["path"]).name for e in errors] == ["plain_missing.wasm"], errors
    assert "example:missing/thing" in errors[0]["reason"], errors[0]


async def test_a_component_that_cannot_load_is_not_served_and_the_log_says_why(capsule, mode):
    async with capsule.serve(["plain_missing", "hello"], mode=mode) as srv:
        assert await tool_names(srv) == {"hello_greet"}
        stderr = await srv.wait_for_stderr("plain_missing.wasm", "example:missing/thing")
        assert "plain_missing.wasm" in stderr and "example:missing/thing" in stderr, stderr[-3000:]


# --------------------------------------------------------------------------------------------------
# Descriptions: policy [tools.NAME] > NAME.wit > a generic sentence


def assert_generic(tool: types.Tool, function: str) -> None:
    """A generic sentence, like "Calls `greet` of plain component plain_types.wasm" (its wording is free)."""
    description = tool.description or ""
    assert description.startswith(f"Calls `{function}` of") and "plain_types.wasm" in description, tool


async def test_without_documentation_a_tool_gets_a_generic_description(capsule, mode):
    async with capsule.serve([PT], mode=mode) as srv:
        tools = await list_tools(srv)
    assert_generic(tools[published("greet")], "greet")
    assert_generic(tools[published("add")], "add")
    for tool in tools.values():
        assert tool.description, f"{tool.name} has no description"


async def test_descriptions_come_from_the_wit_file_beside_the_component(capsule, mode):
    extra = {f"{PT}.wit": PLAIN_TYPES_WIT.read_bytes()}
    async with capsule.serve([PT], mode=mode, extra=extra) as srv:
        tools = await list_tools(srv)
        # the WIT file describes, it changes nothing else
        assert result_value(await call(srv, "greet", {"name": "Ada"}), "greet") == "Hello, Ada!"
    assert set(tools) == {published(t) for t in PLAIN_TYPES_TOOLS}
    assert tools[published("greet")].description.startswith("Greets someone by name."), tools[published("greet")]
    assert tools[published("add")].description.startswith("Adds two 32-bit integers"), tools[published("add")]
    assert tools[published("echo_shape")].description.startswith("Returns the shape it was given."), "interface functions too"
    assert tools[published("upper_apply")].description.startswith("Upper-cases the text."), tools[published("upper_apply")]
    assert tools[published("lower_apply")].description.startswith("Lower-cases the text."), tools[published("lower_apply")]
    # parameter lines: "- `name`: text" and "* name: text"
    assert param(tools[published("greet")], "name").get("description") == "who to greet"
    assert param(tools[published("add")], "a").get("description") == "the first addend"
    assert param(tools[published("add")], "b").get("description") == "the second addend"
    assert param(tools[published("pad")], "min-width").get("description") == "the width to reach"
    assert param(tools[published("pad")], "fill-char").get("description") == "the padding character (a space when absent)"
    assert param(tools[published("find_color")], "name").get("description") == "a color name such as `dark-blue`"


# (text in plugins/plain-types/wit/plain-types.wit, what replaces it, the name the load error must give)
WIT_MISMATCHES = {
    # a function the component does not export
    "extra-function": ("    export ping: func();", "    export ping: func();\n    export farewell: func() -> string;", "farewell"),
    # a function whose signature differs from the component's
    "other-signature": ("export greet: func(name: string) -> string;", "export greet: func(name: string, loud: bool) -> string;", "greet"),
}  # fmt: skip


@pytest.mark.parametrize(("old", "new", "named"), WIT_MISMATCHES.values(), ids=WIT_MISMATCHES.keys())
def test_a_wit_file_that_does_not_match_the_component_fails_the_load(capsule, old, new, named):
    original = PLAIN_TYPES_WIT.read_text()
    assert original.count(old) == 1, f"the test's edit of the WIT no longer applies: {old!r}"
    wit = original.replace(old, new)
    plugin_dir = capsule.plugin_dir([PT, "hello"], {f"{PT}.wit": wit.encode()})
    status, plugins, errors = plugins_json(capsule, plugin_dir)
    assert status == 1
    assert [p["name"] for p in plugins] == ["hello"], plugins
    assert len(errors) == 1 and Path(errors[0]["path"]).name in (f"{PT}.wasm", f"{PT}.wit"), errors
    assert named in errors[0]["reason"], f"the mismatch ({named}) is not named: {errors[0]}"


POLICY_DESCRIPTIONS = b"""
[tools.greet]
title = "Greeter"
description = "Says hello, as the operator describes it."
params.name = "The person the operator wants greeted"

[tools.shout]
description = "Shouts, as the operator describes it."
"""


async def test_the_policy_tools_table_describes_over_the_wit_file(capsule, mode):
    extra = {f"{PT}.toml": POLICY_DESCRIPTIONS, f"{PT}.wit": PLAIN_TYPES_WIT.read_bytes()}
    async with capsule.serve([PT], mode=mode, extra=extra) as srv:
        tools = await list_tools(srv)
        assert result_value(await call(srv, "greet", {"name": "Ada"}), "greet") == "Hello, Ada!"
    greet = tools[published("greet")]
    assert greet.title == "Greeter", greet
    assert greet.description == "Says hello, as the operator describes it.", greet
    assert param(greet, "name").get("description") == "The person the operator wants greeted", greet.input_schema
    assert tools[published("shout")].description == "Shouts, as the operator describes it."
    # what the policy does not describe still comes from the WIT file
    assert tools[published("add")].description.startswith("Adds two 32-bit integers"), tools[published("add")]
    assert param(tools[published("add")], "a").get("description") == "the first addend"


async def test_the_policy_tools_table_alone_describes(capsule):
    async with capsule.serve([PT], extra={f"{PT}.toml": POLICY_DESCRIPTIONS}) as srv:
        tools = await list_tools(srv)
    assert tools[published("greet")].description == "Says hello, as the operator describes it."
    assert_generic(tools[published("add")], "add")


# --------------------------------------------------------------------------------------------------
# Grants: exactly what the policy says

SECRET = "PLAIN-SECRET-7e3"


@pytest.fixture
def land(tmp_path: Path) -> Path:
    """`land/data` may be granted; `land/secret.txt` is outside it."""
    land = tmp_path / "land"
    (land / "data" / "sub").mkdir(parents=True)
    (land / "data" / "inside.txt").write_text("inside ✓\n")
    (land / "secret.txt").write_text(SECRET + "\n")
    return land


def files_policy(land: Path) -> dict[str, bytes]:
    return {"plain_files.toml": f'[filesystem]\n"/data" = {{ host = "{land / "data"}", access = "read-only" }}\n'.encode()}


async def test_a_filesystem_grant_opens_its_directory(capsule, land, mode):
    async with capsule.serve(["plain_files"], extra=files_policy(land), mode=mode) as srv:
        tools = await list_tools(srv)
        assert set(tools) == {"plain_files_list_directory", "plain_files_read_file"}, sorted(tools)
        assert sorted(tools["plain_files_list_directory"].input_schema["properties"]) == ["path"]
        listing = await call(srv, "list_directory", {"path": "/data"}, "plain_files")
        assert result_value(listing, "list_directory") == ["inside.txt", "sub"]
        read = await call(srv, "read_file", {"path": "/data/inside.txt"}, "plain_files")
        assert read.structured_content == {"result": "inside ✓\n"}, read
        assert text_blocks(read) == ["inside ✓\n"], "a string result's text is the string itself"


@pytest.mark.parametrize("path", ["/data/../secret.txt", "/secret.txt", "/etc/passwd", "../secret.txt"])
async def test_reading_outside_the_grant_fails(capsule, land, path):
    async with capsule.serve(["plain_files"], extra=files_policy(land)) as srv:
        text = await tool_error(srv, "read_file", {"path": path}, "plain_files")
        assert f"cannot read {path}" in text, text  # the component's own err, as it is
        assert SECRET not in text
        for directory in ("/", "/data/.."):
            text = await tool_error(srv, "list_directory", {"path": directory}, "plain_files")
            assert "secret.txt" not in text


async def test_no_policy_means_no_filesystem(capsule, land):
    async with capsule.serve(["plain_files"]) as srv:
        text = await tool_error(srv, "read_file", {"path": "/data/inside.txt"}, "plain_files")
        assert "cannot read /data/inside.txt" in text, text
        assert "inside" not in text.replace("/data/inside.txt", "")


def fetch_policy(*allow: str) -> dict[str, bytes]:
    return {"plain_fetch.toml": f"[network]\nallow = {json.dumps(list(allow))}\n".encode()}


async def test_a_network_grant_lets_the_granted_origin_through(capsule, server, mode):
    async with capsule.serve(["plain_fetch"], extra=fetch_policy(server.origin), mode=mode) as srv:
        result = await call(srv, "fetch", {"url": f"{server.origin}/hello"}, "plain_fetch")
        assert result_value(result, "fetch") == f"hello from 127.0.0.1:{server.port}"
        # an HTTP error is the component's own err
        text = await tool_error(srv, "fetch", {"url": f"{server.origin}/missing"}, "plain_fetch")
        assert "HTTP 404" in text and "no such page" in text, text
    assert server.paths == ["/hello", "/missing"]


async def test_other_origins_are_refused_and_never_contacted(capsule, server, other):
    async with capsule.serve(["plain_fetch"], extra=fetch_policy(server.origin)) as srv:
        text = await tool_error(srv, "fetch", {"url": f"{other.origin}/hello"}, "plain_fetch")
        assert "HTTP-request-denied" in text, f"the component's err names the refusal: {text}"
        stderr = await srv.wait_for_stderr(f'network access to {other.origin} denied for plugin "plain_fetch"')
        assert f'network access to {other.origin} denied for plugin "plain_fetch"' in stderr, stderr[-3000:]
        await tool_error(srv, "fetch", {"url": "https://example.com/"}, "plain_fetch")
        # the granted one still works
        assert result_value(await call(srv, "fetch", {"url": f"{server.origin}/hello"}, "plain_fetch"), "fetch")
    assert other.paths == []


async def test_no_policy_means_no_network(capsule, server):
    async with capsule.serve(["plain_fetch"]) as srv:
        text = await tool_error(srv, "fetch", {"url": f"{server.origin}/hello"}, "plain_fetch")
        assert "HTTP-request-denied" in text, text
    assert server.paths == []


# --------------------------------------------------------------------------------------------------
# Components from other toolchains: JavaScript (componentize-js) and Python (componentize-py)

JS_TOOLS = {"greet", "add", "move_point", "turn_right", "sort_words", "parse_number"}
JS_POINT = {"type": "object", "properties": {"x": integer(-(2**31), 2**31 - 1), "y": integer(-(2**31), 2**31 - 1)},
            "required": ["x", "y"], "additionalProperties": False}  # fmt: skip
DIRECTION = {"type": "string", "enum": ["north", "east", "south", "west"]}


async def test_a_javascript_component(capsule, mode):
    async with capsule.serve(["plain_js"], mode=mode) as srv:
        tools = await list_tools(srv)
        assert set(tools) == {published(t, "plain_js") for t in JS_TOOLS}, sorted(tools)
        move = tools["plain_js_move_point"]
        assert sorted(move.input_schema["properties"]) == ["dir", "p", "steps"]
        assert_contains(param(move, "p"), JS_POINT, "move-point p")
        assert_contains(param(move, "dir"), DIRECTION, "move-point dir")
        assert_contains(param(move, "steps"), integer(0, 2**32 - 1), "move-point steps")
        assert_contains(output(move), JS_POINT, "move-point result")
        assert_contains(output(tools["plain_js_turn_right"]), DIRECTION, "turn-right result")
        assert_contains(param(tools["plain_js_sort_words"], "words"), {"type": "array", "items": {"type": "string"}}, "words")
        assert_contains(output(tools["plain_js_parse_number"]), integer(-(2**31), 2**31 - 1), "parse-number result")

        async def value(tool: str, arguments: dict[str, Any]) -> Any:
            return result_value(await call(srv, tool, arguments, "plain_js"), tool)

        assert await value("greet", {"name": "Ada ✓"}) == "Hello, Ada ✓!"
        assert await value("add", {"a": 2**31 - 1, "b": 1}) == -(2**31)
        assert await value("move_point", {"p": {"x": 1, "y": 2}, "dir": "south", "steps": 5}) == {"x": 1, "y": -3}
        assert await value("turn_right", {"dir": "west"}) == "north"
        assert await value("sort_words", {"words": ["pear", "apple", "pear", "fig"]}) == ["apple", "fig", "pear"]
        assert await value("sort_words", {"words": []}) == []
        assert await value("parse_number", {"text": "-42"}) == -42
        assert await tool_error(srv, "parse_number", {"text": "forty-two"}, "plain_js") == "not a number: 'forty-two'"
        await refused(srv, "move_point", {"p": {"x": 1, "y": 2}, "dir": "up", "steps": 1}, "plain_js")
        await refused(srv, "move_point", {"p": {"x": 1}, "dir": "east", "steps": 1}, "plain_js")
        await refused(srv, "add", {"a": 2**31, "b": 0}, "plain_js")
        assert await value("greet", {"name": "still here"}) == "Hello, still here!"


PY_TOOLS = {"greet", "add", "restock", "total_quantity", "first_word", "initials", "checked_div"}
ITEM = {"type": "object", "properties": {"name": {"type": "string"}, "quantity": integer(0, 2**32 - 1)},
        "required": ["name", "quantity"], "additionalProperties": False}  # fmt: skip


async def test_a_python_component(capsule, mode):
    async with capsule.serve(["plain_py"], mode=mode) as srv:
        tools = await list_tools(srv)
        # componentize-py also exports an interface of its own (`exports`, with `init`), which the
        # contract publishes like any other: only our world's functions are pinned here.
        assert {published(t, "plain_py") for t in PY_TOOLS} <= set(tools), sorted(tools)
        assert set(tools) - {published(t, "plain_py") for t in PY_TOOLS} <= {"plain_py_init"}, sorted(tools)
        restock = tools["plain_py_restock"]
        assert sorted(restock.input_schema["properties"]) == ["extra", "it"]
        assert_contains(param(restock, "it"), ITEM, "restock it")
        assert "note" in param(restock, "it")["properties"], param(restock, "it")
        assert_contains(output(restock), ITEM, "restock result")
        assert_contains(param(tools["plain_py_add"], "a"), integer(S64_MIN, S64_MAX), "add a")
        assert_contains(output(tools["plain_py_total_quantity"]), integer(0, U64_MAX), "total-quantity result")
        assert_contains(output(tools["plain_py_first_word"]), {"anyOf": [{"type": "string"}, {"type": "null"}]}, "first-word")
        assert set(tools["plain_py_initials"].input_schema.get("required", [])) == {"names"}

        async def value(tool: str, arguments: dict[str, Any]) -> Any:
            return result_value(await call(srv, tool, arguments, "plain_py"), tool)

        assert await value("greet", {"name": "Grace"}) == "Hello, Grace!"
        assert await value("add", {"a": 2**62, "b": 2**62 - 1}) == S64_MAX
        assert await value("add", {"a": -(2**62), "b": -(2**62)}) == S64_MIN
        item = await value("restock", {"it": {"name": "nut", "quantity": 3}, "extra": 4})
        assert matches({"name": "nut", "quantity": 7, "note": NONE_FIELD}, item), item
        item = await value("restock", {"it": {"name": "bolt", "quantity": 0, "note": "M6"}, "extra": 1})
        assert item == {"name": "bolt", "quantity": 1, "note": "M6"}, item
        items = [{"name": "a", "quantity": 2**32 - 1, "note": "x"}, {"name": "b", "quantity": 2}]
        assert await value("total_quantity", {"items": items}) == 2**32 + 1
        assert matches("hello", await value("first_word", {"text": "  hello world"}))
        assert await value("first_word", {"text": "   "}) is None
        assert await value("initials", {"names": ["ada", "grace"], "separator": "."}) == "A.G"
        assert await value("initials", {"names": ["ada", "grace"]}) == "AG"
        assert await value("checked_div", {"a": -7, "b": 2}) == -3
        assert await tool_error(srv, "checked_div", {"a": 7, "b": 0}, "plain_py") == "cannot divide 7 by zero"
        await refused(srv, "restock", {"it": {"name": "nut"}, "extra": 1}, "plain_py")
        await refused(srv, "total_quantity", {"items": [{"name": "a", "quantity": -1}]}, "plain_py")
        assert await value("greet", {"name": "still here"}) == "Hello, still here!"


# --------------------------------------------------------------------------------------------------
# Hot reload


async def test_a_plain_component_hot_reloads(capsule, mode):
    async with capsule.serve(["hello"], mode=mode) as srv, changes(srv) as seen:
        drop(capsule.built / f"{PT}.wasm", srv.plugin_dir / f"{PT}.wasm")
        assert await seen.next() == {"tools"}
        assert await tool_names(srv) == {published(t) for t in PLAIN_TYPES_TOOLS} | {"hello_greet"}
        assert result_value(await call(srv, "greet", {"name": "Ada"}), "greet") == "Hello, Ada!"

        # A new version under the same name: another plain component's content.
        drop(capsule.built / "plain_files.wasm", srv.plugin_dir / f"{PT}.wasm")
        assert await seen.next() == {"tools"}
        assert await tool_names(srv) == {"plain_types_list_directory", "plain_types_read_file", "hello_greet"}
        await expect_unknown(srv, "plain_types_greet", {"name": "Ada"})

        # A version that cannot load never replaces the working one.
        drop(capsule.built / "plain_missing.wasm", srv.plugin_dir / f"{PT}.wasm")
        stderr = await srv.wait_for_stderr("example:missing/thing", "previous one keeps serving")
        assert "example:missing/thing" in stderr and "previous one keeps serving" in stderr, stderr[-3000:]
        assert await seen.next(timeout=QUIET_S) is None, "a failed load must not announce a change"
        assert "plain_types_read_file" in await tool_names(srv)

        # Gone.
        (srv.plugin_dir / f"{PT}.wasm").unlink()
        assert await seen.next() == {"tools"}
        assert await tool_names(srv) == {"hello_greet"}


async def expect_unknown(srv, name: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(MCPError) as info:
        await srv.client.call_tool(name, arguments)
    assert info.value.code == INVALID_PARAMS, info.value
