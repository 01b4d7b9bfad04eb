"""Queue entries and what a waiting caller is told: pure functions of the policy and the queue."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ari_app.acd.model import QueuedCall, QueuePolicy
from ari_app.acd.selection import expected_wait, queue_position


def new_entry(
    policy: QueuePolicy,
    now: float,
    seq: int,
    call_id: str,
    channel_id: str,
    hotline: str,
    group: str,
    repeat_caller: bool,
) -> QueuedCall:
    """A caller joining the line at ``now``: priority from the dialed number (and repeat callers),
    a preferred group kept for ``widen_after`` seconds."""
    priority = policy.hotline_priority.get(hotline, 0) + (policy.repeat_caller_priority if repeat_caller else 0)
    return QueuedCall(
        call_id=call_id, channel_id=channel_id, hotline=hotline, enqueued_at=now, seq=seq, priority=priority,
        group=group, widen_at=now + policy.widen_after if group else 0.0,
    )


def escalated_entry(policy: QueuePolicy, old: QueuedCall, group: str) -> QueuedCall:
    """An agent hands the call to ``group``: it keeps its place in line and goes ahead of new
    arrivals, restricted to the group for as long as the group is staffed (``widen_at`` 0)."""
    return replace(old, priority=policy.escalation_priority, group=group, widen_at=0.0, escalated=True,
                   offered_to="")


def wait_announcement(
    waiting: Sequence[QueuedCall], call_id: str, staffed_agents: int, average_handle: float
) -> tuple[int, int] | None:
    """(position, minutes, at least 1) to announce to a waiting caller; None if not waiting."""
    position = queue_position(waiting, call_id)
    if position <= 0:
        return None
    minutes = math.ceil(expected_wait(position, staffed_agents, average_handle) / 60)
    return position, max(1, minutes)
