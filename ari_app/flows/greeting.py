"""The first call flow: answer, play the route's prompt and the 12345 greeting, hang up, record the call.

It stands until the queueing flow replaces the hang-up with intake. The call record is written
at every step, so whatever stops the flow (the caller hanging up, Asterisk going away), the
record says how far the call got.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from ari_app.ari.errors import AriError, AriNotFound
from ari_app.ari.events import Event, PlaybackEvent
from ari_app.ari.rest import AriRest
from ari_app.calls.session import CallerGone, CallSession
from ari_app.logs import get_logger
from ari_app.store.calls import CallStore

log = get_logger("flows.greeting")
T = TypeVar("T")

GREETING = "greeting"
PLAYBACK_LIMIT = 60.0  # seconds: a greeting longer than this is a fault, not a prompt
HANGUP_CONFIRM = 5.0
CUT_SHORT_GRACE = 1.0


@dataclass(frozen=True)
class FlowContext:
    ari: AriRest
    calls: CallStore


async def greeting_flow(ctx: FlowContext, session: CallSession) -> None:
    call_id = session.call_id
    log.info("call_started", caller=session.channel.caller_number, route=session.route, adopted=session.adopted)
    await _record(
        ctx.calls.open(call_id, session.channel.id, session.hotline, session.channel.caller_number, session.route)
    )
    if session.adopted:
        await _record(ctx.calls.event(call_id, "readopted"))
    recent = await _channel_var(ctx, session, "HOTLINE_RECENT_CALLS")
    if recent:  # set by the caller-profile FastAGI route; absent when FastAGI was down
        await _record(ctx.calls.event(call_id, "caller_profile", repeat=int(recent) > 0, recent_calls=int(recent)))
    if session.route == "fallback":
        # A department or sub-center line did not take the call; the dialplan says why.
        reason = await _channel_var(ctx, session, "HOTLINE_OVERFLOW")
        await _record(ctx.calls.event(call_id, "overflow", reason=reason))
    outcome = "error"
    try:
        if session.channel.state != "Up":
            await ctx.ari.answer(session.channel.id)
        await _record(ctx.calls.answered(call_id))
        await _record(ctx.calls.event(call_id, "answered"))
        played = True
        for prompt in ([session.prompt] if session.prompt else []) + [GREETING]:
            completed = await play_prompt(ctx, session, prompt)
            await _record(ctx.calls.event(call_id, "prompt", name=prompt, completed=completed))
            # A playback cut short is usually the caller hanging up: give the hang-up a moment to arrive.
            if not completed and await session.wait_gone(CUT_SHORT_GRACE):
                raise CallerGone(call_id)
            played = played and completed
        outcome = "greeted" if played else "prompt_failed"
        await _hang_up(ctx, session)
    except CallerGone:
        outcome = "caller_hangup"
    except AriNotFound:
        outcome = "caller_hangup"
    except AriError as exc:
        log.error("call_ari_failed", error=str(exc))
        outcome = "error"
        await _hang_up(ctx, session)
    except asyncio.CancelledError:
        outcome = "service_stopped"
        raise
    finally:
        await _close(ctx, call_id, outcome)


async def play_prompt(ctx: FlowContext, session: CallSession, name: str) -> bool:
    """Play ``sound:<name>`` to the caller and wait for it to finish; True if it played to the end."""
    playback_id = f"pb-{uuid.uuid4().hex}"
    await ctx.ari.play(session.channel.id, f"sound:{name}", playback_id)

    def finished(event: Event) -> bool:
        return (
            isinstance(event, PlaybackEvent)
            and event.playback_id == playback_id
            and event.type in ("PlaybackFinished", "PlaybackFailed")
        )

    event = await session.wait_for(finished, PLAYBACK_LIMIT)
    if event is None:
        log.warning("prompt_timeout", prompt=name)
        return False
    if event.type == "PlaybackFailed" or (isinstance(event, PlaybackEvent) and event.state == "failed"):
        log.error("prompt_failed", prompt=name)
        return False
    log.info("prompt_played", prompt=name)
    return True


async def _channel_var(ctx: FlowContext, session: CallSession, name: str) -> str:
    try:
        return await ctx.ari.get_variable(session.channel.id, name)
    except AriError:
        return ""


async def _hang_up(ctx: FlowContext, session: CallSession) -> None:
    try:
        await ctx.ari.hangup(session.channel.id)
    except AriNotFound:
        return
    except AriError as exc:
        log.error("hangup_failed", error=str(exc))
        return
    await session.wait_gone(HANGUP_CONFIRM)


async def _record(write: Awaitable[T]) -> T | None:
    """Run a call-record write; a database fault is logged and never stops the caller's call."""
    try:
        return await write
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError) as exc:
        log.error("call_record_write_failed", error=type(exc).__name__)
        return None


async def _close(ctx: FlowContext, call_id: str, outcome: str) -> None:
    # Shielded: a service stop cancels the flow, and the record should still say so.
    if await asyncio.shield(_record(ctx.calls.close(call_id, outcome))) is not None:
        log.info("call_ended", outcome=outcome)
