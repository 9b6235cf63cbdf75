"""Host budgets, attacked (issue #14, parts 2, 8, 9): everything the hostile `mallory` plugin can make
the host hold — sockets, open files, resource handles, host memory of `wasi:http` fields, disk space —
is bounded per call and charged to that call; symlinks cannot point out of a mount; user information
never reaches a `Host` header. Each test asserts both that the attack ends with the documented error
(naming the limit and its policy key) and that another plugin (`hello`) keeps answering quickly.

The server's file descriptors and RSS are read from /proc/PID (the stdio server is found by its
unique plugin directory on its command line).
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest
from conftest import all_text, structured

pytestmark = pytest.mark.anyio

# A call of another plugin must answer within this while (or after) mallory attacks: a frozen host
# takes seconds, a healthy one milliseconds.
HELLO_WITHIN_S = 1.5


def server_pid(srv) -> int:
    """The PID of the `capsule serve` whose command line names this test's plugin directory."""
    needle = str(srv.plugin_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and b"serve" in cmdline:
            return int(entry.name)
    raise AssertionError(f"no capsule process for {srv.plugin_dir}")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def hello_is_quick(srv) -> float:
    started = time.monotonic()
    assert structured(await srv.client.call_tool("hello_greet", {"name": "x"})) == {"greeting": "Hello, x!"}
    took = time.monotonic() - started
    assert took < HELLO_WITHIN_S, f"hello took {took:.2f}s"
    return took


async def attack_while_hello(srv, tool: str, **args):
    """Run mallory's `tool` and, while it runs, a hello call; return mallory's result."""
    result = {}

    async def attack() -> None:
        result["r"] = await srv.client.call_tool(f"mallory_{tool}", args)

    async with anyio.create_task_group() as tg:
        tg.start_soon(attack)
        await anyio.sleep(0.05)
        await hello_is_quick(srv)
    await hello_is_quick(srv)
    return result["r"]


def refused(result, *needles: str) -> str:
    text = all_text(result)
    assert result.is_error, f"the attack was allowed: {text[:300]}"
    for needle in needles:
        assert needle in text, text
    return text


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "inside.txt").write_text("inside\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    return tmp_path / "data"


def rw(data: Path, quota: str | None = None, extra: str = "") -> dict[str, bytes]:
    q = f', quota = "{quota}"' if quota else ""
    return {"mallory.toml": f'[filesystem]\n"/data" = {{ host = "{data}", access = "read-write"{q} }}\n{extra}'.encode()}


async def test_sockets_need_a_tcp_grant_and_are_counted(capsule):
    # Without a [network] tcp grant no socket is created at all.
    async with capsule.serve(["mallory", "hello"]) as srv:
        pid = server_pid(srv)
        before = fds(pid)
        result = await attack_while_hello(srv, "open_sockets", n=20000)
        refused(result, "nothing is granted in [network].tcp", "access-denied")
        assert "socket 1 of 20000 refused" in all_text(result)
        assert fds(pid) <= before + 2
    # With one, at most max_sockets at once; the call ends with an error naming the key.
    policy = b'[network]\ntcp = ["127.0.0.1:9"]\n[limits]\nmax_sockets = 16\n'
    async with capsule.serve(["mallory", "hello"], extra={"mallory.toml": policy}) as srv:
        pid = server_pid(srv)
        before = fds(pid)
        result = await attack_while_hello(srv, "open_sockets", n=20000)
        refused(result, "limit of 16 sockets", "[limits] max_sockets")
        assert fds(pid) <= before + 2, "the sockets are closed when the call ends"
        assert structured(await srv.client.call_tool("mallory_open_sockets", {"n": 16})) == {"opened": 16}


async def test_open_files_are_bounded(capsule, data):
    async with capsule.serve(["mallory", "hello"], extra=rw(data, extra="[limits]\nmax_open_files = 32\n")) as srv:
        pid = server_pid(srv)
        before = fds(pid)
        result = await attack_while_hello(srv, "open_files", n=20000)
        refused(result, "limit of 32 open files", "[limits] max_open_files")
        assert fds(pid) <= before + 2
        # Opening and closing many files in turn is fine: only those held at once count.
        for _ in range(3):
            assert structured(await srv.client.call_tool("mallory_open_files", {"n": 32})) == {"opened": 32}


async def test_resource_handles_are_bounded(capsule):
    policy = b'[limits]\nmax_handles = 300\n'
    async with capsule.serve(["mallory", "hello"], extra={"mallory.toml": policy}) as srv:
        result = await attack_while_hello(srv, "http_fields", n=100000, bytes=1)
        refused(result, "limit of 300 resource handles", "[limits] max_handles")
        assert structured(await srv.client.call_tool("mallory_http_fields", {"n": 100, "bytes": 1})) == {"opened": 100}


async def test_http_fields_count_against_the_memory_limit(capsule):
    # Before: with 16 MiB, one such call grew the host by ~230 MiB, four at once by ~1 GiB.
    policy = b'[limits]\nmemory = "16MiB"\n'
    async with capsule.serve(["mallory", "hello"], extra={"mallory.toml": policy}) as srv:
        pid = server_pid(srv)
        await hello_is_quick(srv)
        base = rss_mib(pid)
        peak = base
        results = []

        async def one() -> None:
            results.append(await srv.client.call_tool("mallory_http_fields", {"n": 4000, "bytes": 64 * 1024}))

        async def watch() -> None:
            nonlocal peak
            while len(results) < 4:
                peak = max(peak, rss_mib(pid))
                await anyio.sleep(0.01)

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            for _ in range(4):
                tg.start_soon(one)
            await anyio.sleep(0.05)
            await hello_is_quick(srv)
        for result in results:
            refused(result, "memory limit of 16.0 MiB", "[limits] memory")
        # 4 calls × 16 MiB of budget, plus allocator slack: far below the ~1 GiB of before.
        assert peak - base < 160, f"host RSS grew by {peak - base:.0f} MiB"
        await hello_is_quick(srv)


async def test_symlinks_cannot_point_out_of_the_mount(capsule, data):
    async with capsule.serve(["mallory", "hello"], extra=rw(data)) as srv:
        for target, link in [
            ("../secret.txt", "/data/l1"),
            ("/etc/passwd", "/data/l2"),
            (str(data.parent / "secret.txt"), "/data/l3"),
            ("../../secret.txt", "/data/sub/l4"),
            ("sub/../../secret.txt", "/data/l5"),
        ]:
            result = await srv.client.call_tool("mallory_symlink", {"target": target, "link": link})
            refused(result, "not-permitted", "must stay inside its [filesystem] mount")
            assert not os.path.lexists(data / link.removeprefix("/data/")), link
        # Links that stay inside work, from any depth.
        for target, link in [("inside.txt", "/data/ok1"), ("../inside.txt", "/data/sub/ok2")]:
            assert structured(await srv.client.call_tool("mallory_symlink", {"target": target, "link": link})) == {"done": True}
        assert (data / "sub" / "ok2").read_text() == "inside\n"
        await hello_is_quick(srv)


async def test_a_quota_bounds_what_a_mount_holds(capsule, data):
    async with capsule.serve(["mallory", "hello"], extra=rw(data, quota="1MiB")) as srv:
        result = await attack_while_hello(srv, "write_big", path="/data/big", bytes=8 << 20)
        refused(result, "would exceed the mount's quota of 1.0 MiB", "[filesystem] quota", "insufficient-space")
        assert (data / "big").stat().st_size <= 1 << 20
        result = await srv.client.call_tool("mallory_set_size", {"path": "/data/sparse", "size": 10 << 30})
        refused(result, "quota", "StorageFull")  # std's name for ENOSPC
        assert not (data / "sparse").exists() or (data / "sparse").stat().st_size == 0
        # Space freed on disk is found again (after the quota's rescan interval).
        (data / "big").unlink()
        time.sleep(1.1)
        assert structured(await srv.client.call_tool("mallory_write_big", {"path": "/data/b2", "bytes": 512 << 10})) == {
            "written": 512 << 10
        }
        await hello_is_quick(srv)


class Recorder:
    """A local HTTP server that records the Host header of every request it gets."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                recorder.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def test_userinfo_never_reaches_the_host_header(capsule):
    recorder = Recorder()
    try:
        policy = f'[network]\nallow = ["http://127.0.0.1:{recorder.port}"]\n'.encode()
        async with capsule.serve(["mallory", "hello"], extra={"mallory.toml": policy}) as srv:
            ok = await srv.client.call_tool("mallory_http_get_userinfo", {"authority": f"127.0.0.1:{recorder.port}"})
            assert structured(ok) == {"status": 200}, all_text(ok)
            for authority in [f"evil.example:80@127.0.0.1:{recorder.port}", f"user:s3cret@127.0.0.1:{recorder.port}"]:
                result = await srv.client.call_tool("mallory_http_get_userinfo", {"authority": authority})
                text = refused(result, "HttpRequestUriInvalid", "has user information")
                assert "s3cret" not in text and "evil.example" not in text, text
            await hello_is_quick(srv)
        assert recorder.hosts == [f"127.0.0.1:{recorder.port}"], recorder.hosts
    finally:
        recorder.close()
