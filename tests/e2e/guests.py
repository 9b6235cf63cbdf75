"""What the parity tests expect of each guest language's example plugin.

One `Guest` per language: the plugin (file stem in CAPSULE_PLUGINS), the host folder granted to it,
and for every row of the parity matrix the request to send and what the answer must show. The
tests in `test_parity.py` are written once against this table.
"""

from __future__ import annotations

import csv
import json
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[2]

# Written next to (not inside) the granted folder: no request may ever return it.
SECRET = "CAPSULE-PARITY-SECRET-5b1d"

Args = dict[str, Any]
Check = Callable[[Any], None]


@dataclass
class Call:
    """A tool call and a check of its structured content (or, with `text`, of its text)."""

    tool: str
    arguments: Args
    check: Check = lambda _: None
    text: bool = False


@dataclass
class Describe:
    """The interactive tool every example plugin has, with the same arguments and behaviour:
    `describe(path)` asks the user what to focus on (elicitation, key `focus`, a form with a
    required string `focus`); with the answer it replies `"<path> (focus: <focus>)\n<facts>"`, or,
    when the client declared sampling, first asks the client's model (key `description`,
    maxTokens 200; the focus travels to that round in the state) and adds the model's text as a
    third line. A declined or cancelled question answers `"Not described (<action>)."`."""

    tool: str
    path: str  # a file in the granted folder
    facts: str  # the plugin's one line about that file (domain-specific)

    def question(self) -> str:
        return f"What should the description of {self.path} focus on?"

    def answer(self, focus: str, model_text: str | None = None) -> str:
        return "\n".join([f"{self.path} (focus: {focus})", self.facts, *([model_text] if model_text else [])])


@dataclass
class Completes:
    """A `completion/complete` request (a prompt argument or a template variable, the value typed
    so far) and the suggestions it must answer, in order. The granted folder is the sample data
    plus the guest's `extra_files`."""

    ref: Literal["prompt", "template"]
    target: str  # the prompt's (namespaced) name, or the URI template
    argument: str
    value: str
    values: list[str]


@dataclass
class Guest:
    language: str
    plugin: str  # file stem: what `make guest-plugins` writes to target/plugins/<plugin>.wasm
    data: Path  # sample files, copied into a temporary folder and granted read-only
    guest_dir: str  # where the plugin sees them
    tools: set[str]
    templates: set[str]
    resources: set[str]  # at least these are listed (from the granted folder)
    prompts: dict[str, dict[str, bool]]  # prompt -> {argument: required}
    call: Call  # an ordinary call
    schema_invalid: Call  # arguments the host's schema check refuses: `check` gets the message
    plugin_invalid: Call  # arguments the plugin itself refuses (invalid-arguments): `check` gets the message
    raises: Call  # the plugin raises/throws/returns an unexpected error: `check` gets the message
    read: tuple[str, Callable[[Path, str], None]]  # (uri, check(granted folder, text the read returns))
    prompt: tuple[str, Args, str]  # (prompt, arguments, text the messages contain)
    file_call: Callable[[str], Call]  # a call on a path relative to the granted folder
    good_file: str  # a file in the granted folder that file_call succeeds on
    escape_uris: list[str]  # template URIs that try to leave the granted folder
    describe: Describe  # the interactive tool
    completions: list[Completes]
    extra_files: dict[str, bytes] = field(default_factory=dict)  # added to the granted copy
    extra_dirs: list[str] = field(default_factory=list)  # subfolders added to the granted copy

    @property
    def secret_name(self) -> str:
        """The secret file beside the grant, with the good file's extension (so only the
        location stands between the plugin and it)."""
        return "secret" + Path(self.good_file).suffix

    def prepare(self, tmp: Path) -> Path:
        """A copy of the sample data in `tmp/data` (plus extra files), and the secret beside it."""
        data = tmp / "data"
        shutil.copytree(self.data, data)
        for name, content in self.extra_files.items():
            (data / name).write_bytes(content)
        for name in self.extra_dirs:
            (data / name).mkdir()
        (tmp / self.secret_name).write_text(f"{SECRET}\n", encoding="utf-8")
        return data


def _contains(*needles: str) -> Check:
    def check(message: str) -> None:
        for needle in needles:
            assert needle in message, f"expected {needle!r} in {message!r}"

    return check


def _same_text(name: str) -> Callable[[Path, str], None]:
    """The read returns the file's text."""

    def check(data: Path, text: str) -> None:
        assert text == (data / name).read_text(encoding="utf-8")

    return check


def _tabular_inline(out: Any) -> None:
    assert out["source"] == "inline" and out["rows"] == 2, out
    x, y = out["columns"]
    assert (x["name"], x["kind"], x["mean"], x["min"], x["max"]) == ("x", "number", 2.0, 1.0, 3.0), x
    assert (y["kind"], y["distinct"]) == ("text", 2), y


def _tabular_cities(out: Any) -> None:
    assert out["rows"] == 10 and out["source"] == "/data/cities.csv", out
    population = next(c for c in out["columns"] if c["name"] == "population")
    assert population["kind"] == "number" and population["max"] == 24870895, population


def _table_facts(path: Path) -> str:
    """tabular's line about a CSV file: its rows and columns."""
    with path.open(encoding="utf-8", newline="") as f:
        header, *rows = [r for r in csv.reader(f) if r]
    return f"{len(rows)} rows and {len(header)} columns: {', '.join(header)}"


_TABULAR_DEFAULTS: Args = {"columns": None, "delimiter": None, "top": None}

PYTHON = Guest(
    language="python",
    plugin="tabular",
    data=REPO / "plugins" / "tabular" / "data",
    guest_dir="/data",
    tools={"tabular_summarize", "tabular_summarize_file", "tabular_describe"},
    templates={"tabular://{name}"},
    resources={"tabular://cities.csv", "tabular://sales.tsv"},
    prompts={"tabular_analyze": {"name": True, "question": False}},
    # Portable schemas (issue #21): every property is required, the optional ones nullable; a null
    # means "not given" (the function's default).
    call=Call("tabular_summarize", {"csv_text": "x,y\n1,a\n3,b\n", **_TABULAR_DEFAULTS}, _tabular_inline),
    schema_invalid=Call("tabular_summarize", {"csv_text": 42, **_TABULAR_DEFAULTS}, _contains("csv_text")),
    plugin_invalid=Call("tabular_summarize", {"csv_text": "a,b\n1,2\n", **_TABULAR_DEFAULTS, "columns": ["z"]},
                        _contains("no column named 'z'", "'a', 'b'")),
    # A Latin-1 file: the plugin's `bytes.decode("utf-8")` raises, the SDK reports the exception.
    raises=Call("tabular_summarize_file", {"path": "latin1.csv", **_TABULAR_DEFAULTS},
                _contains("UnicodeDecodeError", "utf-8")),
    read=("tabular://cities.csv", _same_text("cities.csv")),
    prompt=("tabular_analyze", {"name": "cities.csv"}, "10 rows and 5 columns"),
    file_call=lambda path: Call("tabular_summarize_file", {"path": path, **_TABULAR_DEFAULTS}, _tabular_cities),
    good_file="cities.csv",
    escape_uris=["tabular://..%2Fsecret.csv", "tabular://%2E%2E%2Fsecret.csv"],
    describe=Describe("tabular_describe", "cities.csv", _table_facts(REPO / "plugins" / "tabular" / "data" / "cities.csv")),
    completions=[
        Completes("prompt", "tabular_analyze", "name", "", ["cities.csv", "latin1.csv", "sales.tsv"]),
        Completes("prompt", "tabular_analyze", "name", "C", ["cities.csv"]),
        Completes("template", "tabular://{name}", "name", "s", ["sales.tsv"]),
        Completes("prompt", "tabular_analyze", "question", "x", []),
    ],
    extra_files={"latin1.csv": "name,city\nJosé,Málaga\n".encode("latin-1")},
)

def _headings(*expected: str) -> Check:
    def check(out: Any) -> None:
        assert [h["text"] for h in out["headings"]][: len(expected)] == list(expected), out

    return check


def markdown(language: str, stem: str) -> Guest:
    """The TypeScript plugin, as built by one JS engine into `<stem>.wasm`."""
    return Guest(
        language=language,
        plugin=stem,
        data=REPO / "plugins" / "markdown" / "docs",
        guest_dir="/docs",
        tools={f"{stem}_outline", f"{stem}_render", f"{stem}_section", f"{stem}_outline_file", f"{stem}_describe"},
        templates={"markdown://{name}"},
        resources={"markdown://guide.md", "markdown://changelog.md"},
        prompts={f"{stem}_review": {"name": True, "focus": False}},
        # max_level is optional: published nullable and required (null = the default, 6).
        call=Call(f"{stem}_outline", {"markdown": "# One\n\ntext\n\n## Two\n", "max_level": None}, _headings("One", "Two")),
        schema_invalid=Call(f"{stem}_outline", {"markdown": 5, "max_level": None}, _contains("markdown")),
        plugin_invalid=Call(f"{stem}_section", {"markdown": "# A\n\n## B\n", "heading": "Z"},
                            _contains('no heading "Z"', '"A", "B"')),
        # A Latin-1 file: the SDK's strict UTF-8 decoder throws a TypeError the plugin does not catch.
        raises=Call(f"{stem}_outline_file", {"path": "latin1.md"}, _contains("TypeError", "invalid UTF-8")),
        read=("markdown://guide.md", _same_text("guide.md")),
        prompt=(f"{stem}_review", {"name": "guide.md"}, "Writing plugins"),
        file_call=lambda path: Call(f"{stem}_outline_file", {"path": path}, _headings("Writing plugins")),
        good_file="guide.md",
        escape_uris=["markdown://..%2Fsecret.md", "markdown://%2E%2E%2Fsecret.md"],
        # markdown's line about a document: its headings.
        describe=Describe(
            f"{stem}_describe",
            "guide.md",
            "4 headings: Writing plugins, Choosing a language, Granting files, Read-only or read-write",
        ),
        completions=[
            Completes("prompt", f"{stem}_review", "name", "", ["changelog.md", "guide.md", "latin1.md"]),
            Completes("template", "markdown://{name}", "name", "G", ["guide.md"]),
            Completes("prompt", f"{stem}_review", "focus", "x", []),
        ],
        extra_files={"latin1.md": "# Café\n\nJosé, Málaga\n".encode("latin-1")},
    )


def _crc(hex_value: str, size: int) -> Check:
    def check(out: Any) -> None:
        assert (out["algorithm"], out["hex"], out["bytes"]) == ("crc32", hex_value, size), out
        assert out["value"] == int(hex_value, 16), out

    return check


def _crc_of(path: Path) -> tuple[str, int]:
    raw = path.read_bytes()
    return f"{zlib.crc32(raw):08x}", len(raw)


def _sums_of(name: str) -> Callable[[Path, str], None]:
    """The read returns the file's checksums as JSON, which must agree with zlib's."""

    def check(data: Path, text: str) -> None:
        raw = (data / name).read_bytes()
        assert json.loads(text) == {
            "name": name,
            "bytes": len(raw),
            "crc32": f"{zlib.crc32(raw):08x}",
            "adler32": f"{zlib.adler32(raw):08x}",
        }

    return check


def _file_facts(path: Path) -> str:
    """checksum's line about a file: its size and checksums."""
    raw = path.read_bytes()
    return f"{len(raw)} bytes, CRC-32 {zlib.crc32(raw):08x}, Adler-32 {zlib.adler32(raw):08x}"


C = Guest(
    language="c",
    plugin="checksum",
    data=REPO / "plugins" / "checksum" / "data",
    guest_dir="/data",
    tools={"checksum_checksum", "checksum_checksum_file", "checksum_verify", "checksum_describe"},
    templates={"checksum://{name}"},
    resources={"checksum://check.txt", "checksum://release-notes.txt"},
    prompts={"checksum_verify_file": {"name": True, "published": False}},
    # One required `input` and a required `encoding` (text or base64); `algorithm` is nullable
    # (null = the default, crc32).
    call=Call("checksum_checksum", {"input": "123456789", "encoding": "text", "algorithm": None}, _crc("cbf43926", 9)),
    schema_invalid=Call("checksum_checksum", {"input": "x", "encoding": "text", "algorithm": "md5"}, _contains("algorithm")),
    plugin_invalid=Call("checksum_checksum", {"input": "a*b", "encoding": "base64", "algorithm": None},
                        _contains("`input` is not valid base64")),
    # C has no exceptions: the analogue is an unplanned OS error inside the handler (read() on a
    # directory), which the SDK reports with errno's message through capsule_fail_errno.
    raises=Call("checksum_checksum_file", {"path": "archive", "algorithm": None}, _contains("cannot read /data/archive: ")),
    read=("checksum://check.txt", _sums_of("check.txt")),
    prompt=("checksum_verify_file", {"name": "check.txt", "published": "cbf43926"}, "CRC-32 is cbf43926"),
    file_call=lambda path: Call(
        "checksum_checksum_file",
        {"path": path, "algorithm": None},
        _crc(*_crc_of(REPO / "plugins" / "checksum" / "data" / "check.txt")),
    ),
    good_file="check.txt",
    escape_uris=["checksum://..%2Fsecret.txt", "checksum://%2E%2E%2Fsecret.txt"],
    describe=Describe("checksum_describe", "check.txt", _file_facts(REPO / "plugins" / "checksum" / "data" / "check.txt")),
    completions=[  # files only: the `archive` folder is not suggested
        Completes("prompt", "checksum_verify_file", "name", "", ["check.txt", "release-notes.txt"]),
        Completes("template", "checksum://{name}", "name", "R", ["release-notes.txt"]),
        Completes("prompt", "checksum_verify_file", "published", "x", []),
    ],
    extra_dirs=["archive"],
)

# `js`: QuickJS (componentize-qjs --sync, the SDK's default engine); `js-starlingmonkey`: the same
# source built with componentize-js.
GUESTS: dict[str, Guest] = {
    g.language: g
    for g in (PYTHON, markdown("js", "markdown"), markdown("js-starlingmonkey", "markdown_sm"), C)
}
