"""Configuration of plain components at the draft versions of `wasi:config/store` that components built
for other hosts import: `0.2.0-draft-2024-09-27` (Spin 3) and `0.2.0-draft` (wasmCloud, jco). Capsule
links both beside wasmtime-wasi-config's `0.2.0-rc.1` (test_config.py covers that one through the SDK),
with the same values: the policy's `[config]` table.

The component, plain_config (plugins/plain-config, plain wit-bindgen, no Capsule SDK), imports both
versions in one world and exports
- `setting(key) -> option<string>` and `settings() -> list<tuple<string, string>>`, read through
  `@0.2.0-draft-2024-09-27`;
- `setting-draft(key) -> option<string>`, read through `@0.2.0-draft`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import all_text

pytestmark = pytest.mark.anyio

PLUGIN = "plain_config"
TOOLS = {f"{PLUGIN}_setting", f"{PLUGIN}_settings", f"{PLUGIN}_setting_draft"}
# tool -> the wasi:config/store version it reads through
GETTERS = {"setting": "0.2.0-draft-2024-09-27", "setting_draft": "0.2.0-draft"}

SECRET = "plain-cfg-s3cr3t-8812"
HOST_VAR = "CAPSULE_TEST_PLAIN_CONFIG_TOKEN"

POLICY = (
    "[config]\n"
    'greeting = { value = "Hello ✓" }\n'
    f'api-token = {{ from_host = "{HOST_VAR}" }}\n'
    '"with space.and.dots" = { value = "" }\n'
)
GRANTED = {"greeting": "Hello ✓", "api-token": SECRET, "with space.and.dots": ""}
# Keys that are not granted: absent, a different case, the host variable a value came from, a variable
# of the host's environment, the empty key.
UNGRANTED = ("missing", "Greeting", "api_token", HOST_VAR, "PATH", "")


async def value(srv, tool: str, arguments: dict[str, Any]) -> Any:
    """The `result` of a successful call of `plain_config_<tool>`."""
    result = await srv.client.call_tool(f"{PLUGIN}_{tool}", arguments)
    assert not result.is_error, f"{tool}{arguments} failed: {all_text(result)}"
    content = result.structured_content
    assert isinstance(content, dict) and set(content) == {"result"}, f"{tool}: structuredContent {content!r}"
    return content["result"]


async def setting(srv, tool: str, key: str) -> str | None:
    return await value(srv, tool, {"key": key})


async def settings(srv) -> dict[str, str]:
    """`settings` as a dict, after checking it is a list of [key, value] pairs with no key twice."""
    pairs = await value(srv, "settings", {})
    assert isinstance(pairs, list), pairs
    assert all(isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs), pairs
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key listed twice: {pairs}"
    return dict(pairs)


async def test_both_draft_versions_read_exactly_the_granted_config(capsule, mode):
    async with capsule.serve(
        [PLUGIN],
        mode=mode,
        extra={f"{PLUGIN}.toml": POLICY.encode()},
        env={HOST_VAR: SECRET},
    ) as srv:
        tools = {t.name for t in (await srv.client.list_tools()).tools}
        assert tools == TOOLS, sorted(tools)
        for tool, version in GETTERS.items():
            for key, expected in GRANTED.items():
                assert await setting(srv, tool, key) == expected, f"@{version}: {key}"
            for key in UNGRANTED:
                assert await setting(srv, tool, key) is None, f"@{version}: {key!r} is not granted"
        assert await settings(srv) == GRANTED, "get-all: exactly the granted pairs, once each"
        stderr = srv.stderr()
    assert PLUGIN in stderr, stderr
    assert SECRET not in stderr, "configuration values never reach the log"


async def test_no_policy_means_no_config(capsule, mode):
    async with capsule.serve([PLUGIN], mode=mode, env={HOST_VAR: SECRET}) as srv:
        for tool, version in GETTERS.items():
            for key in (*GRANTED, *UNGRANTED):
                assert await setting(srv, tool, key) is None, f"@{version}: {key!r} without a policy"
        assert await settings(srv) == {}
        stderr = srv.stderr()
    assert SECRET not in stderr


async def test_config_values_stay_out_of_the_debug_log(capsule):
    """At `debug` the host logs far more (rmcp logs every result, so no call here returns the secret)."""
    async with capsule.serve(
        [PLUGIN],
        extra={f"{PLUGIN}.toml": POLICY.encode()},
        env={HOST_VAR: SECRET, "RUST_LOG": "debug"},
    ) as srv:
        for tool in GETTERS:
            assert await setting(srv, tool, "greeting") == "Hello ✓"
            assert await setting(srv, tool, "missing") is None
        stderr = srv.stderr()
    assert "DEBUG" in stderr and f"{PLUGIN}_setting" in stderr, stderr[-2000:]
    assert SECRET not in stderr, "configuration values never reach the log"


def test_capsule_plugins_shows_the_imports_and_the_keys_never_the_values(capsule, monkeypatch):
    monkeypatch.setenv(HOST_VAR, SECRET)
    plugin_dir = capsule.plugin_dir([PLUGIN], {f"{PLUGIN}.toml": POLICY.encode()})
    listing = capsule.cli("plugins", "--plugins", str(plugin_dir), "--json")
    assert listing.returncode == 0, listing.stderr
    assert SECRET not in listing.stdout + listing.stderr
    [entry] = json.loads(listing.stdout)["plugins"]
    assert entry["name"] == PLUGIN and "plain" in entry.values(), entry
    assert set(entry["tools"]) == TOOLS, entry["tools"]
    assert entry["granted"]["config"] == sorted(GRANTED), entry["granted"]
    config_imports = {i for i in entry["imports"] if i.startswith("wasi:config/")}
    assert config_imports == {f"wasi:config/store@{v}" for v in GETTERS.values()}, entry["imports"]


async def test_a_config_change_applies_without_restart(capsule):
    policy = b'[config]\ngreeting = { value = "Hello" }\n'
    async with capsule.serve([PLUGIN], extra={f"{PLUGIN}.toml": policy}) as srv:
        for tool in GETTERS:
            assert await setting(srv, tool, "greeting") == "Hello"
        changed = '[config]\ngreeting = { value = "Bonjour" }\nextra = { value = "1" }\n'
        (srv.plugin_dir / f"{PLUGIN}.toml").write_text(changed)
        await srv.wait_for_stderr("plugin replaced by a new version")
        for tool in GETTERS:
            assert await setting(srv, tool, "greeting") == "Bonjour"
            assert await setting(srv, tool, "extra") == "1"
        assert await settings(srv) == {"greeting": "Bonjour", "extra": "1"}
