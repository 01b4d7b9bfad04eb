"""Queue figures, live and historical, computed from plain records (no I/O, ``now`` passed in).

Definitions (times in seconds, on the same clock as the records):

* ``offered``: outcome records given (calls that entered the queue). Calls still waiting are
  counted by ``waiting_now`` only, not by ``offered``.
* ``answered``: outcomes with ``answered_at`` set. ``abandoned``: outcomes flagged ``abandoned``
  and never answered (the caller hung up while waiting).
* wait: ``answered_at - enqueued_at`` for answered calls, ``ended_at - enqueued_at`` for
  abandoned calls. An abandoned outcome without ``ended_at`` has an unknown wait: it counts in
  ``abandoned`` but not in ``abandoned_waits`` or the service level.
* ``service_level`` (threshold ``T``, default 20 s): answered within T / (answered + abandoned
  after T). "Within" is ``wait <= T``; calls abandoned at or before T are left out of the
  denominator (short abandons are not held against the centre). ``None`` when the denominator is 0.
* ``average_wait_answered``: mean wait of answered calls. ``average_handle_time``: mean
  ``ended_at - answered_at`` over answered calls that have ended. Means divide the correctly
  rounded sum (``math.fsum``) by the count, so they do not depend on the order of the records.
* ``waiting_now``: callers in the waiting list (including those ringing an agent);
  ``longest_wait``: the longest ``now - enqueued_at`` among them (0 when nobody waits).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ari_app.acd.model import AgentSeat, AgentState, QueuedCall
from ari_app.acd.selection import restricted_to_group

DEFAULT_THRESHOLD = 20.0
INTAKE_QUEUE = "intake"
EXPERT_QUEUE_PREFIX = "expert:"


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One call's passage through a queue."""

    hotline: str
    queue: str  # "intake" or "expert:<group>"
    enqueued_at: float
    answered_at: float | None
    ended_at: float | None
    abandoned: bool


@dataclass(frozen=True)
class Figures:
    """Queue figures; see the module docstring for the definitions."""

    waiting_now: int
    longest_wait: float
    offered: int
    answered: int
    abandoned: int
    abandoned_waits: tuple[float, ...]
    service_level: float | None  # answered within T / (answered + abandoned after T)
    average_wait_answered: float | None
    average_handle_time: float | None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def compute(
    outcomes: Iterable[CallOutcome],
    waiting: Sequence[QueuedCall],
    now: float,
    threshold: float = DEFAULT_THRESHOLD,
) -> Figures:
    """Figures for one set of outcomes and the callers waiting now."""
    offered = 0
    answer_waits: list[float] = []
    handle_times: list[float] = []
    abandoned = 0
    abandoned_waits: list[float] = []
    for outcome in outcomes:
        offered += 1
        if outcome.answered_at is not None:
            answer_waits.append(max(outcome.answered_at - outcome.enqueued_at, 0.0))
            if outcome.ended_at is not None:
                handle_times.append(max(outcome.ended_at - outcome.answered_at, 0.0))
        elif outcome.abandoned:
            abandoned += 1
            if outcome.ended_at is not None:
                abandoned_waits.append(max(outcome.ended_at - outcome.enqueued_at, 0.0))

    within = sum(1 for wait in answer_waits if wait <= threshold)
    abandoned_late = sum(1 for wait in abandoned_waits if wait > threshold)
    denominator = len(answer_waits) + abandoned_late
    return Figures(
        waiting_now=len(waiting),
        longest_wait=max((max(now - c.enqueued_at, 0.0) for c in waiting), default=0.0),
        offered=offered,
        answered=len(answer_waits),
        abandoned=abandoned,
        abandoned_waits=tuple(abandoned_waits),
        service_level=within / denominator if denominator else None,
        average_wait_answered=_mean(answer_waits),
        average_handle_time=_mean(handle_times),
    )


def _split(
    outcomes: Iterable[CallOutcome],
    waiting: Sequence[QueuedCall],
    now: float,
    threshold: float,
    outcome_key: Callable[[CallOutcome], str],
    waiting_key: Callable[[QueuedCall], str],
) -> dict[str, Figures]:
    grouped_outcomes: dict[str, list[CallOutcome]] = {}
    grouped_waiting: dict[str, list[QueuedCall]] = {}
    for outcome in outcomes:
        grouped_outcomes.setdefault(outcome_key(outcome), []).append(outcome)
    for call in waiting:
        grouped_waiting.setdefault(waiting_key(call), []).append(call)
    keys = sorted(grouped_outcomes.keys() | grouped_waiting.keys())
    return {key: compute(grouped_outcomes.get(key, []), grouped_waiting.get(key, []), now, threshold) for key in keys}


def by_hotline(
    outcomes: Iterable[CallOutcome],
    waiting: Sequence[QueuedCall],
    now: float,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Figures]:
    """Figures per hotline (the number dialled), over every hotline seen in outcomes or waiting."""
    return _split(outcomes, waiting, now, threshold, lambda o: o.hotline, lambda c: c.hotline)


def queue_of(call: QueuedCall, now: float, group_staffed: bool = True) -> str:
    """Which queue a waiting call is in at ``now``: ``expert:<group>`` while only its group may
    take it (its preference time runs and ``group_staffed``), else ``intake``. (A
    :class:`QueuedCall` carries no queue name, so this is derived.)"""
    if group_staffed and restricted_to_group(call, now):
        return EXPERT_QUEUE_PREFIX + call.group
    return INTAKE_QUEUE


def by_queue(
    outcomes: Iterable[CallOutcome],
    waiting: Sequence[QueuedCall],
    now: float,
    threshold: float = DEFAULT_THRESHOLD,
    waiting_queue: Callable[[QueuedCall], str] | None = None,
) -> dict[str, Figures]:
    """Figures per queue. Outcomes carry their queue; waiting calls are placed by ``waiting_queue``
    (default: :func:`queue_of` at ``now``)."""
    key = waiting_queue if waiting_queue is not None else (lambda c: queue_of(c, now))
    return _split(outcomes, waiting, now, threshold, lambda o: o.queue, key)


def agent_state_counts(agents: Iterable[AgentSeat]) -> dict[str, int]:
    """How many agents are in each state, keyed by the state's value; every state present (0 too)."""
    counts = {state.value: 0 for state in AgentState}
    for agent in agents:
        counts[agent.state.value] += 1
    return counts
