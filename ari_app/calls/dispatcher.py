"""Routes ARI events to call sessions and runs each call in its own task.

``on_event`` is called by the websocket reader and only enqueues. A call is keyed by its caller
channel id, so a StasisStart seen twice (an event replayed after a reconnect, or a channel found
by the reconcile step and announced by an event too) never starts two flows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Coroutine
from datetime import UTC, datetime
from typing import Any

import structlog

from ari_app.ari.events import Channel, ChannelDestroyed, Event, StasisEnd, StasisStart
from ari_app.calls.legs import LEG_MARK
from ari_app.calls.session import CallSession
from ari_app.logs import get_logger
from ari_app.metrics.instruments import asterisk_time
from ari_app.store.calls import dialplan_time

log = get_logger("calls.dispatcher")

Flow = Callable[[CallSession], Awaitable[None]]


class CallDispatcher:
    def __init__(self, flow: Flow, on_orphan: Callable[[str], Coroutine[Any, Any, None]] | None = None) -> None:
        self._flow = flow
        self._on_orphan = on_orphan
        self._orphan_tasks: set[asyncio.Task[None]] = set()
        self._sessions: dict[str, CallSession] = {}  # any channel id of the call -> session
        self._tasks: dict[str, asyncio.Task[None]] = {}  # call id -> task
        self.failed_flows = 0

    @property
    def active_calls(self) -> int:
        return len(self._tasks)

    def session_for(self, channel_id: str) -> CallSession | None:
        return self._sessions.get(channel_id)

    def on_event(self, event: Event, node: str = "") -> None:
        """``node``: the Asterisk node the event came from (a new call is that node's)."""
        channel_id = event.channel_id
        if channel_id is None:
            return
        session = self._sessions.get(channel_id)
        if session is not None:
            session.deliver(event)
            return
        if isinstance(event, StasisStart):
            if event.args and event.args[0] == LEG_MARK:
                # A leg we originated for a call that is over (or from before a restart).
                if self._on_orphan is not None:
                    task = asyncio.create_task(self._on_orphan(channel_id))
                    self._orphan_tasks.add(task)
                    task.add_done_callback(self._orphan_tasks.discard)
                return
            session = self.start(event.channel, args=event.args, adopted=False, node=node)
            if session is not None:
                session.stasis_at = asterisk_time(event.timestamp)
        elif not isinstance(event, StasisEnd | ChannelDestroyed):
            log.debug("event_for_unknown_channel", event_type=event.type, channel_id=channel_id)

    def start(self, channel: Channel, args: tuple[str, ...], adopted: bool, node: str = "") -> CallSession | None:
        """Begin handling a caller channel unless a flow already owns it."""
        if channel.id in self._sessions:
            return None
        route, hotline, prompt, group, overflow, greeted, notice, answered = (*args, *[""] * 8)[:8]
        session = CallSession(
            call_id=channel.id,
            channel=channel,
            hotline=hotline or channel.exten,
            route=route or "intake",
            prompt=prompt,
            group=group,
            overflow=overflow,
            greeted=greeted,
            notice=notice,
            answered_at=dialplan_time(answered),
            adopted=adopted,
            node=node,
        )
        self._sessions[channel.id] = session
        task = asyncio.create_task(self._run(session), name=f"call-{channel.id}")
        self._tasks[session.call_id] = task
        return session

    def channel_ids(self) -> frozenset[str]:
        """Every channel the running calls hold now."""
        return frozenset(self._sessions)

    def vanished(self, existing: Collection[str], nodes: Collection[str] | None = None, lost: str = "",
                 among: Collection[str] | None = None) -> list[str]:
        """Channels the running calls hold that Asterisk no longer has: they ended while the app
        was not connected, so their events never came. Each call is told now, as Asterisk would
        have told it (StasisEnd, then ChannelDestroyed), and its flow goes on from there.

        ``nodes``: only the calls on these nodes (their Asterisk answered for its own calls only);
        ``lost``: the node was lost with its calls (the calls' records say so); ``among``: only these
        channels (those held when ``existing`` was listed): a call whose StasisStart came after the
        listing is missing from it because it is new, not because it ended."""
        gone = [channel_id for channel_id, session in self._sessions.items()
                if channel_id not in existing and (nodes is None or session.node in nodes)
                and (among is None or channel_id in among)]
        stamp = datetime.now(UTC).isoformat()
        for channel_id in gone:
            channel = Channel.from_json({"id": channel_id})
            session = self._sessions[channel_id]
            if lost:
                session.lost_node = lost
            session.deliver(StasisEnd("StasisEnd", "", stamp, {}, channel))
            session.deliver(ChannelDestroyed("ChannelDestroyed", "", stamp, {}, channel, 16, "gone while disconnected"))
            log.info("channel_gone_while_disconnected", channel_id=channel_id, call_id=session.call_id,
                     **({"lost_node": lost} if lost else {}))
        return gone

    def attach(self, channel_id: str, session: CallSession) -> None:
        """Route a further channel's events (an agent leg, a department leg) to ``session``."""
        self._sessions[channel_id] = session

    def detach(self, session: CallSession) -> None:
        """Stop routing events to a session the dispatcher does not run (a return visit's call)."""
        for key in [k for k, s in self._sessions.items() if s is session]:
            del self._sessions[key]

    async def _run(self, session: CallSession) -> None:
        structlog.contextvars.bind_contextvars(
            call_id=session.call_id, channel_id=session.channel.id, hotline=session.hotline
        )
        try:
            await self._flow(session)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.failed_flows += 1
            log.exception("call_flow_failed")
        finally:
            for key in [k for k, s in self._sessions.items() if s is session]:
                del self._sessions[key]
            self._tasks.pop(session.call_id, None)

    async def shutdown(self, timeout: float = 5.0) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
