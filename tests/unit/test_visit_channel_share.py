"""A return visit's attempt keeps its place in the dialler's share until Asterisk has destroyed its
channel: a citizen's hang-up ends the call for the app at StasisEnd, but the channel (and its trunk)
goes only at ChannelDestroyed, which a busy Asterisk may send a good while later."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Any

from ari_app.ari.errors import AriNotFound
from ari_app.ari.events import Channel, ChannelDestroyed, StasisEnd, StasisStart
from ari_app.calls.session import CallSession
from ari_app.flows.common import FlowContext
from ari_app.visits import call as visit_call
from ari_app.visits.call import VisitLine, place_visit
from ari_app.visits.policy import VisitPolicy
from ari_app.visits.store import Visit

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
POLICY = VisitPolicy(trunk="carrier", caller_id="12345", timezone="Asia/Shanghai", opens=time(8), closes=time(20),
                     attempts=1, retry_minutes=(30,), ring_seconds=30, max_channels=5)


class Calls:
    """The call record's writes, kept in order."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    async def open(self, *args: Any) -> None:
        self.writes.append("open")

    async def event(self, call_id: str, kind: str, **detail: Any) -> None:
        self.writes.append(kind)

    async def answered(self, call_id: str) -> None:
        self.writes.append("answered")

    async def close(self, call_id: str, outcome: str) -> None:
        self.writes.append(f"close:{outcome}")


class Asterisk:
    """Originates; the citizen hangs up as the summary starts to play (the playback's channel is gone)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.originated = asyncio.Event()
        self.played = asyncio.Event()
        self.hangups_found = True  # False: a DELETE says 404 (the channel went, its event never came)

    async def originate(self, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        self.requests.append("originate")
        self.originated.set()
        return {}

    async def play(self, channel_id: str, media: str, playback_id: str, lang: str = "zh") -> dict[str, Any]:
        self.requests.append("play")
        self.played.set()
        raise AriNotFound("POST /channels/{channelId}/play", 404, "Channel not found")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.requests.append("hangup")
        if not self.hangups_found:
            raise AriNotFound("DELETE /channels/{channelId}", 404, "Channel not found")


def _event(kind: type, channel_id: str) -> Any:
    channel = Channel(channel_id, "PJSIP/carrier-1", "Up", "13900000000", "", "12345", "", "zh")
    if kind is StasisStart:
        return StasisStart("StasisStart", "hotline", "", {}, channel, ("visit", channel_id), None)
    if kind is StasisEnd:
        return StasisEnd("StasisEnd", "hotline", "", {}, channel)
    return ChannelDestroyed("ChannelDestroyed", "hotline", "", {}, channel, 16, "Normal Clearing")


async def _hung_up_visit(ari: Asterisk) -> tuple[asyncio.Task[Any], CallSession, Calls, list[CallSession]]:
    sessions: dict[str, CallSession] = {}
    detached: list[CallSession] = []
    calls = Calls()
    ctx = FlowContext(ari=ari, calls=calls, acd=None, app="hotline",  # type: ignore[arg-type]
                      attach=lambda channel_id, session: sessions.__setitem__(channel_id, session),
                      registry=lambda: None)  # type: ignore[arg-type,return-value]
    visit = Visit(7, "20261202-000007", "13900000000", "市场监管局", "dialling", 1, NOW, "", "", None, NOW, NOW)
    task = asyncio.create_task(place_visit(VisitLine(ctx, POLICY, detached.append), visit))
    await ari.originated.wait()
    (channel_id, session), = sessions.items()
    session.deliver(_event(StasisStart, channel_id))  # answered; the summary's play finds it gone
    session.deliver(_event(StasisEnd, channel_id))
    await asyncio.wait_for(ari.played.wait(), 1)  # the flow found the citizen gone
    return task, session, calls, detached


async def test_the_attempt_ends_only_when_asterisk_has_destroyed_the_channel() -> None:
    ari = Asterisk()
    task, session, calls, detached = await _hung_up_visit(ari)
    # The flow is over for the app (StasisEnd) but the channel is still there: the attempt waits.
    assert not (await asyncio.wait({task}, timeout=0.2))[0]
    assert not detached and "close:visit_hung_up" not in calls.writes
    session.deliver(_event(ChannelDestroyed, session.channel.id))
    result = await asyncio.wait_for(task, 1)
    assert (result.answered, result.reason) == (True, "hung up")
    assert detached == [session] and session.destroyed and calls.writes[-1] == "close:visit_hung_up"
    assert ari.requests == ["originate", "play"]  # no hang-up asked: it went by itself


async def test_a_channel_whose_destruction_never_reports_is_asked_to_go_and_404_frees_the_slot(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(visit_call, "DESTROY_WAIT", 0.2)
    ari = Asterisk()
    ari.hangups_found = False
    task, session, _calls, detached = await _hung_up_visit(ari)
    result = await asyncio.wait_for(task, 2)
    assert result.reason == "hung up" and detached == [session]
    assert ari.requests == ["originate", "play", "hangup"]


async def test_a_rejected_call_does_not_wait_for_a_second_destruction() -> None:
    ari = Asterisk()
    sessions: dict[str, CallSession] = {}
    ctx = FlowContext(ari=ari, calls=Calls(), acd=None, app="hotline",  # type: ignore[arg-type]
                      attach=lambda channel_id, session: sessions.__setitem__(channel_id, session),
                      registry=lambda: None)  # type: ignore[arg-type,return-value]
    visit = Visit(8, "20261202-000008", "13900000000", "市场监管局", "dialling", 1, NOW, "", "", None, NOW, NOW)
    task = asyncio.create_task(place_visit(VisitLine(ctx, POLICY, lambda s: None), visit))
    await ari.originated.wait()
    (channel_id, session), = sessions.items()
    destroyed = _event(ChannelDestroyed, channel_id)
    session.deliver(ChannelDestroyed("ChannelDestroyed", "hotline", "", {}, destroyed.channel, 17, "User busy"))
    result = await asyncio.wait_for(task, 1)
    assert (result.answered, result.reason) == (False, "busy")
    assert ari.requests == ["originate"]
