"""The whole authorization-code + PKCE flow by a real MCP client: the Python SDK's OAuth client finds the
authorization server from Capsule's 401 and metadata, registers itself (RFC 7591), authorizes with PKCE
and a resource indicator at oidc-provider (the "browser" is driven headlessly: the test AS logs in alice
without a page), exchanges the code, calls tools — and steps up when Capsule answers 403
insufficient_scope."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
from conftest import LEGACY, MODERN, all_text
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

sys.path.insert(0, str(Path(__file__).parent / "auth"))
from harness import SCOPE_TABLE, SCOPES, authorization_server, capsule_on, free_port, mcp_client  # noqa: E402
from test_auth_oauth import MemoryStorage  # noqa: E402

pytestmark = pytest.mark.anyio

REDIRECT = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect itself


class HeadlessBrowser:
    """Follows the authorization redirects (keeping the AS's cookies) until the one to REDIRECT, and
    hands its code and state to the SDK, as a user's browser and a local callback server would."""

    def __init__(self) -> None:
        self.result: AuthorizationCodeResult | None = None
        self.authorizations: list[dict[str, list[str]]] = []

    async def redirect_handler(self, url: str) -> None:
        self.authorizations.append(parse_qs(urlparse(url).query))
        async with httpx2.AsyncClient(follow_redirects=False, timeout=30) as browser:
            for _ in range(10):
                response = await browser.get(url)
                assert response.status_code in (302, 303), response.text
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(REDIRECT):
                    query = parse_qs(urlparse(url).query)
                    assert "error" not in query, query
                    self.result = AuthorizationCodeResult(
                        code=query["code"][0], state=query["state"][0], iss=query.get("iss", [None])[0]
                    )
                    return
        raise AssertionError("the authorization server never redirected back")

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.result is not None
        result, self.result = self.result, None
        return result


@pytest.mark.parametrize("mode", [LEGACY, MODERN])
async def test_authorization_code_with_pkce_then_step_up_on_insufficient_scope(capsule, tmp_path, mode):
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    with authorization_server(tmp_path, {resource: {"scope": SCOPES, "format": "jwt", "alg": "ES256"}}) as auth_server:
        config = f"""
[auth]
mode = "oauth"
resource = "{resource}"
challenge_scopes = ["hello"]     # ask for little first; step up when needed

[auth.oauth]
issuer = "{auth_server.issuer}"
{SCOPE_TABLE}
"""
        async with capsule_on(capsule, ("hello", "textkit"), port, config=config) as server:
            browser = HeadlessBrowser()
            storage = MemoryStorage()
            provider = OAuthClientProvider(
                server_url=server.mcp_url,
                client_metadata=OAuthClientMetadata(
                    client_name="capsule e2e",
                    redirect_uris=[REDIRECT],
                    grant_types=["authorization_code", "refresh_token"],
                    response_types=["code"],
                    token_endpoint_auth_method="none",
                ),
                storage=storage,
                redirect_handler=browser.redirect_handler,
                callback_handler=browser.callback_handler,
            )
            async with mcp_client(server.mcp_url, auth=provider, mode=mode) as client:
                # (a 2026-07-28 client sends nothing before its first request)
                assert {t.name for t in (await client.list_tools()).tools} == {"hello_greet"}
                # First authorization: PKCE (S256) and Capsule as the resource, scope from the challenge.
                assert len(browser.authorizations) == 1
                first = browser.authorizations[0]
                assert first["code_challenge_method"] == ["S256"] and len(first["code_challenge"][0]) == 43
                assert first["resource"] == [resource]
                # (the SDK adds offline_access when the AS supports it, to get a refresh token)
                assert set(first["scope"][0].split()) - {"offline_access"} == {"hello"}
                assert storage.client is not None and storage.client.client_id  # registered via RFC 7591
                assert "Ada" in all_text(await client.call_tool("hello_greet", {"name": "Ada"}))

                # textkit needs `text`: Capsule answers 403 insufficient_scope, the SDK re-authorizes
                # with hello + text and retries the call, which now succeeds.
                result = await client.call_tool("textkit_slugify", {"text": "Step Up"})
                assert not result.is_error and "step-up" in all_text(result), all_text(result)
                assert len(browser.authorizations) == 2
                assert set(browser.authorizations[1]["scope"][0].split()) - {"offline_access"} == {"hello", "text"}
                assert set(storage.tokens.scope.split()) >= {"hello", "text"}
                assert "textkit_slugify" in {t.name for t in (await client.list_tools()).tools}
