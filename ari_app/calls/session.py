"""One call's view of the event stream.

The dispatcher puts every event that concerns the call's channels into :attr:`CallSession.inbox`;
the flow running in the call's own task waits on it with deadlines.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ari_app.acd.model import AgentOffer, QueuedCall
from ari_app.ari.events import Channel, ChannelDestroyed, Event, StasisEnd
from ari_app.calls.legs import Bridge, bridge_id, parse_bridge


class CallerGone(Exception):
    """The caller's channel left Stasis or was destroyed."""


@dataclass(frozen=True)
class EscalateRequest:
    """From the HTTP API: take the call from its agent to an expert group, ahead of new arrivals."""

    group: str


@dataclass(frozen=True)
class PartyRequest:
    """From the agent (HTTP or DTMF): bring in, drop or transfer to a department, or leave."""

    action: str  # add | drop | leave | blind | attended | complete
    target: str = ""  # department short code or hotline number


Message = Event | AgentOffer | EscalateRequest | PartyRequest


@dataclass(frozen=True)
class ResumedTalk:
    """A conversation found in Asterisk after a restart (see ari_app.calls.plan)."""

    agent_id: str  # "" when the agent had left
    agent_channel: str
    party_channel: str  # a department's leg in the conversation, or ""
    party_department: str  # its department id (from the leg's HOTLINE_DEPARTMENT variable)
    holding: str  # the xfer- bridge the caller is on hold in (attended transfer), or ""
    bridge: str = ""  # the conversation's talk- bridge ("": the call's first)


@dataclass
class CallSession:
    call_id: str
    channel: Channel
    hotline: str
    route: str
    prompt: str = ""  # prompt to play before the greeting (merge announcement, intercept notice)
    group: str = ""  # preferred agent group
    overflow: str = ""  # why a department call came to intake (department:NOANSWER, ...), or ""
    # How the dialplan's greeting played before the app took the call (SUCCESS / FAILED, Asterisk's
    # PLAYBACKSTATUS; "": the dialplan did not greet, the app answers and greets), the notice after it
    # ("": none), and when the dialplan answered.
    greeted: str = ""
    notice: str = ""
    answered_at: datetime | None = None
    adopted: bool = False
    node: str = ""  # the Asterisk node holding the caller ("" = the first or only one; ari_app.ari.nodes)
    lost_node: str = ""  # set when that node was lost with the call up
    inbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    gone: bool = False
    destroyed: bool = False  # the caller's ChannelDestroyed came (Asterisk no longer has the channel)
    resume: str = ""  # after a restart: "waiting" or "talking" (what the call was doing)
    resumed_talk: ResumedTalk | None = None  # after a restart while talking: who was on the call
    queued: QueuedCall | None = None  # the call's place in line, once queued
    repeat_caller: bool = False
    callback_offered: bool = False  # the caller was told that 1 keeps the place (told once)
    announcement: str = ""  # the playback id of the last position announcement (stopped on answer)
    # When Asterisk sent the caller's StasisStart (epoch seconds, its timestamp), until the caller is first in
    # the holding bridge (then None; None also for a call adopted after a restart); and the seconds the flow
    # spent meanwhile waiting for prompts to play, which are the caller's listening time, not the app's.
    stasis_at: float | None = None
    media_s: float = 0.0
    agent_answered_at: float | None = None  # when the agent being connected answered (Asterisk's clock, epoch s)
    talk: Any = None  # the live conversation (flows.conversation.Talk) while the caller talks to someone
    bridges_made: dict[Bridge, int] = field(default_factory=dict)  # how many of each kind (legs.bridge_id)

    def new_bridge(self, kind: Bridge) -> str:
        """An id for the call's next bridge of ``kind``, never one it had before."""
        self.bridges_made[kind] = self.bridges_made.get(kind, 0) + 1
        return bridge_id(kind, self.call_id, self.bridges_made[kind])

    def found_bridge(self, bridge: str) -> None:
        """After a restart: the call's ``bridge`` exists already; later ones of its kind are numbered after it."""
        parsed = parse_bridge(bridge)
        if parsed is not None and parsed[1] == self.call_id:
            kind, _, number = parsed
            self.bridges_made[kind] = max(self.bridges_made.get(kind, 0), number)

    def deliver(self, event: Message) -> None:
        self.inbox.put_nowait(event)

    def _is_caller_end(self, event: Message) -> bool:
        return isinstance(event, StasisEnd | ChannelDestroyed) and event.channel_id == self.channel.id

    def _note(self, event: Message) -> Message:
        if isinstance(event, ChannelDestroyed) and event.channel_id == self.channel.id:
            self.destroyed = True
        return event

    async def wait_for(self, predicate: Callable[[Message], bool], timeout: float | None) -> Message | None:
        """The next event matching ``predicate``; None on timeout; CallerGone if the caller left."""
        if self.gone:
            raise CallerGone(self.call_id)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            if not self.inbox.empty():  # no timer, no task for what is there already
                event = self._note(self.inbox.get_nowait())
            else:
                try:  # asyncio.timeout, not wait_for: no task per wait (Python 3.11's wait_for makes one)
                    async with asyncio.timeout(remaining):
                        event = self._note(await self.inbox.get())
                except TimeoutError:
                    return None
            if predicate(event):
                return event
            if self._is_caller_end(event):
                self.gone = True
                raise CallerGone(self.call_id)

    async def wait_gone(self, timeout: float) -> bool:
        """Wait until the caller's channel has left the app; True if it did."""
        if self.gone:
            return True
        try:
            event = await self.wait_for(self._is_caller_end, timeout)
        except CallerGone:
            return True
        if event is not None:
            self.gone = True
        return self.gone

    async def wait_destroyed(self, timeout: float) -> bool:
        """Wait until Asterisk has destroyed the caller's channel (after its StasisEnd too); True if it has.
        Other events that come meanwhile are dropped: the call is over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.destroyed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    self._note(await self.inbox.get())
            except TimeoutError:
                return False
        return True
