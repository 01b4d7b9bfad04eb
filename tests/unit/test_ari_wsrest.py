"""REST over the ARI websocket: the request URI, answers, and what happens when the socket goes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ari_app.ari.errors import AriError, AriNotFound, AriTimeout
from ari_app.ari.events import Channel
from ari_app.ari.rest import AriRest
from ari_app.ari.wsrest import WsAnswer, WsClosed, WsRestTransport, answer_of, request_uri
from ari_app.calls.session import CallSession
from ari_app.flows import holding
from ari_app.flows.common import FlowContext, announce
from tests.harness.wait import until


def test_request_uri_drops_the_leading_slash_and_encodes_like_http() -> None:
    assert request_uri("/channels/ch-1/answer", {}) == "channels/ch-1/answer"
    assert request_uri("/bridges", {"type": "holding", "bridgeId": "hold-1", "name": "queue 12345"}) == (
        "bridges?type=holding&bridgeId=hold-1&name=queue+12345")
    assert request_uri("/channels/x/play", {"media": "sound:a,sound:b", "playbackId": "p&1"}) == (
        "channels/x/play?media=sound:a,sound:b&playbackId=p%261")
    assert request_uri("/channels", {"callerId": '"12345" <13900000000>'}).startswith("channels?callerId=%2212345%22")


def test_answers_keep_the_body_as_http_would() -> None:
    assert answer_of({"status_code": 204}) == WsAnswer(204, "")
    assert answer_of({"status_code": 200, "message_body": '{"id":"b"}'}) == WsAnswer(200, '{"id":"b"}')
    assert answer_of({"status_code": 200, "message_body": {"id": "b"}}) == WsAnswer(200, '{"id":"b"}')
    assert answer_of({"message_body": "x"}).status == 0


class FakeSocket:
    """The socket's sending side: what a request wrote (the answers are fed back by hand)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    async def send_str(self, text: str) -> None:
        self.sent.append(json.loads(text))


async def test_a_request_is_answered_by_its_request_id_and_maps_statuses() -> None:
    rest = AriRest("http://127.0.0.1:1", "u", "p", timeout=2)
    socket = FakeSocket()
    rest.ws.attach(socket)  # type: ignore[arg-type]
    created = asyncio.create_task(rest.create_bridge("holding", "hold-1", name="queue 12345"))
    missing = asyncio.create_task(rest.answer("gone-1"))
    await until(lambda: len(socket.sent) == 2, "both requests sent")
    first, second = socket.sent
    assert first["method"] == "POST" and first["uri"].startswith("bridges?type=holding")
    assert second["uri"] == "channels/gone-1/answer" and "message_body" not in second
    rest.ws.on_response({"request_id": second["request_id"], "status_code": 404,
                         "message_body": '{"message":"Channel not found"}'})
    rest.ws.on_response({"request_id": "no-such-request", "status_code": 200})  # late or foreign: ignored
    rest.ws.on_response({"request_id": first["request_id"], "status_code": 200, "message_body": '{"id":"hold-1"}'})
    assert (await created)["id"] == "hold-1"
    with pytest.raises(AriNotFound, match="Channel not found"):
        await missing
    await rest.close()


async def test_a_channel_that_left_the_app_as_it_hung_up_is_gone_but_a_bridge_conflict_is_not() -> None:
    rest = AriRest("http://127.0.0.1:1", "u", "p", timeout=2)
    socket = FakeSocket()
    rest.ws.attach(socket)  # type: ignore[arg-type]
    playing = asyncio.create_task(rest.play("ch-1", "sound:queue-next", "pb-1"))
    creating = asyncio.create_task(rest.create_bridge("holding", "hold-queue"))
    await until(lambda: len(socket.sent) == 2, "both requests sent")
    play, create = socket.sent
    rest.ws.on_response({"request_id": play["request_id"], "status_code": 409,
                         "message_body": '{"message":"Channel not in Stasis application"}'})
    rest.ws.on_response({"request_id": create["request_id"], "status_code": 409,
                         "message_body": '{"message":"Bridge with id \'hold-queue\' already exists"}'})
    with pytest.raises(AriNotFound):
        await playing
    with pytest.raises(AriError) as raised:
        await creating
    assert not isinstance(raised.value, AriNotFound) and raised.value.status == 409
    await rest.close()


async def test_requests_in_flight_fail_like_a_broken_connection_when_the_socket_closes() -> None:
    rest = AriRest("http://127.0.0.1:1", "u", "p", timeout=2)
    socket = FakeSocket()
    rest.ws.attach(socket)  # type: ignore[arg-type]
    waiting = asyncio.create_task(rest.hangup("ch-1"))
    await until(lambda: socket.sent, "the request sent")
    assert socket.sent and rest.ws.attached
    rest.ws.detach()
    with pytest.raises(AriError) as raised:
        await waiting
    assert raised.value.status == 0 and "websocket closed" in str(raised.value)
    assert not rest.ws.attached
    with pytest.raises(WsClosed):
        await WsRestTransport().send("GET", "asterisk/ping", None, 1)
    await rest.close()


async def test_a_request_past_its_time_fails_as_a_timeout_and_the_others_are_not_held_up() -> None:
    transport = WsRestTransport()
    socket = FakeSocket()
    transport.attach(socket)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    started = loop.time()
    late = asyncio.create_task(transport.send("GET", "asterisk/ping", None, 0.3))
    answered = asyncio.create_task(transport.send("GET", "channels", None, 5.0))
    await until(lambda: len(socket.sent) == 2, "both requests sent")
    transport.on_response({"request_id": socket.sent[1]["request_id"], "status_code": 200, "message_body": "[]"})
    assert await answered == WsAnswer(200, "[]")
    with pytest.raises(TimeoutError):
        await late
    assert 0.3 <= loop.time() - started < 1.0
    assert transport._pending == {}


async def test_a_timed_out_request_through_the_rest_client_is_an_ari_error_naming_the_operation() -> None:
    rest = AriRest("http://127.0.0.1:1", "u", "p", timeout=0.2)
    rest.ws.attach(FakeSocket())  # type: ignore[arg-type]
    with pytest.raises(AriError, match="TimeoutError"):
        await rest.answer("ch-1")
    assert rest.ws._pending == {}
    with pytest.raises(AriTimeout):  # sent and not answered: it may still be carried out
        await rest.answer("ch-2")
    rest.ws.detach()
    with pytest.raises(AriError) as refused:  # over HTTP to a closed port: never reached Asterisk
        await rest.answer("ch-3")
    assert refused.value.status == 0 and not isinstance(refused.value, AriTimeout)
    await rest.close()


async def test_a_holding_join_asterisk_answers_late_leaves_the_caller_on_the_line() -> None:
    rest = AriRest("http://127.0.0.1:1", "u", "p", timeout=0.2)
    socket = FakeSocket()
    rest.ws.attach(socket)  # type: ignore[arg-type]
    joining = asyncio.create_task(holding.enter(rest, "ch-1"))
    await until(lambda: socket.sent, "the bridge asked for")
    rest.ws.on_response({"request_id": socket.sent[0]["request_id"], "status_code": 200,
                         "message_body": '{"id":"hold-queue"}'})
    await joining  # the join itself is never answered: taken as queued in Asterisk, not as a failure
    assert [m["uri"].split("?")[0] for m in socket.sent] == ["bridges", "bridges/hold-queue/addChannel"]

    gone = asyncio.create_task(holding.enter(rest, "ch-2"))  # a refusal still fails the call's join
    await until(lambda: len(socket.sent) == 3, "the second join sent")
    rest.ws.on_response({"request_id": socket.sent[2]["request_id"], "status_code": 422,
                         "message_body": '{"message":"Channel not in Stasis application"}'})
    with pytest.raises(AriError) as raised:
        await gone
    assert raised.value.status == 422
    await rest.close()


async def test_an_announcement_asterisk_answers_late_is_left_queued_and_still_cut_short_later() -> None:
    rest = AriRest("http://127.0.0.1:1", "u", "p", timeout=0.2)
    socket = FakeSocket()
    rest.ws.attach(socket)  # type: ignore[arg-type]
    ctx = FlowContext(ari=rest, calls=None, acd=None, app="hotline", attach=lambda *_: None,  # type: ignore[arg-type]
                      registry=lambda: None)  # type: ignore[arg-type,return-value]
    session = CallSession("17.0", Channel("17.0", "PJSIP/trunk-1", "Up", "13900000000", "", "12345", "s", "zh"),
                          "12345", "intake")
    await announce(ctx, session, ["queue-next"])  # never answered: no error, the caller stays in line
    assert socket.sent[0]["uri"].startswith("channels/17.0/play?media=sound:queue-next&playbackId=")
    assert session.announcement and f"playbackId={session.announcement}&" in socket.sent[0]["uri"]

    refused = asyncio.create_task(announce(ctx, session, ["queue-next"]))  # a refusal still fails the flow
    await until(lambda: len(socket.sent) == 2, "the second announcement sent")
    rest.ws.on_response({"request_id": socket.sent[1]["request_id"], "status_code": 404,
                         "message_body": '{"message":"Channel not found"}'})
    with pytest.raises(AriNotFound):
        await refused
    await rest.close()
