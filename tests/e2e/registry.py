"""A real OCI registry for the registry tests: Debian's `docker-registry` (the CNCF distribution
registry) on a free loopback port with a temporary storage directory, anonymous, with htpasswd basic
auth, or over TLS with a throwaway CA; plus the third-party client (`oras`) and a `capsule` runner
whose environment holds only what a test gives it (no credentials of the machine's user leak in)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import stop_process

REGISTRY_BIN = "docker-registry"
STARTUP_TIMEOUT_S = 15.0

WASM_CONFIG_MEDIA_TYPE = "application/vnd.wasm.config.v0+json"
WASM_LAYER_MEDIA_TYPE = "application/wasm"


@dataclass
class Tls:
    """A throwaway CA and a server certificate it issued for 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path


@dataclass
class Registry:
    """A running `docker-registry serve`."""

    process: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path
    tls: Tls | None = None
    users: Mapping[str, str] | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`: the registry as sources and auth files name it."""
        return f"127.0.0.1:{self.port}"

    def source(self, repository: str, reference: str = "1.0") -> str:
        """`oci://HOST/REPOSITORY:TAG` (or `@sha256:…` when `reference` is a digest)."""
        sep = "@" if reference.startswith("sha256:") else ":"
        return f"oci://{self.host}/{repository}{sep}{reference}"

    def target(self, repository: str, reference: str = "1.0") -> str:
        """The same place as `oras` names it (no scheme)."""
        return self.source(repository, reference).removeprefix("oci://")

    def blob_path(self, digest: str) -> Path:
        """Where the registry's filesystem storage keeps the blob `sha256:HEX` (to alter it behind its back)."""
        hexdigest = digest.removeprefix("sha256:")
        return self.root / "data/docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def oras(self, login: tuple[str, str] | None = None, config: Path | None = None):
        """An `oras` client for this registry; with `login` (user, password) it is logged in, and
        `oras login` records the credentials in the Docker config file `config` (default: one
        beside the registry's storage, never the user's)."""
        import oras.client

        client = oras.client.OrasClient(
            hostname=self.host,
            insecure=self.tls is None,
            tls_verify=str(self.tls.ca) if self.tls else True,
        )
        if login is not None:
            user, password = login
            config = config or self.root / "oras-config.json"
            client.login(username=user, password=password, hostname=self.host, config_path=str(config))
        return client


DIGEST_RE = re.compile(r"@(sha256:[0-9a-f]{64})$")


def pinned_digest(stdout: str) -> str:
    """The digest of the digest-pinned source a push or sign prints."""
    match = DIGEST_RE.search(stdout.strip())
    assert match, f"no digest-pinned source in {stdout!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[Registry]:
    """An anonymous registry for the test module."""
    with run_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="module")
def cli(capsule_bin, tmp_path_factory) -> Cli:
    """The `capsule` runner of the test module, with a HOME of its own."""
    return Cli(capsule_bin, home=tmp_path_factory.mktemp("home"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tls(workdir: Path) -> Tls:
    """A CA and a server certificate for IP 127.0.0.1 signed by it, made with the openssl command."""
    assert shutil.which("openssl"), "the TLS registry's certificates are made with the openssl command: apt-get install openssl"
    workdir.mkdir(parents=True, exist_ok=True)
    ca, ca_key = workdir / "ca.pem", workdir / "ca.key"
    cert, key, csr = workdir / "server.pem", workdir / "server.key", workdir / "server.csr"
    ext = workdir / "server.ext"
    ext.write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for command in (
        ["openssl", "req", "-x509", *ec, "-days", "1", "-subj", "/CN=Capsule test registry CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-keyout", str(ca_key), "-out", str(ca)],
        ["openssl", "req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr)],
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
         "-days", "1", "-extfile", str(ext), "-out", str(cert)],
    ):  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
    return Tls(ca=ca, cert=cert, key=key)


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd entry (bcrypt, as the registry requires)."""
    import bcrypt

    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}"


def auth_file(path: Path, registry: str, user: str, password: str) -> Path:
    """Write a containers/Docker auth file (`{"auths": {REGISTRY: {"auth": base64(user:pass)}}}`)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {registry: {"auth": token}}}))
    return path


def _config(root: Path, port: int, htpasswd: Path | None, tls: Tls | None, token: TokenServer | None) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  secret: capsule-e2e-not-secret",
    ]
    if tls is not None:
        lines += ["  tls:", f"    certificate: {tls.cert}", f"    key: {tls.key}"]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: capsule-e2e", f"    path: {htpasswd}"]
    if token is not None:
        lines += token.registry_config()
    return "\n".join(lines) + "\n"


def _answers(url: str, context: ssl.SSLContext | None) -> bool:
    """Whether GET `url` gets any HTTP answer (a 401 from an auth registry counts)."""
    try:
        with urllib.request.urlopen(url, timeout=1, context=context):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@contextmanager
def run_registry(
    root: Path, *, users: Mapping[str, str] | None = None, tls: Tls | None = None, token: TokenServer | None = None
) -> Iterator[Registry]:
    """Run `docker-registry serve` with its storage under `root` until the block ends (then SIGTERM,
    SIGKILL after 10 s). `users`: htpasswd basic auth for these user/password pairs; `token`:
    bearer token auth with tokens of that server."""
    binary = shutil.which(REGISTRY_BIN)
    if binary is None:
        pytest.fail(f"{REGISTRY_BIN} not found: apt-get install docker-registry (.ci/run does)")
    root.mkdir(parents=True, exist_ok=True)
    htpasswd = None
    if users:
        htpasswd = root / "htpasswd"
        htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
    port = free_port()
    config = root / "config.yml"
    config.write_text(_config(root, port, htpasswd, tls, token))
    log_path = root / "registry.log"
    with log_path.open("w") as log:
        # A clean environment: REGISTRY_* variables would override the config file.
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    registry = Registry(process=process, port=port, root=root, log_path=log_path, tls=tls, users=users)
    try:
        context = ssl.create_default_context(cafile=str(tls.ca)) if tls else None
        url = f"{'https' if tls else 'http'}://{registry.host}/v2/"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers(url, context):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not answer {url} (exit status {process.poll()}):\n{registry.log()[-3000:]}")
            time.sleep(0.05)
        yield registry
    finally:
        stop_process(process, timeout=10)


@dataclass
class Cli:
    """Runs one-shot `capsule` commands (pull, push, sign, key) with a controlled environment:
    `HOME` is an empty directory (so no `~/.docker/config.json` of the machine's user is read),
    `COSIGN_PASSWORD` is set, and nothing else from the test runner's environment but `PATH`."""

    binary: Path
    home: Path
    password: str = "e2e-key-password"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "COSIGN_PASSWORD": self.password,
        }
        env.update({k: os.environ[k] for k in ("RUST_BACKTRACE",) if k in os.environ})
        env.update(extra or {})
        return env

    def __call__(
        self, *args: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=self.env(env),
            cwd=cwd,
        )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must have succeeded (its output shown otherwise)."""
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    return proc.stdout


def refused(proc: subprocess.CompletedProcess[str], *needles: str, status: int = 2) -> str:
    """The stderr of a command that must have failed with `status`, naming every needle."""
    assert proc.returncode == status, (
        f"expected exit {status}, got {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    )
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in stderr:\n{proc.stderr[-3000:]}"
    return proc.stderr


def fetch(registry: Registry, path: str, accept: str = "application/vnd.oci.image.manifest.v1+json") -> tuple[int, bytes]:
    """GET `https?://HOST/v2/PATH` anonymously: (status, body)."""
    return _request(registry, path, headers={"Accept": accept})


def put(registry: Registry, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    """PUT `body` to `https?://HOST/v2/PATH` anonymously: (status, body)."""
    return _request(registry, path, body=body, method="PUT", headers={"Content-Type": content_type})


def _request(registry: Registry, path: str, body: bytes | None = None, method: str = "GET", headers: Mapping[str, str] = {}) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(registry.tls.ca)) if registry.tls else None
    url = f"{'https' if registry.tls else 'http'}://{registry.host}/v2/{path}"
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class TokenServer:
    """A tiny registry token server (the Docker registry token authentication protocol, as the
    distribution registry's `auth.token` expects it): `GET /token?service=S&scope=repository:NAME:pull,push`
    with basic auth for one of `users` answers `{"token": JWT}`, an ES256 JWT whose `x5c` header
    carries the self-signed certificate the registry trusts (`rootcertbundle`). Anonymous or wrong
    credentials get 401. Runs on 127.0.0.1 in a thread until `close()`."""

    service = "capsule-e2e"
    issuer = "capsule-e2e-token-server"

    def __init__(self, workdir: Path, users: Mapping[str, str]) -> None:
        import datetime
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.users = dict(users)
        self.requests: list[tuple[str | None, str]] = []  # (user, scope) of each token asked for
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "capsule e2e token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        workdir.mkdir(parents=True, exist_ok=True)
        self.root_bundle = workdir / "token-signer.pem"
        self.root_bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                import urllib.parse

                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                user = server.check_basic(self.headers.get("Authorization"))
                scopes = query.get("scope", [])
                server.requests.append((user, " ".join(scopes)))
                if user is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="capsule-e2e-token"')
                    self.end_headers()
                    return
                body = json.dumps({"token": server.issue(user, scopes), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def check_basic(self, header: str | None) -> str | None:
        """The user whose basic credentials `header` carries, if they are right."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if self.users.get(user) == password else None

    def issue(self, user: str, scopes: list[str]) -> str:
        """A token for `user` granting every action of `scopes` (`repository:NAME:pull,push`)."""
        import uuid

        import jwt

        access = []
        for scope in " ".join(scopes).split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": user, "aud": self.service, "exp": now + 300, "nbf": now - 10,
            "iat": now, "jti": uuid.uuid4().hex, "access": access,
        }  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [self.x5c]})

    def registry_config(self) -> list[str]:
        return [
            "auth:",
            "  token:",
            f"    realm: {self.realm}",
            f"    service: {self.service}",
            f"    issuer: {self.issuer}",
            f"    rootcertbundle: {self.root_bundle}",
        ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
