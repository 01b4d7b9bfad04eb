"""A live call with an agent, and the department brought in: three-party calls and transfers.

The agent controls it through the HTTP API or DTMF from their phone:

| DTMF   | HTTP ``POST /calls/{id}/party``          | what happens                                        |
|--------|------------------------------------------|-----------------------------------------------------|
| *3 NN  | ``{"action": "add", "department": ..}``  | ring department NN; on answer all three talk        |
| *0     | ``{"action": "drop"}``                   | the department leaves, back to caller and agent     |
| *9     | ``{"action": "leave"}``                  | the agent leaves, caller and department go on       |
| *4 NN  | ``{"action": "blind", ...}``             | the agent leaves at once; the department is rung    |
| *5 NN  | ``{"action": "attended", ...}``          | caller on hold; agent talks to the department first |
| *6     | ``{"action": "complete"}``               | attended transfer: caller joins, agent leaves       |

NN is the department's two-digit short code from the registry (HTTP also takes the hotline
number). While the department rings, the caller stays with the agent. If it does not answer, is
busy or unreachable, the agent is told (a ``department_unavailable`` event on the call, visible
in ``GET /calls/{id}``) and the call goes on with the agent; after a failed blind transfer the
caller goes back into the queue. Every leg and every change of bridge membership is a timed
event on the call record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ari_app.ari.errors import AriError
from ari_app.ari.events import ChannelDestroyed, ChannelDtmfReceived, Event, StasisEnd, StasisStart
from ari_app.calls.legs import CALL_VARIABLE, DEPARTMENT_VARIABLE, LEG_MARK, Bridge, Leg, new_leg
from ari_app.calls.session import CallerGone, CallSession, EscalateRequest, Message, PartyRequest
from ari_app.flows.common import FlowContext, destroy_bridge, hang_up, make_bridge, record
from ari_app.logs import get_logger
from ari_app.registry.model import Department

log = get_logger("flows.conversation")

DTMF_TIMEOUT = 4.0  # seconds between the digits of a feature code


class Requeue:
    """The agent is gone and no department took the caller: back into the queue."""


@dataclass(frozen=True)
class Rate:
    """The conversation is over and the caller is still on the line (the agent, or the department
    after the agent left, hung up first): the caller is asked to rate the service."""

    agent_id: str


Ended = str | EscalateRequest | Requeue | Rate  # what a conversation ends in


@dataclass
class Party:
    department: Department
    channel: str
    mode: str  # "conference", "blind" or "attended"
    joined: bool = False


@dataclass
class Talk:
    """Who is in the call's mixing bridge now."""

    bridge: str
    agent_id: str
    agent_channel: str
    agent_present: bool = True
    party: Party | None = None
    digits: str = ""
    digits_at: float = 0.0
    holding: str = ""  # the caller's holding bridge during an attended transfer
    last_failure: dict[str, str] = field(default_factory=dict)


def parse_dtmf(digits: str) -> PartyRequest | None:
    """A complete agent feature code, or None while more digits may come."""
    codes = {"*3": "add", "*4": "blind", "*5": "attended"}
    if digits[:2] in codes:
        return PartyRequest(codes[digits[:2]], digits[2:]) if len(digits) == 4 else None
    return {"*0": PartyRequest("drop"), "*9": PartyRequest("leave"), "*6": PartyRequest("complete")}.get(digits)


async def converse(ctx: FlowContext, session: CallSession, talk: Talk) -> Ended:
    """Run the conversation in ``talk`` until it ends (an outcome, or Rate when the caller is left
    on the line), the agent escalates, or the caller is left alone before anyone took the call
    over and goes back into line (Requeue)."""
    session.talk = talk
    try:
        return await _loop(ctx, session, talk)
    except CallerGone:
        if session.lost_node:  # answered, then the node holding it was lost
            await record(ctx.calls.event(session.call_id, "node_lost", node=session.lost_node, agent=talk.agent_id))
        else:
            await record(ctx.calls.event(session.call_id, "caller_hung_up", agent=talk.agent_id))
        await _end_everything(ctx, session, talk)
        return "answered"
    except AriError as exc:
        # Asterisk refused a step (a bridge it lost, say): end the call cleanly, no leg left behind.
        log.error("conversation_ari_failed", error=str(exc))
        await _end_everything(ctx, session, talk)
        return "error"
    finally:
        session.talk = None


async def _loop(ctx: FlowContext, session: CallSession, talk: Talk) -> Ended:
    call_id = session.call_id
    while True:
        party_channel = talk.party.channel if talk.party else None
        watched = (talk.agent_channel, party_channel)

        def relevant(m: Message, watched: tuple[str, str | None] = watched) -> bool:
            if isinstance(m, EscalateRequest | PartyRequest):
                return True
            return isinstance(m, Event) and m.channel_id in watched

        message = await session.wait_for(relevant, None)
        if isinstance(message, EscalateRequest):
            if talk.agent_present and talk.party is None:
                await hang_up(ctx, talk.agent_channel)
                await destroy_bridge(ctx, talk.bridge)
                await ctx.acd.call_ended(call_id, talk.agent_id)
                return message
            continue
        if isinstance(message, ChannelDtmfReceived) and message.channel_id == talk.agent_channel:
            request = _collect_digit(ctx, talk, message.digit)
            if request is None:
                continue
            message = request
        if isinstance(message, PartyRequest):
            result = await _handle_request(ctx, session, talk, message)
            if result is not None:
                return result
            continue
        if isinstance(message, StasisStart) and party_channel and message.channel_id == party_channel:
            await _party_answered(ctx, session, talk)
            continue
        if isinstance(message, StasisEnd | ChannelDestroyed):
            ended: str | Requeue | Rate | None
            if message.channel_id == talk.agent_channel and talk.agent_present:
                ended = await _agent_gone(ctx, session, talk)
            elif party_channel and message.channel_id == party_channel:
                ended = await _party_gone(ctx, session, talk, message)
            else:
                continue
            if ended is not None:
                return ended


def _collect_digit(ctx: FlowContext, talk: Talk, digit: str) -> PartyRequest | None:
    now = ctx.acd.now()
    if digit == "*" or now - talk.digits_at > DTMF_TIMEOUT:
        talk.digits = ""
    talk.digits_at = now
    talk.digits = (talk.digits + digit)[-4:] if talk.digits or digit == "*" else ""
    request = parse_dtmf(talk.digits)
    if request is not None:
        talk.digits = ""
    return request


async def _handle_request(
    ctx: FlowContext, session: CallSession, talk: Talk, request: PartyRequest
) -> str | Requeue | None:
    call_id = session.call_id
    await record(ctx.calls.event(call_id, "party_request", action=request.action, target=request.target))
    if request.action in ("add", "blind", "attended"):
        if talk.party is not None:
            _refuse(talk, request, "a department is already on the call")
            return None
        department = ctx.registry().department_for(request.target)
        if department is None or department.line is None:
            await record(ctx.calls.event(call_id, "department_unavailable", target=request.target,
                                         reason="unknown department"))
            talk.last_failure = {"target": request.target, "reason": "unknown department"}
            return None
        mode = {"add": "conference", "blind": "blind", "attended": "attended"}[request.action]
        if mode == "attended":
            await _hold_caller(ctx, session, talk)
        await _dial_department(ctx, session, talk, department, mode)
        if mode == "blind":
            await _agent_leaves(ctx, session, talk, "blind_transfer")
        return None
    if request.action == "drop" and talk.party is not None:
        await hang_up(ctx, talk.party.channel)
        return None
    if request.action == "leave" and talk.agent_present and talk.party is not None and talk.party.joined:
        await _agent_leaves(ctx, session, talk, "left")
        return None
    if request.action == "complete" and talk.party is not None and talk.party.mode == "attended" and talk.party.joined:
        await _unhold_caller(ctx, session, talk)
        await _agent_leaves(ctx, session, talk, "attended_transfer")
        return None
    _refuse(talk, request, "not possible now")
    return None


def _refuse(talk: Talk, request: PartyRequest, reason: str) -> None:
    log.info("party_request_refused", action=request.action, reason=reason)
    talk.last_failure = {"action": request.action, "reason": reason}


async def _dial_department(
    ctx: FlowContext, session: CallSession, talk: Talk, department: Department, mode: str
) -> None:
    assert department.line is not None
    channel = new_leg(Leg.DEPARTMENT)
    ctx.attach(channel, session)
    talk.party = Party(department, channel, mode)
    timeout = ctx.registry().department_ring_timeout
    await record(ctx.calls.event(session.call_id, "department_ringing", department=department.id,
                                 endpoint=department.line.endpoint, mode=mode))
    try:
        await ctx.ari.originate(
            f"PJSIP/{department.line.endpoint}", app=ctx.app, app_args=f"{LEG_MARK},{session.call_id}",
            channel_id=channel, caller_id=f'"12345" <{session.channel.caller_number}>', timeout=timeout,
            variables={CALL_VARIABLE: session.call_id, DEPARTMENT_VARIABLE: department.id},
        )
    except AriError as exc:
        await _party_failed(ctx, session, talk, f"unreachable ({exc.status})")


async def _party_answered(ctx: FlowContext, session: CallSession, talk: Talk) -> None:
    party = talk.party
    assert party is not None
    party.joined = True
    await ctx.ari.add_to_bridge(talk.bridge, party.channel)
    await record(ctx.calls.event(session.call_id, "department_joined", department=party.department.id,
                                 mode=party.mode, members=members(talk)))
    if party.department.record_calls:
        await _start_recording(ctx, session, talk)


def members(talk: Talk) -> list[str]:
    members = ["caller"] if not talk.holding else []
    if talk.agent_present:
        members.append("agent")
    if talk.party is not None and talk.party.joined:
        members.append("department")
    return members


async def _start_recording(ctx: FlowContext, session: CallSession, talk: Talk) -> None:
    name = f"hotline-{session.call_id}"
    try:
        await ctx.ari.record_bridge(talk.bridge, name)
    except AriError as exc:
        log.error("recording_failed", error=str(exc))
        return
    await record(ctx.calls.event(session.call_id, "recording", name=name, path=f"recording/{name}.wav"))


async def _party_failed(ctx: FlowContext, session: CallSession, talk: Talk, reason: str) -> Requeue | None:
    party = talk.party
    assert party is not None
    talk.party = None
    talk.last_failure = {"department": party.department.id, "reason": reason}
    await record(ctx.calls.event(session.call_id, "department_unavailable", department=party.department.id,
                                 mode=party.mode, reason=reason))
    log.info("department_unavailable", department=party.department.id, reason=reason)
    if talk.holding:
        await _unhold_caller(ctx, session, talk)
    if not talk.agent_present:
        await destroy_bridge(ctx, talk.bridge)
        return Requeue()  # a failed blind transfer: the caller goes back into line
    return None


async def _party_gone(
    ctx: FlowContext, session: CallSession, talk: Talk, event: StasisEnd | ChannelDestroyed
) -> str | Requeue | Rate | None:
    party = talk.party
    assert party is not None
    if not party.joined:
        if isinstance(event, ChannelDestroyed):
            return await _party_failed(ctx, session, talk, event.cause_txt or "no answer")
        return None  # StasisEnd before joining: wait for its ChannelDestroyed
    if isinstance(event, ChannelDestroyed) or talk.party is None:
        return None  # StasisEnd already handled the leave
    talk.party = None
    await record(ctx.calls.event(session.call_id, "department_left", department=party.department.id,
                                 members=members(talk)))
    if not talk.agent_present:
        await _end_everything(ctx, session, talk, keep_caller=True)
        return Rate(talk.agent_id)
    return None


async def _agent_gone(ctx: FlowContext, session: CallSession, talk: Talk) -> Rate | None:
    """The agent hung up: with a department on the call, caller and department go on; else the
    caller stays on the line to rate the call."""
    await record(ctx.calls.event(session.call_id, "agent_hung_up", agent=talk.agent_id))
    talk.agent_present = False
    await ctx.acd.call_ended(session.call_id, talk.agent_id)
    if talk.party is not None and talk.party.joined:
        if talk.holding:
            await _unhold_caller(ctx, session, talk)
        return None
    await _end_everything(ctx, session, talk, keep_caller=True)
    return Rate(talk.agent_id)


async def _agent_leaves(ctx: FlowContext, session: CallSession, talk: Talk, why: str) -> None:
    talk.agent_present = False
    await hang_up(ctx, talk.agent_channel)
    await ctx.acd.call_ended(session.call_id, talk.agent_id)
    await record(ctx.calls.event(session.call_id, "agent_left", agent=talk.agent_id, why=why,
                                 members=members(talk)))


async def _hold_caller(ctx: FlowContext, session: CallSession, talk: Talk) -> None:
    talk.holding = await make_bridge(ctx, "holding", lambda: session.new_bridge(Bridge.TRANSFER_HOLD))
    await ctx.ari.remove_from_bridge(talk.bridge, session.channel.id)
    await ctx.ari.add_to_bridge(talk.holding, session.channel.id)
    try:
        await ctx.ari.bridge_moh_start(talk.holding)
    except AriError as exc:
        log.warning("moh_failed", error=str(exc))
    await record(ctx.calls.event(session.call_id, "caller_on_hold", members=members(talk)))


async def _unhold_caller(ctx: FlowContext, session: CallSession, talk: Talk) -> None:
    holding, talk.holding = talk.holding, ""
    try:
        await ctx.ari.remove_from_bridge(holding, session.channel.id)
    except AriError:
        pass
    await destroy_bridge(ctx, holding)
    await ctx.ari.add_to_bridge(talk.bridge, session.channel.id)
    await record(ctx.calls.event(session.call_id, "caller_off_hold", members=members(talk)))


async def _end_everything(ctx: FlowContext, session: CallSession, talk: Talk, keep_caller: bool = False) -> None:
    """Hang up every leg and take the bridges down; the caller too unless ``keep_caller``."""
    if talk.party is not None:
        await hang_up(ctx, talk.party.channel)
    if talk.agent_present:
        talk.agent_present = False
        await hang_up(ctx, talk.agent_channel)
        await ctx.acd.call_ended(session.call_id, talk.agent_id)
    if talk.holding:
        await destroy_bridge(ctx, talk.holding)
    await destroy_bridge(ctx, talk.bridge)
    if not session.gone and not keep_caller:
        await hang_up(ctx, session.channel.id)
