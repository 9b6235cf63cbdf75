#!/usr/bin/env python3
"""Figures for the availability attacks of issue #14: what each attack costs the host, and whether another
plugin (`hello_greet`) keeps answering meanwhile.

    python3 tests/tools/measure_attacks.py --capsule target/release/capsule --plugins target/plugins

Each attack runs against a fresh `capsule serve` over stdio (raw JSON-RPC over pipes, 2025-11-25), in a
temporary plugin directory holding `hello` and the attacker (`hostile` or `mallory`, built by `make
plugins`). For each it prints: how long until the server answered its first `tools/list` (ready), how the
attack ended (the first line of its error), how long it took, the host's RSS growth and open file
descriptors, and `hello_greet`'s worst latency while the attack ran (measured from another thread). The
URI attacks (11, issue #15) time `resources/read` of a hostile URI against a many-variable template instead.
`--only 11` runs just the attacks whose name starts with 11.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


class Server:
    """`capsule serve` on a plugin directory, spoken to over stdio."""

    def __init__(self, capsule: Path, plugin_dir: Path, args: list[str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(capsule), "serve", "--plugins", str(plugin_dir), "--no-cache", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(plugin_dir / "stderr.log", "w"),
        )
        self.lock = threading.Lock()
        self.waiting: dict[int, tuple[threading.Event, list]] = {}
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "m", "version": "0"}})
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.request("tools/list", {})
        self.ready_s = time.monotonic() - self.started

    def _send(self, message: dict) -> None:
        data = (json.dumps(message) + "\n").encode()
        with self.lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def _read(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            if "id" in message and message["id"] in self.waiting:
                event, slot = self.waiting.pop(message["id"])
                slot.append(message)
                event.set()

    def request(self, method: str, params: dict, timeout: float = 120) -> dict:
        with self.lock:
            self.next_id += 1
            rid = self.next_id
        event, slot = threading.Event(), []
        self.waiting[rid] = (event, slot)
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        if not event.wait(timeout):
            raise TimeoutError(f"{method} got no answer in {timeout} s")
        return slot[0]

    def call(self, tool: str, arguments: dict) -> dict:
        return self.request("tools/call", {"name": tool, "arguments": arguments})

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return float("inf")
        return time.monotonic() - started


def outcome(reply: dict) -> str:
    if "error" in reply:
        return f"JSON-RPC error: {reply['error'].get('message', '')[:110]}"
    result = reply.get("result", {})
    text = " ".join(b.get("text", "") for b in result.get("content", []) if isinstance(b, dict))
    first = text.strip().splitlines()[0] if text.strip() else "(no text)"
    return ("tool error: " if result.get("isError") else "ok: ") + first[:110]


def attack(server: Server, tool: str, arguments: dict, parallel: int = 1) -> dict:
    """Run the attack `parallel` times at once while hello_greet is called in a loop."""
    stop = threading.Event()
    hello: list[float] = []
    peak = [server.rss_mib()]
    base_rss, base_fds = peak[0], server.fds()

    def greet() -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            server.call("hello_greet", {"name": "bystander"})
            hello.append(time.monotonic() - t0)
            time.sleep(0.02)

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], server.rss_mib())
            time.sleep(0.01)

    threads = [threading.Thread(target=greet, daemon=True), threading.Thread(target=watch, daemon=True)]
    for t in threads:
        t.start()
    replies: list[dict] = []
    started = time.monotonic()
    workers = [threading.Thread(target=lambda: replies.append(server.call(tool, arguments))) for _ in range(parallel)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.monotonic() - started
    stop.set()
    for t in threads:
        t.join()
    return {
        "outcome": outcome(replies[0]),
        "attack_s": took,
        "rss_growth_mib": peak[0] - base_rss,
        "fds_after": server.fds() - base_fds,
        "hello_max_ms": max(hello, default=float("nan")) * 1e3,
        "hello_calls": len(hello),
    }


def read_times(server: Server, uri: str, rounds: int = 5) -> dict:
    """`resources/read` of `uri`, `rounds` times: the slowest answer and how the first one ended."""
    times, first = [], None
    for _ in range(rounds):
        t0 = time.monotonic()
        reply = server.request("resources/read", {"uri": uri})
        times.append(time.monotonic() - t0)
        first = first or reply
    return {"outcome": outcome(first), "read_max_ms": max(times) * 1e3, "uri_bytes": len(uri)}


FIFO = object()  # a `files` value: make a FIFO of that name


def directory(files: dict[str, object]) -> Path:
    d = Path(tempfile.mkdtemp(prefix="capsule-attack-"))
    for name, source in files.items():
        if source is FIFO:
            os.mkfifo(d / name)
        elif isinstance(source, Path):
            shutil.copyfile(source, d / name)
        else:
            (d / name).write_text(source)
    return d


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--capsule", type=Path, default=Path("target/release/capsule"))
    p.add_argument("--plugins", type=Path, default=Path("target/plugins"))
    p.add_argument("--only", default="", help="run only the attacks whose name starts with this (e.g. 11)")
    a = p.parse_args()
    hello, hostile, slow, mallory = (a.plugins / f"{n}.wasm" for n in ("hello", "hostile", "hostile_slow", "mallory"))
    env = lambda mode, extra="": f'[env]\nHOSTILE = {{ value = "{mode}" }}\n{extra}'  # noqa: E731
    rows: list[tuple[str, dict]] = []

    def run(
        name: str,
        files: dict,
        tool: str | None = None,
        arguments: dict | None = None,
        parallel: int = 1,
        uri: str | None = None,
    ) -> None:
        if not name.startswith(a.only):
            return
        d = directory({"hello.wasm": hello, **files})
        server = Server(a.capsule, d, [])
        row = {"ready_s": server.ready_s}
        if tool:
            row.update(attack(server, tool, arguments or {}, parallel))
        if uri:
            row.update(read_times(server, uri))
        row["sigterm_s"] = server.stop()
        log = (d / "stderr.log").read_text(errors="replace")
        refused = [line for line in log.splitlines() if "plugin skipped" in line]
        if refused:
            row["load"] = refused[0].split("plugin skipped: ", 1)[-1][:140]
        rows.append((name, row))
        print(f"{name}: {json.dumps(row)}", flush=True)
        shutil.rmtree(d, ignore_errors=True)

    run("1 exponential input schema", {"hostile.wasm": hostile, "hostile.toml": env("schema=exponential")})
    run("2 20 000 sockets (no tcp grant)", {"mallory.wasm": mallory}, "mallory_open_sockets", {"n": 20000})
    run(
        "2 20 000 sockets (tcp granted)",
        {"mallory.wasm": mallory, "mallory.toml": '[network]\ntcp = ["127.0.0.1:9"]\n'},
        "mallory_open_sockets",
        {"n": 20000},
    )
    run(
        "3 http fields, 16 MiB memory, 4 calls",
        {"mallory.wasm": mallory, "mallory.toml": '[limits]\nmemory = "16MiB"\n'},
        "mallory_http_fields",
        {"n": 4000, "bytes": 65536},
        parallel=4,
    )
    for kind in ("annotation", "mime", "link"):
        run(f"4 40 MiB in a {kind}", {"hostile.wasm": hostile}, "hostile_output", {"kind": kind, "bytes": 40 << 20})
    run("4 100 000 empty blocks", {"hostile.wasm": hostile}, "hostile_output", {"kind": "blocks", "count": 100_000})
    run("5 list-tools waits 60 s in a host call", {"hostile.wasm": hostile, "hostile.toml": env("sleep=60")})
    run("5 describe waits 60 s in a host call", {"hostile_slow.wasm": slow})
    run("7 policy file is a FIFO", {"hostile.wasm": hostile, "hostile.toml": FIFO})
    run("7 .wasm is a FIFO", {"pipe.wasm": FIFO})
    template = {"hostile.wasm": hostile, "hostile.toml": env("template=x://{a}-{b}-{c}")}
    run("11 60 KiB of dashes against x://{a}-{b}-{c}", template, uri="x://" + "-" * (60 << 10) + "/")
    run("11 a 1 MiB URI against x://{a}-{b}-{c}", template, uri="x://" + "-" * (1 << 20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
