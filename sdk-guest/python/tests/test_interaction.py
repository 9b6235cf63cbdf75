"""Tests of what capsule:plugin@0.2.0 added to the Python SDK: input required (elicitation,
sampling, roots) and the resumption, completions, client capabilities, resource updates; natively,
and through the component glue (`_component`) against bindings componentize-py generates from
the SDK's WIT.

    python -m pytest sdk-guest/python/tests -q
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import pytest

SDK = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SDK))

import capsule_plugin  # noqa: E402
from capsule_plugin import (  # noqa: E402
    ClientCapabilities,
    Completion,
    InputRequired,
    InvalidArguments,
    NotFound,
    Plugin,
    PromptResult,
    Resumption,
    Text,
    ToolResult,
    assistant,
    client_capabilities,
    elicit,
    elicit_url,
    list_roots,
    native_host,
    resource_updated,
    sample,
    user,
)


@dataclass
class Contact:
    name: str
    age: int = 0
    team: Literal["red", "blue"] = "red"
    note: Optional[str] = None


@dataclass
class Booked:
    who: str
    seats: int


def booking_plugin() -> Plugin:
    p = Plugin()

    @p.tool
    def book(seats: int, answers: Optional[Resumption] = None) -> Booked | InputRequired:
        """Book seats for someone the user names."""
        if answers is None:
            return InputRequired(elicit("who", "Who are the seats for?", Contact), state={"seats": seats})
        contact = answers.elicited("who", Contact)
        if contact is None:
            return ToolResult.error(f"not booked: the user chose {answers.action('who') or 'nothing'}")
        return Booked(contact.name, answers.state_json()["seats"])

    @p.tool
    def roots_and_model(answers: Resumption | None = None) -> str:
        if answers is None or "roots" not in answers:
            return InputRequired(list_roots("roots"), sample("title", "Name this project", max_tokens=20))
        names = [r.get("name", r["uri"]) for r in answers.roots("roots") or []]
        return f"{answers.sampled_text('title')}: {', '.join(names)}"

    @p.prompt
    def review(topic: str, depth: Literal["quick", "deep"] = "quick", resume: Optional[Resumption] = None):
        if resume is None:
            return InputRequired(elicit("focus", f"What should the {depth} review of {topic} focus on?",
                                        {"type": "object", "properties": {"focus": {"type": "string"}}}),
                                 state=b"\x00raw")
        focus = (resume.elicited("focus") or {}).get("focus", "anything")
        return [user(f"Review {topic} ({depth}), focusing on {focus}."), assistant(f"state={resume.state!r}")]

    @p.resource_template("files://{name}")
    def files(name: str) -> str:
        return name

    @p.completion(prompt="review", argument="topic")
    def topics(value: str, context: dict[str, str]) -> list[str]:
        return [t for t in ("python", "pytest", "rust") if t.startswith(value)] + [f"depth={context.get('depth')}"]

    @p.completion(template="files://{name}", argument="name")
    def names(value: str) -> list[str]:
        return [f"{value}{i}" for i in range(150)]

    return p


# ------------------------------------------------------------------------------------------------ input required


def test_first_round_asks_with_state_and_the_schema_hides_the_resumption():
    p = booking_plugin()
    book = p.tools[0]
    assert book.input_schema == {"type": "object", "properties": {"seats": {"type": "integer"}}, "required": ["seats"],
                                 "additionalProperties": False}
    # The output schema is the finished result's; InputRequired is left out of it.
    assert book.output_schema["properties"] == {"who": {"type": "string"}, "seats": {"type": "integer"}}
    asked = p.call_tool("book", {"seats": 2})
    assert isinstance(asked, InputRequired)
    [request] = asked.requests
    assert (request.key, request.kind) == ("who", "elicitation")
    assert request.params["message"] == "Who are the seats for?"
    schema = request.params["requestedSchema"]
    assert schema["type"] == "object" and schema["required"] == ["name"]
    assert schema["properties"]["team"] == {"type": "string", "enum": ["red", "blue"], "default": "red"}
    assert schema["properties"]["note"]["type"] == "string"  # Optional[str] → one type
    assert asked.state == b'{"seats":2}'


def test_next_round_reads_answers_by_key_and_the_state():
    p = booking_plugin()
    state = p.call_tool("book", {"seats": 2}).state
    accepted = Resumption({"who": '{"action": "accept", "content": {"name": "Ada", "age": 36}}'}, state)
    out = p.call_tool("book", '{"seats": 2}', resume=accepted)
    assert out.structured_content == {"who": "Ada", "seats": 2}
    declined = p.call_tool("book", {"seats": 2}, resume=Resumption([("who", '{"action": "decline"}')], state))
    assert declined.is_error and declined.content == [Text("not booked: the user chose decline")]
    # A client may leave keys out: the handler sees no answer.
    missing = p.call_tool("book", {"seats": 2}, resume=Resumption({}, state))
    assert missing.content == [Text("not booked: the user chose nothing")]
    # An accepted answer that does not fit the type is invalid arguments.
    with pytest.raises(InvalidArguments, match="who.name"):
        p.call_tool("book", {"seats": 2}, resume=Resumption({"who": {"action": "accept", "content": {"name": 5}}}, state))


def test_roots_and_sampling():
    p = booking_plugin()
    asked = p.call_tool("roots_and_model")
    assert [(r.key, r.kind) for r in asked.requests] == [("roots", "list-roots"), ("title", "sampling")]
    assert asked.requests[0].params is None
    assert asked.requests[1].params == {
        "messages": [{"role": "user", "content": {"type": "text", "text": "Name this project"}}], "maxTokens": 20}
    assert asked.state is None
    answers = Resumption({
        "roots": '{"roots": [{"uri": "file:///src", "name": "src"}, {"uri": "file:///doc"}]}',
        "title": '{"role": "assistant", "content": {"type": "text", "text": "Capsule"}, "model": "m"}',
    })
    assert p.call_tool("roots_and_model", resume=answers).content == [Text("Capsule: src, file:///doc")]


def test_prompts_ask_too():
    p = booking_plugin()
    assert [a.name for a in p.prompts[0].arguments] == ["topic", "depth"]
    asked = p.get_prompt("review", {"topic": "tests"})
    assert isinstance(asked, InputRequired) and asked.state == b"\x00raw"
    assert asked.request("focus").params["message"] == "What should the quick review of tests focus on?"
    out = p.get_prompt("review", [("topic", "tests"), ("depth", "deep")],
                       resume=Resumption({"focus": '{"action":"accept","content":{"focus":"speed"}}'}, b"\x00raw"))
    assert isinstance(out, PromptResult)
    assert out.messages[0].content == "Review tests (deep), focusing on speed."
    assert out.messages[1].content == "state=b'\\x00raw'"


def test_request_builders():
    e = elicit_url("login", "Sign in", "https://example.com/auth", "e-1")
    assert e.params == {"mode": "url", "message": "Sign in", "url": "https://example.com/auth", "elicitationId": "e-1"}
    assert elicit("ok", "Go on?").params["requestedSchema"] == {"type": "object", "properties": {}}
    s = sample("s", [user("hi"), assistant("hello"), user(capsule_plugin.Image(b"\x01", "image/png"))], 50,
               system_prompt="Be brief.", temperature=0.2, stopSequences=["\n"])
    assert s.params["messages"][1] == {"role": "assistant", "content": {"type": "text", "text": "hello"}}
    assert s.params["messages"][2]["content"] == {"type": "image", "data": "AQ==", "mimeType": "image/png"}
    assert (s.params["systemPrompt"], s.params["temperature"], s.params["stopSequences"]) == ("Be brief.", 0.2, ["\n"])
    raw = {"messages": [], "maxTokens": 5, "includeContext": "none"}
    assert sample("r", raw).params == raw
    with pytest.raises(TypeError, match="object schema"):
        elicit("x", "m", int)
    with pytest.raises(ValueError, match="non-empty"):
        list_roots("")


def test_input_required_is_checked_early():
    with pytest.raises(ValueError, match="at least one request"):
        InputRequired()
    with pytest.raises(ValueError, match="'a' is used twice"):
        InputRequired(list_roots("a"), elicit("a", "m"))
    with pytest.raises(ValueError, match="over the host's limit of 16384"):
        InputRequired(list_roots("a"), state=b"x" * 16385)
    with pytest.raises(TypeError, match="not an input request"):
        InputRequired("roots")
    assert InputRequired([list_roots("a"), list_roots("b")], state="é").state == "é".encode()
    assert len(InputRequired(list_roots("a"), state=b"x" * 16384).state) == 16384


def test_resumption_helpers():
    r = Resumption({"bad": "not json", "e": '{"action": "cancel"}', "s": '{"content": [{"type": "text", "text": "a"},'
                    ' {"type": "image", "data": ""}, {"type": "text", "text": "b"}]}'})
    assert r.get("bad") == "not json" and r.action("bad") is None and r.elicited("bad") is None
    assert r.action("e") == "cancel" and r.elicited("e") is None
    assert r.sampled_text("s") == "ab" and r.sampled_text("e") is None
    assert r.roots("e") is None and r.roots("nope") is None
    assert r.state is None and r.state_json() is None
    assert "e" in r and "x" not in r


# ------------------------------------------------------------------------------------------------ completions


def test_completions():
    p = booking_plugin()
    assert p.complete("topic", "py", prompt="review", context={"depth": "deep"}) == Completion(
        ["python", "pytest", "depth=deep"], 3, False)
    # Literal arguments complete by themselves.
    assert p.complete("depth", "D", prompt="review").values == ["deep"]
    assert p.complete("depth", "", prompt="review").values == ["quick", "deep"]
    # Long lists are cut at 100, with the total and has_more.
    many = p.complete("name", "f", template="files://{name}", context=[("x", "y")])
    assert (len(many.values), many.total, many.has_more) == (100, 150, True)
    assert many.values[0] == "f0"
    # Nothing to suggest: an empty completion.
    assert p.complete("resume", "", prompt="review") == Completion()
    with pytest.raises(NotFound, match="unknown prompt `nope`"):
        p.complete("a", "", prompt="nope")
    with pytest.raises(NotFound, match="unknown resource template `x://{y}`"):
        p.complete("y", "", template="x://{y}")
    p.check()


def test_completion_declarations_are_checked():
    assert Completion.of(Completion(["a"] * 120, total=3)) == Completion(["a"] * 100, 100, True)
    assert Completion.of(None) == Completion()
    with pytest.raises(TypeError, match="list of strings"):
        Completion.of("abc")
    p = Plugin()
    with pytest.raises(TypeError, match="exactly one of prompt= or template="):
        p.completion(argument="a")
    p.completion(prompt="missing", argument="a")(lambda value: [])
    with pytest.raises(ValueError, match="unknown prompt 'missing'"):
        p.check()
    p = Plugin()
    p.prompt(name="q")(lambda a: "x")
    p.completion(prompt="q", argument="b")(lambda value: [])
    with pytest.raises(ValueError, match="unknown argument 'b' of prompt 'q'"):
        p.check()
    p = Plugin()
    p.resource_template("t://{v}")(lambda v: "x")
    p.completion(template="t://{v}", argument="w")(lambda value: [])
    with pytest.raises(ValueError, match="unknown variable 'w'"):
        p.check()
    with pytest.raises(ValueError, match="two completers"):
        p.completion(template="t://{v}", argument="w")(lambda value: [])


# ------------------------------------------------------------------------------------------------ host functions


def test_client_capabilities_and_resource_updated(monkeypatch):
    monkeypatch.setattr(native_host, "capabilities", {"elicitation": {}, "roots": {"listChanged": True}})
    monkeypatch.setattr(native_host, "updated", [])
    caps = client_capabilities()
    assert isinstance(caps, dict) and caps["roots"] == {"listChanged": True}
    assert (caps.elicitation, caps.elicitation_url, caps.sampling, caps.roots) == (True, False, False, True)
    assert caps.supports(list_roots("r")) and not caps.supports(sample("s", "x"))
    url_only = ClientCapabilities({"elicitation": {"url": {}}})
    assert not url_only.elicitation and url_only.elicitation_url
    assert url_only.supports(elicit_url("u", "m", "https://x", "1")) and not url_only.supports(elicit("e", "m"))
    assert ClientCapabilities({"elicitation": {"form": {}, "url": {}}}).elicitation
    assert ClientCapabilities.parse("[1]") == {} and ClientCapabilities.parse("{bad") == {}
    assert ClientCapabilities.parse('{"sampling": {}}').sampling
    resource_updated("files://a")
    assert native_host.updated == ["files://a"]


# ------------------------------------------------------------------------------------------------ the component glue


@pytest.fixture(scope="module")
def glue():
    """`capsule_plugin._component` imported against bindings that componentize-py generates from
    the SDK's WIT (full-plugin world), as inside a component."""
    exe = shutil.which("componentize-py", path=str(Path(sys.executable).parent)) or shutil.which("componentize-py")
    if exe is None:
        pytest.skip("componentize-py is not installed")
    out = Path(__import__("tempfile").mkdtemp(prefix="capsule-py-bindings-"))
    subprocess.run([exe, "-d", str(SDK / "capsule_plugin" / "wit"), "-w", "full-plugin", "bindings", str(out)],
                   check=True)
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("capsule_plugin._component")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] in ("wit_world", "componentize_py_types")
                     or m == "capsule_plugin._component"]:
            del sys.modules[name]
        shutil.rmtree(out, ignore_errors=True)


def test_glue_maps_outcomes_and_resumptions(glue, monkeypatch):
    from componentize_py_types import Err
    from wit_world.exports import completions as wc
    from wit_world.exports import prompts as wp
    from wit_world.exports import tools as wt
    from wit_world.imports import types as ty

    monkeypatch.setattr(capsule_plugin, "plugin", booking_plugin())
    tools = glue.Tools()
    first = tools.call_tool("book", '{"seats": 3}', None)
    assert isinstance(first, wt.CallOutcome_InputRequired)
    [(key, request)] = first.value.requests
    assert key == "who" and isinstance(request, ty.InputRequest_Elicitation)
    assert '"requestedSchema"' in request.value and first.value.state == b'{"seats":3}'
    again = tools.call_tool("book", '{"seats": 3}', ty.Resumption(
        [("who", '{"action":"accept","content":{"name":"Bo"}}')], first.value.state))
    assert isinstance(again, wt.CallOutcome_Complete)
    assert again.value.structured_content == '{"who": "Bo", "seats": 3}'
    roots = tools.call_tool("roots_and_model", "{}", None).value.requests
    assert isinstance(roots[0][1], ty.InputRequest_ListRoots) and isinstance(roots[1][1], ty.InputRequest_Sampling)
    with pytest.raises(Err) as info:
        tools.call_tool("nope", "{}", None)
    assert isinstance(info.value.value, ty.Error_NotFound)

    prompts = glue.Prompts()
    asked = prompts.get_prompt("review", [("topic", "x")], None)
    assert isinstance(asked, wp.PromptOutcome_InputRequired) and asked.value.state == b"\x00raw"
    done = prompts.get_prompt("review", [("topic", "x")], ty.Resumption([], b"\x00raw"))
    assert isinstance(done, wp.PromptOutcome_Complete)
    assert done.value.messages[0].content.value.text == "Review x (quick), focusing on anything."

    completions = glue.Completions()
    got = completions.complete(wc.CompletionReference_Prompt("review"), "topic", "ru", [("depth", "quick")])
    assert got == wc.Completion(["rust", "depth=quick"], 2, False)
    got = completions.complete(wc.CompletionReference_ResourceTemplate("files://{name}"), "name", "", [])
    assert (len(got.values), got.total, got.has_more) == (100, 150, True)
    with pytest.raises(Err) as info:
        completions.complete(wc.CompletionReference_Prompt("nope"), "a", "", [])
    assert isinstance(info.value.value, ty.Error_NotFound)


def test_plain_handlers_keep_working_through_the_glue(glue, monkeypatch):
    from wit_world.exports import prompts as wp
    from wit_world.exports import tools as wt

    p = Plugin()
    p.tool(name="hi")(lambda: "hello")
    p.prompt(name="q")(lambda: "a question")
    monkeypatch.setattr(capsule_plugin, "plugin", p)
    out = glue.Tools().call_tool("hi", "{}", None)
    assert isinstance(out, wt.CallOutcome_Complete) and out.value.content[0].value.text == "hello"
    # A resumption for a handler that takes none is simply not passed on.
    out = glue.Tools().call_tool("hi", "{}", __import__("wit_world").imports.types.Resumption([], None))
    assert isinstance(out, wt.CallOutcome_Complete)
    got = glue.Prompts().get_prompt("q", [], None)
    assert isinstance(got, wp.PromptOutcome_Complete) and got.value.messages[0].content.value.text == "a question"
    assert glue.Completions().complete(__import__("wit_world").exports.completions.CompletionReference_Prompt("q"),
                                       "a", "", []).values == []


def test_task_support_reaches_the_listed_tool_meta(glue, monkeypatch):
    import json

    p = Plugin()
    p.tool(name="plain")(lambda: "x")
    p.tool(name="crawl", task_support="optional", meta={"ui": {"icon": "clock"}})(lambda: "x")
    monkeypatch.setattr(capsule_plugin, "plugin", p)
    listed = {t.name: t.meta for t in glue.Tools().list_tools()}
    assert listed["plain"] is None
    assert json.loads(listed["crawl"]) == {"ui": {"icon": "clock"}, "capsule/taskSupport": "optional"}
