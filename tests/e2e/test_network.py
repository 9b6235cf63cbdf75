"""Network grants, attacked: outgoing `wasi:http` only to granted origins, no special-use addresses
behind granted names, every redirect hop checked, raw TCP only to `[network] tcp` grants (ARCHITECTURE.md §3).

The `fetch` example plugin (requests `*`: whatever the operator grants) is the HTTP client; `mallory`
opens raw TCP connections. Every server is a local `http.server` on 127.0.0.1 started and stopped by the
test, and each records the requests it received, so "refused" also means "never connected". Denied
requests are refused before any connection or DNS lookup, so nothing leaves the machine: the only
names resolved are `localhost` (from /etc/hosts).
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import all_text, structured

pytestmark = pytest.mark.anyio

BIG = 300 * 1024
LIMIT = 256 * 1024


class Server:
    """A local HTTP server on 127.0.0.1 that records the paths it was asked for.

    `/hello` answers text, `/redirect?to=URL` answers 302 to URL, `/big` answers 300 KiB, `/hang` answers
    nothing until the server closes, `/missing` answers 404.
    """

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.paths.append(self.path)
                url = urlparse(self.path)
                if url.path == "/hang":
                    server.closing.wait(60)
                    return
                if url.path == "/missing":
                    body = b"no such page"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if url.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", parse_qs(url.query)["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"x" * BIG if url.path == "/big" else f"hello from {self.headers['Host']}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


@pytest.fixture
def other() -> Iterator[Server]:
    """A second local server that is never granted."""
    s = Server()
    yield s
    s.close()


def fetch_policy(*allow: str, extra: str = "") -> dict[str, bytes]:
    return {"fetch.toml": f"[network]\nallow = {json.dumps(list(allow))}\n{extra}".encode()}


async def fetch(srv, url: str):
    return await srv.client.call_tool("fetch_fetch", {"url": url})


def denial(srv, target: str, reason: str) -> str:
    return f'network access to {target} denied for plugin "fetch": {reason}'


async def assert_denied(srv, url: str, target: str, reason: str) -> str:
    result = await fetch(srv, url)
    text = all_text(result)
    assert result.is_error, f"{url} was fetched: {text[:300]}"
    expected = denial(srv, target, reason)
    assert expected in text, text
    assert expected in await srv.wait_for_stderr(expected), "the denial is logged"
    return text


async def test_a_granted_origin_can_be_fetched(capsule, server, mode):
    async with capsule.serve(["fetch"], extra=fetch_policy(server.origin), mode=mode) as srv:
        out = structured(await fetch(srv, f"{server.origin}/hello"))
        assert out == {
            "url": f"{server.origin}/hello",
            "status": 200,
            "content_type": "text/plain; charset=utf-8",
            "text": f"hello from 127.0.0.1:{server.port}",  # the Host header is the requested authority
            "truncated": False,
        }
        assert server.paths == ["/hello"]


async def test_big_bodies_are_cut(capsule, server):
    async with capsule.serve(["fetch"], extra=fetch_policy(server.origin)) as srv:
        out = structured(await fetch(srv, f"{server.origin}/big"))
        assert out["truncated"] is True and len(out["text"]) == LIMIT


async def test_a_server_that_never_answers_cannot_outlast_the_call_timeout(capsule, server):
    # A guest waiting on a host future is not interrupted by the epoch deadline: the host bounds
    # every wait of the request by the call's timeout instead.
    extra = fetch_policy(server.origin, extra='[limits]\ntimeout = "2s"\n')
    async with capsule.serve(["fetch", "hello"], extra=extra) as srv:
        started = time.monotonic()
        result = await fetch(srv, f"{server.origin}/hang")
        took = time.monotonic() - started
        assert result.is_error, all_text(result)
        assert took < 6, f"the call took {took:.1f}s"
        assert structured(await srv.client.call_tool("hello_greet", {"name": "x"})) == {"greeting": "Hello, x!"}


async def test_a_non_granted_origin_is_refused_and_never_contacted(capsule, server, other):
    async with capsule.serve(["fetch"], extra=fetch_policy(server.origin)) as srv:
        policy = srv.plugin_dir / "fetch.toml"
        text = await assert_denied(
            srv, f"{other.origin}/hello", f"{other.origin}", f"not in [network].allow in {policy}"
        )
        assert "not granted to this plugin" in text, "the plugin's own explanation is there too"
        await assert_denied(
            srv, "https://evil.example/", "https://evil.example:443", f"not in [network].allow in {policy}"
        )
    assert other.paths == []


async def test_a_granted_host_on_another_port_is_refused(capsule, server, other):
    async with capsule.serve(["fetch"], extra=fetch_policy("https://example.com", server.origin)) as srv:
        policy = srv.plugin_dir / "fetch.toml"
        await assert_denied(
            srv, "https://example.com:8443/", "https://example.com:8443", f"not in [network].allow in {policy}"
        )
        await assert_denied(srv, "http://example.com/", "http://example.com:80", "not in [network].allow")
        await assert_denied(srv, f"http://127.0.0.1:{other.port}/", f"http://127.0.0.1:{other.port}", "not in")
    assert other.paths == []


@pytest.mark.parametrize(
    "url, target",
    [
        ("http://127.0.0.1:{port}/hello", "http://127.0.0.1:{port}"),
        ("http://[::ffff:127.0.0.1]:{port}/hello", "http://[::ffff:127.0.0.1]:{port}"),
        ("http://169.254.169.254/latest/meta-data/", "http://169.254.169.254:80"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "http://[fd00:ec2::254]:80"),
        ("http://localhost:{port}/hello", "http://localhost:{port}"),
    ],
)
async def test_local_and_metadata_addresses_are_refused_when_only_a_public_origin_is_granted(
    capsule, server, url, target
):
    async with capsule.serve(["fetch"], extra=fetch_policy("https://example.com")) as srv:
        await assert_denied(srv, url.format(port=server.port), target.format(port=server.port), "not in [network].allow")
    assert server.paths == []


async def test_a_granted_name_that_resolves_to_loopback_is_refused_unless_allow_private(capsule, server):
    origin = f"http://localhost:{server.port}"
    async with capsule.serve(["fetch"], extra=fetch_policy(origin)) as srv:
        text = await assert_denied(srv, f"{origin}/hello", origin, "localhost resolves to ")
        assert "a loopback address" in text and "allow_private = true" in text, text
        assert "loopback, private, link-local" in text, "the plugin explains destination-IP-prohibited"
    assert server.paths == []
    async with capsule.serve(["fetch"], extra=fetch_policy(origin, extra="allow_private = true\n")) as srv:
        out = structured(await fetch(srv, f"{origin}/hello"))
        assert out["status"] == 200 and out["text"] == f"hello from localhost:{server.port}"
    assert server.paths == ["/hello"]


async def test_every_redirect_hop_is_checked(capsule, server, other):
    async with capsule.serve(["fetch"], extra=fetch_policy(server.origin)) as srv:
        # A redirect inside the granted origin is followed.
        out = structured(await fetch(srv, f"{server.origin}/redirect?to=/hello"))
        assert out["status"] == 200 and out["url"] == f"{server.origin}/hello"
        # A redirect to a non-granted origin is refused at the hop.
        await assert_denied(
            srv,
            f"{server.origin}/redirect?to={other.origin}/hello",
            other.origin,
            "not in [network].allow",
        )
        await assert_denied(
            srv,
            f"{server.origin}/redirect?to=http://169.254.169.254/latest/",
            "http://169.254.169.254:80",
            "not in [network].allow",
        )
    assert other.paths == []
    assert server.paths == [
        "/redirect?to=/hello",
        "/hello",
        f"/redirect?to={other.origin}/hello",
        "/redirect?to=http://169.254.169.254/latest/",
    ]


async def test_no_policy_means_no_network(capsule, server):
    async with capsule.serve(["fetch"]) as srv:
        await assert_denied(
            srv,
            f"{server.origin}/hello",
            server.origin,
            "not in [network].allow in fetch.toml (beside fetch.wasm; there is none)",
        )
    assert server.paths == []


async def test_a_grant_the_plugin_did_not_request_is_ignored(capsule, server):
    # hello requests no network: a grant to it is reported and ignored.
    extra = {"hello.toml": f'[network]\nallow = ["{server.origin}"]\n'.encode()}
    async with capsule.serve(["hello"], extra=extra) as srv:
        await srv.wait_for_stderr(f"network grant '{server.origin}'", "ignored: the plugin does not request it")


async def test_https_verifies_certificates(capsule, server, tmp_path):
    # A TLS server with a self-signed certificate for 127.0.0.1: the handshake runs and fails on
    # the certificate (webpki roots only); nothing is sent over it.
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    assert shutil.which("openssl"), "this test makes its certificate with the openssl command: apt-get install openssl"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls = Server()
    tls.httpd.socket = context.wrap_socket(tls.httpd.socket, server_side=True)
    try:
        origin = f"https://127.0.0.1:{tls.port}"
        async with capsule.serve(["fetch"], extra=fetch_policy(origin)) as srv:
            result = await fetch(srv, f"{origin}/hello")
            assert result.is_error and "TLS connection" in all_text(result), all_text(result)
            # Plain HTTP spoken to by TLS fails cleanly too.
            plain = f"https://127.0.0.1:{server.port}"
            async with capsule.serve(["fetch"], extra=fetch_policy(plain)) as srv2:
                result = await fetch(srv2, f"{plain}/hello")
                assert result.is_error, all_text(result)
    finally:
        tls.close()
    assert tls.paths == [] and server.paths == []


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        s.settimeout(0.2)
        yield s


async def test_raw_tcp_needs_a_tcp_grant(capsule, listener):
    port = listener.getsockname()[1]
    async with capsule.serve(["mallory"], extra={"mallory.toml": b'[network]\nallow = ["https://example.com"]\n'}) as srv:
        result = await srv.client.call_tool("mallory_connect", {"addr": f"127.0.0.1:{port}"})
        text = all_text(result)
        assert result.is_error, text
        # No socket is even created without a [network] tcp grant.
        expected = 'network access to tcp (a new socket) denied for plugin "mallory": nothing is granted in [network].tcp in'
        assert expected in text, text
        assert expected in await srv.wait_for_stderr(expected)
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing ever connected


async def test_a_tcp_grant_allows_exactly_that_address(capsule, listener):
    port = listener.getsockname()[1]
    policy = {"mallory.toml": f'[network]\ntcp = ["127.0.0.1:{port}"]\n'.encode()}
    async with capsule.serve(["mallory"], extra=policy) as srv:
        assert structured(await srv.client.call_tool("mallory_connect", {"addr": f"127.0.0.1:{port}"})) == {"done": True}
        conn, _ = listener.accept()
        conn.close()
        # Another port, and a name (lookups are off: no tcp grant is a name), stay refused.
        result = await srv.client.call_tool("mallory_connect", {"addr": f"127.0.0.1:{port + 1 if port < 65535 else 1}"})
        assert result.is_error and "not in [network].tcp" in all_text(result), all_text(result)
        result = await srv.client.call_tool("mallory_connect", {"addr": f"localhost:{port}"})
        assert result.is_error, all_text(result)
    with pytest.raises(TimeoutError):
        listener.accept()


async def test_a_granted_socket_that_never_answers_cannot_outlast_the_call_timeout(capsule, listener):
    """The guest blocks inside a host call (a read on a granted TCP socket), where the epoch deadline
    cannot reach it: the host's deadline backstop still ends the call at its time limit."""
    port = listener.getsockname()[1]
    policy = {"mallory.toml": f'[network]\ntcp = ["127.0.0.1:{port}"]\n[limits]\ntimeout = "1s"\n'.encode()}
    async with capsule.serve(["mallory"], extra=policy) as srv:
        started = time.monotonic()
        result = await srv.client.call_tool("mallory_connect_and_read", {"addr": f"127.0.0.1:{port}"})
        took = time.monotonic() - started
        assert result.is_error and "time limit" in all_text(result), all_text(result)
        assert took < 10, f"the call took {took:.1f} s with a 1 s limit"
        assert structured(await srv.client.call_tool("mallory_env_names", {})) == {"names": []}, "still serving"


def hosts_file_names() -> list[str]:
    """Names /etc/hosts resolves besides localhost: looking one up never leaves the machine."""
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return []
    names = [n for line in lines for n in line.split("#")[0].split()[1:]]
    return [n for n in names if n != "localhost" and not n.startswith("ip6-")]


async def test_a_tcp_grant_by_name_resolves_only_that_name(capsule, listener):
    port = listener.getsockname()[1]
    policy = f'[network]\ntcp = ["localhost:{port}"]\n'
    async with capsule.serve(["mallory"], extra={"mallory.toml": policy.encode()}) as srv:
        # localhost may be looked up, but it resolves to loopback: refused without allow_private.
        result = await srv.client.call_tool("mallory_connect", {"addr": f"localhost:{port}"})
        text = all_text(result)
        assert result.is_error, text
        assert f'network access to tcp 127.0.0.1:{port} denied for plugin "mallory": 127.0.0.1 is a loopback address' in text, text
        assert "allow_private = true" in text, text
        # Any other name is refused before it is looked up.
        names = hosts_file_names()
        if names:
            result = await srv.client.call_tool("mallory_connect", {"addr": f"{names[0]}:{port}"})
            text = all_text(result)
            assert result.is_error, text
            assert (
                f"network access to the name lookup of '{names[0]}' denied for plugin \"mallory\": "
                "names can be looked up only when they are hosts in [network].tcp" in text
            ), text
    with pytest.raises(TimeoutError):
        listener.accept()
    async with capsule.serve(["mallory"], extra={"mallory.toml": (policy + "allow_private = true\n").encode()}) as srv:
        assert structured(await srv.client.call_tool("mallory_connect", {"addr": f"localhost:{port}"})) == {"done": True}
        conn, _ = listener.accept()
        conn.close()


@pytest.mark.parametrize(
    "text, line, needle",
    [
        ('[network]\nallow = [\n  "https://ok.example",\n  "https://x.com/path",\n]\n', 4, "an origin has no path"),
        ('[network]\nallow = ["api.github.com"]\n', 2, "missing 'scheme://'"),
        ('[network]\nallow = ["https://a.*.example.com"]\n', 2, "whole first label"),
        ('\n[network]\ntcp = ["127.0.0.1"]\n', 3, "the port is missing"),
        ('[network]\nalow = []\n', 2, "unknown field `alow`"),
    ],
)
def test_a_bad_network_entry_is_a_file_line_error(capsule, text, line, needle):
    plugin_dir = capsule.plugin_dir(["fetch", "hello"], {"fetch.toml": text.encode()})
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [p["name"] for p in report["plugins"]] == ["hello"]
    [error] = report["errors"]
    assert f"fetch.toml:{line}" in error["reason"] and needle in error["reason"], error


def test_capsule_plugins_shows_requested_and_granted_network(capsule):
    extra = {
        "fetch.toml": b'[network]\nallow = ["https://API.github.com:443", "https://*.example.com:8443"]\n'
        b'tcp = ["127.0.0.1:5432"]\n'
    }
    plugin_dir = capsule.plugin_dir(["fetch"], extra)
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir))
    assert proc.returncode == 0, proc.stderr
    assert "requests:   filesystem: -; network: *; env: -" in proc.stdout, proc.stdout
    assert (
        "granted:    filesystem: -; network: https://api.github.com, https://*.example.com:8443, "
        "tcp://127.0.0.1:5432; env: -" in proc.stdout
    ), proc.stdout
    report = json.loads(capsule.cli("plugins", "--plugins", str(plugin_dir), "--json").stdout)
    [fetch_plugin] = report["plugins"]
    assert fetch_plugin["requests"]["network"] == ["*"]
    granted = fetch_plugin["granted"]
    assert granted["network"] == ["https://api.github.com", "https://*.example.com:8443"]
    assert granted["tcp"] == ["127.0.0.1:5432"]
    assert granted["allow_private"] is False
