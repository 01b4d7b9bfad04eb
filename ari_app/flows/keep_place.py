"""A waiting caller may keep the place and hang up: after ``callback_after`` seconds in line the
caller hears that pressing 1 does so (``callback-offer``); on 1 the entry goes to the callbacks'
owner (ari_app.callbacks, behind the :class:`PlaceKeeper` protocol), the caller hears
``callback-confirmed`` and the call ends with outcome ``callback_requested``."""

from __future__ import annotations

from typing import Protocol

from ari_app.acd.model import QueuedCall
from ari_app.ari.errors import AriError
from ari_app.ari.events import ChannelDtmfReceived
from ari_app.calls.session import CallerGone, CallSession, Message
from ari_app.flows.common import FlowContext, announce, hang_up, play, record

OFFER = "callback-offer"
CONFIRMED = "callback-confirmed"
KEY = "1"


class PlaceKeeper(Protocol):
    def offer_due(self, waited: float, caller: str) -> bool: ...

    async def keep(self, entry: QueuedCall, number: str) -> bool: ...


def is_callers_key(message: Message, session: CallSession) -> bool:
    return isinstance(message, ChannelDtmfReceived) and message.channel_id == session.channel.id


async def offer(ctx: FlowContext, session: CallSession) -> None:
    """Tell the caller that 1 keeps the place (played like a position announcement)."""
    await announce(ctx, session, [OFFER])
    await record(ctx.calls.event(session.call_id, "callback_offered"))


async def keep_place(ctx: FlowContext, session: CallSession, queued: QueuedCall) -> str | None:
    """The caller pressed 1: "callback_requested" once the entry is the callbacks' (None when it
    cannot be now: an agent is being rung for the call already)."""
    keeper = ctx.callbacks
    if keeper is None or queued.offered_to:
        return None
    if not await keeper.keep(queued, session.channel.caller_number):
        return None
    await record(ctx.calls.event(session.call_id, "callback_requested", number=session.channel.caller_number))
    playing, session.announcement = session.announcement, ""
    if playing:
        try:
            await ctx.ari.stop_playback(playing)
        except AriError:
            pass
    try:
        await play(ctx, session, [CONFIRMED])
    except CallerGone:
        return "callback_requested"
    await hang_up(ctx, session.channel.id)
    return "callback_requested"
