"""Every REST path and method the ARI client uses exists in the live Asterisk's /ari/api-docs."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from ari_app.ari import endpoints
from ari_app.ari.errors import AriNotFound
from ari_app.ari.events import HANDLED_TYPES
from ari_app.ari.rest import AriRest
from ari_app.ari.stream import AriEventStream
from tests.harness.services import Stack


def _declared_operations(stack: Stack) -> set[tuple[str, str]]:
    resources = stack.ari.get("/api-docs/resources.json")
    operations: set[tuple[str, str]] = set()
    for api in resources["apis"]:
        name = api["path"].rsplit("/", 1)[-1].replace("{format}", "json")
        declaration = stack.ari.get(f"/api-docs/{name}")
        for entry in declaration["apis"]:
            for operation in entry["operations"]:
                operations.add((operation["httpMethod"], entry["path"]))
    return operations


def test_every_client_endpoint_exists_in_live_api_docs(stack: Stack) -> None:
    declared = _declared_operations(stack)
    assert len(declared) > 50, f"api-docs looks empty: {len(declared)} operations"
    missing = [f"{e.method} {e.path}" for e in endpoints.ALL if (e.method, e.path) not in declared]
    assert not missing, f"the ARI client uses operations Asterisk does not declare: {missing}"


def test_contract_check_would_catch_a_wrong_path(stack: Stack) -> None:
    declared = _declared_operations(stack)
    assert ("POST", "/channels/{channelId}/answer") in declared
    assert ("POST", "/channels/{channelId}/answerr") not in declared
    assert ("GET", "/channels/{channelId}/answer") not in declared


async def test_rest_over_the_events_websocket_on_the_live_asterisk(stack: Stack) -> None:
    """The client's websocket transport against the real Asterisk: the probe succeeds, requests
    are answered (created, not found, refused), and a socket that closes fails what is in flight."""
    rest = AriRest(stack.asterisk.ari_url, stack.asterisk.ari_user, stack.asterisk.ari_password, timeout=5)
    connected = asyncio.Event()

    async def on_connect() -> None:
        connected.set()

    stream = AriEventStream(rest, "wsrest-probe", lambda _event: None, on_connect)
    runner = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(connected.wait(), 10)
        assert rest.ws.attached, "Asterisk 22 takes REST over the websocket"
        application = await rest.application("wsrest-probe")
        assert {e["type"] for e in application["events_allowed"]} == set(HANDLED_TYPES)
        bridge = await rest.create_bridge("holding", "wsrest-bridge", name="queue 12345 测试")
        assert bridge["id"] == "wsrest-bridge" and bridge["name"] == "queue 12345 测试"
        assert any(b["id"] == "wsrest-bridge" for b in await rest.bridges())
        with pytest.raises(AriNotFound):
            await rest.answer("no-such-channel")
        with pytest.raises(AriNotFound):
            await rest.add_to_bridge("wsrest-bridge", "no-such-channel")
        await rest.destroy_bridge("wsrest-bridge")
        with pytest.raises(AriNotFound):
            await rest.destroy_bridge("wsrest-bridge")
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    assert not rest.ws.attached  # closed with the stream: requests go over HTTP again
    assert (await rest.bridges()) is not None
    await rest.close()
