#!/usr/bin/env python3
"""Instruction profile of one MCP tool call over stdio, with valgrind's callgrind.

Instruction counts do not depend on what else runs on the machine, so they compare builds and
servers on a busy machine where wall-clock figures move by tens of percent. The server runs under
callgrind; after the warm-up calls the counters are zeroed (`callgrind_control -z`), the measured
calls run, and the counters are dumped (`callgrind_control -d`): the profile holds exactly the
measured calls. The summary divides by the number of calls.

    tests/bench/callgrind.py --out target/callgrind/capsule -- \\
        target/dist/capsule serve --plugins target/examples --cache-dir target/bench/cache
    tests/bench/callgrind.py --out target/callgrind/native -- target/dist/capsule-native-baseline
    tests/bench/callgrind.py --summary target/callgrind/capsule.PID.out.1 --calls 200

Notes for reading the figures:
- Under valgrind Capsule cannot reserve its pooling allocator's address space and falls back to
  on-demand allocation (a warning in the server's stderr); the pooled path is profiled in process
  by running `host/sandbox/benches/instantiate.rs` under callgrind with `CAPSULE_BENCH_POOL_INSTANCES=4`.
- `memcpy`/`memset` of more than a few KiB use `rep movsb`/`rep stosb`, which callgrind counts
  as about one instruction per byte: their counts are bytes moved, far more than their time.
- Guest code is JIT-compiled: it shows as `???` addresses outside any object file.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time


def drive(a, cmd):
    out_file = f"{a.out}.%p.out"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)) or ".", exist_ok=True)
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *cmd]
    stderr = open(a.out + ".stderr", "w")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
    ids = iter(range(1, 1 << 62))

    def send(obj):
        p.stdin.write((json.dumps(obj) + "\n").encode())
        p.stdin.flush()

    def request(method, params):
        i = next(ids)
        send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            line = p.stdout.readline()
            if not line:
                sys.exit(f"the server closed its output; see {a.out}.stderr")
            m = json.loads(line)
            if m.get("id") == i and "method" not in m:
                return m

    meta = {}
    if a.era == "2025-11-25":
        request("initialize", {"protocolVersion": a.era, "capabilities": {},
                               "clientInfo": {"name": "callgrind", "version": "1"}})
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    else:
        meta = {"_meta": {"io.modelcontextprotocol/protocolVersion": a.era,
                          "io.modelcontextprotocol/clientInfo": {"name": "callgrind", "version": "1"},
                          "io.modelcontextprotocol/clientCapabilities": {}}}
    args = json.loads(a.args)
    if a.text_bytes:
        args["text"] = ("lorem ipsum dolor sit amet " * (a.text_bytes // 27 + 1))[: a.text_bytes]

    def call():
        r = request("tools/call", dict(name=a.tool, arguments=args, **meta))
        if "result" not in r or r["result"].get("isError"):
            sys.exit(f"the call failed: {str(r)[:300]}")

    for _ in range(a.warmup):
        call()
    time.sleep(0.5)
    subprocess.run(["callgrind_control", "-z", str(p.pid)], check=True, capture_output=True)
    for _ in range(a.calls):
        call()
    subprocess.run(["callgrind_control", "-d", "measured", str(p.pid)], check=True,
                   capture_output=True)
    p.stdin.close()
    p.wait(timeout=120)
    return f"{a.out}.{p.pid}.out.1"


def category(name):
    """A coarse owner of a function, from callgrind's `file:function [object]`."""
    path, _, func = name.partition(":")
    crate = re.search(r"index\.crates\.io-[0-9a-f]+/([A-Za-z_\-]+?)-\d", path)
    if "memmove" in path or "memcpy" in func:
        return "memcpy (≈ bytes moved)"
    if "memset" in path:
        return "memset (≈ bytes set)"
    if "/malloc/" in path or "rdl_alloc" in func or "rust_dealloc" in func:
        return "malloc/free"
    if path.startswith("???") and "[???]" in name:
        return "guest code (JIT)"
    if re.search(r"/host/\w+/src/", path) or func.split("[")[0][:60].startswith("capsule_"):
        return "capsule host"
    if crate:
        c = crate.group(1)
        if c.startswith(("wasmtime", "cranelift")):
            return "wasmtime"
        if c.startswith(("serde", "rmcp")):
            return "rmcp + serde (JSON-RPC, MCP types)"
        if c.startswith("tokio"):
            return "tokio"
        return c
    if "libc.so" in name or "ld-linux" in name or "libgcc" in name:
        return "libc/kernel interface"
    return "other (std, inlined)"


def self_costs(path):
    """Self cost (instructions) per function from a callgrind output file: the cost lines of
    each `fn=` block, except the inclusive cost line that follows each `calls=` line."""
    names = {"fl": {}, "fn": {}, "ob": {}}
    costs = collections.Counter()
    total = 0
    fl = fn = ob = ""
    after_calls = False

    def name(kind, text):
        m = re.match(r"\((\d+)\)(?: (.*))?", text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line[0].isdigit() or line[0] in "+-*":
                if after_calls:
                    after_calls = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    ir = int(parts[1])
                    costs[(fl, fn, ob)] += ir
                    total += ir
                continue
            key, _, value = line.partition("=")
            if key == "fl":
                fl = name("fl", value)
            elif key in ("fi", "fe"):
                name("fl", value)
            elif key == "fn":
                fn = name("fn", value)
            elif key == "ob":
                ob = name("ob", value)
            elif key in ("cfl", "cfi"):
                name("fl", value)
            elif key == "cfn":
                name("fn", value)
            elif key == "cob":
                name("ob", value)
            elif key == "calls":
                after_calls = True
    return total, costs


def summary(path, calls, top):
    total, costs = self_costs(path)
    by = collections.Counter()
    funcs = []
    for (fl, fn, ob), ir in costs.items():
        label = f"{fl}:{fn} [{ob or '???'}]"
        by[category(label)] += ir
        funcs.append((ir, label))
    print(f"{path}: {total / calls / 1e3:.1f} k instructions per call ({calls} calls)")
    for k, v in by.most_common():
        if v / calls >= 50:
            print(f"  {v / calls / 1e3:9.1f} k  {k}")
    print("  top functions (self):")
    for ir, label in sorted(funcs, reverse=True)[:top]:
        print(f"  {ir / calls / 1e3:9.1f} k  {label[:160]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output prefix of the profile")
    ap.add_argument("--era", default="2025-11-25", choices=["2025-11-25", "2026-07-28"])
    ap.add_argument("--tool", default="hello_greet")
    ap.add_argument("--args", default='{"name":"bench"}')
    ap.add_argument("--text-bytes", type=int, default=0, help="add a `text` argument this long")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--summary", help="only summarize this profile")
    ap.add_argument("cmd", nargs="*", help="the server command (after --)")
    a = ap.parse_args()
    if a.summary:
        summary(a.summary, a.calls, a.top)
        return
    if not a.out or not a.cmd:
        ap.error("--out and a server command are required")
    summary(drive(a, a.cmd), a.calls, a.top)


if __name__ == "__main__":
    main()
