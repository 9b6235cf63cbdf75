"""Fixtures for Capsule's end-to-end tests.

Every test starts the real `capsule` binary on real plugins, as a subprocess driven over stdio by the
official Python MCP SDK (`mcp.Client`), and stops it again before the test ends.

Environment:
    CAPSULE_BIN         the host binary (default: target/debug/capsule)
    CAPSULE_PLUGINS     directory of built plugins: hello.wasm, textkit.wasm, notes.wasm, fixture.wasm
                        (default: target/plugins)
    CAPSULE_NOTES_DATA  directory mounted read-only into the notes plugin (default: plugins/notes/data)

Relative paths are resolved against the current directory first, then the repository root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

REPO = Path(__file__).resolve().parents[2]

LEGACY = "legacy"
MODERN = "2026-07-28"
MODES = (LEGACY, MODERN)
LEGACY_VERSION = "2025-11-25"  # what mcp 2.3.0 proposes in `initialize`; the host supports it

# JSON-RPC error codes the tests expect.
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
# Resource not found: -32002 in MCP 2025-11-25 (server/resources "Error Handling"); from 2026-07-28 on it is
# -32602 (SEP-2164). The host answers each era with its own code.
RESOURCE_NOT_FOUND_LEGACY = -32002

# Per-test wall clock (pytest-timeout) and per-request client timeout: a hang fails, it never blocks CI.
TEST_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 30
STARTUP_TIMEOUT_S = 30

# How a client reaches the server: the client spawns it (stdio), or it listens on 127.0.0.1 for
# Streamable HTTP (`/mcp`) or the 2024-11-05 HTTP+SSE transport (`/sse`).
TRANSPORTS = ("stdio", "http", "sse")
# The line `capsule serve --http` logs once it accepts connections.
LISTENING_RE = re.compile(r"listening on (https?)://(127\.0\.0\.1):(\d+)/mcp")

ALL_PLUGINS = ("hello", "textkit", "notes", "fixture")

# What the plugins built from plugins/ publish (names are `<plugin>_<name>`).
EXPECTED_TOOLS = {
    "hello": {"hello_greet"},
    "textkit": {
        "textkit_word_count",
        "textkit_slugify",
        "textkit_sha256",
        "textkit_base64_encode",
        "textkit_base64_decode",
        "textkit_reverse",
    },
    "notes": {"notes_search"},
    "fixture": {
        "fixture_echo",
        "fixture_trap",
        "fixture_big_output",
        "fixture_log_progress",
        "fixture_print",
        "fixture_fail",
        "fixture_tool_error",
        "fixture_add",
        "fixture_image",
        "fixture_spin",
        "fixture_sleep",
        "fixture_config_get",
        "fixture_config_all",
    },
}
NOTE_URIS = {"notes://welcome", "notes://ideas", "notes://todo"}
# prompt -> {argument: required}
NOTE_PROMPTS = {
    "notes_summarize": {"name": True},
    "notes_brainstorm": {"topic": True, "count": False},
}

# Raw Streamable HTTP, for tests that speak it without an SDK: the headers a 2025-11-25 client sends
# with a POST, and its `initialize` request.
RAW_ACCEPT = "application/json, text/event-stream"
RAW_HEADERS = {"content-type": "application/json", "accept": RAW_ACCEPT}


def raw_initialize(client_name: str) -> dict[str, Any]:
    """A 2025-11-25 `initialize` request (id 1) from a client named `client_name`."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY_VERSION,
            "capabilities": {},
            "clientInfo": {"name": client_name, "version": "1"},
        },
    }


# A minimal valid WebAssembly *core module* (magic + version 1, no sections): valid wasm, not a component.
CORE_MODULE_BYTES = b"\x00asm\x01\x00\x00\x00"


# --------------------------------------------------------------------------------------------------
# pytest wiring


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _resolve(env: str, default: str) -> Path:
    raw = os.environ.get(env, default)
    path = Path(raw)
    if path.is_absolute():
        return path
    here = Path.cwd() / path
    return here if here.exists() else REPO / path


@pytest.fixture(scope="session")
def capsule_bin() -> Path:
    path = _resolve("CAPSULE_BIN", "target/debug/capsule")
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"capsule binary not found at {path}: build it (`make test-e2e` does) or set CAPSULE_BIN")
    return path


@pytest.fixture(scope="session")
def built_plugins() -> Path:
    path = _resolve("CAPSULE_PLUGINS", "target/plugins")
    if not path.is_dir():
        pytest.fail(f"plugin directory {path} not found: run `make plugins` or set CAPSULE_PLUGINS")
    return path


def _notes_data_path() -> Path:
    return _resolve("CAPSULE_NOTES_DATA", "plugins/notes/data")


def _require_notes_data(path: Path) -> Path:
    if not (path / "welcome.md").is_file():
        pytest.fail(f"notes sample data not found in {path} (expected welcome.md, ideas.md, todo.md)")
    return path


@pytest.fixture(scope="session")
def notes_data() -> Path:
    return _require_notes_data(_notes_data_path())


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over both protocol eras: 2025-11-25 (initialize/session) and 2026-07-28."""
    return request.param


# --------------------------------------------------------------------------------------------------
# The running server, as a test sees it


class ServerLog:
    """The stderr of a server process, written to `stderr_path`."""

    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def wait_for_stderr(self, *needles: str, timeout: float = 10.0) -> str:
        """Wait until the server's stderr contains every needle; return the stderr either way."""
        with anyio.move_on_after(timeout):
            while not all(n in self.stderr() for n in needles):
                await anyio.sleep(0.05)
        return self.stderr()


@dataclass
class Running(ServerLog):
    """A live `capsule serve` subprocess and the client connected to it."""

    client: Client
    mode: str
    stderr_path: Path
    capabilities: types.ServerCapabilities
    plugin_dir: Path
    notifications: list[types.ServerNotification] = field(default_factory=list)
    logs: list[types.LoggingMessageNotificationParams] = field(default_factory=list)
    stream_errors: list[Exception] = field(default_factory=list)



def _single_leaf(exc: BaseException) -> BaseException:
    """The SDK's task groups wrap an exception raised in the `async with` body in (nested) groups of
    one; unwrap them so a failing assertion reads as itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


@dataclass
class HttpServer(ServerLog):
    """A `capsule serve --http` subprocess on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    base_url: str
    port: int
    stderr_path: Path
    plugin_dir: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def sse_url(self) -> str:
        return f"{self.base_url}/sse"



def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM `process` and wait for it (SIGKILL after `timeout` seconds); return its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    return process.returncode


class Capsule:
    """Starts `capsule` processes for one test, in plugin directories under the test's tmp_path."""

    def __init__(self, binary: Path, built: Path, notes_data: Path, tmp_path: Path) -> None:
        self.binary = binary
        self.built = built
        self.notes_data_dir = notes_data
        self.tmp_path = tmp_path
        self._dirs = 0

    def plugin_dir(self, plugins: Iterable[str] = ALL_PLUGINS, extra: Mapping[str, bytes] | None = None) -> Path:
        """A fresh directory holding copies of the named built plugins plus any `extra` files."""
        self._dirs += 1
        path = self.tmp_path / f"plugins-{self._dirs}"
        path.mkdir()
        for name in plugins:
            built = self.built / f"{name}.wasm"
            if not built.is_file():
                pytest.fail(f"plugin {built} not found: run `make plugins` or set CAPSULE_PLUGINS")
            shutil.copyfile(built, path / f"{name}.wasm")
        for filename, data in (extra or {}).items():
            (path / filename).write_bytes(data)
        return path

    def mount_notes_copy(self, extra: Mapping[str, str] | None = None) -> Path:
        """Mount a copy of the notes sample data (plus `extra` notes) instead of the original; return it."""
        data = self.tmp_path / "notes-data"
        shutil.copytree(_require_notes_data(self.notes_data_dir), data)
        for filename, text in (extra or {}).items():
            (data / filename).write_text(text, encoding="utf-8")
        self.notes_data_dir = data
        return data

    def source_args(self, plugin_dir: Path, notes: bool) -> list[str]:
        """`--plugins DIR`, plus the read-only `/notes` grant when the notes plugin is there."""
        args = ["--plugins", str(plugin_dir)]
        if notes:
            args += ["--fs", f"notes:/notes={_require_notes_data(self.notes_data_dir)}:ro"]
        return args

    def serve_args(self, plugin_dir: Path, notes: bool) -> list[str]:
        return ["serve", *self.source_args(plugin_dir, notes)]

    @asynccontextmanager
    async def serve(
        self,
        plugins: Iterable[str] = ALL_PLUGINS,
        *,
        mode: str = LEGACY,
        extra: Mapping[str, bytes] | None = None,
        log_level: types.LoggingLevel | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        transport: str = "stdio",
        callbacks: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Running]:
        """Run `capsule serve` on a directory with `plugins` and connect a client in `mode`.

        `transport`: "stdio" (the client spawns the server), "http" (Streamable HTTP at `/mcp`) or
        "sse" (the 2024-11-05 HTTP+SSE transport, legacy mode only); for the HTTP ones the server
        runs from [`http_server`] on 127.0.0.1 and is stopped with SIGTERM afterwards.

        `log_level` asks for log notifications the era's way: `logging/setLevel` on a legacy session,
        the per-request `_meta` opt-in on 2026-07-28. `args` are extra `capsule serve` flags; `env` is
        added to the server's (otherwise minimal) environment. `callbacks` are the client's
        `elicitation_callback`, `sampling_callback`, `list_roots_callback` (each also declares the
        capability).
        """
        plugins = tuple(plugins)
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}")
        if transport == "sse" and mode != LEGACY:
            raise ValueError("the HTTP+SSE transport (2024-11-05) has no 2026-07-28 mode")
        stack = AsyncExitStack()
        await stack.__aenter__()
        if transport == "stdio":
            plugin_dir = self.plugin_dir(plugins, extra)
            params = StdioServerParameters(
                command=str(self.binary),
                args=[*self.serve_args(plugin_dir, notes="notes" in plugins), *args],
                env={**{k: os.environ[k] for k in ("RUST_LOG", "RUST_BACKTRACE") if k in os.environ}, **(env or {})},
            )
            fd, name = tempfile.mkstemp(prefix="capsule-stderr-", suffix=".log", dir=self.tmp_path)
            os.close(fd)
            stderr_path = Path(name)
            errlog = stack.enter_context(stderr_path.open("w", encoding="utf-8"))
            client_transport = stdio_client(params, errlog=errlog)
        else:
            try:
                server = await stack.enter_async_context(self.http_server(plugins, extra=extra, args=args, env=env))
            except BaseException:
                await stack.aclose()
                raise
            plugin_dir = server.plugin_dir
            stderr_path = server.stderr_path
            client_transport = (
                streamable_http_client(server.mcp_url) if transport == "http" else sse_client(server.sse_url)
            )

        notifications: list[types.ServerNotification] = []
        logs: list[types.LoggingMessageNotificationParams] = []
        stream_errors: list[Exception] = []

        async def on_message(message: types.ServerNotification | Exception) -> None:
            if isinstance(message, Exception):
                stream_errors.append(message)
            else:
                notifications.append(message)

        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            logs.append(params)

        try:
            async with stack:
                client = Client(
                    client_transport,
                    mode=mode,
                    cache=None,  # always see what the server says now
                    read_timeout_seconds=REQUEST_TIMEOUT_S,
                    message_handler=on_message,
                    logging_callback=on_log,
                    log_level=log_level if mode != LEGACY else None,
                    **(callbacks or {}),
                )
                async with client:
                    if mode == LEGACY:
                        capabilities = client.server_capabilities
                        if log_level is not None:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore")  # logging is deprecated in 2026-07-28 only
                                await client.set_logging_level(log_level)
                    else:
                        # mode="2026-07-28" alone adopts a synthesized discover result and never asks
                        # the server; ask it explicitly so its server/discover is under test too.
                        raw = await client.session.send_discover(mode)
                        discovered = types.DiscoverResult.model_validate(raw)
                        assert mode in discovered.supported_versions, raw
                        client.session.adopt(discovered)
                        capabilities = discovered.capabilities
                    expected_version = MODERN if mode == MODERN else LEGACY_VERSION
                    assert client.protocol_version == expected_version, client.protocol_version
                    yield Running(
                        client=client,
                        mode=mode,
                        stderr_path=stderr_path,
                        capabilities=capabilities,
                        plugin_dir=plugin_dir,
                        notifications=notifications,
                        logs=logs,
                        stream_errors=stream_errors,
                    )
        except BaseException as exc:  # noqa: BLE001 - re-raised below, unwrapped and annotated
            leaf = _single_leaf(exc)
            if isinstance(leaf, Exception):
                leaf.add_note(f"--- capsule {' '.join(args)} (mode={mode}) stderr ---\n{_tail(stderr_path.read_text(errors='replace'))}")
            if leaf is exc:
                raise
            raise leaf from None

    @asynccontextmanager
    async def http_server(
        self,
        plugins: Iterable[str] = ALL_PLUGINS,
        *,
        extra: Mapping[str, bytes] | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        plugin_dir: Path | None = None,
        tls: bool = False,
    ) -> AsyncIterator[HttpServer]:
        """Run `capsule serve --http 127.0.0.1:0` (no client) until the block ends; then SIGTERM it and
        wait for it to exit (killed after 15 s). `args` are extra flags; `tls` means the flags include
        `--tls-cert`/`--tls-key` and the URLs are https."""
        plugins = tuple(plugins)
        if plugin_dir is None:
            plugin_dir = self.plugin_dir(plugins, extra)
        fd, name = tempfile.mkstemp(prefix="capsule-http-", suffix=".log", dir=self.tmp_path)
        os.close(fd)
        stderr_path = Path(name)
        command = [
            str(self.binary),
            *self.serve_args(plugin_dir, notes="notes" in plugins),
            "--http",
            "127.0.0.1:0",
            *args,
        ]
        base_env = {k: os.environ[k] for k in ("RUST_LOG", "RUST_BACKTRACE", "PATH", "HOME") if k in os.environ}
        with stderr_path.open("w", encoding="utf-8") as errlog:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errlog,
                env={**base_env, **(env or {})},
            )
        try:
            match = None
            with anyio.move_on_after(STARTUP_TIMEOUT_S):
                while match is None and process.poll() is None:
                    match = LISTENING_RE.search(stderr_path.read_text(errors="replace"))
                    if match is None:
                        await anyio.sleep(0.02)
            if match is None:
                pytest.fail(
                    f"capsule did not start listening (exit status {process.poll()}):\n"
                    f"{_tail(stderr_path.read_text(errors='replace'))}"
                )
            scheme, host, port = match.groups()
            assert scheme == ("https" if tls else "http"), match.group(0)
            yield HttpServer(
                process=process,
                base_url=f"{scheme}://{host}:{port}",
                port=int(port),
                stderr_path=stderr_path,
                plugin_dir=plugin_dir,
            )
        finally:
            stop_process(process)

    def cli(self, *args: str, timeout: float = TEST_TIMEOUT_S / 2) -> subprocess.CompletedProcess[str]:
        """Run a one-shot `capsule` command (not a server) and capture its output."""
        return subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def capsule(capsule_bin: Path, built_plugins: Path, tmp_path: Path) -> Capsule:
    return Capsule(capsule_bin, built_plugins, _notes_data_path(), tmp_path)


# --------------------------------------------------------------------------------------------------
# Small helpers shared by the test modules


def text_blocks(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


def all_text(result: types.CallToolResult) -> str:
    return "\n".join(text_blocks(result))


def structured(result: types.CallToolResult) -> dict[str, Any]:
    """The structured content of a successful call, checked against its JSON text block (MCP: a tool
    returning structured content SHOULD also return it serialized in a text block)."""
    assert not result.is_error, f"tool failed: {all_text(result)}"
    assert result.structured_content is not None, f"no structuredContent in {result}"
    texts = text_blocks(result)
    assert texts, f"no text block next to structuredContent in {result}"
    assert json.loads(texts[0]) == result.structured_content
    return result.structured_content


async def expect_rpc_error(code: int, awaitable: Any) -> MCPError:
    """Await a request that must fail with a JSON-RPC error of `code`."""
    with pytest.raises(MCPError) as info:
        await awaitable
    assert info.value.code == code, f"expected JSON-RPC error {code}, got {info.value.code}: {info.value}"
    return info.value


NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
