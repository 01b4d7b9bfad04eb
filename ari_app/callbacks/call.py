"""One attempt to call a caller back: the offered agent's phone first; once the agent answers they
hear who is being called back (the number, digit by digit), then the caller is dialled through the
outbound trunk and the two talk. Every attempt is a call record with route ``callback``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ari_app.acd.model import AgentOffer, QueuedCall
from ari_app.ari.errors import AriError
from ari_app.ari.events import Channel, ChannelDestroyed, PlaybackEvent, StasisEnd, StasisStart
from ari_app.calls.legs import LEG_MARK, Bridge, Leg, new_leg, new_playback
from ari_app.calls.session import CallerGone, CallSession, Message
from ari_app.flows.common import FlowContext, destroy_bridge, hang_up, make_bridge, record
from ari_app.logs import get_logger
from ari_app.visits.policy import may_dial

log = get_logger("callbacks.call")
INTRO = "callback-agent-intro"
PROMPT_LIMIT = 60.0


@dataclass(frozen=True)
class CallbackLine:
    ctx: FlowContext
    trunk: str  # PJSIP/<number>@<trunk>
    caller_id: str  # the number the caller sees
    ring_seconds: int
    detach: Callable[[CallSession], None]
    node: str = ""  # the node placing the call (several nodes: ctx talks to it; its name begins the ids)


def ends(channel_id: str) -> Callable[[Message], bool]:
    return lambda m: isinstance(m, StasisEnd | ChannelDestroyed) and m.channel_id == channel_id


async def call_back(line: CallbackLine, entry: QueuedCall, number: str, offer: AgentOffer) -> str:
    """The attempt: "connected" (they talked), "agent_missed" (the agent did not take it: the ACD
    puts the entry back in line) or "no_answer" (the caller was not reached)."""
    ctx = line.ctx
    citizen = new_leg(Leg.CALLBACK, line.node)
    session = CallSession(call_id=citizen, channel=Channel(citizen, "", "Down", number, "", entry.hotline, "", "zh"),
                          hotline=entry.hotline, route="callback", node=line.node)
    ctx.attach(citizen, session)
    await record(ctx.calls.open(citizen, citizen, entry.hotline, number, "callback"))
    await record(ctx.calls.event(citizen, "callback", queued_call=entry.call_id, agent=offer.agent_id))
    outcome, result = "callback_error", "no_answer"
    try:
        outcome, result = await _attempt(line, entry, number, offer, session)
    finally:
        line.detach(session)
        await record(ctx.calls.close(citizen, outcome))
    log.info("callback_attempt", queued_call=entry.call_id, agent=offer.agent_id, result=result, outcome=outcome)
    return result


async def _attempt(
    line: CallbackLine, entry: QueuedCall, number: str, offer: AgentOffer, session: CallSession,
) -> tuple[str, str]:
    ctx, citizen, acd = line.ctx, session.channel.id, line.ctx.acd
    agent = new_leg(Leg.AGENT, line.node)
    ctx.attach(agent, session)
    try:
        await ctx.ari.originate(f"PJSIP/{offer.endpoint}", app=ctx.app, app_args=f"{LEG_MARK},{citizen}",
                                channel_id=agent, caller_id=f'"回拨" <{number}>', timeout=acd.policy.ring_timeout)
    except AriError as exc:
        await acd.offer_failed(entry.call_id, offer.agent_id, f"unreachable ({exc.status})")
        return "callback_agent_unreachable", "agent_missed"
    answered = await session.wait_for(lambda m: isinstance(m, StasisStart | ChannelDestroyed) and m.channel_id == agent,
                                      acd.policy.ring_timeout + 5)
    if not isinstance(answered, StasisStart):
        if answered is None:
            await hang_up(ctx, agent)
        await acd.offer_failed(entry.call_id, offer.agent_id, "no answer")
        return "callback_agent_missed", "agent_missed"
    await record(ctx.calls.event(citizen, "callback_agent_answered", agent=offer.agent_id))
    if not await _tell_agent(line, session, agent, number):
        await acd.offer_failed(entry.call_id, offer.agent_id, "hung up before the call back")
        return "callback_agent_missed", "agent_missed"
    if not may_dial(number):  # offered only to dialable numbers; this guards what was stored before
        log.warning("callback_not_dialable", queued_call=entry.call_id, number=number[:40])
        return await _not_reached(line, entry, offer, agent, "callback_not_dialable")
    try:
        await ctx.ari.originate(f"PJSIP/{number}@{line.trunk}", app=ctx.app, app_args=f"{LEG_MARK},{citizen}",
                                channel_id=citizen, caller_id=f'"12345" <{line.caller_id}>', timeout=line.ring_seconds)
    except AriError:
        return await _not_reached(line, entry, offer, agent, "callback_unreachable")
    reached = await session.wait_for(
        lambda m: isinstance(m, StasisStart | ChannelDestroyed) and m.channel_id in (citizen, agent),
        line.ring_seconds + 10)
    if not isinstance(reached, StasisStart) or reached.channel_id != citizen:
        if not isinstance(reached, ChannelDestroyed | StasisStart) or reached.channel_id == agent:
            await hang_up(ctx, citizen)
        return await _not_reached(line, entry, offer, agent, "callback_no_answer")
    return await _talk(line, entry, offer, session, agent)


async def _tell_agent(line: CallbackLine, session: CallSession, agent: str, number: str) -> bool:
    """Play who is being called back to the agent; False if the agent hung up meanwhile."""
    playback = new_playback()
    digits = ",".join(f"sound:num-{d}" for d in number if d.isdigit())
    try:
        await line.ctx.ari.play(agent, f"sound:{INTRO}" + (f",{digits}" if digits else ""), playback)
    except AriError:
        return False
    done = await session.wait_for(
        lambda m: (isinstance(m, PlaybackEvent) and m.playback_id == playback
                   and m.type in ("PlaybackFinished", "PlaybackFailed")) or ends(agent)(m), PROMPT_LIMIT)
    return not (isinstance(done, StasisEnd | ChannelDestroyed))


async def _not_reached(
    line: CallbackLine, entry: QueuedCall, offer: AgentOffer, agent: str, outcome: str,
) -> tuple[str, str]:
    await hang_up(line.ctx, agent)
    await line.ctx.acd.release_ring(entry.call_id, offer.agent_id)
    return outcome, "no_answer"


async def _talk(line: CallbackLine, entry: QueuedCall, offer: AgentOffer, session: CallSession,
                agent: str) -> tuple[str, str]:
    ctx, citizen = line.ctx, session.channel.id
    bridge = await make_bridge(ctx, "mixing", lambda: session.new_bridge(Bridge.TALK), name=f"callback {entry.hotline}")
    await ctx.ari.add_to_bridge(bridge, agent)
    await ctx.ari.add_to_bridge(bridge, citizen)
    await ctx.acd.connected(entry.call_id, offer.agent_id, agent, bridge)
    await record(ctx.calls.answered(citizen))
    waited = ctx.acd.now() - entry.enqueued_at
    await record(ctx.calls.event(citizen, "agent_connected", agent=offer.agent_id, waited=round(waited, 2)))
    try:
        gone = await session.wait_for(ends(agent), None)
        who = "agent" if gone is not None else "caller"
    except CallerGone:
        who = "caller"
    await record(ctx.calls.event(citizen, f"{who}_hung_up", agent=offer.agent_id))
    await hang_up(ctx, agent if who == "caller" else citizen)
    await destroy_bridge(ctx, bridge)
    await ctx.acd.call_ended(entry.call_id, offer.agent_id)
    return "answered", "connected"
