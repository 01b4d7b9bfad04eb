"""What to do with the channels found in the app after a (re)connect: a pure decision.

Asterisk's bridges are the truth about who talks to whom; PostgreSQL keeps each queued caller's
place. From both, and the leg and bridge names of :mod:`ari_app.calls.legs`:

- a leg the app originated (agent, department) is never taken for a caller;
- a caller in one of its ``talk-`` bridges (or on hold in its ``xfer-`` bridge during an attended
  transfer) goes on talking, with the agent and department legs found in that bridge;
- a caller stored as waiting, or found in a holding bridge (``hold-queue``, or its own ``hold-`` bridge
  of an older version), goes back into line (at the old place when stored); a caller stored as
  talking whose conversation bridge is gone, too;
- a caller whose record says it was being asked for a rating is asked again;
- any other caller starts over (it was being greeted);
- a leg in no adopted conversation is hung up (its call is gone);
- a caller's own holding bridge of an older version is destroyed (its caller waits in ``hold-queue`` now).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from ari_app.calls.legs import HOLDING_BRIDGE, Bridge, Leg, is_holding, leg_kind, parse_bridge


@dataclass(frozen=True)
class Found:
    """What Asterisk and PostgreSQL show right after a (re)connect."""

    in_app: Sequence[str]  # channels in the Stasis app that still exist
    bridges: Mapping[str, Sequence[str]]  # bridge id -> its channels
    stored: Mapping[str, tuple[str, int]]  # caller channel -> (stored status "waiting"/"talking", queue seq)
    owned: Set[str] = frozenset()  # channels some running call task already holds
    surveying: Set[str] = frozenset()  # callers whose record says they were being asked for a rating


@dataclass(frozen=True)
class Adopt:
    channel_id: str
    resume: str  # "" (start over), "waiting", "talking", "survey"
    agent_channel: str = ""
    party_channel: str = ""
    holding: str = ""  # the xfer- bridge the caller is on hold in
    talk: str = ""  # the conversation's talk- bridge


@dataclass(frozen=True)
class Plan:
    adopt: list[Adopt] = field(default_factory=list)
    hang_up: list[str] = field(default_factory=list)
    destroy: list[str] = field(default_factory=list)  # bridges to destroy (older versions' per-caller holding)


Calls = dict[str, dict[Bridge, list[str]]]  # call_id -> its talk- and xfer- bridges, the newest last


def _calls_bridges(bridges: Mapping[str, Sequence[str]]) -> Calls:
    found: dict[str, dict[Bridge, list[tuple[int, str]]]] = {}
    for bridge in bridges:
        parsed = parse_bridge(bridge)
        if parsed is not None:
            kind, call_id, number = parsed
            found.setdefault(call_id, {}).setdefault(kind, []).append((number, bridge))
    return {call: {kind: [b for _, b in sorted(made)] for kind, made in kinds.items()} for call, kinds in found.items()}


def _conversation(channel_id: str, found: Found, calls: Calls) -> Adopt | None:
    """The caller's conversation: the talk- bridge it is in, or, while it is on hold in one of its xfer-
    bridges, its newest talk- bridge (a call's later conversations have bridges of their own, legs)."""
    own = calls.get(channel_id, {})

    def holding_caller(kind: Bridge) -> list[str]:
        return [b for b in own.get(kind, []) if channel_id in found.bridges[b]]

    on_hold = holding_caller(Bridge.TRANSFER_HOLD)
    talks = holding_caller(Bridge.TALK) or (own.get(Bridge.TALK, []) if on_hold else [])
    if not talks:
        return None
    talk = talks[-1]
    legs = [c for c in found.bridges[talk] if c != channel_id]
    agent = next((c for c in legs if leg_kind(c) is Leg.AGENT), "")
    party = next((c for c in legs if leg_kind(c) is Leg.DEPARTMENT), "")
    return Adopt(channel_id, "talking", agent, party, on_hold[-1] if on_hold else "", talk)


def plan(found: Found) -> Plan:
    result = Plan()
    holding = {c for bridge, members in found.bridges.items() if is_holding(bridge) for c in members}
    callers = [c for c in found.in_app if leg_kind(c) is None and c not in found.owned]
    calls = _calls_bridges(found.bridges)
    for channel_id in sorted(callers, key=lambda c: found.stored.get(c, ("", 0))[1]):
        talking = _conversation(channel_id, found, calls)
        if talking is not None:
            result.adopt.append(talking)
        elif channel_id in found.surveying:
            result.adopt.append(Adopt(channel_id, "survey"))
        elif channel_id in found.stored or channel_id in holding:
            result.adopt.append(Adopt(channel_id, "waiting"))
        else:
            result.adopt.append(Adopt(channel_id, ""))
    kept = {c for a in result.adopt for c in (a.agent_channel, a.party_channel) if c}
    result.hang_up.extend(
        c for c in found.in_app if leg_kind(c) is not None and c not in kept and c not in found.owned
    )
    result.destroy.extend(sorted(b for b in found.bridges if is_holding(b) and b != HOLDING_BRIDGE))
    return result
