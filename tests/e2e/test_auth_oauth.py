"""Capsule as an OAuth 2.1 resource server, against a real authorization server (panva's certified
`oidc-provider`, started by tests/e2e/auth/as.mjs on 127.0.0.1): the challenge and metadata a client
follows, JWT access tokens bound to Capsule's resource indicator, every way a token can be wrong, scopes
per plugin and tool, key rotation, and the Python SDK's own OAuth client (client credentials) in both
protocol eras."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from conftest import LEGACY, MODES, MODERN, all_text
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.exceptions import MCPError

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import (  # noqa: E402
    OTHER_RESOURCE,
    ROBOT,
    SCOPES,
    SHORT_LIVED,
    AuthServer,
    authorization_server,
    call_over_http,
    capsule_on,
    challenge_params,
    free_port,
    mcp_client,
    modern_headers,
    oauth_config,
    tamper,
    unsigned,
)

pytestmark = pytest.mark.anyio

PLUGINS = ("hello", "textkit", "notes", "fixture")


class MemoryStorage:
    """Token storage of the SDK's OAuth client, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def resource(port: int) -> str:
    """Capsule's canonical URL: the audience its tokens must carry."""
    return f"http://127.0.0.1:{port}/mcp"


@pytest.fixture
def auth_server(tmp_path, resource) -> AuthServer:
    resources = {
        resource: {"scope": SCOPES, "format": "jwt", "alg": "ES256"},
        OTHER_RESOURCE: {"scope": SCOPES, "format": "jwt", "alg": "ES256"},
    }
    with authorization_server(tmp_path, resources) as server:
        yield server


def claims(auth_server: AuthServer, resource: str, **overrides):
    now = int(time.time())
    base = {"iss": auth_server.issuer, "aud": resource, "sub": "mallory", "client_id": "robot",
            "scope": SCOPES, "iat": now, "exp": now + 300}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def assert_invalid_token(response: httpx2.Response, needle: str) -> None:
    assert response.status_code == 401, response.text
    params = challenge_params(response.headers["www-authenticate"])
    assert params["error"] == "invalid_token", params
    assert needle in params["error_description"], params
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource/mcp"), params


async def test_no_token_gets_a_challenge_that_leads_to_the_authorization_server(capsule, auth_server, port, resource):
    async with capsule_on(capsule, PLUGINS, port, config=oauth_config(resource, auth_server.issuer)) as server:
        # Operations endpoints stay open; MCP endpoints do not.
        assert httpx2.get(f"{server.base_url}/healthz").status_code == 200
        for method, path in (("POST", "/mcp"), ("GET", "/mcp"), ("GET", "/sse"), ("POST", "/messages?sessionId=x")):
            response = httpx2.request(method, f"{server.base_url}{path}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert response.status_code == 401, (method, path, response.text)
            params = challenge_params(response.headers["www-authenticate"])
            assert "error" not in params, params  # no token is not an error (RFC 6750 §3.1)
            assert params["resource_metadata"] == f"{server.base_url}/.well-known/oauth-protected-resource/mcp"
            assert set(params["scope"].split()) == set(SCOPES.split())

        # The metadata document (RFC 9728), at the path-inserted URL and at the root.
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            doc = httpx2.get(f"{server.base_url}{path}").json()
            assert doc["resource"] == resource
            assert doc["authorization_servers"] == [auth_server.issuer]
            assert doc["scopes_supported"] == ["notes:read", "text", "hello", "fixture"]
            assert doc["bearer_methods_supported"] == ["header"]
        # ... which leads to the authorization server's metadata (RFC 8414) and its token endpoint.
        as_meta = httpx2.get(f"{doc['authorization_servers'][0]}/.well-known/oauth-authorization-server").json()
        assert as_meta["issuer"] == auth_server.issuer
        token = httpx2.post(as_meta["token_endpoint"], auth=ROBOT,
                            data={"grant_type": "client_credentials", "resource": doc["resource"], "scope": "hello"}).json()
        response = call_over_http(server.mcp_url, token["access_token"], "hello_greet", {"name": "Ada"})
        assert response.status_code == 200, response.text
        assert "Ada" in response.text


@pytest.mark.parametrize("mode", MODES)
async def test_the_python_sdk_oauth_client_gets_a_token_and_calls_tools(capsule, auth_server, port, resource, mode):
    async with capsule_on(capsule, PLUGINS, port, config=oauth_config(resource, auth_server.issuer)) as server:
        provider = ClientCredentialsOAuthProvider(
            server_url=server.mcp_url, storage=MemoryStorage(), client_id=ROBOT[0], client_secret=ROBOT[1],
            scope=SCOPES, issuer=auth_server.issuer,
        )
        async with mcp_client(server.mcp_url, auth=provider, mode=mode) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"hello_greet", "notes_search", "textkit_slugify", "fixture_echo"} <= tools
            result = await client.call_tool("hello_greet", {"name": "Grace"})
            assert not result.is_error and "Grace" in all_text(result)
            result = await client.call_tool("notes_search", {"query": "idea"})
            assert not result.is_error, all_text(result)
        # The token the SDK obtained is a JWT for Capsule's resource (RFC 8707), from the real AS.
        assert provider.context.current_tokens is not None
        assert provider.context.current_tokens.access_token.count(".") == 2


async def test_tokens_that_are_wrong_in_any_way_get_invalid_token(capsule, auth_server, port, resource):
    config = oauth_config(resource, auth_server.issuer, extra='clock_skew = "0s"')
    async with capsule_on(capsule, PLUGINS, port, config=config, args=["--log-level", "debug"]) as server:
        url = server.mcp_url

        def call(token: str) -> httpx2.Response:
            return call_over_http(url, token, "hello_greet", {"name": "x"})

        # The control: a token this test signs with the AS's key and right claims is accepted, so every
        # refusal below is about the one thing that differs.
        good = auth_server.sign(claims(auth_server, resource))
        assert call(good).status_code == 200
        now = int(time.time())
        cases = {
            "expired": (auth_server.sign(claims(auth_server, resource, iat=now - 600, exp=now - 5)), "expired"),
            "not yet valid": (auth_server.sign(claims(auth_server, resource, nbf=now + 600)), "not valid yet"),
            "no exp": (auth_server.sign(claims(auth_server, resource, exp=None)), "'exp'"),
            "wrong issuer": (auth_server.sign(claims(auth_server, resource, iss="https://evil.example")), "not issued by"),
            "no issuer": (auth_server.sign(claims(auth_server, resource, iss=None)), "'iss'"),
            "wrong audience": (auth_server.sign(claims(auth_server, resource, aud="https://other.example/mcp")), "audience"),
            "audience of a sibling path": (auth_server.sign(claims(auth_server, resource, aud=resource + "2")), "audience"),
            "no audience": (auth_server.sign(claims(auth_server, resource, aud=None)), "'aud'"),
            "bad signature": (tamper(good), "signature"),
            "foreign key with the AS's kid": (auth_server.sign(claims(auth_server, resource), key="foreign"), "signature"),
            "alg none": (unsigned(claims(auth_server, resource)), "algorithm"),
            "HS256 keyed with the public key": (
                auth_server.sign(claims(auth_server, resource), header={"alg": "HS256"}, key="hmac-public"), "HS256"),
            "unknown kid": (auth_server.sign(claims(auth_server, resource), header={"kid": "nope"}), "kid 'nope'"),
            "critical header": (auth_server.sign(claims(auth_server, resource), header={"crit": ["exp"]}), "critical"),
            "not a JWT": ("opaque-looking-token-0123456789", "not a JWT"),
        }
        for name, (token, needle) in cases.items():
            assert_invalid_token(call(token), needle)

        # Tokens minted by the real AS: for another resource, and one that expires (ttl 1 s).
        other = auth_server.token(ROBOT, OTHER_RESOURCE, "hello")
        assert_invalid_token(call(other), "audience")
        short = auth_server.token(SHORT_LIVED, resource, "hello")
        assert call(short).status_code == 200
        await anyio.sleep(2.2)
        assert_invalid_token(call(short), "expired")

        # The token in the query string instead of the header is not a token (MCP: header only).
        response = httpx2.post(f"{url}?access_token={good}", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert response.status_code == 401 and "error" not in challenge_params(response.headers["www-authenticate"])
        # Tokens are never logged, not even at debug level.
        assert good not in server.stderr() and short not in server.stderr()


async def test_scopes_filter_lists_and_refuse_calls_with_insufficient_scope(capsule, auth_server, port, resource):
    async with capsule_on(capsule, PLUGINS, port, config=oauth_config(resource, auth_server.issuer)) as server:
        token = auth_server.token(ROBOT, resource, "notes:read hello")
        async with mcp_client(server.mcp_url, token=token) as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"notes_search", "hello_greet"}
            assert len((await client.list_resources()).resources) == 3
            assert {p.name for p in (await client.list_prompts()).prompts} == {"notes_summarize", "notes_brainstorm"}
            with pytest.raises(MCPError):
                await client.call_tool("textkit_slugify", {"text": "A B"})

        # The HTTP answer a client steps up from (MCP "Scope Challenge Handling").
        response = call_over_http(server.mcp_url, token, "textkit_slugify", {"text": "A B"}, id=41)
        assert response.status_code == 403, response.text
        params = challenge_params(response.headers["www-authenticate"])
        assert params["error"] == "insufficient_scope" and params["scope"] == "text", params
        assert "textkit_slugify" in params["error_description"]
        assert response.json()["id"] == 41 and response.json()["error"]["data"]["scope"] == "text"
        # A duplicated key cannot make the screen see one tool and the server run another.
        meta = ('"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
                '"io.modelcontextprotocol/clientCapabilities":{},'
                '"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"}}')
        body = ('{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"hello_greet",'
                f'"name":"textkit_slugify","arguments":{{"text":"A B"}},{meta}}}}}')
        sneaky = httpx2.post(server.mcp_url, content=body, headers=modern_headers(token, "tools/call", "textkit_slugify"))
        assert sneaky.status_code == 403, sneaky.text
        assert challenge_params(sneaky.headers["www-authenticate"])["scope"] == "text"
        # With the scope, the same call works.
        stepped_up = auth_server.token(ROBOT, resource, "notes:read hello text")
        assert call_over_http(server.mcp_url, stepped_up, "textkit_slugify", {"text": "A B"}).status_code == 200

        # A token with only `hello` sees no notes: resources are hidden and reads are refused.
        hello_only = auth_server.token(ROBOT, resource, "hello")
        async with mcp_client(server.mcp_url, token=hello_only, mode=MODERN) as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"hello_greet"}
            assert (await client.list_resources()).resources == []
            assert (await client.list_prompts()).prompts == []
            with pytest.raises(MCPError):
                await client.read_resource("notes://welcome")
        for method, params_ in (("resources/read", {"uri": "notes://welcome"}), ("prompts/get", {"name": "notes_summarize", "arguments": {"name": "welcome"}})):
            response = httpx2.post(server.mcp_url, json={"jsonrpc": "2.0", "id": 2, "method": method, "params": params_},
                                   headers={"authorization": f"Bearer {hello_only}", "accept": "application/json, text/event-stream"})
            assert response.status_code == 403, response.text
            assert challenge_params(response.headers["www-authenticate"])["scope"] == "notes:read"


async def test_signing_key_rotation_is_picked_up_and_unknown_kids_cannot_flood_the_issuer(capsule, auth_server, port, resource):
    config = oauth_config(resource, auth_server.issuer, extra='jwks_refetch_interval = "2s"')
    async with capsule_on(capsule, PLUGINS, port, config=config) as server:
        # Signed up front, so that the flood below is only requests to Capsule.
        forged = [auth_server.sign({"iss": auth_server.issuer, "aud": resource, "sub": "x", "exp": int(time.time()) + 60},
                                   header={"kid": f"made-up-{i}"}) for i in range(20)]
        before = auth_server.token(ROBOT, resource, "hello")
        started = time.monotonic()
        assert call_over_http(server.mcp_url, before, "hello_greet", {"name": "a"}).status_code == 200
        fetched = auth_server.stats()["jwks"]
        assert fetched == 1

        # Made-up kids: refused, and at most one refetch per 2 s interval since the first fetch (none when
        # the flood takes < 2 s, as it does on an idle machine; a loaded one may give it one more).
        for token in forged:
            assert_invalid_token(call_over_http(server.mcp_url, token, "hello_greet", {"name": "a"}), "kid")
        refetches = auth_server.stats()["jwks"] - fetched
        assert refetches <= int((time.monotonic() - started) // 2), refetches
        fetched += refetches

        await anyio.sleep(2.1)
        kids = auth_server.rotate()
        after = auth_server.token(ROBOT, resource, "hello")
        assert call_over_http(server.mcp_url, after, "hello_greet", {"name": "b"}).status_code == 200
        assert auth_server.stats()["jwks"] == fetched + 1
        assert kids[0] not in server.stderr() or "JWKS fetched" in server.stderr()
        # The old key is gone from the JWKS: tokens it signed no longer verify.
        assert_invalid_token(call_over_http(server.mcp_url, before, "hello_greet", {"name": "c"}), "kid")


async def test_rs256_and_eddsa_tokens_verify_too(capsule, tmp_path, port, resource):
    for alg in ("RS256", "EdDSA"):
        resources = {resource: {"scope": SCOPES, "format": "jwt", "alg": alg}}
        with authorization_server(tmp_path, resources, algs=(alg, "RS256")) as server_as:  # ID tokens need RS256
            async with capsule_on(capsule, ("hello",), port, config=oauth_config(resource, server_as.issuer)) as server:
                token = server_as.token(ROBOT, resource, "hello")
                response = call_over_http(server.mcp_url, token, "hello_greet", {"name": alg})
                assert response.status_code == 200, (alg, response.text)
                assert alg in response.text


async def test_a_session_belongs_to_the_subject_that_opened_it(capsule, auth_server, port, resource):
    async with capsule_on(capsule, PLUGINS, port, config=oauth_config(resource, auth_server.issuer)) as server:
        alice = auth_server.sign(claims(auth_server, resource, sub="alice"))
        mallory = auth_server.sign(claims(auth_server, resource, sub="mallory"))
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
        opened = httpx2.post(server.mcp_url, json=init, headers={**headers, "authorization": f"Bearer {alice}"})
        assert opened.status_code == 200, opened.text
        session = {**headers, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert httpx2.post(server.mcp_url, json=ping, headers={**session, "authorization": f"Bearer {alice}"}).status_code == 200
        hijack = httpx2.post(server.mcp_url, json=ping, headers={**session, "authorization": f"Bearer {mallory}"})
        assert hijack.status_code == 404, hijack.text


async def test_legacy_sse_sessions_act_for_their_token(capsule, auth_server, port, resource):
    async with capsule_on(capsule, PLUGINS, port, config=oauth_config(resource, auth_server.issuer)) as server:
        token = auth_server.token(ROBOT, resource, "hello")
        async with mcp_client(f"{server.base_url}/sse", token=token, transport="sse") as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"hello_greet"}
            assert "Ada" in all_text(await client.call_tool("hello_greet", {"name": "Ada"}))
        # No token: the stream is not even opened.
        assert httpx2.get(f"{server.base_url}/sse").status_code == 401
