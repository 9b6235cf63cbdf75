"""What authentication adds to a request, measured under load.

Runs the same workload against one `capsule serve --http` per mode and reports latency percentiles and
throughput:

- `none`    no authentication (the baseline)
- `bearer`  a static token (SHA-256 + constant-time compare)
- `jwt-ES256`, `jwt-RS256`, `jwt-EdDSA`
            OAuth JWT access tokens from the real authorization server (oidc-provider), JWKS
            cached (fetched once before the measurement starts)

The workload: C concurrent HTTP/1.1 keep-alive connections, each sending stateless 2026-07-28
`tools/call hello_greet` requests back to back for D seconds, after a warm-up. By default every
request carries the same token, as a real client's do (Capsule remembers a verified JWT, so this
measures the steady state); `--distinct-tokens N` gives the JWT modes N different tokens (signed by the
authorization server's key, each with its own `jti`) used round-robin, so with N above the number of
requests every signature is verified: the first-use cost. The client is raw
asyncio (pre-built request bytes, minimal parsing), so its own cost stays small; it still shares the
machine, so compare modes with each other, not with other machines. Modes are interleaved over R
rounds and the median of the rounds is reported.

    .venv/bin/python tests/e2e/auth/latency.py --capsule target/release/capsule \\
        --plugins target/plugins --concurrency 16 --seconds 5 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpx2  # noqa: E402

from harness import SCOPES, free_port, node_binary  # noqa: E402

ROBOT = ("robot", "robot-secret-0123456789abcdef")
STATIC_TOKEN = "tok_latency_0123456789abcdefghijklmnop"
MODERN = "2026-07-28"


def start_as(tmp: Path, resource: str, alg: str) -> tuple[subprocess.Popen, str]:
    config = tmp / f"as-{alg}.json"
    config.write_text(json.dumps({
        "port": 0,
        "resources": {resource: {"scope": SCOPES, "format": "jwt", "alg": alg}},
        "clients": [{"client_id": ROBOT[0], "client_secret": ROBOT[1], "scope": SCOPES}],
        "algs": [alg, "RS256"] if alg != "RS256" else ["RS256"],
    }))
    process = subprocess.Popen([node_binary(), str(HERE / "as.mjs"), str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, cwd=HERE)
    issuer = json.loads(process.stdout.readline())["issuer"]
    return process, issuer


def start_capsule(binary: str, plugins: str, port: int, config: str | None, env: dict[str, str]) -> subprocess.Popen:
    tmpdir = Path(tempfile.mkdtemp(prefix="capsule-latency-"))
    plugin_dir = tmpdir / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "hello.wasm").write_bytes((Path(plugins) / "hello.wasm").read_bytes())
    command = [binary, "serve", "--plugins", str(plugin_dir), "--no-watch", "--http", f"127.0.0.1:{port}",
               "--log-level", "warn"]
    if config:
        (tmpdir / "capsule.toml").write_text(config)
        command += ["--config", str(tmpdir / "capsule.toml")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               env={**os.environ, **env})
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx2.HTTPError:
            time.sleep(0.05)
    raise SystemExit("capsule did not start")


def request_bytes(port: int, token: str | None) -> bytes:
    body = json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "hello_greet", "arguments": {"name": "load"}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "latency", "version": "1"}}},
    }).encode()
    headers = [
        "POST /mcp HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
        "Accept: application/json, text/event-stream", f"Mcp-Protocol-Version: {MODERN}",
        "Mcp-Method: tools/call", "Mcp-Name: hello_greet", f"Content-Length: {len(body)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def connection(port: int, requests, until: float, record: float, samples: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    count = 0
    try:
        while True:
            request = next(requests)
            start = time.perf_counter()
            if start >= until:
                return count
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            if status != b"200":
                raise SystemExit(f"HTTP {status.decode()}: {head.decode(errors='replace')}")
            lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
            if lengths:
                await reader.readexactly(lengths[0])
            else:  # chunked
                while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) != 0:
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            now = time.perf_counter()
            if start >= record:
                samples.append(now - start)
                count += 1
    finally:
        writer.close()


async def load(port: int, requests, concurrency: int, seconds: float, warmup: float) -> dict[str, float]:
    samples: list[float] = []
    begin = time.perf_counter()
    record, until = begin + warmup, begin + warmup + seconds
    counts = await asyncio.gather(*(connection(port, requests, until, record, samples) for _ in range(concurrency)))
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))] * 1000

    return {"rps": sum(counts) / seconds, "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "n": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capsule", default="target/release/capsule")
    parser.add_argument("--plugins", default="target/plugins")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="none,bearer,jwt-ES256,jwt-RS256,jwt-EdDSA")
    parser.add_argument("--distinct-tokens", type=int, default=0, metavar="N",
                        help="JWT modes: N different tokens round-robin (first-use verification cost)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="capsule-latency-as-"))
    modes = args.modes.split(",")
    servers: dict[str, tuple[subprocess.Popen, int, list[str | None]]] = {}
    helpers: list[subprocess.Popen] = []
    try:
        for mode in modes:
            port = free_port()
            resource = f"http://127.0.0.1:{port}/mcp"
            if mode == "none":
                config, token, env = None, None, {}
            elif mode == "bearer":
                config = '[auth]\nmode = "bearer"\n[[auth.token]]\nsubject = "load"\nenv = "LATENCY_TOKEN"\n'
                token, env = STATIC_TOKEN, {"LATENCY_TOKEN": STATIC_TOKEN}
            else:
                alg = mode.split("-")[1]
                auth_server, issuer = start_as(tmp, resource, alg)
                helpers.append(auth_server)
                config = f'[auth]\nmode = "oauth"\nresource = "{resource}"\n[auth.oauth]\nissuer = "{issuer}"\n'
                token = httpx2.post(f"{issuer}/token", auth=ROBOT, data={
                    "grant_type": "client_credentials", "resource": resource, "scope": "hello"}).json()["access_token"]
                env = {}
                if args.distinct_tokens:
                    claims = {"iss": issuer, "aud": resource, "sub": "load", "scope": "hello", "exp": int(time.time()) + 3600}
                    servers[mode] = (start_capsule(args.capsule, args.plugins, port, config, env), port,
                                     httpx2.post(f"{issuer}/__test/sign", json={"claims": claims, "count": args.distinct_tokens},
                                                 timeout=600).json()["tokens"])
                    continue
            servers[mode] = (start_capsule(args.capsule, args.plugins, port, config, env), port, [token])

        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        # One endless sequence per mode, continued across rounds: distinct tokens are not reused
        # until all have been sent.
        sequences = {mode: itertools.cycle([request_bytes(port, t) for t in tokens])
                     for mode, (_, port, tokens) in servers.items()}
        for _ in range(args.rounds):
            for mode in modes:
                port = servers[mode][1]
                results[mode].append(asyncio.run(load(port, sequences[mode], args.concurrency, args.seconds, args.warmup)))
        base = {k: statistics.median(r[k] for r in results["none"]) for k in ("p50", "p99")} if "none" in results else None
        tokens = f"{args.distinct_tokens} distinct tokens" if args.distinct_tokens else "one token"
        print(f"concurrency {args.concurrency}, {args.seconds:g} s x {args.rounds} rounds per mode, {tokens}, "
              f"stateless 2026-07-28 tools/call hello_greet; medians of the rounds")
        print(f"| mode | req/s | p50 ms | p90 ms | p99 ms | p50 added | p99 added |")
        print("|---|---|---|---|---|---|---|")
        for mode in modes:
            med = {k: statistics.median(r[k] for r in results[mode]) for k in ("rps", "p50", "p90", "p99")}
            added = (f"{(med['p50'] - base['p50']) * 1000:+.0f} µs | {(med['p99'] - base['p99']) * 1000:+.0f} µs"
                     if base else "- | -")
            print(f"| {mode} | {med['rps']:.0f} | {med['p50']:.3f} | {med['p90']:.3f} | {med['p99']:.3f} | {added} |")
    finally:
        for process, _, _ in servers.values():
            process.send_signal(signal.SIGTERM)
        for process in helpers:
            process.terminate()


if __name__ == "__main__":
    main()
