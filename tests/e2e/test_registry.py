"""Plugins through a real OCI registry (issue #17): `capsule push`, `sign`, `pull` and `key generate`
against Debian's `docker-registry` (anonymous, htpasswd basic auth, TLS with a private CA), interop
both ways with the `oras` client, and every refusal: unsigned, tampered, wrong key, not a component,
oversized, auth, certificates, unreachable, not found. A refused pull writes nothing and leaves an
existing plugin file byte-identical. Last, a pull into a served directory reaches the MCP client."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import anyio
import mcp_types as types
import pytest
from conftest import CORE_MODULE_BYTES, LEGACY, structured
from registry import (  # `registry` and `cli` are the module's fixtures
    WASM_CONFIG_MEDIA_TYPE,
    WASM_LAYER_MEDIA_TYPE,
    Cli,
    Registry,
    TokenServer,
    auth_file,
    cli,
    fetch,
    free_port,
    make_tls,
    ok,
    pinned_digest,
    put,
    refused,
    registry,
    run_registry,
)

USERS = {"alice": "wonderland"}
NOT_SIGNED = "is not signed (no cosign signature for its digest"


# --------------------------------------------------------------------------------------------------
# Fixtures: one registry of each kind, one CLI runner and two key pairs per module.


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory) -> Iterator[Registry]:
    with run_registry(tmp_path_factory.mktemp("auth-registry"), users=USERS) as reg:
        yield reg


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("tls-registry")
    with run_registry(root, tls=make_tls(root / "tls")) as reg:
        yield reg


@pytest.fixture(scope="module")
def keys(cli, tmp_path_factory) -> SimpleNamespace:
    """Two cosign key pairs made by `capsule key generate`: a (the publisher's) and b (someone else's)."""
    directory = tmp_path_factory.mktemp("keys")
    for name in ("a", "b"):
        out = ok(cli("key", "generate", "--output", directory / name))
        assert f"private key: {directory / name}.key" in out and f"public key: {directory / name}.pub" in out, out
    assert (directory / "a.key").stat().st_mode & 0o777 == 0o600
    assert "ENCRYPTED SIGSTORE PRIVATE KEY" in (directory / "a.key").read_text()
    assert (directory / "a.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    return SimpleNamespace(
        dir=directory,
        a_key=directory / "a.key",
        a_pub=directory / "a.pub",
        b_key=directory / "b.key",
        b_pub=directory / "b.pub",
    )


@pytest.fixture
def repo(request) -> str:
    """A repository of its own for each test (`<test name>/hello`: plugins pulled from it are `hello`)."""
    return re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60] + "/hello"


@pytest.fixture
def plugins(tmp_path) -> Path:
    path = tmp_path / "plugins"
    path.mkdir()
    return path


def wasm(built_plugins: Path, name: str) -> bytes:
    return (built_plugins / f"{name}.wasm").read_bytes()


def listing(directory: Path) -> dict[str, bytes]:
    """Every file in `directory` (hidden temporary files too) and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def write_file(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)
    return directory / name


# --------------------------------------------------------------------------------------------------
# 1. push, sign, pull


def test_push_sign_pull_round_trip(registry, cli, keys, built_plugins, plugins, repo):
    hello = built_plugins / "hello.wasm"
    source = registry.source(repo, "1.0")
    out = ok(cli("push", hello, source))
    digest = pinned_digest(out)
    assert out == f"{source}@{digest}\n"

    # The printed digest is the manifest's, which is in the CNCF Wasm artifact layout.
    status, body = fetch(registry, f"{repo}/manifests/1.0")
    assert status == 200 and "sha256:" + hashlib.sha256(body).hexdigest() == digest
    manifest = json.loads(body)
    assert manifest["config"]["mediaType"] == WASM_CONFIG_MEDIA_TYPE
    [layer] = manifest["layers"]
    assert layer["mediaType"] == WASM_LAYER_MEDIA_TYPE
    assert layer["digest"] == "sha256:" + hashlib.sha256(hello.read_bytes()).hexdigest()
    assert layer["size"] == hello.stat().st_size
    assert layer["annotations"] == {"org.opencontainers.image.title": "hello.wasm"}

    out = ok(cli("sign", source, "--key", keys.a_key))
    assert out == f"signed {source}@{digest}\n"
    # cosign's place for the signature: the tag sha256-<hex>.sig in the same repository.
    status, _ = fetch(registry, f"{repo}/manifests/{digest.replace(':', '-')}.sig")
    assert status == 200

    out = ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub))
    fingerprint_line = f"{source}@{digest} -> {plugins / 'hello.wasm'} ({hello.stat().st_size} bytes, signed by {keys.a_pub} (sha256:"
    assert out.startswith(fingerprint_line), out
    assert listing(plugins) == {"hello.wasm": hello.read_bytes()}, "exactly the pushed bytes, no temporary left"

    # By digest, under another name.
    by_digest = registry.source(repo, digest)
    out = ok(cli("pull", by_digest, "--plugins", plugins, "--key", keys.a_pub, "--name", "greeter"))
    assert f"-> {plugins / 'greeter.wasm'}" in out, out
    assert listing(plugins) == {"greeter.wasm": hello.read_bytes(), "hello.wasm": hello.read_bytes()}


def test_push_with_sign_key_signs_too(registry, cli, keys, built_plugins, plugins, repo):
    source = registry.source(repo, "2.0")
    proc = cli("push", built_plugins / "textkit.wasm", source, "--sign-key", keys.a_key)
    digest = pinned_digest(ok(proc))
    assert f"signed with {keys.a_key}" in proc.stderr
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub))
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "textkit")}
    # The digest printed is what the tag names.
    ok(cli("pull", registry.source(repo, digest), "--plugins", plugins, "--key", keys.a_pub, "--name", "tk"))
    assert (plugins / "tk.wasm").read_bytes() == wasm(built_plugins, "textkit")


def test_a_wrong_password_cannot_sign(registry, cli, keys, built_plugins, repo):
    source = registry.source(repo)
    ok(cli("push", built_plugins / "hello.wasm", source))
    proc = cli("sign", source, "--key", keys.a_key, env={"COSIGN_PASSWORD": "not the password"})
    refused(proc, f"key '{keys.a_key}'", "is COSIGN_PASSWORD the key's password?")
    status, body = fetch(registry, f"{repo}/tags/list")
    assert status == 200 and json.loads(body)["tags"] == ["1.0"], "no signature pushed"


# --------------------------------------------------------------------------------------------------
# 2. unsigned


def test_unsigned_is_refused_and_loses_nothing(registry, cli, keys, built_plugins, plugins, repo):
    source = registry.source(repo)
    digest = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", source)))
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub), f"{source}@{digest} {NOT_SIGNED}")
    assert listing(plugins) == {}, "nothing written"

    # An existing plugin file of that name survives a refused pull byte for byte.
    before = {"hello.wasm": wasm(built_plugins, "textkit"), "hello.toml": b"# grants\n"}
    for name, data in before.items():
        write_file(plugins, name, data)
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub), NOT_SIGNED)
    assert listing(plugins) == before

    # --allow-unsigned accepts it, out loud.
    proc = cli("pull", source, "--plugins", plugins, "--allow-unsigned")
    assert ok(proc).endswith(f"({(built_plugins / 'hello.wasm').stat().st_size} bytes, UNSIGNED)\n"), proc.stdout
    assert "UNSIGNED plugin accepted because unsigned plugins are allowed" in proc.stderr, proc.stderr
    assert f"{source}@{digest}: it has no signature" in proc.stderr, proc.stderr
    assert listing(plugins) == {**before, "hello.wasm": wasm(built_plugins, "hello")}


def test_trust_settings_from_the_config_file(registry, cli, keys, built_plugins, plugins, repo, tmp_path):
    source = registry.source(repo)
    ok(cli("push", built_plugins / "hello.wasm", source))

    # [trust] allow_unsigned = true
    config = write_file(tmp_path / "conf-unsigned", "capsule.toml", b"[trust]\nallow_unsigned = true\n")
    proc = cli("pull", source, "--plugins", plugins, "--config", config)
    assert "UNSIGNED" in ok(proc) and "UNSIGNED plugin accepted" in proc.stderr
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}
    (plugins / "hello.wasm").unlink()

    # [trust] keys, relative to the config file (run from elsewhere); like --key.
    conf_dir = tmp_path / "conf-keys"
    write_file(conf_dir / "keys", "publisher.pub", keys.a_pub.read_bytes())
    config = write_file(conf_dir, "capsule.toml", b'[trust]\nkeys = ["keys/publisher.pub"]\n')
    refused(cli("pull", source, "--plugins", plugins, "--config", config, cwd=tmp_path), NOT_SIGNED)
    assert listing(plugins) == {}
    ok(cli("sign", source, "--key", keys.a_key))
    out = ok(cli("pull", source, "--plugins", plugins, "--config", config, cwd=tmp_path))
    assert f"signed by {conf_dir / 'keys' / 'publisher.pub'} (sha256:" in out, out
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}

    # A key file the config names that is missing is an error, not "no keys".
    config = write_file(tmp_path / "conf-missing", "capsule.toml", b'[trust]\nkeys = ["nope.pub"]\n')
    refused(cli("pull", source, "--plugins", plugins, "--config", config), f"key '{tmp_path / 'conf-missing' / 'nope.pub'}': cannot read it")


# --------------------------------------------------------------------------------------------------
# 3. tampered, 4. wrong key


def test_a_tag_moved_to_other_bytes_is_refused(registry, cli, keys, built_plugins, plugins, repo):
    source = registry.source(repo)
    signed = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", source, "--sign-key", keys.a_key)))
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub))
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}

    # Someone with push access moves the tag to another component; the old signature does not cover it.
    moved = pinned_digest(ok(cli("push", built_plugins / "textkit.wasm", source)))
    assert moved != signed
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub), f"{source}@{moved} {NOT_SIGNED}")
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}, "the previous file is intact"

    # The signed digest is still pullable by digest.
    ok(cli("pull", registry.source(repo, signed), "--plugins", plugins, "--key", keys.a_pub))
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}


def test_bytes_altered_in_the_registry_storage_are_refused(cli, keys, built_plugins, plugins, repo, tmp_path):
    """The registry itself serves altered bytes (its storage edited behind its back): the layer's and
    the manifest's digests are checked, whatever the signature says. A registry of its own: blobs
    are shared by every repository of a registry."""
    with run_registry(tmp_path / "registry") as registry:
        altered_in_storage(registry, cli, keys, built_plugins, plugins, repo)


def altered_in_storage(registry, cli, keys, built_plugins, plugins, repo):
    source = registry.source(repo)
    digest = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", source, "--sign-key", keys.a_key)))
    original = wasm(built_plugins, "hello")
    write_file(plugins, "hello.wasm", wasm(built_plugins, "textkit"))
    before = listing(plugins)
    layer_digest = "sha256:" + hashlib.sha256(original).hexdigest()
    blob = registry.blob_path(layer_digest)
    pull = ("pull", source, "--plugins", plugins, "--key", keys.a_pub)
    try:
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        for altered in (bytes(flipped), original[:-10]):
            blob.write_bytes(altered)
            refused(
                cli(*pull),
                f"component layer of {source}@{digest}: digest mismatch (expected {layer_digest}, "
                f"got sha256:{hashlib.sha256(altered).hexdigest()})",
            )
            assert listing(plugins) == before
        blob.write_bytes(original + b"more")
        refused(cli(*pull), f"component layer of {source}@{digest}: the registry sent more than the {len(original)} bytes the manifest gives as its size")
        assert listing(plugins) == before
    finally:
        blob.write_bytes(original)
    ok(cli(*pull))
    assert listing(plugins) == {"hello.wasm": original}

    # The manifest altered: its bytes match neither the digest asked for nor the one the
    # registry names in Docker-Content-Digest (by tag).
    manifest_blob = registry.blob_path(digest)
    manifest = json.loads(manifest_blob.read_bytes())
    manifest["annotations"] = {"note": "altered"}
    altered = json.dumps(manifest).encode()
    manifest_blob.write_bytes(altered)
    altered_digest = "sha256:" + hashlib.sha256(altered).hexdigest()
    by_digest = registry.source(repo, digest)
    refused(cli("pull", by_digest, "--plugins", plugins, "--key", keys.a_pub), f"manifest of {by_digest}: digest mismatch (expected {digest}, got {altered_digest})")
    refused(cli(*pull), f"manifest of {source}: digest mismatch (expected {digest}, got {altered_digest})")
    assert listing(plugins) == {"hello.wasm": original}


def test_a_signature_by_an_untrusted_key_is_refused(registry, cli, keys, built_plugins, plugins, repo):
    source = registry.source(repo)
    digest = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", source, "--sign-key", keys.a_key)))
    write_file(plugins, "hello.wasm", wasm(built_plugins, "textkit"))
    refused(
        cli("pull", source, "--plugins", plugins, "--key", keys.b_pub),
        f"{source}@{digest} has 1 signature(s), none verified by a trusted key ({keys.b_pub})",
    )
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "textkit")}

    # No keys at all, and unsigned not allowed: refused before anything is fetched.
    refused(cli("pull", source, "--plugins", plugins), "no trusted keys or identities: signatures are required for registry plugins")
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "textkit")}

    # Trusting both keys is fine: one of them signed it.
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.b_pub, "--key", keys.a_pub))
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}

    # `capsule sign` by b adds b's signature and keeps a's (as cosign does): either key admits it.
    ok(cli("sign", source, "--key", keys.b_key))
    status, body = fetch(registry, f"{repo}/manifests/{digest.replace(':', '-')}.sig")
    assert status == 200 and len(json.loads(body)["layers"]) == 2, body
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.b_pub))
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub))


# --------------------------------------------------------------------------------------------------
# 5. oras interop


def oras_config(layer: bytes) -> bytes:
    """The config blob of the Wasm OCI artifact layout, as `wkg oci push` writes it."""
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    return json.dumps({"architecture": "wasm", "os": "wasip2", "layerDigests": [digest]}).encode()


def oras_push(registry: Registry, target: str, workdir: Path, name: str, data: bytes, media_type: str, config: bytes | None) -> None:
    """Push `data` as the one layer `name` of `media_type`, with a Wasm config (or none: oras's generic one)."""
    layer = write_file(workdir, name, data)
    kwargs = {}
    if config is not None:
        kwargs["manifest_config"] = f"{write_file(workdir, 'config.json', config)}:{WASM_CONFIG_MEDIA_TYPE}"
    response = registry.oras().push(
        target=target, files=[f"{layer}:{media_type}"], disable_path_validation=True, quiet=True, **kwargs
    )
    assert response.status_code == 201, response.text


def test_oras_push_capsule_pull(registry, cli, keys, built_plugins, plugins, repo, tmp_path):
    data = wasm(built_plugins, "hello")
    oras_push(registry, registry.target(repo), tmp_path / "oras", "hello.wasm", data, WASM_LAYER_MEDIA_TYPE, oras_config(data))
    source = registry.source(repo)
    digest = pinned_digest(ok(cli("sign", source, "--key", keys.a_key)))
    status, body = fetch(registry, f"{repo}/manifests/1.0")
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
    assert json.loads(body)["config"]["mediaType"] == WASM_CONFIG_MEDIA_TYPE
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub))
    assert listing(plugins) == {"hello.wasm": data}


def test_oras_push_without_a_config_is_accepted(registry, cli, keys, built_plugins, plugins, repo, tmp_path):
    data = wasm(built_plugins, "textkit")
    target = registry.target(repo, "generic")
    oras_push(registry, target, tmp_path / "oras", "textkit.wasm", data, WASM_LAYER_MEDIA_TYPE, config=None)
    config_type = json.loads(fetch(registry, f"{repo}/manifests/generic")[1])["config"]["mediaType"]
    assert config_type == "application/vnd.unknown.config.v1+json"
    source = registry.source(repo, "generic")
    ok(cli("sign", source, "--key", keys.a_key))
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--name", "textkit"))
    assert listing(plugins) == {"textkit.wasm": data}


def test_capsule_push_oras_pull(registry, cli, built_plugins, repo, tmp_path):
    ok(cli("push", built_plugins / "hello.wasm", registry.source(repo)))
    out = tmp_path / "oras-out"
    out.mkdir()
    files = registry.oras().pull(target=registry.target(repo), outdir=str(out))
    assert [Path(f).name for f in files] == ["hello.wasm"]
    assert listing(out) == {"hello.wasm": wasm(built_plugins, "hello")}


# --------------------------------------------------------------------------------------------------
# 6. not a component, 7. oversized


@pytest.mark.parametrize(
    ("media_type", "data", "reason"),
    [
        (
            "application/vnd.oci.image.layer.v1.tar",
            b"a tarball, say",
            "its layers are [application/vnd.oci.image.layer.v1.tar], not one application/wasm layer",
        ),
        (
            WASM_LAYER_MEDIA_TYPE,
            CORE_MODULE_BYTES,
            "the layer is a core WebAssembly module, not a component (wrap it with `wasm-tools component new`)",
        ),
        (WASM_LAYER_MEDIA_TYPE, os.urandom(4096), "the layer is not WebAssembly (it does not start with \\0asm)"),
    ],
    ids=["tar-layer", "core-module", "random-bytes"],
)
def test_an_artifact_that_is_not_a_component_is_refused(
    registry, cli, keys, built_plugins, plugins, repo, tmp_path, media_type, data, reason
):
    oras_push(registry, registry.target(repo), tmp_path / "oras", "hello.wasm", data, media_type, oras_config(data))
    source = registry.source(repo)
    digest = pinned_digest(ok(cli("sign", source, "--key", keys.a_key)))  # signed, and still refused
    write_file(plugins, "hello.wasm", wasm(built_plugins, "hello"))
    for trust in (["--key", keys.a_pub], ["--allow-unsigned"]):
        refused(
            cli("pull", source, "--plugins", plugins, *trust),
            f"{source}@{digest} is not a Wasm component artifact: {reason}",
        )
        assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}


def test_an_index_or_two_layers_are_not_one_component(registry, cli, keys, built_plugins, plugins, repo, tmp_path):
    hello = wasm(built_plugins, "hello")
    # Two application/wasm layers (oras pushes both files).
    two = write_file(tmp_path / "two", "a.wasm", hello), write_file(tmp_path / "two", "b.wasm", hello + b"\0")
    config = write_file(tmp_path / "two", "config.json", oras_config(hello))
    response = registry.oras().push(
        target=registry.target(repo, "two"),
        files=[f"{f}:{WASM_LAYER_MEDIA_TYPE}" for f in two],
        manifest_config=f"{config}:{WASM_CONFIG_MEDIA_TYPE}",
        disable_path_validation=True,
        quiet=True,
    )
    assert response.status_code == 201, response.text
    source = registry.source(repo, "two")
    refused(cli("pull", source, "--plugins", plugins, "--allow-unsigned"), "its layers are [application/wasm, application/wasm], not one application/wasm layer")

    # An image index (one entry per platform), PUT as is.
    digest = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", registry.source(repo, "single"))))
    manifest = fetch(registry, f"{repo}/manifests/{digest}")[1]
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                       "size": len(manifest), "platform": {"architecture": "wasm", "os": "wasip2"}}],
    }).encode()  # fmt: skip
    status, body = put(registry, f"{repo}/manifests/index", index, "application/vnd.oci.image.index.v1+json")
    assert status == 201, body
    source = registry.source(repo, "index")
    refused(cli("pull", source, "--plugins", plugins, "--allow-unsigned"), "is not a Wasm component artifact: it is an image index, not a single Wasm artifact")
    assert listing(plugins) == {}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (CORE_MODULE_BYTES, "the layer is a core WebAssembly module, not a component"),
        (b"#!/bin/sh\necho not wasm\n", "the layer is not WebAssembly"),
    ],
    ids=["core-module", "script"],
)
def test_push_refuses_a_file_that_is_not_a_component(registry, cli, repo, tmp_path, data, reason):
    file = write_file(tmp_path, "thing.wasm", data)
    source = registry.source(repo)
    refused(cli("push", file, source), f"{source} is not a Wasm component artifact: {reason}")
    status, body = fetch(registry, f"{repo}/tags/list")
    assert status == 404, f"nothing was sent, the repository does not exist: {status} {body!r}"


def test_push_needs_a_tag_not_a_digest(registry, cli, built_plugins, repo):
    digest = "sha256:" + hashlib.sha256(b"anything").hexdigest()
    for source in (registry.source(repo, digest), f"{registry.source(repo)}@{digest}"):
        refused(cli("push", built_plugins / "hello.wasm", source), f"push to a tag, not to a digest ('{source}' names {digest})")
    assert fetch(registry, f"{repo}/tags/list")[0] == 404, "nothing was sent"
    # No tag at all means `latest`, as in every OCI tool.
    out = ok(cli("push", built_plugins / "hello.wasm", f"oci://{registry.host}/{repo}"))
    assert out.startswith(f"oci://{registry.host}/{repo}:latest@sha256:"), out


def test_an_oversized_component_is_refused(registry, cli, keys, built_plugins, plugins, repo):
    source = registry.source(repo)
    digest = pinned_digest(ok(cli("push", built_plugins / "hello.wasm", source, "--sign-key", keys.a_key)))
    size = (built_plugins / "hello.wasm").stat().st_size
    refused(
        cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--max-component-size", "1KiB"),
        f"the component layer of {source}@{digest} is {size} bytes, over the cap of 1024 bytes "
        "(raise it with --max-component-size or [defaults] max_component_size)",
    )
    assert listing(plugins) == {}
    # The cap from the config file's [defaults] too.
    config = write_file(plugins.parent / "conf", "capsule.toml", b'[defaults]\nmax_component_size = "2KiB"\n')
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--config", config), "over the cap of 2048 bytes")
    assert listing(plugins) == {}
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--max-component-size", f"{size}B"))
    assert listing(plugins) == {"hello.wasm": wasm(built_plugins, "hello")}


# --------------------------------------------------------------------------------------------------
# 8. basic auth


def test_basic_auth(auth_registry, cli, keys, built_plugins, plugins, repo, tmp_path):
    reg = auth_registry
    source = reg.source(repo)
    hello = built_plugins / "hello.wasm"
    refusal = f"registry {reg.host} refused access"
    hint = "put credentials in REGISTRY_AUTH_FILE or ~/.docker/config.json"

    # Anonymous: refused, with what the registry said and where credentials go.
    refused(cli("push", hello, source), f"{refusal} (UNAUTHORIZED: authentication required); {hint}")
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub), refusal, "401 Unauthorized", hint)

    # A wrong password is refused as well.
    wrong = {"REGISTRY_AUTH_FILE": str(auth_file(tmp_path / "wrong.json", reg.host, "alice", "queen of hearts"))}
    refused(cli("push", hello, source, env=wrong), refusal)
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, env=wrong), refusal)
    assert listing(plugins) == {}

    # REGISTRY_AUTH_FILE (the containers auth file): push, sign, pull.
    good = {"REGISTRY_AUTH_FILE": str(auth_file(tmp_path / "auth.json", reg.host, "alice", USERS["alice"]))}
    digest = pinned_digest(ok(cli("push", hello, source, env=good)))
    ok(cli("sign", source, "--key", keys.a_key, env=good))
    out = ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, env=good))
    assert f"{source}@{digest} -> " in out
    assert listing(plugins) == {"hello.wasm": hello.read_bytes()}

    # Docker's config.json in DOCKER_CONFIG, as `oras login` writes it.
    docker_config = tmp_path / "docker"
    reg.oras(login=("alice", USERS["alice"]), config=docker_config / "config.json")
    assert reg.host in json.loads((docker_config / "config.json").read_text())["auths"]
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--name", "again", env={"DOCKER_CONFIG": str(docker_config)}))
    assert (plugins / "again.wasm").read_bytes() == hello.read_bytes()

    # ... and ~/.docker/config.json under HOME.
    home = tmp_path / "home"
    write_file(home / ".docker", "config.json", (docker_config / "config.json").read_bytes())
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--name", "home", env={"HOME": str(home)}))
    assert (plugins / "home.wasm").read_bytes() == hello.read_bytes()


def test_an_unusable_credentials_entry_is_an_error(auth_registry, cli, keys, plugins, repo, tmp_path):
    file = tmp_path / "auth.json"
    file.write_text(json.dumps({"auths": {}, "credsStore": "desktop"}))
    refused(
        cli("pull", auth_registry.source(repo), "--plugins", plugins, "--key", keys.a_pub, env={"REGISTRY_AUTH_FILE": str(file)}),
        f"registry credentials in '{file}'",
        'kept by the credential helper "desktop", which Capsule does not run',
    )


def test_bearer_token_auth(cli, keys, built_plugins, plugins, repo, tmp_path):
    """A registry with token auth (its own token server): Capsule gets tokens with the basic
    credentials of the auth file, or uses a `registrytoken` from it as is."""
    tokens = TokenServer(tmp_path / "token", USERS)
    try:
        with run_registry(tmp_path / "registry", token=tokens) as reg:
            source = reg.source(repo)
            hello = built_plugins / "hello.wasm"
            refusal = f"registry {reg.host} refused access"
            refused(cli("push", hello, source), refusal)
            refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub), refusal)
            assert tokens.requests and all(user is None for user, _ in tokens.requests), tokens.requests
            wrong = {"REGISTRY_AUTH_FILE": str(auth_file(tmp_path / "wrong.json", reg.host, "alice", "nope"))}
            refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, env=wrong), refusal)

            # Basic credentials in the auth file are exchanged for tokens.
            good = {"REGISTRY_AUTH_FILE": str(auth_file(tmp_path / "auth.json", reg.host, "alice", USERS["alice"]))}
            tokens.requests.clear()
            digest = pinned_digest(ok(cli("push", hello, source, "--sign-key", keys.a_key, env=good)))
            ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, env=good))
            assert listing(plugins) == {"hello.wasm": hello.read_bytes()}
            assert ("alice", f"repository:{repo}:pull,push") in tokens.requests, tokens.requests
            assert ("alice", f"repository:{repo}:pull") in tokens.requests, tokens.requests

            # A registry token stored in the auth file (`registrytoken`) is sent as the bearer token.
            token = tokens.issue("alice", [f"repository:{repo}:pull"])
            file = tmp_path / "token.json"
            file.write_text(json.dumps({"auths": {reg.host: {"registrytoken": token}}}))
            tokens.requests.clear()
            out = ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--name", "bytoken", env={"REGISTRY_AUTH_FILE": str(file)}))
            assert f"{source}@{digest} -> " in out
            assert (plugins / "bytoken.wasm").read_bytes() == hello.read_bytes()
            assert tokens.requests == [], "the stored token is used as is"
            # It grants pull only: a push with it is refused.
            refused(cli("push", hello, reg.source(repo, "2.0"), env={"REGISTRY_AUTH_FILE": str(file)}), refusal)
    finally:
        tokens.close()


# --------------------------------------------------------------------------------------------------
# 9. TLS


def test_tls_registry_with_a_private_ca(tls_registry, cli, keys, built_plugins, plugins, repo, tmp_path):
    reg = tls_registry
    source = reg.source(repo)
    hello = built_plugins / "hello.wasm"
    ca = reg.tls.ca

    # Without the CA: the certificate error, not a fallback to plain HTTP (the registry is on
    # loopback, where plain HTTP is allowed, but it speaks TLS).
    for proc in (cli("push", hello, source), cli("pull", source, "--plugins", plugins, "--key", keys.a_pub)):
        stderr = refused(
            proc,
            f"capsule: registry {reg.host}: the TLS handshake failed (",
            "invalid peer certificate: UnknownIssuer",
            "trust that CA with --ca-file or [registry] ca in capsule.toml",
        )
        assert "HTTP request to an HTTPS server" not in stderr, stderr
    assert listing(plugins) == {}

    digest = pinned_digest(ok(cli("push", hello, source, "--sign-key", keys.a_key, "--ca-file", ca)))
    ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--ca-file", ca))
    assert listing(plugins) == {"hello.wasm": hello.read_bytes()}

    # [registry] ca in the config file (relative to it).
    conf = tmp_path / "conf"
    write_file(conf / "certs", "registry-ca.pem", ca.read_bytes())
    config = write_file(conf, "capsule.toml", b'[registry]\nca = ["certs/registry-ca.pem"]\n')
    ok(cli("sign", source, "--key", keys.a_key, "--config", config))
    out = ok(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--config", config, "--name", "viaconfig", cwd=tmp_path))
    assert f"{source}@{digest} -> " in out
    assert (plugins / "viaconfig.wasm").read_bytes() == hello.read_bytes()

    # A CA file that is not a certificate is named.
    bogus = write_file(tmp_path, "bogus.pem", b"not a certificate\n")
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub, "--ca-file", bogus), f"CA certificate '{bogus}': not a PEM certificate")


# --------------------------------------------------------------------------------------------------
# 10. unreachable, not found


def test_unreachable_registry_and_missing_tag(registry, cli, keys, built_plugins, plugins, repo):
    port = free_port()  # closed: nothing listens there
    source = f"oci://127.0.0.1:{port}/tools/hello:1.0"
    refused(cli("pull", source, "--plugins", plugins, "--key", keys.a_pub), f"registry 127.0.0.1:{port} is unreachable")
    refused(cli("push", built_plugins / "hello.wasm", source), f"registry 127.0.0.1:{port} is unreachable")
    refused(cli("sign", source, "--key", keys.a_key), f"registry 127.0.0.1:{port} is unreachable")

    missing = registry.source(repo, "no-such-tag")
    refused(cli("pull", missing, "--plugins", plugins, "--key", keys.a_pub), f"{missing} was not found in the registry")
    refused(cli("sign", missing, "--key", keys.a_key), f"{missing} was not found in the registry")
    absent = registry.source(repo, "sha256:" + "0" * 64)
    refused(cli("pull", absent, "--plugins", plugins, "--key", keys.a_pub), f"{absent} was not found in the registry")
    assert listing(plugins) == {}


def test_bad_sources_and_names(cli, keys, plugins):
    refused(cli("pull", "oci://acme/tools:1", "--plugins", plugins, "--key", keys.a_pub), "'acme' is not a registry host", status=2)
    refused(cli("pull", "oci://127.0.0.1:5000/tools/x:1", "--plugins", plugins, "--key", keys.a_pub, "--name", "../evil"), "'../evil' cannot be a plugin name")
    assert listing(plugins) == {}
    # A missing plugin directory is refused before the registry is contacted (port 9 is closed).
    refused(cli("pull", "oci://127.0.0.1:9/tools/x:1", "--plugins", plugins / "absent", "--key", keys.a_pub), "not a directory")


# --------------------------------------------------------------------------------------------------
# 11. a pull into a served directory


@pytest.mark.anyio
async def test_a_pull_into_a_served_directory_is_published(registry, cli, keys, capsule, repo):
    source = registry.source(repo)
    ok(cli("push", capsule.built / "hello.wasm", source, "--sign-key", keys.a_key))
    async with capsule.serve(["textkit"], mode=LEGACY) as srv:
        assert "hello_greet" not in {t.name for t in (await srv.client.list_tools()).tools}
        seen = len(srv.notifications)
        proc = await anyio.to_thread.run_sync(lambda: cli("pull", source, "--plugins", srv.plugin_dir, "--key", keys.a_pub))
        ok(proc)
        with anyio.fail_after(10):
            while not any(isinstance(n, types.ToolListChangedNotification) for n in srv.notifications[seen:]):
                await anyio.sleep(0.05)
        names = {t.name for t in (await srv.client.list_tools()).tools}
        assert {"hello_greet", "textkit_reverse"} <= names, names
        assert structured(await srv.client.call_tool("hello_greet", {"name": "registry"})) == {"greeting": "Hello, registry!"}
        assert not [p.name for p in srv.plugin_dir.iterdir() if p.name.startswith(".")], "no temporary left"
