"""flows.answer.talk_to_agent when Asterisk refuses (or does not answer) putting caller and agent together:
the call ends in error, and the agent who answered is not left ringing (their leg hung up, the
conversation's bridge destroyed, the agent ready for the next caller). And when the agent hung up
before being connected: paused for a missed call, unless the service kept them waiting."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentSeat, AgentState, QueuedCall, QueuePolicy
from ari_app.ari.errors import AriError, AriNotFound, AriTimeout
from ari_app.ari.events import Channel
from ari_app.calls.session import CallSession
from ari_app.flows.answer import CONNECT_GRACE, agent_kept_waiting, talk_to_agent
from ari_app.flows.common import FlowContext
from ari_app.flows.conversation import Requeue
from tests.unit.fakes import FakeClock, MemoryStore


class Events:
    def __init__(self) -> None:
        self.kinds: list[str] = []

    async def event(self, call_id: str, kind: str, **detail: Any) -> None:
        self.kinds.append(kind)


class Asterisk:
    """Makes bridges; adding channels to one fails as given."""

    def __init__(self, failure: AriError) -> None:
        self.failure = failure
        self.requests: list[tuple[str, str]] = []

    async def stop_playback(self, playback_id: str) -> None:
        self.requests.append(("stop", playback_id))

    async def create_bridge(self, kind: str, bridge_id: str, name: str = "") -> dict[str, Any]:
        self.requests.append(("create", bridge_id))
        return {"id": bridge_id}

    async def add_to_bridge(self, bridge_id: str, channels: str, role: str = "") -> None:
        self.requests.append(("add", channels))
        raise self.failure

    async def hangup(self, channel_id: str) -> None:
        self.requests.append(("hangup", channel_id))

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.requests.append(("destroy", bridge_id))


async def _offered(call_id: str) -> tuple[Acd, CallSession, QueuedCall]:
    """A caller in line and offered to agent 1001, who is ringing (the flow rang; the agent answered)."""
    acd = Acd([AgentSeat(id="1001", endpoint="agent-1001", skills={"general": 1})], QueuePolicy(), MemoryStore(),
              FakeClock(1000.0))
    await acd.login("1001")
    session = CallSession(call_id, Channel(call_id, "PJSIP/trunk-1", "Up", "13900000000", "", "12345", "s", "zh"),
                          "12345", "intake")
    entry = acd.new_entry(call_id, call_id, "12345", "", False)
    await acd.enqueue(entry, lambda offer: None)
    await acd.dispatch()
    return acd, session, entry


def _context(ari: Asterisk, events: Events, acd: Acd) -> FlowContext:
    return FlowContext(ari=ari, calls=events, acd=acd, app="hotline", attach=lambda *_: None,  # type: ignore[arg-type]
                       registry=lambda: None)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("failure", [
    AriError("POST /bridges/{bridgeId}/addChannel", 500, "Internal Server Error"),
    AriTimeout("POST /bridges/{bridgeId}/addChannel", 0, "TimeoutError"),
])
async def test_the_agent_is_let_go_when_asterisk_cannot_put_the_two_together(failure: AriError) -> None:
    acd, session, _entry = await _offered("17.0")
    assert acd.agents["1001"].state is AgentState.RINGING  # offered; the flow rang and the agent answered

    ari, events = Asterisk(failure), Events()
    ctx = _context(ari, events, acd)
    with pytest.raises(AriError):
        await talk_to_agent(ctx, session, "1001", "agent-leg-1")
    assert ari.requests == [("create", "talk-17.0"), ("add", "17.0,agent-leg-1"), ("hangup", "agent-leg-1"),
                            ("destroy", "talk-17.0")]
    assert acd.agents["1001"].state is AgentState.READY and acd.agents["1001"].call_id == ""
    assert events.kinds == ["agent_released"]


class AgentGone(Asterisk):
    """The agent's leg is gone when both are added (404); the caller alone can be added."""

    def __init__(self) -> None:
        super().__init__(AriNotFound("POST /bridges/{bridgeId}/addChannel", 404, "Channel not found"))

    async def add_to_bridge(self, bridge_id: str, channels: str, role: str = "") -> None:
        self.requests.append(("add", channels))
        if "," in channels:
            raise self.failure


@pytest.mark.parametrize(("answered_ago", "state", "kind"), [
    (0.05, AgentState.PAUSED, "agent_missed"),  # hung up at once on a timely service: a missed call
    (3.0, AgentState.READY, "agent_released"),  # hung up after 3 s of silence: the service was late
])
async def test_an_agent_who_hung_up_before_being_connected_is_paused_only_if_the_service_was_timely(
    answered_ago: float, state: AgentState, kind: str,
) -> None:
    acd, session, entry = await _offered("18.0")
    session.agent_answered_at = time.time() - answered_ago
    ari, events = AgentGone(), Events()
    ctx = _context(ari, events, acd)
    assert isinstance(await talk_to_agent(ctx, session, "1001", "agent-leg-2"), Requeue)
    assert ari.requests == [("create", "talk-18.0"), ("add", "18.0,agent-leg-2"), ("add", "18.0"),
                            ("destroy", "talk-18.0")]
    assert acd.agents["1001"].state is state and events.kinds == [kind]
    assert entry.offered_to == "" and acd.queue["18.0"] is entry  # back in line at its place


def test_an_agent_is_kept_waiting_past_the_grace_after_the_answer() -> None:
    assert not agent_kept_waiting(None, 1000.0)  # answer time unknown: the agent's doing, as before
    assert not agent_kept_waiting(1000.0 - CONNECT_GRACE + 0.01, 1000.0)
    assert agent_kept_waiting(1000.0 - CONNECT_GRACE - 0.01, 1000.0)
