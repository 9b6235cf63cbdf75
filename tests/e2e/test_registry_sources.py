"""Registry plugins declared in capsule.toml (`[[plugin]]`) and pinned in capsule.lock (issue #17):
`capsule lock` fetches, verifies and keeps them in the content-addressed store; `serve` and
`capsule plugins` run exactly what the lock pins, from the store, with the registry stopped; an
unsigned or re-pushed tag is never pinned; a stored component that is not the pinned one is refused
before it compiles; `capsule update` shows a changed tool description, and a running server serves
the new version as soon as the lock moves.

The "changed description" is the rug pull as it would arrive: the same component with one string of
its data changed (`Greet someone by name` -> `Greet someone by NAME`), signed by the same key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from registry import Cli, Registry, ok, refused, run_registry
from test_hot_reload import changes

pytestmark = pytest.mark.anyio

ORIGINAL = b"Greet someone by name"
CHANGED = b"Greet someone by NAME"


@pytest.fixture
def registry(tmp_path) -> Iterator[Registry]:
    """A registry of each test's own, so that a test may stop it."""
    with run_registry(tmp_path / "registry") as reg:
        yield reg


@pytest.fixture
def cli(capsule_bin, tmp_path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(capsule_bin, home=home)


@pytest.fixture
def site(cli, registry, built_plugins, tmp_path) -> SimpleNamespace:
    """A deployment: a key pair, a signed `hello` 1.0 in the registry, and a capsule.toml that
    declares it as plugin `greeter`, trusting the key."""
    root = tmp_path / "site"
    (root / "keys").mkdir(parents=True)
    (root / "plugins").mkdir()
    ok(cli("key", "generate", "--output", root / "keys" / "cosign"))
    source = registry.source("tools/hello", "1.0")
    ok(cli("push", built_plugins / "hello.wasm", source, "--sign-key", root / "keys" / "cosign.key"))
    config = root / "capsule.toml"
    config.write_text(
        '[trust]\nkeys = ["keys/cosign.pub"]\n\n'
        f'[[plugin]]\nname = "greeter"\nsource = "{source}"\n'
    )
    common = ["--config", str(config), "--store", str(root / "store")]
    return SimpleNamespace(
        root=root,
        config=config,
        lock=root / "capsule.lock",
        source=source,
        common=common,  # for `capsule.serve`, which gives its own (empty) --plugins directory
        args=[*common, "--plugins", str(root / "plugins")],
    )


def changed_hello(built_plugins: Path, tmp_path: Path) -> Path:
    data = (built_plugins / "hello.wasm").read_bytes()
    assert data.count(ORIGINAL) == 1, "the description string is in the component once"
    path = tmp_path / "hello-2.wasm"
    path.write_bytes(data.replace(ORIGINAL, CHANGED))
    return path


def lock_entry(lock: Path, name: str) -> dict[str, str]:
    text = lock.read_text()
    block = text.split(f'name = "{name}"', 1)[1].split("[[plugin]]", 1)[0]
    return dict(re.findall(r'^(\w+) = "([^"]*)"$', block, re.M))


async def description(srv, tool: str = "greeter_greet") -> str | None:
    tools = {t.name: t for t in (await srv.client.list_tools()).tools}
    return tools[tool].description if tool in tools else None


async def test_lock_pins_and_serve_runs_from_the_store_with_the_registry_stopped(cli, registry, site, capsule):
    out = ok(cli("lock", *site.args))
    assert "greeter: fetched" in out and "greeter: pinned" in out, out
    pin = lock_entry(site.lock, "greeter")
    assert pin["source"] == site.source
    assert pin["digest"].startswith("sha256:") and pin["signer"].startswith("key sha256:")
    assert (site.root / "store" / "sha256" / pin["component"].removeprefix("sha256:")).is_file()

    registry.process.terminate()
    registry.process.wait(timeout=10)

    out = ok(cli("plugins", *site.args))
    assert f"source:     {site.source} @ {pin['digest']}" in out, out
    async with capsule.serve([], args=site.common) as srv:
        assert await description(srv) == ORIGINAL.decode()
        result = await srv.client.call_tool("greeter_greet", {"name": "registry"})
        assert not result.is_error, result

    # A second `lock` keeps the pin and needs no registry.
    out = ok(cli("lock", *site.args))
    assert "greeter: already pinned, unchanged" in out, out


async def test_an_unsigned_tag_is_never_pinned_nor_served(cli, registry, built_plugins, site, capsule):
    ok(cli("push", built_plugins / "textkit.wasm", site.source))  # the tag now names unsigned bytes
    proc = cli("lock", *site.args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "greeter: not pinned:" in proc.stdout and "is not signed" in proc.stdout, proc.stdout
    assert "greeter" not in (site.lock.read_text() if site.lock.exists() else "")
    proc = cli("plugins", *site.args)
    assert proc.returncode == 1
    assert "is not pinned in the lock file: run `capsule lock`" in proc.stdout, proc.stdout


async def test_a_stored_component_that_is_not_the_pinned_one_is_refused(cli, site, built_plugins):
    ok(cli("lock", *site.args))
    pin = lock_entry(site.lock, "greeter")
    stored = site.root / "store" / "sha256" / pin["component"].removeprefix("sha256:")
    stored.write_bytes((built_plugins / "textkit.wasm").read_bytes())
    proc = cli("plugins", *site.args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the stored component is not the pinned one" in proc.stdout, proc.stdout
    assert "textkit_" not in proc.stdout


async def test_a_missing_component_is_fetched_by_its_pinned_digest(cli, site):
    ok(cli("lock", *site.args))
    pin = lock_entry(site.lock, "greeter")
    stored = site.root / "store" / "sha256" / pin["component"].removeprefix("sha256:")
    stored.unlink()
    out = ok(cli("plugins", *site.args))
    assert "greeter_greet" in out and stored.is_file(), out


async def test_update_shows_a_changed_description_and_the_running_server_serves_it(
    cli, site, built_plugins, tmp_path, capsule
):
    ok(cli("lock", *site.args))
    before = lock_entry(site.lock, "greeter")
    async with capsule.serve([], args=site.common) as srv, changes(srv) as seen:
        assert await description(srv) == ORIGINAL.decode()
        out = ok(cli("update", *site.args))
        assert "greeter: up to date" in out, out

        key = site.root / "keys" / "cosign.key"
        ok(cli("push", changed_hello(built_plugins, tmp_path), site.source, "--sign-key", key))
        out = ok(cli("update", *site.args))
        assert f"greeter: {site.source}@{before['digest']} -> {site.source}@" in out, out
        diff = f'tool greeter_greet: description changed: "{ORIGINAL.decode()}" -> "{CHANGED.decode()}"'
        assert diff in out, out
        after = lock_entry(site.lock, "greeter")
        assert after["digest"] != before["digest"] and after["definitions"] != before["definitions"]

        assert await seen.next() == {"tools"}
        assert await description(srv) == CHANGED.decode()


async def test_names_are_the_configs_and_unpinned_sources_say_what_to_do(cli, site, built_plugins):
    proc = cli("plugins", *site.args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "is not pinned in the lock file: run `capsule lock`" in proc.stdout, proc.stdout
    # A dropped-in file cannot take a registry plugin's name.
    (site.root / "plugins" / "greeter.wasm").write_bytes((built_plugins / "textkit.wasm").read_bytes())
    proc = cli("lock", *site.args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "the name 'greeter' is taken by a [[plugin]] from a registry" in proc.stdout, proc.stdout
    assert lock_entry(site.lock, "greeter")["source"] == site.source, "the registry plugin is pinned"
    refused(cli("update", "nosuch", *site.args), "'nosuch' is not a [[plugin]] from a registry")
