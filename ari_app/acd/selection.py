"""Who gets which call: the ACD's decisions as pure functions of the queue, the agents and ``now``.

Rules (12345 promises a person 7x24, so nothing here may leave a caller stuck behind another):

* The line: escalated calls first, then higher priority, then first come first served
  (``enqueued_at``, then ``seq``). See :func:`queue_order`.
* A call goes to the longest-idle READY agent who has its skill (level > 0); equal ``idle_since``
  goes to the lower agent id, so the choice is deterministic.
* A call with a ``group`` may only go to agents serving that group (expert group, or the
  department that seconded them) until ``widen_at``; from ``widen_at`` on (inclusive) to anyone
  eligible, keeping its place in line. ``group`` with ``widen_at == 0`` stays restricted for as
  long as the group is staffed (escalation to an expert seat).
* A preference that helps nobody costs nothing: it applies only while some agent of the group is
  staffed and could take the call (logged in and not paused, phone reachable, with the call's
  skill). Otherwise the call is open to everyone at once, keeping its place.
* Only agents whose phone is registered and reachable are offered calls.
* One offer per agent and per call at a time: calls already offered (``offered_to``) and agents
  not READY are not candidates.
* The head of the line does not block: a call waiting for an absent expert is skipped and the
  next call may go to a general agent.

Nothing here mutates its arguments, sleeps, or talks to Asterisk.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ari_app.acd.model import AgentSeat, AgentState, QueuedCall

DEFAULT_SKILL = "general"


def _order_key(call: QueuedCall) -> tuple[bool, int, float, int]:
    return (not call.escalated, -call.priority, call.enqueued_at, call.seq)


def queue_order(calls: Iterable[QueuedCall]) -> list[QueuedCall]:
    """The calls in line order: escalated first, priority descending, ``enqueued_at``, ``seq``."""
    return sorted(calls, key=_order_key)


def restricted_to_group(call: QueuedCall, now: float) -> bool:
    """Whether only agents serving ``call.group`` may take the call at ``now``.

    Unlike :meth:`QueuedCall.wants_only_group`, a group with ``widen_at == 0`` means "restricted
    forever" (an escalation to an expert seat), not "no preference".
    """
    if not call.group:
        return False
    return call.widen_at == 0 or now < call.widen_at


def skill_of(call: QueuedCall) -> str:
    """The skill the call needs (an empty skill means the default, ``"general"``)."""
    return call.skill or DEFAULT_SKILL


STAFFED = frozenset((AgentState.READY, AgentState.RINGING, AgentState.BUSY, AgentState.WRAP_UP))


def could_serve(agent: AgentSeat, call: QueuedCall) -> bool:
    """Whether ``agent`` is staffed (logged in, not paused), reachable and has the call's skill:
    someone the call may sensibly wait for, now or after their current call."""
    return agent.state in STAFFED and agent.reachable and agent.skills.get(skill_of(call), 0) > 0


def group_can_serve(call: QueuedCall, agents: Iterable[AgentSeat]) -> bool:
    """Whether some agent of the call's group could take it (see :func:`could_serve`)."""
    return any(a.serves_group(call.group) and could_serve(a, call) for a in agents)


def eligible(agent: AgentSeat, call: QueuedCall, now: float, group_staffed: bool = True) -> bool:
    """Whether ``agent`` may be offered ``call`` at ``now``.

    The agent must be READY with a reachable phone and have the call's skill at a level above 0;
    the call must not be offered to anyone already; while the call is restricted to its group and
    the group is staffed (``group_staffed``, see :func:`group_can_serve`) the agent must serve it.
    """
    if agent.state is not AgentState.READY or not agent.reachable:
        return False
    if call.offered_to:
        return False
    if agent.skills.get(skill_of(call), 0) <= 0:
        return False
    restricted = group_staffed and restricted_to_group(call, now)
    return not (restricted and not agent.serves_group(call.group))


def _idle_key(agent: AgentSeat) -> tuple[float, str]:
    return (agent.idle_since, agent.id)


def assign(calls: Sequence[QueuedCall], agents: Sequence[AgentSeat], now: float) -> list[tuple[QueuedCall, AgentSeat]]:
    """One dispatch round: which waiting call to offer to which free agent.

    Walks the calls in :func:`queue_order`; each call takes the longest-idle eligible agent not
    used yet in this round (ties: lower id). A call nobody can take is skipped, so it never blocks
    the calls behind it. The result is a maximal matching: no call or agent appears twice, and no
    unmatched call has an eligible unmatched agent left. Agents already holding an offer (some
    call's ``offered_to``, or a non-empty ``call_id``) are not used. The inputs are not mutated.
    """
    busy = {c.offered_to for c in calls if c.offered_to}
    free = sorted(
        (a for a in agents if a.state is AgentState.READY and a.reachable and not a.call_id and a.id not in busy),
        key=_idle_key,
    )
    used: set[str] = set()
    seen_calls: set[str] = set()
    pairs: list[tuple[QueuedCall, AgentSeat]] = []
    for call in queue_order(calls):
        if call.offered_to or call.call_id in seen_calls:
            continue
        if not free or len(used) == len(free):
            break
        staffed = bool(call.group) and group_can_serve(call, agents)
        for agent in free:
            if agent.id in used or not eligible(agent, call, now, staffed):
                continue
            used.add(agent.id)
            seen_calls.add(call.call_id)
            pairs.append((call, agent))
            break
    return pairs


def next_widen_time(calls: Iterable[QueuedCall], now: float) -> float | None:
    """The earliest ``widen_at`` after ``now`` among waiting (not offered) calls with a group.

    The dispatcher should run a round then: a call that could only wait for an expert may now go
    to anyone. ``None`` when no such moment is ahead (``widen_at == 0`` never widens).
    """
    times = [c.widen_at for c in calls if c.group and not c.offered_to and c.widen_at > 0 and c.widen_at > now]
    return min(times) if times else None


def queue_position(calls: Iterable[QueuedCall], call_id: str) -> int:
    """1-based place of ``call_id`` in :func:`queue_order` among calls not being offered; 0 if absent."""
    waiting = queue_order(c for c in calls if not c.offered_to)
    for index, call in enumerate(waiting, start=1):
        if call.call_id == call_id:
            return index
    return 0


def expected_wait(position: int, ready_or_busy_agents: int, average_handle_seconds: float) -> float:
    """A rough wait estimate for announcements ("about N minutes"), not a promise.

    ``ceil(position / max(agents, 1)) * average_handle_seconds``: every agent working (ready or
    busy) frees up once per average handle time, and the caller is served in the wave their
    position falls into. Position 0 or less (not waiting) gives 0.
    """
    if position <= 0:
        return 0.0
    waves = math.ceil(position / max(ready_or_busy_agents, 1))
    return waves * max(average_handle_seconds, 0.0)
