"""tabular: summary statistics of CSV data — a Capsule plugin in Python.

Tools summarize CSV text passed inline (`summarize`) or a file in the guest folder `/data`
(`summarize_file`); `describe` asks the user what matters to them in a file (elicitation) and, when
the client can sample, has the client's model describe it. Every CSV/TSV file in `/data` is a
resource (`tabular://{name}`), and the `analyze` prompt hands a file's statistics to the model with a
question. File names complete (the
prompt's `name` argument and the template's `{name}`) from what is in `/data`. `/data` exists only when
the operator grants it (`capsule serve --fs tabular:/data=DIR:ro`); without it the plugin still
loads, lists no resources, and file requests are refused.

Build: python -m capsule_plugin build plugins/tabular/tabular.py -o target/plugins/tabular.wasm
"""

from __future__ import annotations

import csv
import io
import math
import os
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Literal, Optional
from urllib.parse import quote

from capsule_plugin import (
    Denied,
    EmbeddedResource,
    FilesystemRequest,
    InputRequired,
    InvalidArguments,
    NotFound,
    Resource,
    ResourceContents,
    Resumption,
    client_capabilities,
    completion,
    elicit,
    log,
    metadata,
    prompt,
    resource_list,
    resource_template,
    sample,
    tool,
    user,
)

DATA = "/data"
SUFFIXES = (".csv", ".tsv")
MAX_BYTES = 8 * 1024 * 1024

metadata(
    "tabular",
    "0.1.0",
    "Summary statistics of CSV data: inline text, or files in a granted /data folder",
    filesystem=[FilesystemRequest(DATA, "read-only", "reads the CSV files it summarizes and serves")],
)


@dataclass
class ValueCount:
    value: str
    count: int


@dataclass
class ColumnStats:
    """Statistics of one column.

    Attributes:
        name: The column's header.
        kind: "number" when every non-empty value is a number, else "text".
        count: How many non-empty values.
        missing: How many empty values.
        distinct: How many different non-empty values.
        min: Smallest value (numbers only).
        max: Largest value (numbers only).
        mean: Arithmetic mean (numbers only).
        median: Median (numbers only).
        stdev: Sample standard deviation (numbers only, at least two values).
        top: The most frequent values, most frequent first (text only).
    """

    name: str
    kind: Literal["number", "text"]
    count: int
    missing: int
    distinct: int
    min: Optional[float] = None
    max: Optional[float] = None
    mean: Optional[float] = None
    median: Optional[float] = None
    stdev: Optional[float] = None
    top: list[ValueCount] = field(default_factory=list)


@dataclass
class Summary:
    """Summary statistics of a table.

    Attributes:
        source: Where the data came from: "inline" or the file's guest path.
        rows: Data rows (the header excluded).
        columns: One entry per column, in order.
    """

    source: str
    rows: int
    columns: list[ColumnStats]


# ------------------------------------------------------------------------------------------------
# tools


@tool(read_only=True, idempotent=True, open_world=False)
def summarize(
    csv_text: str,
    columns: Optional[list[str]] = None,
    delimiter: Annotated[str, {"pattern": "^.$"}] = ",",
    top: Annotated[int, {"minimum": 0, "maximum": 20}] = 3,
) -> Summary:
    """Summary statistics of CSV text: per column, the count of values and of empty cells, and
    min/max/mean/median/standard deviation for numeric columns or the most frequent values for
    text columns.

    Args:
        csv_text: The CSV, header row first.
        columns: Only these columns (null: all).
        delimiter: The field separator, one character.
        top: How many frequent values to list per text column.
    """
    return summarize_table(csv_text, "inline", columns, delimiter, top)


# A big file takes a while: a client that supports MCP tasks may get this call as a task.
@tool(read_only=True, idempotent=True, open_world=False, task_support="optional")
def summarize_file(
    path: str,
    columns: Optional[list[str]] = None,
    delimiter: Annotated[Optional[str], {"pattern": "^.$"}] = None,
    top: Annotated[int, {"minimum": 0, "maximum": 20}] = 3,
) -> Summary:
    """Summary statistics of a CSV or TSV file in the data folder (see `summarize`).

    Args:
        path: The file, relative to /data (e.g. `cities.csv`).
        columns: Only these columns (null: all).
        delimiter: The field separator, one character (null: tab for .tsv files, else comma).
        top: How many frequent values to list per text column.
    """
    full = path if path.startswith("/") else f"{DATA}/{path}"
    text = read_text(full, path)
    if delimiter is None:
        delimiter = "\t" if full.endswith(".tsv") else ","
    return summarize_table(text, full, columns, delimiter, top)


@dataclass
class Focus:
    """What the description should be about.

    Attributes:
        focus: What matters to you in this file, e.g. a column, outliers, missing values.
    """

    focus: str


@tool(read_only=True, open_world=False)
def describe(path: str, answers: Optional[Resumption] = None) -> str | InputRequired:
    """Describe a CSV or TSV file in the data folder for the user: asks them what to focus on
    (elicitation), then, when the client offers sampling, has the client's model write a short
    description. Needs a client that can ask its user.

    Args:
        path: The file, relative to /data (e.g. `cities.csv`).
    """
    # Every round reads the file again: a bad path fails before the user is asked anything.
    full = path if path.startswith("/") else f"{DATA}/{path}"
    summary = summarize_table(read_text(full, path), full, None, "\t" if full.endswith(".tsv") else ",", 0)
    facts = f"{summary.rows} rows and {len(summary.columns)} columns: {', '.join(c.name for c in summary.columns)}"

    # Round 3: the model's description; the focus came back in the state.
    if answers is not None and answers.state is not None and "description" in answers:
        return described(path, answers.state.decode("utf-8"), facts, answers.sampled_text("description"))
    # Round 1 (or a retry without the answer): ask the user.
    if answers is None or "focus" not in answers:
        return InputRequired(elicit("focus", f"What should the description of {path} focus on?", Focus))
    # Round 2: the user's answer.
    chosen = answers.elicited("focus", Focus)
    if chosen is None:
        return f"Not described ({answers.action('focus') or 'no answer'})."
    focus = chosen.focus.strip() or "everything"
    if not client_capabilities().sampling:
        return described(path, focus, facts)
    question = (f"Describe the file {path} in two or three sentences for a reader who cares about {focus}. "
                f"What is known about it: {facts}")
    return InputRequired(sample("description", question, max_tokens=200), state=focus.encode("utf-8"))


def described(path: str, focus: str, facts: str, model_text: Optional[str] = None) -> str:
    lines = [f"{path} (focus: {focus})", facts]
    if model_text:
        lines.append(model_text)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# resources and prompt


@resource_list
def data_files() -> list[Resource]:
    """One resource per CSV/TSV file in /data (nothing when /data is not granted)."""
    try:
        names = sorted(os.listdir(DATA))
    except OSError:
        return []
    out = []
    for name in names:
        full = f"{DATA}/{name}"
        if name.endswith(SUFFIXES) and os.path.isfile(full):
            out.append(Resource(
                uri=f"tabular://{quote(name, safe='')}",
                name=name,
                mime_type=mime_for(name),
                size=os.path.getsize(full),
                description=f"The data file {name} in {DATA}",
            ))
    return out


@resource_template("tabular://{name}", name="data-file", mime_type="text/csv",
                   description="A CSV or TSV file in /data, by file name")
def data_file(name: str) -> ResourceContents:
    check_name(name)
    return ResourceContents(f"tabular://{quote(name, safe='')}", text=read_text(f"{DATA}/{name}", name),
                            mime_type=mime_for(name))


@prompt(title="Analyze a data file")
def analyze(name: str, question: str = "What stands out in this data, and what should I look at next?"):
    """Ask the model about a data file, with its summary statistics and first rows attached.

    Args:
        name: The file in /data, e.g. `cities.csv`.
        question: What to ask about the data.
    """
    check_name(name)
    full = f"{DATA}/{name}"
    text = read_text(full, name)
    summary = summarize_table(text, full, None, "\t" if name.endswith(".tsv") else ",", 3)
    head = "\n".join(text.splitlines()[:21])
    lines = [f"The file {name} has {summary.rows} rows and {len(summary.columns)} columns:"]
    for c in summary.columns:
        if c.kind == "number":
            lines.append(f"- {c.name}: numbers from {fmt(c.min)} to {fmt(c.max)}, mean {fmt(c.mean)}, "
                         f"median {fmt(c.median)}, {c.missing} missing")
        else:
            common = ", ".join(f"{v.value} ({v.count})" for v in c.top)
            lines.append(f"- {c.name}: text, {c.distinct} distinct values (most common: {common}), "
                         f"{c.missing} missing")
    return [
        user(EmbeddedResource(ResourceContents(f"tabular://{quote(name, safe='')}", text=head,
                                               mime_type=mime_for(name)))),
        user("\n".join(lines) + f"\n\n{question}"),
    ]


@completion(prompt="analyze", argument="name")
@completion(template="tabular://{name}", argument="name")
def file_names(value: str) -> list[str]:
    """The data files whose name starts with what was typed so far."""
    try:
        names = sorted(os.listdir(DATA))
    except OSError:
        return []
    return [n for n in names if n.endswith(SUFFIXES) and n.lower().startswith(value.lower())]


# ------------------------------------------------------------------------------------------------
# the work


def summarize_table(text: str, source: str, columns: Optional[list[str]], delimiter: str, top: int) -> Summary:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        rows = list(reader)
    except csv.Error as e:
        raise InvalidArguments(f"malformed CSV at line {reader.line_num}: {e}") from None
    rows = [r for r in rows if r]  # blank lines
    if not rows:
        raise InvalidArguments("the CSV is empty: give a header row, then data rows")
    header, data = [h.strip() for h in rows[0]], rows[1:]
    wanted = columns if columns is not None else header
    unknown = [c for c in wanted if c not in header]
    if unknown:
        raise InvalidArguments(f"no column named {', '.join(map(repr, unknown))}; the columns are "
                               f"{', '.join(map(repr, header))}")
    log("debug", f"summarizing {len(data)} rows from {source}")
    stats = []
    for name in wanted:
        i = header.index(name)
        values = [(r[i].strip() if i < len(r) else "") for r in data]
        stats.append(column_stats(name, values, top))
    return Summary(source, len(data), stats)


def column_stats(name: str, values: list[str], top: int) -> ColumnStats:
    present = [v for v in values if v]
    numbers = [parse_number(v) for v in present]
    base = dict(name=name, count=len(present), missing=len(values) - len(present), distinct=len(set(present)))
    if present and all(n is not None for n in numbers):
        return ColumnStats(
            kind="number",
            min=min(numbers),
            max=max(numbers),
            mean=statistics.fmean(numbers),
            median=float(statistics.median(numbers)),
            stdev=statistics.stdev(numbers) if len(numbers) > 1 else None,
            **base,
        )
    common = Counter(present).most_common(top)
    return ColumnStats(kind="text", top=[ValueCount(v, n) for v, n in common], **base)


def parse_number(text: str) -> Optional[float]:
    if "_" in text:  # float() accepts Python's digit separators; CSV readers do not
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_text(full: str, shown: str) -> str:
    """The file's text. The sandbox decides what is reachable: paths outside the grant fail here."""
    if not os.path.isdir(DATA):
        raise Denied(f"{DATA} is not available to this plugin: the operator must grant it, e.g. "
                     f"`capsule serve --fs tabular:{DATA}=DIR:ro`")
    try:
        with open(full, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise NotFound(f"no such file: {shown} (the files are the resources tabular://...)") from None
    except IsADirectoryError:
        raise InvalidArguments(f"{shown} is a directory, not a CSV file") from None
    except PermissionError:
        raise Denied(f"{shown} is outside what this plugin was granted ({DATA})") from None
    if len(raw) > MAX_BYTES:
        raise InvalidArguments(f"{shown} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return raw.decode("utf-8")  # non-UTF-8 files raise UnicodeDecodeError: reported as an internal error


def check_name(name: str) -> None:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise InvalidArguments(f"invalid file name {name!r}: give a file in {DATA}, e.g. cities.csv")


def mime_for(name: str) -> str:
    return "text/tab-separated-values" if name.endswith(".tsv") else "text/csv"


def fmt(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    return str(int(x)) if x.is_integer() else f"{x:.4g}"
