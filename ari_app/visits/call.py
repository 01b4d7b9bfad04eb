"""One return-visit call: dial the citizen over the outbound trunk, say which order and which
department, ask for the rating. Every attempt is a call record (route ``return_visit``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ari_app.ari.errors import AriError, AriNotFound
from ari_app.ari.events import Channel, ChannelDestroyed, StasisStart
from ari_app.calls.legs import LEG_MARK, Leg, new_leg
from ari_app.calls.session import CallerGone, CallSession, Message
from ari_app.flows.common import CUT_SHORT_GRACE, FlowContext, hang_up, play, record
from ari_app.logs import get_logger
from ari_app.metrics import instruments
from ari_app.survey.ask import ask_rating
from ari_app.survey.keys import SurveyPolicy
from ari_app.visits.policy import AttemptResult, VisitPolicy, may_dial
from ari_app.visits.store import Visit

log = get_logger("visits.call")

QUESTION = "visit-ask"
SURVEY = SurveyPolicy()
CAUSES = {17: "busy", 18: "no answer", 19: "no answer", 21: "rejected", 1: "unreachable", 3: "unreachable",
          20: "unreachable", 27: "unreachable", 34: "unreachable", 38: "unreachable"}


def summary(number: str, department: str) -> list[str]:
    """The prompts that say which order this is about and who handled it."""
    digits = [f"num-{d}" for d in number if d.isdigit()]
    return ["visit-intro", *digits, "visit-handled-by", f"dept-{department}", "visit-replied"]


def failure(event: Message | None) -> str:
    """Why an unanswered attempt failed, from its ChannelDestroyed (None: it rang out)."""
    if isinstance(event, ChannelDestroyed):
        return CAUSES.get(event.cause, event.cause_txt.lower() or "no answer")
    return "no answer"


NO_CHANNEL = ("visit_not_dialable", "visit_unreachable")  # outcomes of attempts that made no channel
DESTROY_WAIT = 10.0  # seconds a hung-up visit channel may take to go (Asterisk busy); the slot waits for it


@dataclass(frozen=True)
class VisitLine:
    ctx: FlowContext
    policy: VisitPolicy
    detach: Callable[[CallSession], None]  # stop routing the call's events when it is over
    node: str = ""  # the node placing the call (several nodes: ctx talks to it; its name begins the id)


async def place_visit(line: VisitLine, visit: Visit) -> AttemptResult:
    """Make attempt ``visit.attempts`` of the visit and say how it went."""
    ctx, policy = line.ctx, line.policy
    channel_id = new_leg(Leg.VISIT, line.node)
    channel = Channel(channel_id, "", "Down", visit.phone, "", policy.caller_id, "", "zh")
    session = CallSession(call_id=channel_id, channel=channel, hotline=policy.caller_id, route="return_visit",
                          node=line.node)
    ctx.attach(channel_id, session)
    await record(ctx.calls.open(channel_id, channel_id, policy.caller_id, visit.phone, "return_visit"))
    await record(ctx.calls.event(channel_id, "return_visit", visit=visit.id, number=visit.number,
                                 attempt=visit.attempts))
    outcome, result = "visit_error", AttemptResult(False, None, "error")
    try:
        outcome, result = await _attempt(line, visit, session)
        if outcome not in NO_CHANNEL:  # the attempt holds its channel until Asterisk has destroyed it
            await _until_destroyed(ctx, session)
    finally:
        line.detach(session)
        await record(ctx.calls.close(channel_id, outcome))
    log.info("return_visit_attempt", visit=visit.id, number=visit.number, attempt=visit.attempts,
             answered=result.answered, rating=result.rating, reason=result.reason)
    instruments.visit_attempt(result.answered, result.rating)
    return result


async def _until_destroyed(ctx: FlowContext, session: CallSession) -> None:
    """Wait until Asterisk no longer has the attempt's channel: the dialler's share counts channels,
    and a hung-up channel still holds its trunk until Asterisk destroys it."""
    if await session.wait_destroyed(DESTROY_WAIT / 2):
        return
    try:  # asked once more: 404 says it is gone (its ChannelDestroyed did not reach this call)
        await ctx.ari.hangup(session.channel.id)
    except AriNotFound:
        return
    except AriError as exc:
        log.warning("return_visit_hangup_failed", channel_id=session.channel.id, error=str(exc))
    if not await session.wait_destroyed(DESTROY_WAIT / 2):
        log.warning("return_visit_channel_lingers", channel_id=session.channel.id, waited_s=DESTROY_WAIT)


async def _attempt(line: VisitLine, visit: Visit, session: CallSession) -> tuple[str, AttemptResult]:
    ctx, policy, channel_id = line.ctx, line.policy, session.channel.id
    if not may_dial(visit.phone):  # an international or malformed number (it may come from a caller's From)
        log.warning("return_visit_not_dialable", visit=visit.id, phone=visit.phone[:40])
        return "visit_not_dialable", AttemptResult(False, None, "unreachable")
    try:
        await ctx.ari.originate(
            f"PJSIP/{visit.phone}@{policy.trunk}", app=ctx.app, app_args=f"{LEG_MARK},{channel_id}",
            channel_id=channel_id, caller_id=f'"12345" <{policy.caller_id}>', timeout=policy.ring_seconds,
        )
    except AriError as exc:
        log.warning("return_visit_originate_failed", visit=visit.id, error=str(exc))
        return "visit_unreachable", AttemptResult(False, None, "unreachable")
    answered = await session.wait_for(
        lambda m: isinstance(m, StasisStart | ChannelDestroyed) and m.channel_id == channel_id,
        policy.ring_seconds + 10)
    if not isinstance(answered, StasisStart):
        reason = failure(answered)
        if answered is None:
            await hang_up(ctx, channel_id)
        return f"visit_{reason.replace(' ', '_')}", AttemptResult(False, None, reason)
    await record(ctx.calls.answered(channel_id))
    try:
        told = await play(ctx, session, summary(visit.number, visit.department))
        if not told and await session.wait_gone(CUT_SHORT_GRACE):  # cut short: usually a hang-up
            raise CallerGone(channel_id)
        rating = await ask_rating(ctx, session, QUESTION, SURVEY)
    except (CallerGone, AriNotFound):
        return "visit_hung_up", AttemptResult(True, None, "hung up")
    await hang_up(ctx, channel_id)
    if rating is None:
        return "visit_no_rating", AttemptResult(True, None, "no key")
    await record(ctx.calls.rate(channel_id, rating))
    await record(ctx.calls.event(channel_id, "rated", rating=rating))
    return "visit_rated", AttemptResult(True, rating)
