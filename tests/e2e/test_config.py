"""Configuration through the standard `wasi:config/store` interface: the policy's `[config]` section
(`NAME.toml` beside `NAME.wasm`), read by the `fixture` plugin with `get` and `get-all` as a component
written for any other host would. Values follow the rules of `[env]` (a literal or a host variable read
at load, never logged or shown), but nothing requests them: the operator's section is the grant.
"""

from __future__ import annotations

import json

import pytest
from conftest import structured

pytestmark = pytest.mark.anyio

SECRET = "cfg-s3cr3t-4417"
HOST_VAR = "CAPSULE_TEST_CONFIG_TOKEN"

POLICY = (
    "[config]\n"
    'greeting = { value = "Hello" }\n'
    f'api-token = {{ from_host = "{HOST_VAR}" }}\n'
    '"with space.and.dots" = { value = "" }\n'
)
GRANTED = {"greeting": "Hello", "api-token": SECRET, "with space.and.dots": ""}


async def get(srv, key: str):
    return structured(await srv.client.call_tool("fixture_config_get", {"key": key}))["value"]


async def test_the_plugin_reads_exactly_its_config(capsule, mode):
    async with capsule.serve(
        ["fixture"],
        mode=mode,
        extra={"fixture.toml": POLICY.encode()},
        env={HOST_VAR: SECRET},
    ) as srv:
        assert await get(srv, "greeting") == "Hello"
        assert await get(srv, "api-token") == SECRET, "a from_host value is read from the host at load"
        assert await get(srv, "with space.and.dots") == ""
        for key in ("missing", "Greeting", HOST_VAR, "PATH", ""):
            assert await get(srv, key) is None, key
        everything = structured(await srv.client.call_tool("fixture_config_all", {}))
        assert everything == {"config": GRANTED, "count": len(GRANTED)}, "get-all: exactly the granted keys, once each"
        stderr = srv.stderr()
    assert "fixture" in stderr, stderr
    assert SECRET not in stderr, "configuration values never reach the log"


async def test_config_values_stay_out_of_the_debug_log(capsule):
    """At `debug` the host logs far more (rmcp logs every result, so no call here returns the secret):
    loading the policy, granting and serving `[config]` still log no value."""
    async with capsule.serve(
        ["fixture"],
        extra={"fixture.toml": POLICY.encode()},
        env={HOST_VAR: SECRET, "RUST_LOG": "debug"},
    ) as srv:
        assert await get(srv, "greeting") == "Hello"
        assert await get(srv, "missing") is None
        stderr = srv.stderr()
    assert "DEBUG" in stderr and "fixture_config_get" in stderr, stderr[-2000:]
    assert SECRET not in stderr, "configuration values never reach the log"


async def test_no_policy_means_no_config(capsule):
    async with capsule.serve(["fixture"]) as srv:
        assert await get(srv, "greeting") is None
        assert structured(await srv.client.call_tool("fixture_config_all", {})) == {"config": {}, "count": 0}


def test_capsule_plugins_shows_config_keys_never_values(capsule, monkeypatch):
    monkeypatch.setenv(HOST_VAR, SECRET)
    # `hello` imports no wasi:config and requests nothing: it is granted its section all the same.
    extra = {"fixture.toml": POLICY.encode(), "hello.toml": b'[config]\nname = { value = "x" }\n'}
    plugin_dir = capsule.plugin_dir(["fixture", "hello"], extra)
    listing = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert listing.returncode == 0, listing.stderr
    assert SECRET not in listing.stdout + listing.stderr
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert plugins["fixture"]["granted"]["config"] == ["api-token", "greeting", "with space.and.dots"]
    assert plugins["hello"]["granted"]["config"] == ["name"]
    assert "config" not in plugins["fixture"]["requests"], "there is nothing to request"
    table = capsule.cli("plugins", "--plugins", str(plugin_dir))
    assert table.returncode == 0, table.stderr
    assert SECRET not in table.stdout + table.stderr and "Hello" not in table.stdout
    assert "env: -; config: api-token, greeting, with space.and.dots" in table.stdout, table.stdout


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[config]\ngreeting = { value = "Hello" }\ntoken = { from_host = "CAPSULE_SURELY_UNSET_VAR" }\n',
            3,
            "config.token: host environment variable 'CAPSULE_SURELY_UNSET_VAR' is not set",
        ),
        (
            '\n[config]\ntoken = { value = "literal-value", from_host = "PATH" }\n',
            3,
            'config.token: give exactly one of from_host = "VAR" or value = "..."',
        ),
        ("[config]\ntoken = { }\n", 2, "config.token: give exactly one of"),
        ('[config]\ntoken = { value = "v", secret = true }\n', 2, "unknown field `secret`"),
    ],
)
def test_a_bad_config_entry_keeps_the_plugin_out_and_says_where(capsule, text, line, message):
    plugin_dir = capsule.plugin_dir(["fixture", "hello"], {"fixture.toml": text.encode()})
    proc = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [p["name"] for p in report["plugins"]] == ["hello"], "the other plugins load"
    [error] = report["errors"]
    assert error["path"].endswith("fixture.wasm")
    assert f"fixture.toml:{line}: {message}" in error["reason"], error
    assert "literal-value" not in proc.stdout + proc.stderr, "values never reach errors"


async def test_a_config_change_applies_without_restart(capsule):
    policy = b'[config]\ngreeting = { value = "Hello" }\n'
    async with capsule.serve(["fixture"], extra={"fixture.toml": policy}) as srv:
        assert await get(srv, "greeting") == "Hello"
        changed = '[config]\ngreeting = { value = "Bonjour" }\nextra = { value = "1" }\n'
        (srv.plugin_dir / "fixture.toml").write_text(changed)
        await srv.wait_for_stderr("plugin replaced by a new version")
        assert await get(srv, "greeting") == "Bonjour"
        assert structured(await srv.client.call_tool("fixture_config_all", {}))["config"] == {
            "greeting": "Bonjour",
            "extra": "1",
        }
