"""Native unit tests of the tabular plugin (no component): `python -m pytest plugins/tabular -q`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1] / "sdk-guest" / "python"), str(HERE)]

import tabular  # noqa: E402
from capsule_plugin import Denied, InputRequired, InvalidArguments, NotFound, Resumption, native_host, plugin  # noqa: E402


@pytest.fixture
def data(monkeypatch):
    monkeypatch.setattr(tabular, "DATA", str(HERE / "data"))
    return HERE / "data"


def test_inline_summary():
    out = plugin.call_tool("summarize", {"csv_text": "n,word\n1,a\n2,b\n3,a\n,\n", "top": 1}).structured_content
    assert out["rows"] == 4
    n, word = out["columns"]
    assert (n["kind"], n["count"], n["missing"], n["mean"], n["median"], n["stdev"]) == ("number", 3, 1, 2.0, 2.0, 1.0)
    assert (word["kind"], word["distinct"], word["top"]) == ("text", 2, [{"value": "a", "count": 2}])


def test_tool_schemas_are_portable():
    sys.path.insert(0, str(HERE.parents[1] / "sdk-guest" / "python" / "tests"))
    from portable_profile import findings

    for t in plugin.tools:
        assert findings(t.input_schema) == [], (t.name, t.input_schema)
        assert t.not_portable == ()
    summarize = next(t for t in plugin.tools if t.name == "summarize").input_schema
    assert summarize["required"] == ["columns", "csv_text", "delimiter", "top"]  # sorted by name
    assert summarize["properties"]["delimiter"] == {
        "anyOf": [{"type": "string", "pattern": "^.$"}, {"type": "null"}],
        "description": 'The field separator, one character. Default: ",".',
    }
    assert summarize["properties"]["top"]["description"].endswith("Default: 3.")


def test_every_property_filled_with_null_means_the_defaults(data):
    csv_text = "n,word\n1,a\n2,b\n3,a\n"
    nulls = plugin.call_tool("summarize", {"csv_text": csv_text, "columns": None, "delimiter": None, "top": None})
    assert nulls.structured_content == plugin.call_tool("summarize", {"csv_text": csv_text}).structured_content
    assert nulls.structured_content["columns"][1]["top"] == [{"value": "a", "count": 2}, {"value": "b", "count": 1}]
    out = plugin.call_tool("summarize_file", {"path": "sales.tsv", "columns": None, "delimiter": None, "top": None})
    assert out.structured_content["rows"] == 10 and len(out.structured_content["columns"]) == 5


def test_bad_input_is_invalid_arguments():
    with pytest.raises(InvalidArguments, match="empty"):
        plugin.call_tool("summarize", {"csv_text": ""})
    with pytest.raises(InvalidArguments, match="no column named 'z'"):
        plugin.call_tool("summarize", {"csv_text": "a\n1", "columns": ["z"]})
    with pytest.raises(InvalidArguments, match="malformed CSV at line 2"):
        plugin.call_tool("summarize", {"csv_text": 'a,b\n"x"y,1'})


def test_files(data):
    out = plugin.call_tool("summarize_file", {"path": "sales.tsv", "columns": ["units"]}).structured_content
    assert out["rows"] == 10 and out["columns"][0]["missing"] == 1
    with pytest.raises(NotFound):
        plugin.call_tool("summarize_file", {"path": "nope.csv"})
    assert [r.uri for r in plugin.list_resources()] == ["tabular://cities.csv", "tabular://sales.tsv"]
    contents = plugin.read_resource("tabular://cities.csv")[0]
    assert contents.mime_type == "text/csv" and contents.text.startswith("city,country")
    with pytest.raises(InvalidArguments):
        plugin.read_resource("tabular://..%2Fsecret.csv")
    prompt = plugin.get_prompt("analyze", {"name": "cities.csv"})
    assert "10 rows and 5 columns" in prompt.messages[1].content


def test_file_names_complete(data):
    assert plugin.complete("name", "", prompt="analyze").values == ["cities.csv", "sales.tsv"]
    assert plugin.complete("name", "Ci", template="tabular://{name}").values == ["cities.csv"]
    assert plugin.complete("question", "", prompt="analyze").values == []
    plugin.check()


def test_without_the_grant(monkeypatch):
    monkeypatch.setattr(tabular, "DATA", "/nonexistent-capsule-data")
    assert plugin.list_resources() == []
    assert plugin.complete("name", "c", prompt="analyze").values == []
    with pytest.raises(Denied, match="operator must grant"):
        plugin.call_tool("summarize_file", {"path": "cities.csv"})


CITIES_FACTS = "10 rows and 5 columns: city, country, population, area_km2, founded"


def test_describe_asks_the_user_then_answers(data):
    asked = plugin.call_tool("describe", {"path": "cities.csv"})
    assert isinstance(asked, InputRequired) and asked.state is None
    question = asked.request("focus")
    assert question.kind == "elicitation"
    assert question.params["message"] == "What should the description of cities.csv focus on?"
    schema = question.params["requestedSchema"]
    assert schema["properties"]["focus"]["type"] == "string" and schema["required"] == ["focus"]

    accepted = Resumption({"focus": {"action": "accept", "content": {"focus": " the largest cities "}}})
    done = plugin.call_tool("describe", {"path": "cities.csv"}, resume=accepted)
    assert text_of(done) == f"cities.csv (focus: the largest cities)\n{CITIES_FACTS}"

    empty = Resumption({"focus": {"action": "accept", "content": {"focus": ""}}})
    assert text_of(plugin.call_tool("describe", {"path": "cities.csv"}, resume=empty)).startswith(
        "cities.csv (focus: everything)\n")
    declined = Resumption({"focus": {"action": "decline"}})
    assert text_of(plugin.call_tool("describe", {"path": "cities.csv"}, resume=declined)) == "Not described (decline)."
    # A retry without the answer asks again.
    again = plugin.call_tool("describe", {"path": "cities.csv"}, resume=Resumption({"other": {}}))
    assert isinstance(again, InputRequired) and again.request("focus")


def test_describe_has_the_model_write_when_the_client_samples(data, monkeypatch):
    monkeypatch.setattr(native_host, "capabilities", {"elicitation": {}, "sampling": {}})
    accepted = Resumption({"focus": {"action": "accept", "content": {"focus": "population"}}})
    asked = plugin.call_tool("describe", {"path": "sales.tsv"}, resume=accepted)
    assert isinstance(asked, InputRequired) and asked.state == b"population"
    params = asked.request("description").params
    assert params["maxTokens"] == 200
    prompt_text = params["messages"][0]["content"]["text"]
    assert "sales.tsv" in prompt_text and "population" in prompt_text and "10 rows and 5 columns" in prompt_text

    sampled = {"role": "assistant", "content": {"type": "text", "text": "Ten sales."}, "model": "m"}
    done = plugin.call_tool("describe", {"path": "sales.tsv"},
                            resume=Resumption({"description": sampled}, state=asked.state))
    assert text_of(done) == ("sales.tsv (focus: population)\n"
                             "10 rows and 5 columns: date, region, product, units, revenue\nTen sales.")


def test_describe_checks_the_file_before_asking(data):
    with pytest.raises(NotFound):
        plugin.call_tool("describe", {"path": "nope.csv"})


def text_of(result) -> str:
    assert not isinstance(result, InputRequired), result
    assert not result.is_error, result
    return "\n".join(block.text for block in result.content)
