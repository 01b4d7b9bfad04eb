"""What every call flow needs: the context, prompts, call-record writes, hang-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import asyncpg

from ari_app.acd.engine import Acd
from ari_app.ari.errors import AriError, AriNotFound, AriTimeout
from ari_app.ari.events import PlaybackEvent
from ari_app.ari.rest import AriRest
from ari_app.calls.legs import new_playback
from ari_app.calls.session import CallerGone, CallSession, Message
from ari_app.logs import get_logger
from ari_app.registry.model import Registry
from ari_app.store.calls import CallStore

if TYPE_CHECKING:
    from ari_app.flows.keep_place import PlaceKeeper

log = get_logger("flows")
T = TypeVar("T")

GREETING = "greeting"
PLAYBACK_LIMIT = 120.0  # seconds: a prompt longer than this is a fault
HANGUP_CONFIRM = 5.0
CUT_SHORT_GRACE = 1.0


@dataclass(frozen=True)
class FlowContext:
    ari: AriRest
    calls: CallStore
    acd: Acd
    app: str  # the Stasis application name (agent legs are originated into it)
    attach: Callable[[str, CallSession], None]  # route another channel's events to a call
    registry: Callable[[], Registry]  # the registry in force now (it may be reloaded)
    # A call's rating given after the conversation, for the work orders filed from it (call id, rating).
    rated: Callable[[str, str], Awaitable[object]] | None = None
    callbacks: PlaceKeeper | None = None  # keeps a waiting caller's place for a callback (ari_app.callbacks)


async def record(write: Awaitable[T]) -> T | None:
    """Run a call-record write; a database fault is logged and never stops the caller's call."""
    try:
        return await write
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError) as exc:
        log.error("call_record_write_failed", error=type(exc).__name__)
        return None


async def channel_var(ctx: FlowContext, channel_id: str, name: str) -> str:
    try:
        return await ctx.ari.get_variable(channel_id, name)
    except AriError:
        return ""


async def announce(ctx: FlowContext, session: CallSession, media: list[str]) -> None:
    """Start telling a waiting caller something over the hold music (a position, the callback offer),
    without waiting for its end; ``session.announcement`` names it, to be cut short when an agent
    answers. A start Asterisk does not answer in time is left queued there (it is carried out late,
    and is still cut short then if it has started): the caller stays in line."""
    session.announcement = new_playback()
    try:
        await ctx.ari.play(session.channel.id, ",".join(f"sound:{m}" for m in media), session.announcement)
    except AriTimeout:
        log.warning("announcement_late", detail="Asterisk did not answer in time; the playback is left queued")


async def play(ctx: FlowContext, session: CallSession, media: list[str], limit: float = PLAYBACK_LIMIT) -> bool:
    """Play sounds to the caller and wait for the end; True if played to the end.

    Messages other than the playback's end (an agent offer, say) are put back for the caller's
    flow to see afterwards.
    """
    playback_id = new_playback()
    await ctx.ari.play(session.channel.id, ",".join(f"sound:{m}" for m in media), playback_id)
    started = time.monotonic()
    held: list[Message] = []

    def finished(message: Message) -> bool:
        if isinstance(message, PlaybackEvent) and message.playback_id == playback_id:
            return message.type in ("PlaybackFinished", "PlaybackFailed")
        held.append(message)
        return False

    try:
        event = await session.wait_for(finished, limit)
    finally:
        session.media_s += time.monotonic() - started
        for message in held:
            if not isinstance(message, PlaybackEvent):
                session.deliver(message)
    if event is None:
        log.warning("prompt_timeout", prompt=media)
        return False
    if not isinstance(event, PlaybackEvent) or event.type == "PlaybackFailed" or event.state == "failed":
        log.error("prompt_failed", prompt=media)
        return False
    return True


async def play_prompt(ctx: FlowContext, session: CallSession, name: str) -> bool:
    """Play one prompt, record it on the call, and notice a caller who hangs up during it."""
    completed = await play(ctx, session, [name])
    await record(ctx.calls.event(session.call_id, "prompt", name=name, completed=completed))
    # A playback cut short is usually the caller hanging up: give the hang-up a moment to arrive.
    if not completed and await session.wait_gone(CUT_SHORT_GRACE):
        raise CallerGone(session.call_id)
    return completed


async def hang_up(ctx: FlowContext, channel_id: str) -> None:
    try:
        await ctx.ari.hangup(channel_id)
    except AriNotFound:
        return
    except AriError as exc:
        log.error("hangup_failed", channel=channel_id, error=str(exc))


BRIDGE_TRIES = 5


def _id_taken(exc: AriError) -> bool:
    """Asterisk refused the id itself: 409 while a bridge under it still has references (its topic
    lingers after the destroy), 500 "Possible duplicate bridge id" when that shows only a moment later."""
    return exc.status == 409 or (exc.status == 500 and "duplicate" in exc.detail.lower())


async def make_bridge(ctx: FlowContext, kind: str, next_id: Callable[[], str], name: str = "") -> str:
    """Create one of the call's bridges under the first id from ``next_id`` that Asterisk takes, and
    return it. Each conversation has a bridge of its own (legs.bridge_id), so an id is taken only when
    one of an earlier run of the service lingers: it is passed over for the next, never destroyed."""
    for _ in range(BRIDGE_TRIES - 1):
        bridge = next_id()
        try:
            await ctx.ari.create_bridge(kind, bridge, name=name)
            return bridge
        except AriError as exc:
            if not _id_taken(exc):
                raise
            log.warning("bridge_id_taken", bridge=bridge, error=str(exc))
    bridge = next_id()
    await ctx.ari.create_bridge(kind, bridge, name=name)
    return bridge


async def destroy_bridge(ctx: FlowContext, bridge_id: str) -> None:
    try:
        await ctx.ari.destroy_bridge(bridge_id)
    except AriNotFound:
        return
    except AriError as exc:
        log.error("bridge_destroy_failed", bridge=bridge_id, error=str(exc))


async def close(ctx: FlowContext, call_id: str, outcome: str) -> None:
    # Shielded: a service stop cancels the flow, and the record should still say so. Queued behind
    # the call's other writes and its events: the flow does not wait for it to be stored.
    await asyncio.shield(record(ctx.calls.close(call_id, outcome)))
    log.info("call_ended", outcome=outcome)
