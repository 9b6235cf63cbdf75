"""Resource subscriptions through plugins: a plugin reports a change with the `resource-updated` host
import, and exactly the clients subscribed to that URI get `notifications/resources/updated` —
2025-11-25 sessions after `resources/subscribe` (and no more after `resources/unsubscribe`),
2026-07-28 clients on a `subscriptions/listen` stream whose filter names the URI.

The conformance plugin's `test_touch_watched_resource` reports `test://watched-resource` as updated.
"""

from __future__ import annotations

import warnings

import anyio
import mcp_types as types
import pytest
from conftest import LEGACY, MODERN, RESOURCE_NOT_FOUND_LEGACY, expect_rpc_error
from mcp.client.subscriptions import ResourceUpdated

pytestmark = pytest.mark.anyio

PLUGIN = "test"
WATCHED = "test://watched-resource"
OTHER = "test://static-text"
QUIET_S = 1.0  # how long "nothing arrives" is watched for


def updates(srv) -> list[str]:
    return [
        n.params.uri for n in srv.notifications if isinstance(n, types.ResourceUpdatedNotification)
    ]


async def wait_for_updates(srv, count: int, timeout: float = 10.0) -> list[str]:
    with anyio.move_on_after(timeout):
        while len(updates(srv)) < count:
            await anyio.sleep(0.02)
    return updates(srv)


async def touch(srv) -> None:
    result = await srv.client.call_tool(f"{PLUGIN}_touch_watched_resource", {})
    assert not result.is_error, result


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_subscribed_session_hears_of_updates_until_it_unsubscribes(capsule, transport):
    async with capsule.serve([PLUGIN], mode=LEGACY, transport=transport) as srv:
        assert srv.capabilities.resources is not None and srv.capabilities.resources.subscribe is True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # subscribe is deprecated in 2026-07-28 only
            await touch(srv)  # not subscribed yet: nothing
            await anyio.sleep(QUIET_S)
            assert updates(srv) == []

            await srv.client.subscribe_resource(WATCHED)
            await srv.client.subscribe_resource(OTHER)
            await touch(srv)
            assert await wait_for_updates(srv, 1) == [WATCHED]

            await srv.client.unsubscribe_resource(WATCHED)
            await touch(srv)
            await anyio.sleep(QUIET_S)
            assert updates(srv) == [WATCHED], "an update arrived after unsubscribing"


async def test_subscribing_to_an_unknown_uri_is_refused(capsule):
    async with capsule.serve([PLUGIN], mode=LEGACY) as srv:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            error = await expect_rpc_error(
                RESOURCE_NOT_FOUND_LEGACY, srv.client.subscribe_resource("test://no-such-thing")
            )
        assert "test://no-such-thing" in error.message


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_listen_stream_hears_of_updates_to_the_uris_it_names(capsule, transport):
    async with capsule.serve([PLUGIN], mode=MODERN, transport=transport) as srv:
        async with (
            srv.client.listen(resource_subscriptions=[WATCHED]) as watching,
            srv.client.listen(resource_subscriptions=[OTHER]) as elsewhere,
        ):
            assert watching.honored.resource_subscriptions == [WATCHED], watching.honored
            await touch(srv)
            with anyio.fail_after(10):
                event = await watching.__anext__()
            assert isinstance(event, ResourceUpdated) and event.uri == WATCHED, event
            with anyio.move_on_after(QUIET_S) as quiet:
                leaked = await elsewhere.__anext__()
            assert quiet.cancelled_caught, f"a stream filtered to {OTHER} got {leaked}"
