"""12345 intake: answer, prompts, wait in a holding bridge, ring agents one at a time, bridge.

The caller's task owns everything about the call: its holding bridge, the agent legs it rings,
the mixing bridge with the agent. The ACD (one per service) only decides which agent is next;
this flow acts on that and reports back (answered, missed, ended, abandoned). The call record
gets an event for every step.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ari_app.acd.model import AgentOffer, QueuedCall
from ari_app.ari.errors import AriError, AriNotFound
from ari_app.ari.events import ChannelDtmfReceived
from ari_app.calls.legs import Bridge, bridge_id
from ari_app.calls.session import CallerGone, CallSession, EscalateRequest, Message
from ari_app.flows import holding, keep_place
from ari_app.flows.answer import ring_agent, talk_to_agent
from ari_app.flows.common import (
    GREETING,
    FlowContext,
    announce,
    channel_var,
    close,
    destroy_bridge,
    hang_up,
    play_prompt,
    record,
)
from ari_app.flows.conversation import Ended, Party, Rate, Requeue, Talk, converse, members
from ari_app.logs import get_logger
from ari_app.metrics import instruments
from ari_app.metrics.instruments import asterisk_time
from ari_app.survey.ask import ask_rating
from ari_app.survey.keys import SurveyPolicy

log = get_logger("flows.intake")

AVERAGE_HANDLE_GUESS = 180.0  # seconds, for wait estimates before figures exist
REPEAT_WINDOW_DAYS = 7  # a caller with other calls in these days is a repeat caller
RATING_QUESTION = "rating-ask"
RATING_POLICY = SurveyPolicy()


async def intake_flow(ctx: FlowContext, session: CallSession) -> None:
    call_id = session.call_id
    log.info("call_started", caller=session.channel.caller_number, route=session.route, resume=session.resume)
    welcome = session.resume not in ("survey", "talking", "waiting")
    if welcome and session.adopted and not session.greeted:  # found after a restart: greeted before?
        session.greeted = await channel_var(ctx, session.channel.id, "HOTLINE_GREETED")
    # The dialplan answers and greets (session.greeted): the caller's recent calls are wanted now, for
    # the queue, and the record's opening goes at once. Where the app greets (an older dialplan), the
    # record is opened while the greeting plays. The call's other writes are queued behind the opening.
    greeted = bool(session.greeted)
    opening = asyncio.ensure_future(record(ctx.calls.open_counting_recent(
        call_id, session.channel.id, session.hotline, session.channel.caller_number, session.route,
        REPEAT_WINDOW_DAYS, urgent=greeted or not welcome, started_at=_created(session))))
    outcome = "error"
    in_holding = False
    try:
        try:
            if welcome and not greeted and session.channel.state != "Up":
                await ctx.ari.answer(session.channel.id)
                instruments.answered(session.channel.creationtime, datetime.now(UTC))
            if session.adopted:  # found in Asterisk after a (re)connect, not announced by an event
                await record(ctx.calls.event(call_id, "readopted", status=session.resume or "before_queue"))
            if welcome and greeted:
                await _after_greeting(ctx, session)
                await _enter_holding(ctx, session)  # music while the recent calls are looked up
                in_holding = True
            elif welcome:
                await _welcome(ctx, session)
        finally:  # a caller who hangs up during the greeting is profiled all the same
            if welcome:  # a call resumed after a restart does not wait for its record: nothing needs it
                opened = await opening
                await _profile(ctx, session, opened.recent_calls if opened is not None else None)
        ended: str | Rate
        if session.resume == "survey":  # adopted after a restart while the caller was rating
            ended = Rate("")
        elif session.resume == "talking":
            resumed = await _resume_talking(ctx, session)
            if isinstance(resumed, EscalateRequest):
                session.queued = _escalated(ctx, session, resumed.group)
            ended = resumed if isinstance(resumed, str | Rate) else await _queue_until_answered(ctx, session)
        else:
            ended = await _queue_until_answered(ctx, session, in_holding=in_holding)
        if isinstance(ended, Rate):
            if ctx.acd.policy.rating_after_call:
                await _rate(ctx, session)
            else:
                await hang_up(ctx, session.channel.id)
            ended = "answered"
        outcome = ended
    except (CallerGone, AriNotFound) as exc:
        outcome = "abandoned" if session.call_id in ctx.acd.queue else "caller_hangup"
        if session.lost_node:  # the node holding the caller was lost: nobody hung up
            outcome = "node_lost"
            await record(ctx.calls.event(call_id, "node_lost", node=session.lost_node))
        log.info("caller_gone", reason=type(exc).__name__, detail=str(exc)[:200])
        await ctx.acd.abandon(call_id)
    except AriError as exc:
        log.error("call_ari_failed", error=str(exc))
        await hang_up(ctx, session.channel.id)
        if exc.status == 0 and session.node:  # one of several nodes, unreachable: the call went with it
            outcome = "node_lost"
            await record(ctx.calls.event(call_id, "node_lost", node=session.node))
            if call_id in ctx.acd.queue:  # never offered to an agent (on another node) once its flow has ended
                await ctx.acd.abandon(call_id)
    except asyncio.CancelledError:
        outcome = "service_stopped"
        raise
    finally:
        await opening  # done long since, normally; the close is queued behind it in any case
        await close(ctx, call_id, outcome)


def _created(session: CallSession) -> datetime | None:
    """When Asterisk created the caller's channel (None: not known; the record then starts now)."""
    created = asterisk_time(session.channel.creationtime)
    return None if created is None else datetime.fromtimestamp(created, UTC)


async def _welcome(ctx: FlowContext, session: CallSession) -> None:
    """Once answered by the app: note why the call came here, then the greeting and the notice."""
    call_id = session.call_id
    await record(ctx.calls.answered(call_id))
    await record(ctx.calls.event(call_id, "answered"))
    await _overflowed(ctx, session)
    # The greeting first, then what became of the number dialled (merged, cancelled, overflowed).
    for prompt in [GREETING, session.prompt]:
        if prompt:
            await play_prompt(ctx, session, prompt)


async def _after_greeting(ctx: FlowContext, session: CallSession) -> None:
    """The dialplan answered the caller and played the greeting and notice: the record says so, at the
    time of the answer."""
    call_id = session.call_id
    if session.answered_at is not None:
        instruments.answered(session.channel.creationtime, session.answered_at)
    await record(ctx.calls.answered(call_id, session.answered_at))
    await record(ctx.calls.event_at(call_id, session.answered_at, "answered"))
    await _overflowed(ctx, session)
    for prompt, status in [(GREETING, session.greeted), (session.prompt, session.notice)]:
        if prompt and status:
            await record(ctx.calls.event(call_id, "prompt", name=prompt, completed=status == "SUCCESS"))


async def _overflowed(ctx: FlowContext, session: CallSession) -> None:
    if session.route == "fallback":
        # Passed as a Stasis argument; a call adopted after a restart has only its channel variable.
        reason = session.overflow or await channel_var(ctx, session.channel.id, "HOTLINE_OVERFLOW")
        await record(ctx.calls.event(session.call_id, "overflow", reason=reason))


async def _profile(ctx: FlowContext, session: CallSession, recent: int | None) -> None:
    """Note who calls, before the caller joins the queue: ``recent`` is the caller's other calls lately
    (None if unknown: the database did not answer in time)."""
    if recent is not None:
        session.repeat_caller = recent > 0
        await record(ctx.calls.event(session.call_id, "caller_profile", repeat=recent > 0, recent_calls=recent))


async def _rate(ctx: FlowContext, session: CallSession) -> None:
    """The caller rates the call (or not: no key twice, or hangs up, leaves it without a rating),
    then the call ends. Marked on the record first, so that a restart meanwhile asks again
    instead of queueing the caller anew."""
    call_id = session.call_id
    await record(ctx.calls.survey_started(call_id))
    try:
        rating = await ask_rating(ctx, session, RATING_QUESTION, RATING_POLICY)
    except CallerGone:
        await record(ctx.calls.event(call_id, "not_rated", reason="caller hung up"))
        return
    if rating is None:
        await record(ctx.calls.event(call_id, "not_rated", reason="no key"))
    else:
        await record(ctx.calls.rate(call_id, rating))
        if ctx.rated is not None:
            await record(ctx.rated(call_id, rating))
        await record(ctx.calls.event(call_id, "rated", rating=rating))
        log.info("call_rated", rating=rating)
        instruments.RATINGS.labels("call", rating).inc()
    await hang_up(ctx, session.channel.id)


async def _enter_holding(ctx: FlowContext, session: CallSession) -> None:
    await holding.enter(ctx.ari, session.channel.id)
    if session.stasis_at is not None:  # the first time: how long the app took to get the caller here
        instruments.holding_entered(session.stasis_at, session.media_s)
        session.stasis_at = None


def _new_queued_call(ctx: FlowContext, session: CallSession) -> QueuedCall:
    return ctx.acd.new_entry(session.call_id, session.channel.id, session.hotline, session.group,
                             session.repeat_caller)


async def _queue_until_answered(
    ctx: FlowContext, session: CallSession, queued: QueuedCall | None = None, in_holding: bool = False,
) -> str | Rate:
    """Wait in line, ring offered agents one at a time, talk. Returns the outcome (Rate: the
    caller is still on the line after the conversation)."""
    queued = queued or session.queued or _new_queued_call(ctx, session)
    session.queued = queued
    if not in_holding:
        await _enter_holding(ctx, session)
    await ctx.acd.enqueue(queued, deliver=session.deliver)
    await record(ctx.calls.event(session.call_id, "queued", group=queued.group, priority=queued.priority,
                                 seq=queued.seq))
    next_announcement = ctx.acd.now() + ctx.acd.policy.announce_every
    offer_at = _callback_offer_time(ctx, session, queued)
    while True:
        wake_at = next_announcement if offer_at is None else min(next_announcement, offer_at)
        timeout = max(0.0, wake_at - ctx.acd.now())
        keys = offer_at is None and session.callback_offered  # the caller's 1 counts once told

        def wanted(m: Message, keys: bool = keys) -> bool:
            return isinstance(m, AgentOffer | EscalateRequest) or (keys and keep_place.is_callers_key(m, session))

        message = await session.wait_for(wanted, timeout)
        if message is None:
            if offer_at is not None and ctx.acd.now() >= offer_at:
                await keep_place.offer(ctx, session)
                session.callback_offered, offer_at = True, None
                continue
            await _announce_position(ctx, session)
            next_announcement = ctx.acd.now() + ctx.acd.policy.announce_every
            continue
        if isinstance(message, ChannelDtmfReceived):
            if message.digit == keep_place.KEY:
                kept = await keep_place.keep_place(ctx, session, queued)
                if kept is not None:
                    return kept
            continue
        if not isinstance(message, AgentOffer):
            continue  # an escalation request for a call not yet talking: nothing to do
        agent_channel = await ring_agent(ctx, session, message)
        if agent_channel is None:
            continue
        result = await talk_to_agent(ctx, session, message.agent_id, agent_channel)
        if isinstance(result, Requeue):
            await _enter_holding(ctx, session)
            await ctx.acd.enqueue(queued, deliver=session.deliver)
            await record(ctx.calls.event(session.call_id, "requeued"))
            continue
        if isinstance(result, EscalateRequest):
            queued = _escalated(ctx, session, result.group)
            session.queued = queued
            await _enter_holding(ctx, session)
            await ctx.acd.enqueue(queued, deliver=session.deliver)
            await record(ctx.calls.event(session.call_id, "escalated", group=result.group))
            continue
        return result


def _callback_offer_time(ctx: FlowContext, session: CallSession, queued: QueuedCall) -> float | None:
    """When the caller is told that 1 keeps the place (None: not on this call, or told already)."""
    if ctx.callbacks is None or session.callback_offered or ctx.acd.policy.callback_after <= 0:
        return None
    at = queued.enqueued_at + ctx.acd.policy.callback_after
    return at if ctx.callbacks.offer_due(at - queued.enqueued_at, session.channel.caller_number) else None


def _escalated(ctx: FlowContext, session: CallSession, group: str) -> QueuedCall:
    return ctx.acd.escalated_entry(session.queued or _new_queued_call(ctx, session), group)


async def _announce_position(ctx: FlowContext, session: CallSession) -> None:
    told = ctx.acd.announcement(session.call_id, AVERAGE_HANDLE_GUESS)
    if told is None:
        return
    position, minutes = told
    media = ["queue-next"] if position == 1 else [
        "queue-ahead", *number_prompts(position - 1), "queue-callers",
        "queue-wait", *number_prompts(minutes), "queue-minutes",
    ]
    await announce(ctx, session, media)
    await record(ctx.calls.event(session.call_id, "announcement", position=position, minutes=minutes))


def number_prompts(n: int) -> list[str]:
    """Prompt ids that say a count in Chinese (0-99): 2 -> 两, 12 -> 十二, 20 -> 二十, 35 -> 三十五."""
    n = max(0, min(n, 99))
    if n == 2:
        return ["num-2"]
    if n < 10:
        return [f"num-{n}"]
    tens, ones = divmod(n, 10)
    words = ([] if tens == 1 else [f"num-{tens}" if tens != 2 else "num-2"]) + ["num-10"]
    return words + ([f"num-{ones}"] if ones else [])


async def _resume_talking(ctx: FlowContext, session: CallSession) -> Ended:
    """After a restart: the caller was in a conversation; leave it running with whoever is still
    in it (agent, department, the caller on hold in an attended transfer) and watch."""
    found = session.resumed_talk
    assert found is not None
    party = None
    if found.party_channel:
        department = ctx.registry().departments.get(found.party_department)
        if department is None:  # not a department of the registry any more
            await hang_up(ctx, found.party_channel)
        else:
            ctx.attach(found.party_channel, session)
            party = Party(department, found.party_channel, "attended" if found.holding else "conference", joined=True)
    if found.agent_channel:
        ctx.attach(found.agent_channel, session)
    bridge = found.bridge or bridge_id(Bridge.TALK, session.call_id)
    for made in (bridge, found.holding):
        session.found_bridge(made)
    talk = Talk(bridge, found.agent_id, found.agent_channel, agent_present=bool(found.agent_channel),
                party=party, holding=found.holding)
    await record(ctx.calls.event(session.call_id, "conversation_resumed", members=members(talk)))
    if not talk.agent_present and party is None:  # the caller alone: back into line
        await destroy_bridge(ctx, talk.bridge)
        if talk.holding:
            await destroy_bridge(ctx, talk.holding)
        return Requeue()
    return await converse(ctx, session, talk)
