"""ari_app.calls.dispatcher.CallDispatcher with a fake flow: one session and one task per caller
channel, events routed to the right session, orphan agent legs, failing flows, shutdown.
Events are parsed with ari_app.ari.events.parse_event from JSON as Asterisk sends it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ari_app.ari.events import ChannelDtmfReceived, Event, StasisStart, parse_event
from ari_app.calls.dispatcher import CallDispatcher
from ari_app.calls.legs import LEG_MARK
from ari_app.calls.session import CallSession
from tests.harness.wait import until

CALLER = "1732068903.17"
OTHER_CALLER = "1732068910.21"
AGENT_LEG = "agent-0f3c9a1b2d4e5f60"
WAIT = 2.0


def _channel(channel_id: str, exten: str = "12345") -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": f"PJSIP/trunk-{channel_id[-2:]}",
        "state": "Ring",
        "caller": {"name": "", "number": "13800138000"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {"context": "hotline-inbound", "exten": exten, "priority": 3, "app_name": "Stasis",
                     "app_data": "hotline"},
        "creationtime": "2024-11-20T10:15:03.100+0800",
        "language": "zh",
    }


def event(kind: str, **fields: Any) -> Event:
    data = {"type": kind, "timestamp": "2024-11-20T10:15:03.123+0800", **fields,
            "asterisk_id": "02:42:ac:11:00:02", "application": "hotline"}
    decoded: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False))
    return parse_event(decoded)


def stasis_start(channel_id: str = CALLER, args: list[str] | None = None, exten: str = "12345") -> Event:
    return event("StasisStart", args=["intake", "12349", "merged-12349", "civil-affairs"] if args is None else args,
                 channel=_channel(channel_id, exten))


def dtmf(channel_id: str, digit: str) -> Event:
    return event("ChannelDtmfReceived", digit=digit, duration_ms=120, channel=_channel(channel_id))


class FakeFlow:
    """A call flow that waits until released (or cancelled), or raises at once with ``fail``."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sessions: list[CallSession] = []
        self.cancelled: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, session: CallSession) -> None:
        self.sessions.append(session)
        if self.fail:
            raise RuntimeError("the flow broke")
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.append(session.call_id)
            raise


async def test_a_stasis_start_starts_one_session_and_one_task() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start())
    await until(lambda: len(flow.sessions) == 1, "the flow to start")

    session = flow.sessions[0]
    assert (session.call_id, session.channel.id, session.route, session.hotline, session.prompt, session.group) == (
        CALLER, CALLER, "intake", "12349", "merged-12349", "civil-affairs")
    assert session.adopted is False
    assert dispatcher.session_for(CALLER) is session
    assert dispatcher.active_calls == 1
    await dispatcher.shutdown()


async def test_missing_stasis_args_default_to_intake_and_the_dialed_number() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start(args=[], exten="12328"))
    await until(lambda: len(flow.sessions) == 1, "the flow to start")
    session = flow.sessions[0]
    assert (session.route, session.hotline, session.prompt, session.group) == ("intake", "12328", "", "")
    await dispatcher.shutdown()


async def test_a_replayed_stasis_start_never_starts_a_second_flow() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    first = stasis_start()
    dispatcher.on_event(first)
    dispatcher.on_event(first)  # the same event again, before the task even ran
    await until(lambda: len(flow.sessions) == 1, "the flow to start")
    dispatcher.on_event(stasis_start())  # and once more, while the flow runs
    # The reconcile step finding the same channel after a reconnect does not start one either.
    assert isinstance(first, StasisStart)
    assert dispatcher.start(first.channel, args=first.args, adopted=True) is None
    for _ in range(5):  # give a wrongly started second task every chance to run
        await asyncio.sleep(0)

    assert len(flow.sessions) == 1
    assert dispatcher.active_calls == 1
    await dispatcher.shutdown()


async def test_two_callers_get_two_flows() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start(CALLER))
    dispatcher.on_event(stasis_start(OTHER_CALLER))
    await until(lambda: len(flow.sessions) == 2, "both flows to start")
    assert {s.call_id for s in flow.sessions} == {CALLER, OTHER_CALLER}
    assert dispatcher.active_calls == 2
    await dispatcher.shutdown()


async def test_events_of_the_caller_and_of_attached_channels_reach_the_session_inbox() -> None:
    orphans: list[str] = []

    async def on_orphan(channel_id: str) -> None:
        orphans.append(channel_id)

    flow = FakeFlow()
    dispatcher = CallDispatcher(flow, on_orphan)
    dispatcher.on_event(stasis_start())
    await until(lambda: len(flow.sessions) == 1, "the flow to start")
    session = flow.sessions[0]
    dispatcher.attach(AGENT_LEG, session)

    caller_digit = dtmf(CALLER, "5")
    agent_start = stasis_start(AGENT_LEG, args=[LEG_MARK, CALLER])  # the agent leg the flow originated
    agent_digit = dtmf(AGENT_LEG, "*")
    for e in (caller_digit, agent_start, agent_digit):
        dispatcher.on_event(e)
    dispatcher.on_event(dtmf(OTHER_CALLER, "1"))  # another channel: not this call's

    received = [session.inbox.get_nowait() for _ in range(session.inbox.qsize())]
    assert received == [caller_digit, agent_start, agent_digit]
    assert isinstance(received[2], ChannelDtmfReceived) and received[2].digit == "*"
    assert dispatcher.session_for(AGENT_LEG) is session
    assert orphans == [] and len(flow.sessions) == 1
    await dispatcher.shutdown()


async def test_an_orphan_agent_leg_is_handed_to_on_orphan_and_starts_no_flow() -> None:
    orphans: list[str] = []

    async def on_orphan(channel_id: str) -> None:
        orphans.append(channel_id)

    flow = FakeFlow()
    dispatcher = CallDispatcher(flow, on_orphan)
    dispatcher.on_event(stasis_start(AGENT_LEG, args=[LEG_MARK, "1732060000.1"]))
    await until(lambda: orphans == [AGENT_LEG], "on_orphan to be called")
    for _ in range(5):
        await asyncio.sleep(0)
    assert flow.sessions == []
    assert dispatcher.active_calls == 0
    assert dispatcher.session_for(AGENT_LEG) is None


async def test_an_orphan_agent_leg_without_a_handler_starts_no_flow() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start(AGENT_LEG, args=[LEG_MARK]))
    for _ in range(5):
        await asyncio.sleep(0)
    assert flow.sessions == [] and dispatcher.active_calls == 0


async def test_events_without_a_session_start_nothing() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    for e in (
        event("StasisEnd", channel=_channel(CALLER)),
        event("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=_channel(CALLER)),
        dtmf(CALLER, "1"),
        event("DeviceStateChanged", device_state={"name": "PJSIP/agent-1001", "state": "NOT_INUSE"}),
    ):
        dispatcher.on_event(e)
    for _ in range(5):
        await asyncio.sleep(0)
    assert flow.sessions == [] and dispatcher.active_calls == 0 and dispatcher.session_for(CALLER) is None


async def test_a_flow_that_raises_is_counted_and_its_session_entries_are_removed() -> None:
    flow = FakeFlow(fail=True)
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start())
    session = dispatcher.session_for(CALLER)
    assert session is not None
    dispatcher.attach(AGENT_LEG, session)
    await until(lambda: dispatcher.failed_flows == 1, "the failure to be counted")
    await until(lambda: dispatcher.active_calls == 0, "the task to be gone")

    assert dispatcher.session_for(CALLER) is None and dispatcher.session_for(AGENT_LEG) is None
    dispatcher.on_event(dtmf(AGENT_LEG, "1"))  # a late event for the dead call goes nowhere
    assert session.inbox.empty()


async def test_a_flow_that_ends_normally_is_not_counted_as_failed() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start())
    await until(lambda: len(flow.sessions) == 1, "the flow to start")
    flow.release.set()
    await until(lambda: dispatcher.active_calls == 0, "the task to end")
    assert dispatcher.failed_flows == 0 and dispatcher.session_for(CALLER) is None


async def test_shutdown_cancels_the_running_flows() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start(CALLER))
    dispatcher.on_event(stasis_start(OTHER_CALLER))
    await until(lambda: len(flow.sessions) == 2, "both flows to start")

    await asyncio.wait_for(dispatcher.shutdown(timeout=WAIT), WAIT + 1)
    assert sorted(flow.cancelled) == sorted([CALLER, OTHER_CALLER])
    assert dispatcher.active_calls == 0 and dispatcher.failed_flows == 0
    assert dispatcher.session_for(CALLER) is None and dispatcher.session_for(OTHER_CALLER) is None


async def test_a_call_is_told_of_its_channels_that_ended_while_the_app_was_away() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start(CALLER))
    dispatcher.on_event(stasis_start(OTHER_CALLER))
    await until(lambda: len(flow.sessions) == 2, "both flows started")
    session = dispatcher.session_for(CALLER)
    assert session is not None
    dispatcher.attach(AGENT_LEG, session)

    gone = dispatcher.vanished({CALLER, OTHER_CALLER})  # the agent hung up while the app was away
    assert gone == [AGENT_LEG]
    told = [session.inbox.get_nowait() for _ in range(session.inbox.qsize())]
    assert [(e.type, e.channel_id) for e in told] == [("StasisEnd", AGENT_LEG), ("ChannelDestroyed", AGENT_LEG)]
    other = dispatcher.session_for(OTHER_CALLER)
    assert other is not None and other.inbox.empty()
    assert dispatcher.vanished({CALLER, OTHER_CALLER, AGENT_LEG}) == []
    await dispatcher.shutdown()


async def test_a_call_that_starts_after_the_listing_is_not_taken_for_gone() -> None:
    """The reconcile step lists Asterisk's channels while events flow: a StasisStart that arrives
    after the listing must not make its (new, live) call look ended (found under load in
    tests/integration/test_serve_kill_under_load.py: the caller was left in Stasis, unowned)."""
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start(CALLER))
    await until(lambda: len(flow.sessions) == 1, "the first flow started")
    held = dispatcher.channel_ids()
    listed = {CALLER}  # Asterisk's channels, read now
    dispatcher.on_event(stasis_start(OTHER_CALLER))  # arrives while the listing is being read
    await until(lambda: len(flow.sessions) == 2, "the new flow started")

    assert dispatcher.vanished(listed, held) == []
    other = dispatcher.session_for(OTHER_CALLER)
    assert other is not None and other.inbox.empty()
    assert dispatcher.vanished(listed) == [OTHER_CALLER]  # without ``among``: the race this guards against
    await dispatcher.shutdown()
