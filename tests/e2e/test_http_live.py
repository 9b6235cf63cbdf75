"""One HTTP server shared by many clients: hot reload reaches every kind of connection, a slow call
in one session never holds up the others, and HTTPS with a certificate the test's own CA issued
(reloaded on SIGHUP)."""

from __future__ import annotations

import shutil
import signal
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import mcp_types as types
import pytest
import trustme
from conftest import LEGACY, MODERN, REQUEST_TIMEOUT_S, HttpServer, structured
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ToolsListChanged

pytestmark = pytest.mark.anyio

NOTIFY_TIMEOUT_S = 10.0


@asynccontextmanager
async def connect(
    srv: HttpServer, transport: str, mode: str, notifications: list | None = None, http_client=None
) -> AsyncIterator[Client]:
    """A client of `srv` over Streamable HTTP ("http") or HTTP+SSE ("sse")."""

    async def on_message(message) -> None:
        if notifications is not None and not isinstance(message, Exception):
            notifications.append(message)

    if transport == "http":
        streams = streamable_http_client(srv.mcp_url, http_client=http_client)
    else:
        streams = sse_client(srv.sse_url)
    async with Client(
        streams, mode=mode, cache=None, read_timeout_seconds=REQUEST_TIMEOUT_S, message_handler=on_message
    ) as client:
        yield client


def drop(src: Path, dest: Path) -> None:
    tmp = dest.parent / f".{dest.name}.tmp"
    shutil.copyfile(src, tmp)
    tmp.rename(dest)


async def test_a_drop_reaches_legacy_sessions_sse_clients_and_listen_streams(capsule):
    async with capsule.http_server(["hello"]) as srv:
        legacy_http: list = []
        legacy_sse: list = []
        async with (
            connect(srv, "http", LEGACY, legacy_http) as a,
            connect(srv, "sse", LEGACY, legacy_sse) as b,
            connect(srv, "http", MODERN) as c,
            c.listen(tools_list_changed=True) as listen,
        ):
            drop(capsule.built / "textkit.wasm", srv.plugin_dir / "textkit.wasm")

            with anyio.fail_after(NOTIFY_TIMEOUT_S):
                event = await listen.__anext__()
            assert isinstance(event, ToolsListChanged), event
            with anyio.fail_after(NOTIFY_TIMEOUT_S):
                while not (
                    any(isinstance(n, types.ToolListChangedNotification) for n in legacy_http)
                    and any(isinstance(n, types.ToolListChangedNotification) for n in legacy_sse)
                ):
                    await anyio.sleep(0.02)

            # Every client sees, and can call, the new plugin.
            for client in (a, b, c):
                names = {t.name for t in (await client.list_tools()).tools}
                assert "textkit_reverse" in names, names
                assert structured(await client.call_tool("textkit_reverse", {"text": "abc"})) == {"text": "cba"}


async def test_fifty_clients_get_their_own_answers_while_one_call_sleeps(capsule):
    async with capsule.http_server(["hello", "textkit", "fixture"]) as srv:
        sleeper_done = anyio.Event()
        finished: list[int] = []

        async def sleeper() -> None:
            async with connect(srv, "http", LEGACY) as client:
                result = await client.call_tool("fixture_sleep", {"ms": 15000})
                assert structured(result) == {"slept_ms": 15000}
            sleeper_done.set()

        async def worker(i: int) -> None:
            transport, mode = ("sse", LEGACY) if i % 10 == 0 else ("http", (LEGACY, MODERN)[i % 2])
            async with connect(srv, transport, mode) as client:
                for round_ in range(3):
                    name = f"client-{i}-{round_}"
                    result = await client.call_tool("hello_greet", {"name": name})
                    assert structured(result) == {"greeting": f"Hello, {name}!"}
                reversed_ = await client.call_tool("textkit_reverse", {"text": f"n{i}"})
                assert structured(reversed_) == {"text": f"n{i}"[::-1]}
            finished.append(i)

        async with anyio.create_task_group() as outer:
            outer.start_soon(sleeper)
            await anyio.sleep(0.3)  # the sleeping call is under way
            with anyio.fail_after(45):
                async with anyio.create_task_group() as tg:
                    for i in range(50):
                        tg.start_soon(worker, i)
            # All fifty were served while the slow call was still running.
            assert sorted(finished) == list(range(50))
            assert not sleeper_done.is_set(), "the slow call finished first: the test proves nothing"
        assert sleeper_done.is_set()


def write_cert(ca: trustme.CA, directory: Path, name: str) -> tuple[Path, Path]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert.private_key_pem.write_to_path(str(key_path))
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    return cert_path, key_path


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_with_a_test_ca_and_certificate_reload_on_sighup(capsule, tmp_path):
    first_ca, second_ca = trustme.CA(), trustme.CA()
    live_cert, live_key = tmp_path / "server.crt", tmp_path / "server.key"
    cert, key = write_cert(first_ca, tmp_path, "first")
    shutil.copyfile(cert, live_cert)
    shutil.copyfile(key, live_key)
    args = ["--tls-cert", str(live_cert), "--tls-key", str(live_key)]
    async with capsule.http_server(["hello"], args=args, tls=True) as srv:
        assert srv.mcp_url.startswith("https://127.0.0.1:")
        async with httpx2.AsyncClient(verify=trusting(first_ca), timeout=10) as http:
            async with connect(srv, "http", MODERN, http_client=http) as client:
                result = await client.call_tool("hello_greet", {"name": "TLS"})
                assert structured(result) == {"greeting": "Hello, TLS!"}
            assert (await http.get(f"{srv.base_url}/healthz")).text == "ok\n"

        # A client that does not trust the issuing CA is refused by its own TLS check.
        async with httpx2.AsyncClient(verify=trusting(second_ca), timeout=10) as stranger:
            with pytest.raises(httpx2.ConnectError):
                await stranger.get(f"{srv.base_url}/healthz")
        # Plain HTTP on the TLS port gets no MCP answer.
        async with httpx2.AsyncClient(timeout=10) as plain:
            with pytest.raises(httpx2.HTTPError):
                await plain.get(f"http://127.0.0.1:{srv.port}/healthz")

        # Rotate: the second CA's certificate, then SIGHUP.
        cert, key = write_cert(second_ca, tmp_path, "second")
        shutil.copyfile(cert, live_cert)
        shutil.copyfile(key, live_key)
        srv.process.send_signal(signal.SIGHUP)
        assert "TLS certificate reloaded" in await srv.wait_for_stderr("TLS certificate reloaded")
        async with httpx2.AsyncClient(verify=trusting(second_ca), timeout=10) as http:
            async with connect(srv, "http", LEGACY, http_client=http) as client:
                result = await client.call_tool("hello_greet", {"name": "rotated"})
                assert structured(result) == {"greeting": "Hello, rotated!"}
        async with httpx2.AsyncClient(verify=trusting(first_ca), timeout=10) as old:
            with pytest.raises(httpx2.ConnectError):
                await old.get(f"{srv.base_url}/healthz")

        # A broken reload keeps the working certificate.
        live_key.write_text("not a key")
        srv.process.send_signal(signal.SIGHUP)
        assert "keeping the old certificate" in await srv.wait_for_stderr("keeping the old certificate")
        async with httpx2.AsyncClient(verify=trusting(second_ca), timeout=10) as http:
            assert (await http.get(f"{srv.base_url}/healthz")).status_code == 200


async def test_bad_tls_files_fail_at_start_with_the_file_named(capsule, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("-----BEGIN NOTHING-----\n")
    plugins = capsule.plugin_dir(["hello"])
    result = capsule.cli(
        "serve", "--plugins", str(plugins), "--http", "127.0.0.1:0", "--tls-cert", str(bogus), "--tls-key", str(bogus)
    )
    assert result.returncode == 2, result
    assert "bogus.pem" in result.stderr, result.stderr
