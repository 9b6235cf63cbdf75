"""Unit tests of the Python guest SDK, run natively (no component): schemas from hints, argument
conversion, result shapes, dispatch and the error mapping.

    python -m pytest sdk-guest/python/tests -q
"""

from __future__ import annotations

import enum
import json
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, TypedDict

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capsule_plugin import (  # noqa: E402
    Denied,
    EmbeddedResource,
    FilesystemRequest,
    Image,
    InvalidArguments,
    Message,
    NotFound,
    Plugin,
    PromptResult,
    TASK_SUPPORT_KEY,
    Resource,
    ResourceContents,
    TaskSupport,
    Text,
    ToolResult,
    assistant,
    user,
)
from capsule_plugin.__main__ import WORLDS, entry_source  # noqa: E402
from capsule_plugin._errors import classify  # noqa: E402
from capsule_plugin._schema import convert, parse_docstring, schema_of, to_json  # noqa: E402
from capsule_plugin._uri_template import UriTemplate  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    """A point.

    Attributes:
        x: Horizontal.
        y: Vertical.
    """

    x: float
    y: float = 0.0


class Movie(TypedDict):
    title: str
    year: int


@dataclass
class Node:
    children: list[Node]


@dataclass
class Report:
    total: int
    items: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ schemas


@pytest.mark.parametrize(
    "hint, schema",
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (Optional[str], {"type": ["string", "null"]}),
        (int | str, {"type": ["integer", "string"]}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Color, {"type": "string", "enum": ["red", "green"]}),
        (tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                           "minItems": 2, "maxItems": 2}),
        (set[str], {"type": "array", "uniqueItems": True, "items": {"type": "string"}}),
        (Annotated[int, "How many", {"minimum": 1}], {"type": "integer", "description": "How many", "minimum": 1}),
        (Any, {}),
        (Optional[list[int]], {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}]}),
    ],
)
def test_schema_of(hint, schema):
    assert schema_of(hint) == schema


def test_dataclass_and_typeddict_schemas():
    assert schema_of(Point) == {
        "type": "object",
        "properties": {
            "x": {"type": "number", "description": "Horizontal."},
            "y": {"type": "number", "description": "Vertical.", "default": 0.0},
        },
        "required": ["x"],
        "description": "A point.",
    }
    assert schema_of(Movie) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
    }


def test_unsupported_and_recursive_hints_are_refused():
    with pytest.raises(TypeError, match="cannot derive"):
        schema_of(complex)

    with pytest.raises(TypeError, match="recursive"):
        schema_of(Node)


def test_docstring_styles():
    google = parse_docstring("""Do a thing
    over two lines.

    Args:
        a: First,
            continued.
        b (int): Second.

    Returns:
        Nothing.
    """)
    assert google == ("Do a thing over two lines.", {"a": "First, continued.", "b": "Second."})
    numpy = parse_docstring("""Do.

    Parameters
    ----------
    a : str
        The a.
    """)
    assert numpy == ("Do.", {"a": "The a."})
    rest = parse_docstring("""Do.

    :param a: The a.
    :returns: x
    """)
    assert rest == ("Do.", {"a": "The a."})


# ------------------------------------------------------------------------------------------------ conversion


def test_convert_builds_typed_values():
    assert convert({"x": 1, "y": 2}, Point) == Point(1.0, 2.0)
    assert convert([{"x": 1}], list[Point]) == [Point(1.0, 0.0)]
    assert convert("green", Color) is Color.GREEN
    assert convert([1, "a"], tuple[int, str]) == (1, "a")
    assert convert(3.0, int) == 3
    assert convert(None, Optional[int]) is None


@pytest.mark.parametrize(
    "value, hint, message",
    [
        ("1", int, "`v` must be an integer, not a string"),
        (True, int, "`v` must be an integer, not a boolean"),
        ([1, "x"], list[int], "`v[1]` must be an integer"),
        ({"y": 1}, Point, "missing field `v.x`"),
        ("blue", Color, "must be one of 'red', 'green'"),
        ("c", Literal["a", "b"], "must be one of 'a', 'b'"),
    ],
)
def test_convert_reports_the_path(value, hint, message):
    with pytest.raises(InvalidArguments, match=message.replace("[", r"\[").replace("]", r"\]")):
        convert(value, hint, "v")


def test_to_json():
    assert to_json(Report(2, ["a"])) == {"total": 2, "items": ["a"]}
    assert to_json({"c": Color.RED, "t": (1, 2), "b": b"hi"}) == {"c": "red", "t": [1, 2], "b": "aGk="}
    with pytest.raises(ValueError):
        to_json(float("nan"))


# ------------------------------------------------------------------------------------------------ tools


def make() -> Plugin:
    p = Plugin()
    p.default_name = "demo"

    @p.tool(read_only=True)
    def add(a: float, b: float = 1.0) -> float:
        """Add two numbers.

        Args:
            a: The first.
            b: The second.
        """
        return a + b

    @p.tool
    def report(items: list[str]) -> Report:
        return Report(len(items), items)

    @p.tool
    def greet(name: str) -> str:
        return f"Hello, {name}!"

    @p.tool
    def ping():
        return None

    @p.tool(name="fail-typed")
    def fail_typed(kind: Literal["invalid", "missing", "denied"]) -> str:
        raise {"invalid": InvalidArguments, "missing": NotFound, "denied": Denied}[kind]("because")

    @p.tool
    def crash() -> str:
        return str(1 / 0)

    @p.tool
    def picture() -> list:
        return [Text("a picture"), Image(b"\x89PNG", "image/png")]

    @p.tool
    def soft_error() -> ToolResult:
        return ToolResult.error("the model should see this")

    return p


def test_tool_schemas_and_annotations():
    p = make()
    add = p.tools[0]
    assert add.name == "add" and add.description == "Add two numbers."
    assert add.input_schema == {
        "type": "object",
        "properties": {
            "a": {"type": "number", "description": "The first."},
            "b": {"anyOf": [{"type": "number"}, {"type": "null"}], "description": "The second. Default: 1.0."},
        },
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    assert add.output_schema == {"type": "object", "properties": {"result": {"type": "number"}}, "required": ["result"]}
    assert add.annotations.read_only_hint is True
    report = p.tools[1]
    assert report.output_schema["properties"]["total"] == {"type": "integer"}
    assert p.tools[2].output_schema is None  # str → text
    assert p.tools[3].input_schema == {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    assert p.world() == "tools-plugin"


def test_tool_results():
    p = make()
    assert p.call_tool("add", '{"a": 2}').structured_content == {"result": 3.0}
    out = p.call_tool("report", {"items": ["x", "y"]})
    assert out.structured_content == {"total": 2, "items": ["x", "y"]}
    assert json.loads(out.content[0].text) == out.structured_content
    assert p.call_tool("greet", {"name": "Ada"}).content == [Text("Hello, Ada!")]
    assert p.call_tool("ping", "").content == []
    assert [type(b).__name__ for b in p.call_tool("picture").content] == ["Text", "Image"]
    soft = p.call_tool("soft_error")
    assert soft.is_error and soft.content == [Text("the model should see this")]


def test_tool_errors_map_to_wit_cases():
    p = make()
    for kind, wit in (("invalid", "invalid-arguments"), ("missing", "not-found"), ("denied", "denied")):
        with pytest.raises(Exception) as info:
            p.call_tool("fail-typed", {"kind": kind})
        assert classify(info.value) == (wit, "because")
    with pytest.raises(ZeroDivisionError) as info:
        p.call_tool("crash")
    assert classify(info.value) == ("internal", "ZeroDivisionError: division by zero")
    assert classify(FileNotFoundError(2, "No such file", "/x"))[0] == "not-found"
    assert classify(PermissionError("nope"))[0] == "denied"
    with pytest.raises(InvalidArguments, match="missing field `a`"):
        p.call_tool("add", {})
    with pytest.raises(InvalidArguments, match="not JSON"):
        p.call_tool("add", "{nope")
    with pytest.raises(NotFound, match="unknown tool `nope`"):
        p.call_tool("nope", {})


@pytest.mark.parametrize("name", ["", "a__b", "_x", "has space", "x" * 65, "dots.no"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid tool name"):
        Plugin().tool(name=name)(lambda: "x")


def test_async_and_duplicate_tools_are_refused():
    p = Plugin()

    async def later() -> str:
        return "x"

    with pytest.raises(TypeError, match="plain `def`"):
        p.tool(later)
    p.tool(name="x")(lambda: "x")
    with pytest.raises(ValueError, match="declared twice"):
        p.tool(name="x")(lambda: "y")


def test_task_support_goes_into_meta():
    p = Plugin()
    own = {"ui": {"icon": "clock"}, "n": 1}

    @p.tool
    def plain() -> str:
        return "x"

    @p.tool(meta=own)
    def mine() -> str:
        return "x"

    @p.tool(task_support="optional")
    def crawl() -> str:
        return "x"

    @p.tool(task_support="required", meta=own)
    def index() -> str:
        return "x"

    @p.tool(task_support="forbidden", meta={"capsule/taskSupport": "required", "x": True})
    def quick() -> str:
        return "x"

    meta = {t.name: t.meta for t in p.tools}
    # Nothing declared: no key, and the author's meta goes out as it is.
    assert meta["plain"] is None
    assert meta["mine"] == {"ui": {"icon": "clock"}, "n": 1}
    assert p.tools[0].task_support is None
    # Declared alone, and merged with the author's meta (which is left unmodified).
    assert meta["crawl"] == {TASK_SUPPORT_KEY: "optional"}
    assert meta["index"] == {"ui": {"icon": "clock"}, "n": 1, "capsule/taskSupport": "required"}
    assert own == {"ui": {"icon": "clock"}, "n": 1}
    # The typed setting wins over the key written by hand, and an explicit "forbidden" is sent.
    assert meta["quick"] == {"capsule/taskSupport": "forbidden", "x": True}
    assert [t.task_support for t in p.tools] == [None, None, "optional", "required", "forbidden"]
    # A tool that may become a task still runs as a plain call.
    assert p.call_tool("crawl").content == [Text("x")]
    assert typing.get_args(TaskSupport) == ("forbidden", "optional", "required")


@pytest.mark.parametrize("bad", ["sometimes", "Optional", "", True, 1, ["optional"]])
def test_bad_task_support_is_refused(bad):
    p = Plugin()
    with pytest.raises(ValueError) as info:
        p.tool(name="crawl", task_support=bad)(lambda: "x")
    message = str(info.value)
    assert message.startswith("tool 'crawl': task_support must be one of 'forbidden', 'optional', 'required', not ")
    assert repr(bad) in message
    assert p.tools == []


def test_task_support_needs_a_dict_meta():
    with pytest.raises(TypeError, match="meta must be a dict"):
        Plugin().tool(name="crawl", task_support="optional", meta=["not", "an", "object"])(lambda: "x")


# ------------------------------------------------------------------------------------------------ resources


def test_resources_and_templates():
    p = Plugin()

    @p.resource("demo://about", mime_type="text/plain")
    def about() -> str:
        """About the demo."""
        return "hello"

    @p.resource("demo://config")
    def config() -> dict:
        return {"debug": False}

    @p.resource_template("demo://{name}/raw", mime_type="application/octet-stream")
    def raw(name: str) -> bytes:
        return name.encode()

    @p.resource_template("demo://{name}")
    def named(name: str, uri: str) -> list[ResourceContents]:
        return [ResourceContents(uri, text=f"named {name}")]

    @p.resource_list
    def listed() -> list[Resource]:
        return [Resource("demo://x", "x")]

    assert [r.uri for r in p.list_resources()] == ["demo://about", "demo://config", "demo://x"]
    assert p.list_resources()[0].description == "About the demo."
    assert p.read_resource("demo://about") == [ResourceContents("demo://about", text="hello", mime_type="text/plain")]
    assert p.read_resource("demo://config") == [
        ResourceContents("demo://config", text='{"debug": false}', mime_type="application/json")]
    assert p.read_resource("demo://a%2Fb/raw")[0].blob == b"a/b"
    assert p.read_resource("demo://x")[0].text == "named x"
    with pytest.raises(NotFound, match="unknown resource `other://x`"):
        p.read_resource("other://x")
    assert p.world() == "resources-plugin"


def test_template_parameters_must_match_variables():
    with pytest.raises(TypeError, match="template's variables"):
        Plugin().resource_template("demo://{name}")(lambda other: "x")


def test_uri_template_rules_are_the_shared_vectors():
    """The vectors the host and every SDK run (tests/vectors/uri_templates.json)."""
    vectors = json.loads((REPO / "tests" / "vectors" / "uri_templates.json").read_text(encoding="utf-8"))
    for case in vectors["cases"]:
        got = UriTemplate(case["template"]).match(case["uri"])
        assert got == case["values"], f"{case['template']} against {case['uri']}"


def test_uri_templates_match_hostile_uris_in_linear_time():
    assert UriTemplate("x://{a}-{b}-{c}").match("x://" + "-" * 20_000 + "/") is None


# ------------------------------------------------------------------------------------------------ prompts


def test_prompts():
    p = Plugin()

    @p.prompt(title="Brainstorm")
    def brainstorm(topic: str, count: int = 5):
        """Ideas about a topic.

        Args:
            topic: What about.
            count: How many.
        """
        return f"Give me {count} ideas about {topic}."

    @p.prompt
    def chat(question: str) -> list[Message]:
        return [user(question), assistant("Let me think."), user(EmbeddedResource(ResourceContents("a://b", text="x")))]

    @p.prompt
    def described(mode: Literal["short", "long"] = "short", loud: bool = False) -> PromptResult:
        return PromptResult([user(f"{mode} {loud}")], description="custom")

    spec = p.prompts[0]
    assert (spec.title, spec.description) == ("Brainstorm", "Ideas about a topic.")
    assert [(a.name, a.required, a.description) for a in spec.arguments] == [
        ("topic", True, "What about."), ("count", False, "How many.")]
    out = p.get_prompt("brainstorm", [("topic", "tea"), ("count", "3")])
    assert out.description == "Ideas about a topic."
    assert out.messages == [Message("user", "Give me 3 ideas about tea.")]
    assert [m.role for m in p.get_prompt("chat", {"question": "q"}).messages] == ["user", "assistant", "user"]
    assert p.get_prompt("described", {"mode": "long", "loud": "yes"}).messages[0].content == "long True"
    assert p.get_prompt("described").description == "custom"
    with pytest.raises(InvalidArguments, match="`count` must be int"):
        p.get_prompt("brainstorm", {"topic": "x", "count": "many"})
    with pytest.raises(InvalidArguments, match="missing required argument `topic`"):
        p.get_prompt("brainstorm", {})
    with pytest.raises(NotFound):
        p.get_prompt("nope", {})
    with pytest.raises(TypeError, match="prompt argument"):
        p.prompt(name="bad")(_takes_list)


def _takes_list(items: list[str]) -> str:
    return ""


# ------------------------------------------------------------------------------------------------ metadata, worlds, build


def test_metadata_and_worlds():
    p = Plugin()
    p.default_name = "stem"
    assert p.describe().name == "stem" and p.world() == "plugin-base"
    m = p.metadata(version="1.2.3", filesystem=[("/data", "read-only", "why")], network=["https://x.org"], env=["K"])
    assert m.name == "stem" and m.filesystem == [FilesystemRequest("/data", "read-only", "why")]
    with pytest.raises(ValueError, match="absolute"):
        FilesystemRequest("data")
    p.tool(name="t")(lambda: "x")
    p.prompt(name="q")(lambda: "x")
    assert p.world() == "tools-prompts-plugin"
    p.resource("a://b")(lambda: "x")
    assert p.world() == "full-plugin"
    assert set(WORLDS) >= {"full-plugin", "plugin-base"}


def test_entry_module_exports_exactly_the_world():
    src = entry_source("app", "tools-resources-plugin", ["decimal"])
    assert "import app" in src and "import decimal" in src
    assert "from capsule_plugin._component import Plugin, Tools, Resources, Completions  #" in src
    # Every world with resources or prompts exports completions (0.2.0); tools alone do not.
    assert "import Plugin, Tools  #" in entry_source("app", "tools-plugin")
    assert "import Plugin, Prompts, Completions  #" in entry_source("app", "prompts-plugin")
    assert "import Plugin  #" in entry_source("app", "plugin-base")


def test_packaged_wit_is_the_repository_wit():
    packaged = Path(__file__).resolve().parents[1] / "capsule_plugin" / "wit" / "plugin.wit"
    assert packaged.read_text() == (REPO / "wit" / "plugin.wit").read_text(), (
        "sdk-guest/python/capsule_plugin/wit/plugin.wit is stale: copy wit/plugin.wit over it "
        "(`make -f sdk-guest/guests.mk guest-wit`)")
