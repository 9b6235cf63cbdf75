"""The container image `make image` builds (deploy/image, issue #20).

Run by `make image-test` only, after `make image`: the ordinary e2e run leaves this file out
(`--ignore`). Without a container engine the image is checked the way buildah sees it: its
configuration (`buildah inspect`), its root filesystem (`buildah from` + `buildah mount`), and its
own `/capsule` (static), run on this machine: from the mounted filesystem with the hello plugin and
bearer authentication, and as the image's command (entrypoint, command, environment) chrooted into
the filesystem as the image's user. The chroot needs root, as `make image` does.

Environment:
    CAPSULE_IMAGE    the image, e.g. capsule:0.1.0 (required: the tests fail without it)
    CAPSULE_PLUGINS  the built plugins (hello.wasm), as for every e2e test
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import REPO, REQUEST_TIMEOUT_S, STARTUP_TIMEOUT_S, Capsule, all_text, stop_process, structured

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import call_over_http, free_port, mcp_client  # noqa: E402

# The storage `make image` builds into.
BUILDAH = ["buildah", "--storage-driver", "vfs"]
UID = GID = 65532
TOKEN = "tok_image_0123456789abcdefghijklmnop"
LABEL = "org.opencontainers.image."

# Every path in the image, and who owns it: nothing else may be there.
EXPECTED_TREE = {
    "capsule": (0, 0),
    "etc": (0, 0),
    "etc/passwd": (0, 0),
    "etc/group": (0, 0),
    "etc/ssl": (0, 0),
    "etc/ssl/certs": (0, 0),
    "etc/ssl/certs/ca-certificates.crt": (0, 0),
    "etc/capsule": (0, 0),
    "plugins": (0, 0),
    "tmp": (0, 0),
    "var": (0, 0),
    "var/cache": (0, 0),
    "var/cache/capsule": (UID, GID),
    "var/lib": (0, 0),
    "var/lib/capsule": (UID, GID),
}


def buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if shutil.which("buildah") is None:
        pytest.fail("buildah is not installed: `make image` installs it (Debian: apt-get install buildah)")
    result = subprocess.run([*BUILDAH, *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        pytest.fail(f"buildah {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def image() -> str:
    name = os.environ.get("CAPSULE_IMAGE")
    if not name:
        pytest.fail("CAPSULE_IMAGE is not set: run `make image-test` (or set it to an image `make image` built)")
    if buildah("inspect", "--type", "image", name, check=False).returncode != 0:
        pytest.fail(f"no image {name} in buildah's vfs storage: build it with `make image`")
    return name


@pytest.fixture(scope="module")
def image_config(image: str) -> dict[str, Any]:
    """The OCI image configuration's `config` (User, Env, Entrypoint, Cmd, ExposedPorts, Volumes, Labels)."""
    return json.loads(buildah("inspect", "--type", "image", image).stdout)["OCIv1"]["config"]


@contextmanager
def mounted(image: str, name: str) -> Iterator[Path]:
    """A working container `name` of `image`, its root filesystem mounted; removed afterwards."""
    buildah("from", "--pull=never", "--quiet", "--name", name, image)
    try:
        yield Path(buildah("mount", name).stdout.strip())
    finally:
        buildah("umount", name, check=False)
        buildah("rm", name, check=False)


@pytest.fixture(scope="module")
def rootfs(image: str) -> Iterator[Path]:
    """The image's root filesystem: a working container's, mounted; removed afterwards."""
    with mounted(image, f"capsule-image-test-{os.getpid()}") as root:
        yield root


def image_env(config: dict[str, Any]) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in config.get("Env", []))


def cargo_version() -> str:
    return tomllib.loads((REPO / "Cargo.toml").read_text())["workspace"]["package"]["version"]


# --------------------------------------------------------------------------------------------------
# The configuration


def test_runs_as_the_non_root_user_with_the_documented_command(image_config):
    assert image_config["User"] == f"{UID}:{GID}"
    assert image_config["Entrypoint"] == ["/capsule"]
    assert image_config["Cmd"] == [
        "serve", "--plugins", "/plugins", "--config", "/etc/capsule/capsule.toml", "--http", "0.0.0.0:8080",
    ]
    assert set(image_config["ExposedPorts"]) == {"8080/tcp"}
    env = image_env(image_config)
    # The compile cache is $XDG_CACHE_HOME/capsule/compiled: inside a volume the user owns.
    assert set(image_config["Volumes"]) == {"/plugins", f"{env['XDG_CACHE_HOME']}/capsule"}
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["HOME"] == f"{env['XDG_DATA_HOME']}/capsule"


def test_labels_name_the_version_revision_source_and_license(image_config):
    labels = image_config["Labels"]
    assert labels[LABEL + "version"] == cargo_version()
    revision = labels[LABEL + "revision"]
    assert re.fullmatch(r"[0-9a-f]{40}", revision), revision
    known = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{revision}^{{commit}}"], capture_output=True)
    assert known.returncode == 0, f"revision {revision} is not a commit of this repository"
    source = labels[LABEL + "source"]
    assert source and not re.search(r"://[^/]*@", source), f"source label {source!r} is empty or carries credentials"
    assert labels[LABEL + "title"] == "Capsule"
    assert "MCP server" in labels[LABEL + "description"]
    assert labels[LABEL + "licenses"] == "Apache-2.0"
    assert "Apache License" in (REPO / "LICENSE").read_text()[:200]


# --------------------------------------------------------------------------------------------------
# The root filesystem


def elf_dependencies(path: Path) -> tuple[bool, list[int]]:
    """(has a PT_INTERP, the DT_NEEDED entries' string offsets) of an x86-64 ELF executable."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert data[4] == 2 and data[5] == 1, "not a 64-bit little-endian ELF file"
    (machine,) = struct.unpack_from("<H", data, 18)
    assert machine == 62, f"e_machine {machine}, not x86-64"
    (phoff,) = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    interp, needed = False, []
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP: the dynamic loader a dynamically linked program names
            interp = True
        elif p_type == 2:  # PT_DYNAMIC (a static-pie has one): its DT_NEEDED entries name shared libraries
            for offset in range(p_offset, p_offset + p_filesz, 16):
                tag, value = struct.unpack_from("<qQ", data, offset)
                if tag == 0:
                    break
                if tag == 1:
                    needed.append(value)
    return interp, needed


def test_the_filesystem_holds_only_the_binary_certificates_users_and_directories(rootfs):
    found = {}
    for path in rootfs.rglob("*"):
        stat = path.lstat()
        found[str(path.relative_to(rootfs))] = (stat.st_uid, stat.st_gid)
    assert found == EXPECTED_TREE
    assert (rootfs / "tmp").stat().st_mode & 0o7777 == 0o1777
    for name in ("plugins", "etc/capsule", "var", "var/cache", "var/cache/capsule", "var/lib", "var/lib/capsule"):
        assert (rootfs / name).is_dir() and (rootfs / name).stat().st_mode & 0o777 == 0o755, name


def test_the_binary_is_static_and_not_writable_by_its_user(rootfs):
    binary = rootfs / "capsule"
    mode = binary.stat().st_mode & 0o7777
    assert mode == 0o755, oct(mode)
    interp, needed = elf_dependencies(binary)
    assert not interp, "/capsule names a dynamic loader (PT_INTERP): it is not statically linked"
    assert not needed, "/capsule needs shared libraries (DT_NEEDED)"
    if shutil.which("file"):
        described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True).stdout
        assert "statically linked" in described or "static-pie linked" in described, described


def test_ca_certificates_and_the_user_are_there(rootfs):
    bundle = (rootfs / "etc/ssl/certs/ca-certificates.crt").read_text()
    assert bundle.count("-----BEGIN CERTIFICATE-----") >= 50
    users = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/passwd").read_text().splitlines()}
    assert users["capsule"][2:4] == [str(UID), str(GID)]
    assert users["capsule"][5] == "/var/lib/capsule"
    assert users["root"][2] == "0"
    groups = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/group").read_text().splitlines()}
    assert groups["capsule"][2] == str(GID)


def test_version_matches_the_crate(rootfs):
    result = subprocess.run([str(rootfs / "capsule"), "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert cargo_version() in result.stdout


# --------------------------------------------------------------------------------------------------
# The image's own binary, serving


def bearer_config(rootfs: Path) -> str:
    """capsule.toml with one static token, hashed by the image's own `capsule auth hash-token`."""
    hashed = subprocess.run(
        [str(rootfs / "capsule"), "auth", "hash-token"], input=TOKEN, capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    assert hashed == hashlib.sha256(TOKEN.encode()).hexdigest()
    return f'[auth]\nmode = "bearer"\n\n[[auth.token]]\nsubject = "operator"\nsha256 = "{hashed}"\n'


@pytest.mark.anyio
async def test_serves_hello_over_http_with_bearer_auth(rootfs, built_plugins, tmp_path):
    capsule = Capsule(rootfs / "capsule", built_plugins, tmp_path, tmp_path)
    config = tmp_path / "capsule.toml"
    config.write_text(bearer_config(rootfs))
    cache = tmp_path / "cache"
    async with capsule.http_server(["hello"], args=["--config", str(config)], env={"XDG_CACHE_HOME": str(cache)}) as server:
        # Probes need no token.
        health = httpx2.get(f"{server.base_url}/healthz", timeout=REQUEST_TIMEOUT_S)
        assert (health.status_code, health.text) == (200, "ok\n")
        ready = httpx2.get(f"{server.base_url}/readyz", timeout=REQUEST_TIMEOUT_S)
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready" and ready.json()["plugins"] == 1 and ready.json()["tools"] == 1

        for token in (None, TOKEN[:-1]):
            assert call_over_http(server.mcp_url, token, "hello_greet", {"name": "Ada"}).status_code == 401
        response = call_over_http(server.mcp_url, TOKEN, "hello_greet", {"name": "Ada"})
        assert response.status_code == 200 and "Hello, Ada!" in response.text, response.text
        async with mcp_client(server.mcp_url, token=TOKEN) as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"hello_greet"}
            result = await client.call_tool("hello_greet", {"name": "Grace"})
            assert structured(result) == {"greeting": "Hello, Grace!"}, all_text(result)
        assert TOKEN not in server.stderr()
    # The compile cache goes where $XDG_CACHE_HOME says: the image points it at its cache volume.
    assert list((cache / "capsule" / "compiled").glob("engine-*/*.cwasm")), "nothing in the compile cache"


@pytest.fixture
def container(image: str) -> Iterator[Path]:
    """A fresh working container's root filesystem, mounted, for a test to add its plugins and config to."""
    with mounted(image, f"capsule-image-test-{os.getpid()}-{time.monotonic_ns()}") as root:
        yield root


class ImageCommand:
    """The image as a container engine runs it, without one: its ENTRYPOINT + CMD, with its Env, as its
    USER, chrooted into its root filesystem (`/capsule` is static: it needs no /proc or /dev), on the
    host's network. Needs root (chroot), as `make image` does."""

    def __init__(self, config: dict[str, Any], root: Path, built_plugins: Path, port: int) -> None:
        chroot = shutil.which("chroot")
        if os.geteuid() != 0 or chroot is None:
            pytest.fail("running the image's command needs root and chroot(8) (coreutils): run `make image-test` as root")
        self.root = root
        shutil.copyfile(built_plugins / "hello.wasm", root / "plugins" / "hello.wasm")
        argv = [*config["Entrypoint"], *config["Cmd"]]
        assert argv[-2:] == ["--http", "0.0.0.0:8080"], argv
        # Another port than 8080, which may be taken on this machine.
        self.argv = [chroot, f"--userspec={config['User']}", str(root), *argv[:-1], f"0.0.0.0:{port}"]
        self.env = image_env(config)
        self.config = root / "etc/capsule/capsule.toml"

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv, env=self.env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_the_images_command_refuses_to_serve_without_auth(image_config, container, built_plugins):
    port = free_port()
    command = ImageCommand(image_config, container, built_plugins, port)
    # No capsule.toml mounted: the error names the file.
    missing = command.run()
    assert missing.returncode != 0
    assert "/etc/capsule/capsule.toml" in missing.stderr, missing.stderr
    # A capsule.toml without [auth]: a non-loopback address is refused, saying what to configure.
    command.config.write_text("[defaults]\ntimeout = \"10s\"\n")
    refused = command.run()
    assert refused.returncode == 2, refused.stderr
    assert f"refusing to serve MCP on 0.0.0.0:{port}" in refused.stderr, refused.stderr
    assert "no authentication is configured" in refused.stderr
    assert "--auth bearer" in refused.stderr and "[auth]" in refused.stderr


def test_the_images_command_serves_as_its_user_once_auth_is_configured(image_config, container, built_plugins, tmp_path):
    port = free_port()
    command = ImageCommand(image_config, container, built_plugins, port)
    command.config.write_text(bearer_config(container))
    log = tmp_path / "capsule.log"
    with log.open("w") as errlog:
        process = subprocess.Popen(
            command.argv, env=command.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while f"listening on http://0.0.0.0:{port}/mcp" not in log.read_text() and process.poll() is None:
            assert time.monotonic() < deadline, f"capsule did not start:\n{log.read_text()}"
            time.sleep(0.05)
        assert process.poll() is None, f"capsule exited ({process.returncode}):\n{log.read_text()}"
        # Probes come with the pod's or the engine's address as Host: they answer any; /mcp only loopback names.
        stranger = {"host": "10.1.2.3:8080"}
        assert httpx2.get(f"{base}/healthz", headers=stranger, timeout=REQUEST_TIMEOUT_S).status_code == 200
        assert httpx2.get(f"{base}/readyz", headers=stranger, timeout=REQUEST_TIMEOUT_S).status_code == 200
        assert httpx2.post(f"{base}/mcp", headers=stranger, json={}, timeout=REQUEST_TIMEOUT_S).status_code == 403
        assert call_over_http(f"{base}/mcp", None, "hello_greet", {"name": "x"}).status_code == 401
        response = call_over_http(f"{base}/mcp", TOKEN, "hello_greet", {"name": "Ada"})
        assert response.status_code == 200 and "Hello, Ada!" in response.text, response.text
    finally:
        status = stop_process(process)
    assert status == 0, f"exit status {status} after SIGTERM:\n{log.read_text()}"
    assert "without TLS" in log.read_text()
    # The compiled plugin went to the cache volume, written by the image's user.
    compiled = container / "var/cache/capsule/compiled"
    entries = list(compiled.glob("engine-*/*.cwasm"))
    assert entries, f"nothing in the compile cache volume:\n{log.read_text()}"
    for path in (compiled, *entries):
        assert (path.stat().st_uid, path.stat().st_gid) == (UID, GID), path
