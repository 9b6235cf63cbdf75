"""The other ways to authenticate: opaque OAuth tokens checked by RFC 7662 introspection at a real
authorization server (oidc-provider), static bearer tokens, and what `capsule serve` refuses to start
with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from conftest import MODERN, all_text

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import (  # noqa: E402
    CAPSULE_CLIENT,
    OTHER_RESOURCE,
    ROBOT,
    SCOPE_TABLE,
    SCOPES,
    authorization_server,
    call_over_http,
    capsule_on,
    challenge_params,
    free_port,
    mcp_client,
    node_binary,
)

pytestmark = pytest.mark.anyio

PLUGINS = ("hello", "textkit", "notes")


def introspection_config(resource: str, issuer: str, cache: str = "30s") -> str:
    return f"""
[auth]
mode = "oauth"
resource = "{resource}"

[auth.oauth]
issuer = "{issuer}"
tokens = "introspection"
client_id = "{CAPSULE_CLIENT[0]}"
client_secret_env = "CAPSULE_TEST_CLIENT_SECRET"
introspection_cache = "{cache}"
{SCOPE_TABLE}
"""


async def test_opaque_tokens_are_checked_by_introspection_and_cached_briefly(capsule, tmp_path):
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    resources = {
        resource: {"scope": SCOPES, "format": "opaque"},
        OTHER_RESOURCE: {"scope": SCOPES, "format": "opaque"},
    }
    with authorization_server(tmp_path, resources) as auth_server:
        config = introspection_config(resource, auth_server.issuer, cache="2s")
        env = {"CAPSULE_TEST_CLIENT_SECRET": CAPSULE_CLIENT[1]}
        async with capsule_on(capsule, PLUGINS, port, config=config, env=env) as server:
            token = auth_server.token(ROBOT, resource, "hello notes:read")
            assert token.count(".") == 0, "the AS issues opaque tokens for this resource"
            async with mcp_client(server.mcp_url, token=token, mode=MODERN) as client:
                assert {t.name for t in (await client.list_tools()).tools} == {"hello_greet", "notes_search"}
                assert "Ada" in all_text(await client.call_tool("hello_greet", {"name": "Ada"}))
            # Several requests with one token: one introspection (cached), not one per request.
            assert auth_server.stats()["introspection"] == 1

            # Scopes come from the introspection answer.
            response = call_over_http(server.mcp_url, token, "textkit_slugify", {"text": "a"})
            assert response.status_code == 403
            assert challenge_params(response.headers["www-authenticate"])["scope"] == "text"

            # Revoked at the AS: refused once the cached answer has expired.
            auth_server.revoke(ROBOT, token)
            await anyio.sleep(2.2)
            response = call_over_http(server.mcp_url, token, "hello_greet", {"name": "x"})
            assert response.status_code == 401, response.text
            assert "not active" in challenge_params(response.headers["www-authenticate"])["error_description"]

            # A live token for another resource (RFC 8707 audience) and a made-up token.
            other = auth_server.token(ROBOT, OTHER_RESOURCE, "hello")
            response = call_over_http(server.mcp_url, other, "hello_greet", {"name": "x"})
            assert response.status_code == 401
            assert "audience" in challenge_params(response.headers["www-authenticate"])["error_description"]
            made_up = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"
            assert call_over_http(server.mcp_url, made_up, "hello_greet", {"name": "x"}).status_code == 401
            # The introspection secret and the tokens stay out of the log.
            assert CAPSULE_CLIENT[1] not in server.stderr() and token not in server.stderr()


async def test_introspection_with_wrong_client_credentials_is_a_503_not_a_401(capsule, tmp_path):
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with authorization_server(tmp_path, {resource: {"scope": SCOPES, "format": "opaque"}}) as auth_server:
        config = introspection_config(resource, auth_server.issuer)
        env = {"CAPSULE_TEST_CLIENT_SECRET": "not-the-secret-at-all-0123456789"}
        async with capsule_on(capsule, PLUGINS, port, config=config, env=env) as server:
            token = auth_server.token(ROBOT, resource, "hello")
            response = call_over_http(server.mcp_url, token, "hello_greet", {"name": "x"})
            # The client's token may be fine: do not make it throw the token away.
            assert response.status_code == 503, response.text
            assert "retry-after" in response.headers
            assert "check auth.oauth.client_id and its secret" in server.stderr()


BEARER_TOKEN = "tok_alice_0123456789abcdefghijklmnop"
CI_TOKEN = "tok_ci_0123456789abcdefghijklmnopqrs"


async def test_bearer_mode_static_tokens_with_their_own_scopes(capsule, tmp_path):
    digest = subprocess.run(
        [str(capsule.binary), "auth", "hash-token"], input=CI_TOKEN, capture_output=True, text=True, check=True
    ).stdout.strip()
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'[[token]]\nsubject = "ci"\nsha256 = "{digest}"\nscopes = ["hello"]\n')
    config = f"""
[auth]
mode = "bearer"
tokens_file = "{tokens}"

[[auth.token]]
subject = "alice"
env = "CAPSULE_TEST_ALICE_TOKEN"
scopes = ["hello", "text", "notes:read"]
{SCOPE_TABLE}
"""
    port = free_port()
    async with capsule_on(capsule, PLUGINS, port, config=config, env={"CAPSULE_TEST_ALICE_TOKEN": BEARER_TOKEN}) as server:
        # No token: a challenge without metadata (there is no authorization server).
        response = httpx2.post(server.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert response.status_code == 401
        assert challenge_params(response.headers["www-authenticate"]) == {"realm": "capsule"}
        assert httpx2.get(f"{server.base_url}/.well-known/oauth-protected-resource").status_code == 404

        async with mcp_client(server.mcp_url, token=BEARER_TOKEN) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"hello_greet", "notes_search", "textkit_slugify"} <= tools
            assert "slug" in all_text(await client.call_tool("textkit_slugify", {"text": "A slug"})).lower()
        async with mcp_client(server.mcp_url, token=CI_TOKEN, mode=MODERN) as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"hello_greet"}
        response = call_over_http(server.mcp_url, CI_TOKEN, "textkit_slugify", {"text": "a"})
        assert response.status_code == 403
        assert challenge_params(response.headers["www-authenticate"])["scope"] == "text"

        for wrong in (BEARER_TOKEN[:-1], BEARER_TOKEN + "x", digest, "x"):
            response = call_over_http(server.mcp_url, wrong, "hello_greet", {"name": "x"})
            assert response.status_code == 401, wrong
            assert challenge_params(response.headers["www-authenticate"])["error"] == "invalid_token"
        assert BEARER_TOKEN not in server.stderr()


async def test_new_token_makes_a_strong_token_and_its_hash(capsule):
    made = subprocess.run([str(capsule.binary), "auth", "new-token"], capture_output=True, text=True, check=True)
    token = made.stdout.strip()
    assert len(token) == 43
    hashed = subprocess.run([str(capsule.binary), "auth", "hash-token"], input=token + "\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    assert f'sha256 = "{hashed}"' in made.stderr
    weak = subprocess.run([str(capsule.binary), "auth", "hash-token"], input="short", capture_output=True, text=True)
    assert weak.returncode == 0 and "new-token" in weak.stderr


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0"])
async def test_a_non_loopback_bind_with_auth_none_names_the_auth_options(capsule, address):
    plugin_dir = capsule.plugin_dir(["hello"])
    for extra in ([], ["--auth", "none"]):
        result = capsule.cli("serve", "--plugins", str(plugin_dir), "--http", address, *extra)
        assert result.returncode == 2, result.stderr
        assert "--auth oauth" in result.stderr and "--auth bearer" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--auth", "oauth"], "auth.resource"),
        (["--auth", "oauth", "--auth-resource", "https://mcp.example.com/mcp"], "auth.oauth.issuer"),
        (["--auth", "oauth", "--auth-resource", "http://mcp.example.com/mcp", "--auth-issuer", "https://i.example"], "must use https"),
        (["--auth", "oauth", "--auth-resource", "https://m.example/mcp", "--auth-issuer", "http://i.example"], "must use https"),
        (["--auth", "bearer"], "needs tokens"),
    ],
)
async def test_incomplete_auth_settings_refuse_to_start_with_what_to_add(capsule, args, needle):
    plugin_dir = capsule.plugin_dir(["hello"])
    result = capsule.cli("serve", "--plugins", str(plugin_dir), "--http", "127.0.0.1:0", *args)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr, result.stderr


async def test_config_errors_name_the_line(capsule, tmp_path):
    plugin_dir = capsule.plugin_dir(["hello"])
    for text, line, needle in (
        ('[auth]\nmode = "kerberos"\n', 2, "unknown auth mode 'kerberos'"),
        ('[auth.oauth]\nalgorithms = ["ES256", "HS256"]\n', 2, "shared-secret"),
        ('[auth.scopes]\n"a" = ["tool:x", "widget:y"]\n', 2, "unknown kind 'widget'"),
        ('[[auth.token]]\nsubject = "x"\nsha256 = "abc"\n', 1, "64 hex digits"),
        ('\n[rate_limits]\nper_subject = "lots"\n', 3, "invalid rate 'lots'"),
    ):
        config = tmp_path / "capsule.toml"
        config.write_text(text)
        result = capsule.cli("serve", "--plugins", str(plugin_dir), "--http", "127.0.0.1:0", "--config", str(config))
        assert result.returncode == 2
        assert f"capsule.toml:{line}:" in result.stderr and needle in result.stderr, (text, result.stderr)


INSPECTOR = Path(__file__).resolve().parent / "js" / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_the_mcp_inspector_cli_with_an_access_token(capsule, tmp_path, era):
    if not INSPECTOR.is_file():
        pytest.fail(f"{INSPECTOR} is missing: run `make setup` (npm install in tests/e2e/js)")
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with authorization_server(tmp_path, {resource: {"scope": SCOPES, "format": "jwt"}}) as auth_server:
        config = f'[auth]\nmode = "oauth"\nresource = "{resource}"\n[auth.oauth]\nissuer = "{auth_server.issuer}"\n{SCOPE_TABLE}'
        async with capsule_on(capsule, PLUGINS, port, config=config) as server:
            token = auth_server.token(ROBOT, resource, "hello")

            def inspector(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [node_binary(), str(INSPECTOR), "--cli", server.mcp_url, "--format", "json", "--protocol-era", era, *args],
                    capture_output=True, text=True, timeout=60, cwd=INSPECTOR.parents[4],
                    env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}, stdin=subprocess.DEVNULL,
                )

            header = ["--header", f"Authorization: Bearer {token}"]
            listed = inspector(*header, "--method", "tools/list")
            assert listed.returncode == 0, listed.stderr
            assert {t["name"] for t in json.loads(listed.stdout)["result"]["tools"]} == {"hello_greet"}
            called = inspector(*header, "--method", "tools/call", "--tool-name", "hello_greet", "--tool-arg", "name=Inspector")
            assert called.returncode == 0, called.stderr
            assert json.loads(called.stdout)["result"]["structuredContent"] == {"greeting": "Hello, Inspector!"}
            refused = inspector("--method", "tools/list")
            assert refused.returncode != 0
