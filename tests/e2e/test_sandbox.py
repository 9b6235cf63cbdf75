"""Least privilege, attacked: the hostile `mallory` plugin tries to get out of its sandbox and every
attempt must fail with a clear error, while the host and other plugins carry on (ARCHITECTURE.md §3).

Each test writes mallory's policy (`mallory.toml` beside `mallory.wasm`) and a data directory under
the test's tmp_path; `secret.txt` sits *outside* the granted directory and must never be read.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from conftest import all_text, structured

pytestmark = pytest.mark.anyio

SECRET = "TOP-SECRET-f00d"


@pytest.fixture
def land(tmp_path: Path) -> Path:
    """`land/data` is what mallory may be granted; `land/secret.txt` is outside it."""
    land = tmp_path / "land"
    (land / "data").mkdir(parents=True)
    (land / "data" / "inside.txt").write_text("inside\n")
    (land / "secret.txt").write_text(SECRET + "\n")
    (land / "data" / "link-to-secret").symlink_to(land / "secret.txt")
    (land / "data" / "link-to-land").symlink_to(land)
    return land


def policy(land: Path, access: str = "read-only", extra: str = "") -> dict[str, bytes]:
    text = f'[filesystem]\n"/data" = {{ host = "{land / "data"}", access = "{access}" }}\n{extra}'
    return {"mallory.toml": text.encode()}


async def call(srv, tool: str, **args):
    return await srv.client.call_tool(f"mallory_{tool}", args)


async def assert_refused(srv, tool: str, **args) -> str:
    result = await call(srv, tool, **args)
    text = all_text(result)
    assert result.is_error, f"{tool}{args} was allowed: {text[:300]}"
    assert SECRET not in text
    return text


async def test_the_granted_directory_works(capsule, land, mode):
    async with capsule.serve(["mallory"], extra=policy(land), mode=mode) as srv:
        assert structured(await call(srv, "read_file", path="/data/inside.txt")) == {"text": "inside\n"}
        assert "inside.txt" in structured(await call(srv, "list_dir", path="/data"))["entries"]


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/data/../etc/passwd",
        "/data/../../../../etc/passwd",
        "../secret.txt",
        "/data/../secret.txt",
        "/data/link-to-secret",  # a symlink in the granted dir pointing out of it
        "/data/link-to-land/secret.txt",  # a directory symlink pointing out
        "/proc/self/environ",
    ],
)
async def test_reading_outside_the_grant_fails(capsule, land, path):
    async with capsule.serve(["mallory"], extra=policy(land)) as srv:
        await assert_refused(srv, "read_file", path=path)


async def test_listing_outside_the_grant_fails(capsule, land):
    async with capsule.serve(["mallory"], extra=policy(land)) as srv:
        for path in ["/", "/data/..", "/data/link-to-land", "/etc"]:
            await assert_refused(srv, "list_dir", path=path)


async def test_a_read_only_grant_refuses_every_mutation(capsule, land):
    async with capsule.serve(["mallory"], extra=policy(land, "read-only")) as srv:
        text = await assert_refused(srv, "write_file", path="/data/new.txt", text="x")
        assert "requests /data read-write but" in text and "grants it read-only" in text, text
        await assert_refused(srv, "write_file", path="/data/inside.txt", text="overwritten")
        await assert_refused(srv, "hard_link", **{"from": "/data/inside.txt", "to": "/data/copy.txt"})
    assert (land / "data" / "inside.txt").read_text() == "inside\n"
    assert not (land / "data" / "new.txt").exists() and not (land / "data" / "copy.txt").exists()


async def test_a_read_write_grant_stays_inside(capsule, land):
    async with capsule.serve(["mallory"], extra=policy(land, "read-write")) as srv:
        assert structured(await call(srv, "write_file", path="/data/new.txt", text="hi")) == {"done": True}
        # Hard links and writes that would leave the directory are refused.
        await assert_refused(srv, "hard_link", **{"from": "/data/../secret.txt", "to": "/data/stolen.txt"})
        await assert_refused(srv, "write_file", path="/data/../planted.txt", text="x")
        await assert_refused(srv, "write_file", path="/data/link-to-land/planted.txt", text="x")
        # Hard-linking the symlink links the symlink itself (POSIX linkat without FOLLOW): the copy
        # still points outside, so reading through it is refused like reading the original.
        await call(srv, "hard_link", **{"from": "/data/link-to-secret", "to": "/data/stolen2.txt"})
        await assert_refused(srv, "read_file", path="/data/stolen2.txt")
    assert (land / "data" / "new.txt").read_text() == "hi"
    assert not (land / "planted.txt").exists()
    assert not (land / "data" / "stolen.txt").exists()


async def test_a_grant_the_plugin_did_not_request_is_ignored(capsule, land):
    text = f'[filesystem]\n"/other" = {{ host = "{land}" }}\n'
    async with capsule.serve(["mallory"], extra={"mallory.toml": text.encode()}) as srv:
        await assert_refused(srv, "read_file", path="/other/secret.txt")
        stderr = await srv.wait_for_stderr("does not request it")
        assert "'/other'" in stderr and "does not request it" in stderr


async def test_no_policy_means_no_filesystem(capsule, land):
    async with capsule.serve(["mallory"]) as srv:
        text = await assert_refused(srv, "read_file", path="/data/inside.txt")
        # The refusal says which policy line would grant what the plugin asked for.
        assert 'requests /data (read-write), which its policy does not grant' in text, text
        assert str(srv.plugin_dir / "mallory.toml") in text and '[filesystem] "/data"' in text, text
        await assert_refused(srv, "list_dir", path="/")


async def test_only_granted_environment_variables_are_visible(capsule, land):
    secret_value = "s3cr3t-value-7781"
    env = (
        '[env]\nMALLORY_ALLOWED = { from_host = "CAPSULE_TEST_SECRET" }\n'
        'NOT_REQUESTED = { value = "should-not-appear" }\n'
    )
    host_env = {"CAPSULE_TEST_SECRET": secret_value, "CAPSULE_TEST_HOST_ONLY": "host-only"}
    os.environ.update(host_env)  # for the `capsule plugins` run below
    try:
        async with capsule.serve(["mallory"], extra=policy(land, extra=env), env=host_env) as srv:
            assert structured(await call(srv, "env_var", name="MALLORY_ALLOWED")) == {"value": secret_value}
            assert structured(await call(srv, "env_names")) == {"names": ["MALLORY_ALLOWED"]}
            for name in ("CAPSULE_TEST_HOST_ONLY", "PATH", "HOME", "NOT_REQUESTED"):
                assert structured(await call(srv, "env_var", name=name)) == {"value": None}, name
            stderr = srv.stderr()
        assert secret_value not in stderr, "secret values never reach the log"
        listing = capsule.cli("plugins", "--plugins", str(srv.plugin_dir), "--json")
        assert secret_value not in listing.stdout + listing.stderr
        assert "MALLORY_ALLOWED" in listing.stdout
    finally:
        del os.environ["CAPSULE_TEST_SECRET"], os.environ["CAPSULE_TEST_HOST_ONLY"]


async def test_raw_sockets_are_denied(capsule, land):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        async with capsule.serve(["mallory"], extra=policy(land)) as srv:
            await assert_refused(srv, "connect", addr=f"127.0.0.1:{port}")
            await assert_refused(srv, "connect", addr=f"localhost:{port}")
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever connected


async def test_memory_past_the_limit_ends_only_that_call(capsule, land):
    limits = '[limits]\nmemory = "32MiB"\n'
    async with capsule.serve(["mallory", "hello"], extra=policy(land, extra=limits)) as srv:
        assert structured(await call(srv, "alloc", mib=8)) == {"allocated_mib": 8}
        text = await assert_refused(srv, "alloc", mib=64)
        assert "memory limit" in text and "mallory" in text, text
        assert structured(await call(srv, "alloc", mib=8)) == {"allocated_mib": 8}, "the next call is fine"
        assert structured(await srv.client.call_tool("hello_greet", {"name": "ok"})) == {"greeting": "Hello, ok!"}


async def test_output_over_the_limit_is_refused(capsule, land):
    limits = '[limits]\nmax_output = "1KiB"\n'
    async with capsule.serve(["mallory"], extra=policy(land, extra=limits)) as srv:
        # max_output counts the result's JSON: 900 bytes of text and its envelope fit in 1 KiB.
        assert len(all_text(await call(srv, "output", bytes=900))) == 900
        text = await assert_refused(srv, "output", bytes=4096)
        assert "over its limit" in text, text


async def test_a_spinning_plugin_does_not_hold_up_others(capsule):
    policy_text = b'[limits]\ntimeout = "3s"\n'
    async with capsule.serve(["fixture", "hello"], extra={"fixture.toml": policy_text}) as srv:
        finished: list[str] = []

        async def spin() -> None:
            result = await srv.client.call_tool("fixture_spin", {})
            assert result.is_error and "time limit" in all_text(result), result
            finished.append("spin")

        async with anyio.create_task_group() as tg:
            tg.start_soon(spin)
            await anyio.sleep(0.3)
            started = time.monotonic()
            assert structured(await srv.client.call_tool("hello_greet", {"name": "x"})) == {"greeting": "Hello, x!"}
            took = time.monotonic() - started
            finished.append("hello")
        assert finished == ["hello", "spin"], f"hello took {took:.2f}s while the spin ran"


async def test_calls_beyond_max_concurrency_wait_then_fail_clearly(capsule):
    policy_text = b'[limits]\nmax_concurrency = 1\ntimeout = "2s"\n'
    async with capsule.serve(["fixture"], extra={"fixture.toml": policy_text}) as srv:
        results: dict[int, object] = {}

        async def sleep(i: int) -> None:
            results[i] = await srv.client.call_tool("fixture_sleep", {"ms": 1200})

        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(sleep, i)
                await anyio.sleep(0.05)
        ok = [r for r in results.values() if not r.is_error]
        busy = [all_text(r) for r in results.values() if r.is_error]
        # one runs at once: the second waits 1.2 s (< 2 s) and runs; the third would wait 2.4 s
        assert len(ok) == 2 and len(busy) == 1, results
        assert "busy" in busy[0], busy


def test_a_bad_policy_keeps_the_plugin_out_and_says_where(capsule, land):
    plugin_dir = capsule.plugin_dir(["mallory", "hello"], {"mallory.toml": b'[filesystem]\n"/data" = { hots = "x" }\n'})
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [p["name"] for p in report["plugins"]] == ["hello"]
    [error] = report["errors"]
    assert error["path"].endswith("mallory.wasm")
    assert "mallory.toml:2" in error["reason"] and "unknown field `hots`" in error["reason"], error


async def test_a_policy_change_applies_without_restart(capsule, land):
    async with capsule.serve(["mallory"], extra=policy(land)) as srv:
        assert structured(await call(srv, "env_var", name="MALLORY_ALLOWED")) == {"value": None}
        await assert_refused(srv, "write_file", path="/data/x.txt", text="x")
        (srv.plugin_dir / "mallory.toml").write_text(
            f'[filesystem]\n"/data" = {{ host = "{land / "data"}", access = "read-write" }}\n'
            '[env]\nMALLORY_ALLOWED = { value = "granted-now" }\n'
        )
        await srv.wait_for_stderr("plugin replaced by a new version")
        assert structured(await call(srv, "env_var", name="MALLORY_ALLOWED")) == {"value": "granted-now"}
        assert structured(await call(srv, "write_file", path="/data/x.txt", text="x")) == {"done": True}


def test_capsule_plugins_shows_requested_granted_and_limits(capsule, land):
    extra = policy(land, extra='[limits]\nmemory = "64MiB"\n')
    proc = capsule.cli("plugins", "--plugins", str(capsule.plugin_dir(["mallory"], extra)))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "requests:   filesystem: /data (read-write)" in out, out
    assert f"granted:    filesystem: /data = {land / 'data'} (read-only)" in out, out
    assert "memory 64.0 MiB" in out or "memory 64 MiB" in out, out


def test_serve_refuses_a_bad_config_file(capsule, tmp_path):
    config = tmp_path / "capsule.toml"
    config.write_text('[defaults]\nmemroy = "1GiB"\n')
    proc = subprocess.run(
        [str(capsule.binary), "serve", "--plugins", str(capsule.plugin_dir(["hello"])), "--config", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert f"{config}:2" in proc.stderr.decode() and "unknown field `memroy`" in proc.stderr.decode()
