#!/usr/bin/env python3
"""Hot-reload latency: file drop → `notifications/tools/list_changed` on a live stdio session.

    python3 tests/tools/measure_reload.py --plugin target/plugins/hello.wasm -n 20 -- \
        target/release/capsule serve

The server is started on an empty temporary plugin directory (given as `--plugins DIR` after the
command); each round atomically renames a copy of the plugin into it, times until the notification
line arrives, then deletes it again and waits for that notification too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plugin", required=True, type=Path)
    p.add_argument("-n", type=int, default=20)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    with tempfile.TemporaryDirectory() as tmp:
        plugins = Path(tmp) / "plugins"
        plugins.mkdir()
        proc = subprocess.Popen([*cmd, "--plugins", str(plugins)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

        def send(msg: dict) -> None:
            proc.stdin.write((json.dumps(msg) + "\n").encode())
            proc.stdin.flush()

        def wait_for(method: str) -> None:
            while True:
                line = proc.stdout.readline()
                if not line:
                    raise SystemExit("server closed stdout")
                if json.loads(line).get("method") == method:
                    return

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "m", "version": "0"}}})
        proc.stdout.readline()
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        time.sleep(0.3)
        target = plugins / a.plugin.name
        adds = []
        for _ in range(a.n):
            staged = Path(tmp) / "staged.wasm"
            shutil.copyfile(a.plugin, staged)
            t0 = time.perf_counter()
            staged.rename(target)
            wait_for("notifications/tools/list_changed")
            adds.append(time.perf_counter() - t0)
            target.unlink()
            wait_for("notifications/tools/list_changed")
        proc.stdin.close()
        proc.wait(timeout=10)
    ms = sorted(x * 1e3 for x in adds)
    print(f"{a.plugin.name} ({a.plugin.stat().st_size // 1024} KiB): drop → list_changed over {a.n} rounds: "
          f"median {statistics.median(ms):.1f} ms, min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms "
          f"(includes the {50} ms debounce)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
