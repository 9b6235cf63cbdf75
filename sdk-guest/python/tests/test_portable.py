"""Portable tool input schemas (issue #21 item 4): what the SDK emits for each kind of hint, what it
refuses, what it reports as non-portable, and how a `null` for an optional parameter reaches the
function (as its default).

    python -m pytest sdk-guest/python/tests -q
"""

from __future__ import annotations

import copy
import enum
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from capsule_plugin import Plugin  # noqa: E402
from capsule_plugin._schema import function_schema, portable_schema_of, schema_of  # noqa: E402
from portable_profile import findings  # noqa: E402

NULL = {"type": "null"}


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 3


@dataclass
class Window:
    """A window.

    Attributes:
        width: In pixels.
        title: Shown on top.
        tags: Labels.
    """

    width: int
    title: str = "untitled"
    tags: list[str] = field(default_factory=list)


class Filter(TypedDict):
    column: str
    value: NotRequired[str]


@dataclass
class Tree:
    children: list[Tree]


def tool_of(fn, **kw):
    p = Plugin()
    p.tool(**kw)(fn)
    return p.tools[0]


def assert_portable(schema):
    """No finding of the profile; and where the OpenAI Agents SDK is installed, its strict-mode
    conversion changes nothing."""
    assert findings(schema) == [], schema
    try:
        from agents.strict_schema import ensure_strict_json_schema
    except ImportError:
        return
    assert ensure_strict_json_schema(copy.deepcopy(schema)) == schema


# ------------------------------------------------------------------------------------------------ the schema


def test_no_parameters_is_a_closed_empty_object():
    def ping() -> str:
        return "pong"

    schema, _ = function_schema(ping)
    assert schema == {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    assert_portable(schema)


def test_optional_and_defaulted_parameters_are_required_and_nullable():
    def f(a: int, b: Optional[str] = None, c: int = 3, d: str = ",", e: Optional[int] = 5):
        """F.

        Args:
            a: The a.
            c: How many.
            d: The separator.
        """

    schema, _ = function_schema(f)
    assert schema["required"] == ["a", "b", "c", "d", "e"]
    props = schema["properties"]
    assert props["a"] == {"type": "integer", "description": "The a."}
    assert props["b"] == {"anyOf": [{"type": "string"}, NULL]}  # default None: nothing to say
    assert props["c"] == {"anyOf": [{"type": "integer"}, NULL], "description": "How many. Default: 3."}
    assert props["d"] == {"anyOf": [{"type": "string"}, NULL], "description": 'The separator. Default: ",".'}
    assert props["e"] == {"anyOf": [{"type": "integer"}, NULL], "description": "Default: 5."}
    assert "default" not in str(schema)
    assert_portable(schema)


def test_properties_are_sorted_by_name_and_all_required():
    def f(zeta: int, alpha: str = "a", mid: Optional[bool] = None):
        pass

    schema, _ = function_schema(f)
    assert list(schema["properties"]) == schema["required"] == ["alpha", "mid", "zeta"]


def test_required_optional_type_stays_nullable_without_a_default():
    def f(x: Optional[int]):
        pass

    schema, _ = function_schema(f)
    assert schema["properties"]["x"] == {"anyOf": [{"type": "integer"}, NULL]}
    assert schema["required"] == ["x"]


def test_unions_are_any_of_never_type_arrays():
    assert portable_schema_of(int | str) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert portable_schema_of(int | str | None) == {"anyOf": [{"type": "integer"}, {"type": "string"}, NULL]}
    assert portable_schema_of(Optional[list[int]]) == {"anyOf": [{"type": "array", "items": {"type": "integer"}}, NULL]}
    # the plain (output) schema is unchanged
    assert schema_of(Optional[str]) == {"type": ["string", "null"]}


def test_dataclasses_and_typeddicts_are_closed_with_every_field_required():
    assert portable_schema_of(Window) == {
        "type": "object",
        "description": "A window.",
        "properties": {  # sorted by name, as the host publishes them
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, NULL], "description": "Labels. Default: []."},
            "title": {"anyOf": [{"type": "string"}, NULL], "description": 'Shown on top. Default: "untitled".'},
            "width": {"type": "integer", "description": "In pixels."},
        },
        "required": ["tags", "title", "width"],
        "additionalProperties": False,
    }
    assert portable_schema_of(Filter) == {
        "type": "object",
        "properties": {"column": {"type": "string"}, "value": {"anyOf": [{"type": "string"}, NULL]}},
        "required": ["column", "value"],
        "additionalProperties": False,
    }
    nested = portable_schema_of(Optional[list[Window]])
    assert_portable({"type": "object", "properties": {"w": nested}, "required": ["w"], "additionalProperties": False})
    # output schemas keep the plain form
    assert schema_of(Window)["required"] == ["width"] and "additionalProperties" not in schema_of(Window)


def test_descriptions_sit_beside_any_of():
    schema = portable_schema_of(Optional[Window])
    assert schema["description"] == "A window." and "description" not in schema["anyOf"][0]


def test_rewritten_types_keep_their_meaning_in_text():
    assert portable_schema_of(bytes) == {"type": "string", "description": "Base64-encoded bytes."}
    assert portable_schema_of(set[str]) == {"type": "array", "items": {"type": "string"}}
    assert portable_schema_of(tuple[int, int]) == {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
    assert portable_schema_of(tuple[int, str]) == {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "minItems": 2,
        "maxItems": 2,
        "description": "Exactly 2 items, in this order: integer, string.",
    }
    assert portable_schema_of(Literal["a", "b"]) == {"type": "string", "enum": ["a", "b"]}
    assert portable_schema_of(Size) == {"type": "string", "enum": ["small", "large"]}
    assert portable_schema_of(Level) == {"type": "integer", "minimum": 1, "maximum": 3, "description": "One of: 1, 3."}
    assert portable_schema_of(Literal[7]) == {"type": "integer", "minimum": 7, "maximum": 7}
    assert portable_schema_of(Literal["auto", 0]) == {
        "anyOf": [{"type": "string", "enum": ["auto"]}, {"type": "integer", "minimum": 0, "maximum": 0}],
    }


def test_annotated_keywords_in_the_profile_go_on_their_branch():
    def f(n: Annotated[Optional[int], "How many", {"minimum": 1, "maximum": 9}] = None,
          when: Annotated[str, {"format": "date-time", "title": "When"}] = "2020-01-01T00:00:00Z",
          tags: Annotated[list[str], {"maxItems": 3, "examples": [["a", "b"]]}] = ()):
        pass

    schema, _ = function_schema(f)
    props = schema["properties"]
    assert props["n"] == {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 9}, NULL], "description": "How many"}
    assert props["when"]["anyOf"][0] == {"type": "string", "format": "date-time"} and props["when"]["title"] == "When"
    assert props["tags"]["anyOf"][0]["maxItems"] == 3
    assert props["tags"]["description"] == 'Example: ["a", "b"]. Default: [].'
    assert_portable(schema)


@pytest.mark.parametrize(
    "hint, message",
    [
        (Annotated[str, {"minLength": 1}], "`minLength` is not portable"),
        (Annotated[str, {"maxLength": 1}], "use a `pattern`"),
        (Annotated[int, {"exclusiveMinimum": 0}], "use `minimum`"),
        (Annotated[int, {"multipleOf": 2}], "`multipleOf` is not portable"),
        (Annotated[int, {"default": 2}], "Python default"),
        (Annotated[str, {"format": "email"}], "format 'email' is not portable"),
        (Annotated[int, {"enum": [1, 2]}], "enum lists strings only"),
        (Annotated[int, {"pattern": "^1$"}], "`pattern` applies to string values, not to integer"),
        (Annotated[list[int], {"uniqueItems": True}], "set[...]"),
        (Annotated[str, {"oneOf": []}], "`oneOf` is not portable"),
    ],
)
def test_keywords_outside_the_profile_are_refused_when_the_tool_is_declared(hint, message):
    def f(x: hint):  # type: ignore[valid-type]
        pass

    f.__annotations__ = {"x": hint}
    with pytest.raises(TypeError, match=r"f: parameter x: .*" + message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        tool_of(f)


def test_recursive_types_are_refused():
    def f(t: Tree):
        pass

    with pytest.raises(TypeError, match="refers to itself"):
        tool_of(f)


def test_free_form_values_are_emitted_and_reported():
    def f(labels: dict[str, str], anything: Any, **rest):
        pass

    t = tool_of(f)
    assert t.input_schema["properties"]["labels"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert t.input_schema["properties"]["anything"] == {}
    assert "additionalProperties" not in t.input_schema  # **rest: open
    assert len(t.not_portable) == 3 and "**rest" in t.not_portable[2]
    assert findings(t.input_schema)  # the host reports it

    def g(a: int, w: Optional[Window] = None, kinds: Literal[1, 2] = 1):
        pass

    assert tool_of(g).not_portable == ()


# ------------------------------------------------------------------------------------------------ null = not given


def make() -> Plugin:
    p = Plugin()

    @p.tool
    def show(a: int, top: int = 3, sep: str = ",", cols: Optional[list[str]] = None, maybe: Optional[int] = 5) -> dict:
        return {"a": a, "top": top, "sep": sep, "cols": cols, "maybe": maybe}

    @p.tool
    def need(x: Optional[int]) -> dict:
        return {"x": x}

    @p.tool
    def win(w: Window, f: Optional[Filter] = None) -> dict:
        return {"title": w.title, "tags": w.tags, "filter": f}

    return p


def test_null_for_an_optional_parameter_is_its_default():
    p = make()
    everything_null = {"a": 1, "top": None, "sep": None, "cols": None, "maybe": None}
    assert p.call_tool("show", everything_null).structured_content == {"a": 1, "top": 3, "sep": ",", "cols": None, "maybe": 5}
    assert p.call_tool("show", {"a": 1}).structured_content["top"] == 3  # missing: the default too
    assert p.call_tool("show", {"a": 1, "top": 7, "maybe": 0}).structured_content == {
        "a": 1, "top": 7, "sep": ",", "cols": None, "maybe": 0}


def test_null_for_a_parameter_without_a_default_is_none():
    assert make().call_tool("need", {"x": None}).structured_content == {"x": None}


def test_null_for_an_optional_field_is_its_default():
    p = make()
    out = p.call_tool("win", {"w": {"width": 3, "title": None, "tags": None}, "f": {"column": "c", "value": None}})
    assert out.structured_content == {"title": "untitled", "tags": [], "filter": {"column": "c"}}
    out = p.call_tool("win", {"w": {"width": 3, "title": "T", "tags": ["x"]}, "f": None})
    assert out.structured_content == {"title": "T", "tags": ["x"], "filter": None}


def test_every_schema_the_tools_publish_is_portable():
    for t in make().tools:
        assert_portable(t.input_schema)
