"""An agent offered a waiting caller: ring the agent's phone, then put caller and agent together in
the conversation's bridge (or the caller back in line, or the agent free again, when that fails)."""

from __future__ import annotations

import time

from ari_app.acd.model import AgentOffer
from ari_app.ari.errors import AriError, AriNotFound
from ari_app.ari.events import ChannelDestroyed, StasisStart
from ari_app.calls.legs import CALL_VARIABLE, LEG_MARK, Bridge, Leg, new_leg
from ari_app.calls.session import CallerGone, CallSession, Message
from ari_app.flows.common import FlowContext, destroy_bridge, hang_up, make_bridge, record
from ari_app.flows.conversation import Ended, Requeue, Talk, converse
from ari_app.logs import get_logger
from ari_app.metrics.instruments import asterisk_time

log = get_logger("flows.answer")
# Seconds after an agent's answer past which a hang-up before the caller was connected is the service's
# lateness, not the agent's refusal: the agent is made ready again instead of paused for a missed call.
CONNECT_GRACE = 1.0


async def ring_agent(ctx: FlowContext, session: CallSession, offer: AgentOffer) -> str | None:
    """Ring the offered agent; the agent channel id if they answered, None otherwise."""
    call_id = session.call_id
    agent_channel = new_leg(Leg.AGENT)
    ctx.attach(agent_channel, session)
    await record(ctx.calls.event(call_id, "agent_ringing", agent=offer.agent_id))
    timeout = ctx.acd.policy.ring_timeout
    try:
        await ctx.ari.originate(
            f"PJSIP/{offer.endpoint}", app=ctx.app, app_args=f"{LEG_MARK},{call_id}", channel_id=agent_channel,
            caller_id=f'"{session.hotline}" <{session.channel.caller_number}>', timeout=timeout,
            variables={CALL_VARIABLE: call_id},
        )
    except AriError as exc:
        log.warning("agent_originate_failed", agent=offer.agent_id, error=str(exc))
        await ctx.acd.offer_failed(call_id, offer.agent_id, "unreachable")
        await record(ctx.calls.event(call_id, "agent_missed", agent=offer.agent_id, reason="unreachable"))
        return None

    def agent_event(m: Message) -> bool:
        return isinstance(m, StasisStart | ChannelDestroyed) and m.channel_id == agent_channel

    try:
        event = await session.wait_for(agent_event, timeout + 5)
    except CallerGone:
        await hang_up(ctx, agent_channel)
        await ctx.acd.release_ring(call_id, offer.agent_id)
        await record(ctx.calls.event(call_id, "agent_released", agent=offer.agent_id))
        raise
    if isinstance(event, StasisStart):
        session.agent_answered_at = asterisk_time(event.timestamp)
        return agent_channel
    reason = "no answer" if event is None else (event.cause_txt if isinstance(event, ChannelDestroyed) else "")
    if event is None:
        await hang_up(ctx, agent_channel)
    log.info("agent_missed", agent=offer.agent_id, reason=reason)
    await ctx.acd.offer_failed(call_id, offer.agent_id, reason or "no answer")
    await record(ctx.calls.event(call_id, "agent_missed", agent=offer.agent_id, reason=reason or "no answer"))
    return None


async def talk_to_agent(ctx: FlowContext, session: CallSession, agent_id: str, agent_channel: str) -> Ended:
    """Bridge caller and agent until one hangs up (or the agent escalates)."""
    call_id = session.call_id
    await _stop_announcement(ctx, session)
    bridge = ""
    try:
        bridge = await make_bridge(ctx, "mixing", lambda: session.new_bridge(Bridge.TALK),
                                   name=f"call {session.hotline}")
        # both at once; Asterisk takes the caller out of the holding bridge
        await ctx.ari.add_to_bridge(bridge, f"{session.channel.id},{agent_channel}")
    except AriNotFound:
        if not bridge:
            await _let_agent_go(ctx, call_id, agent_id, agent_channel, bridge)
            raise
        return await _one_gone_on_answer(ctx, session, agent_id, agent_channel, bridge)
    except AriError:  # Asterisk refused or did not answer: the call ends in error
        await _let_agent_go(ctx, call_id, agent_id, agent_channel, bridge)
        raise
    await ctx.acd.connected(call_id, agent_id, agent_channel, bridge)
    waited = ctx.acd.now() - session.queued.enqueued_at if session.queued else 0.0
    await record(ctx.calls.event(call_id, "agent_connected", agent=agent_id, waited=round(waited, 2)))
    return await converse(ctx, session, Talk(bridge, agent_id, agent_channel))


async def _one_gone_on_answer(ctx: FlowContext, session: CallSession, agent_id: str, agent_channel: str,
                              bridge: str) -> Requeue:
    """Adding both to the conversation's bridge found one of them gone: the caller (AriNotFound raised
    again here), or the agent, who hung up right after answering: the caller goes back in line."""
    call_id = session.call_id
    try:
        await ctx.ari.add_to_bridge(bridge, session.channel.id)
    except AriNotFound:  # the caller: the flow's end lets the ringing agent go
        await hang_up(ctx, agent_channel)
        await destroy_bridge(ctx, bridge)
        raise
    except AriError:
        await _let_agent_go(ctx, call_id, agent_id, agent_channel, bridge)
        raise
    # The agent hung up right after answering: the caller goes back in line.
    await destroy_bridge(ctx, bridge)
    if agent_kept_waiting(session.agent_answered_at, time.time()):
        # The agent answered and heard silence while the service fell behind: not theirs to pay for
        # with a pause (in an overload a pause each would take the whole floor off the queue).
        await ctx.acd.offer_failed(call_id, agent_id, "hung up waiting to be connected", pause=False)
        await record(ctx.calls.event(call_id, "agent_released", agent=agent_id,
                                     reason="hung up waiting to be connected"))
        log.warning("agent_kept_waiting", agent=agent_id, answered_at=session.agent_answered_at)
        return Requeue()
    await ctx.acd.offer_failed(call_id, agent_id, "hung up on answer")
    await record(ctx.calls.event(call_id, "agent_missed", agent=agent_id, reason="hung up on answer"))
    return Requeue()


def agent_kept_waiting(answered_at: float | None, now: float) -> bool:
    """Whether an agent who answered was kept waiting for the caller longer than ``CONNECT_GRACE``
    (the service connects the two some milliseconds after the answer when it keeps up)."""
    return answered_at is not None and now - answered_at > CONNECT_GRACE


async def _let_agent_go(ctx: FlowContext, call_id: str, agent_id: str, agent_channel: str, bridge: str) -> None:
    """The agent answered but Asterisk refused (or did not answer) putting the two together: the call
    ends in error; the agent's leg is hung up and the agent is free again, not left ringing."""
    await hang_up(ctx, agent_channel)
    if bridge:
        await destroy_bridge(ctx, bridge)
    await ctx.acd.release_ring(call_id, agent_id)
    await record(ctx.calls.event(call_id, "agent_released", agent=agent_id))


async def _stop_announcement(ctx: FlowContext, session: CallSession) -> None:
    """Cut a position announcement short: Asterisk moves a channel between bridges only after
    its playback ends, and the agent must not wait through "您前面还有..." in silence."""
    playback, session.announcement = session.announcement, ""
    if playback:
        try:
            await ctx.ari.stop_playback(playback)
        except AriError:
            pass  # already finished
