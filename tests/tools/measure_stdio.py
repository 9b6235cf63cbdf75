#!/usr/bin/env python3
"""Rough stdio measurements of an MCP server: start-up and per-call latency.

Until the benchmark harness lands (`make bench`), this is the honest quick measure:
raw JSON-RPC over pipes (no client SDK overhead), 2025-11-25 handshake, then N sequential
`tools/call` requests, each timed from write to response line.

    python3 tests/tools/measure_stdio.py --tool hello_greet --args '{"name":"bench"}' -n 2000 -- \
        target/release/capsule serve --plugins target/examples

Start-up = spawn → first successful `tools/list` response (includes compiling every plugin).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tool", required=True)
    p.add_argument("--args", default="{}", help="tool arguments as a JSON object")
    p.add_argument("-n", type=int, default=1000, help="timed calls")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--starts", type=int, default=5, help="how many start-ups to time")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        p.error("give the server command after --")
    arguments = json.loads(a.args)

    def start() -> tuple[subprocess.Popen, float]:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        send(proc, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "measure", "version": "0"}}})
        recv(proc)
        send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        send(proc, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        tools = recv(proc)["result"]["tools"]
        if not any(t["name"] == a.tool for t in tools):
            raise SystemExit(f"tool {a.tool!r} not served; have {[t['name'] for t in tools]}")
        return proc, time.perf_counter() - t0

    def send(proc: subprocess.Popen, msg: dict) -> None:
        proc.stdin.write((json.dumps(msg) + "\n").encode())
        proc.stdin.flush()

    def recv(proc: subprocess.Popen) -> dict:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("server closed stdout")
        return json.loads(line)

    def stop(proc: subprocess.Popen) -> None:
        proc.stdin.close()
        proc.wait(timeout=10)

    starts = []
    for _ in range(a.starts):
        proc, took = start()
        starts.append(took)
        stop(proc)

    proc, _ = start()
    lat = []
    for i in range(a.warmup + a.n):
        t0 = time.perf_counter()
        send(proc, {"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
                    "params": {"name": a.tool, "arguments": arguments}})
        reply = recv(proc)
        took = time.perf_counter() - t0
        if "error" in reply or reply["result"].get("isError"):
            raise SystemExit(f"call failed: {reply}")
        if i >= a.warmup:
            lat.append(took)
    stop(proc)

    lat.sort()
    q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1e3  # noqa: E731
    print(f"start-up (spawn → tools/list), {a.starts} runs: median {statistics.median(starts)*1e3:.1f} ms, "
          f"min {min(starts)*1e3:.1f} ms, max {max(starts)*1e3:.1f} ms")
    print(f"{a.tool} over stdio, {a.n} sequential calls: p50 {q(0.5):.3f} ms, p90 {q(0.9):.3f} ms, "
          f"p99 {q(0.99):.3f} ms, max {lat[-1]*1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
