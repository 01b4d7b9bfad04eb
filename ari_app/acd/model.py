"""The ACD's state: agents at their seats and callers waiting. Plain data; decisions live in
:mod:`ari_app.acd.selection`, persistence in :mod:`ari_app.acd.store`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    PAUSED = "paused"
    RINGING = "ringing"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


ON_A_CALL = frozenset({AgentState.RINGING, AgentState.BUSY, AgentState.WRAP_UP})


def change_log_level(old: AgentState, new: AgentState) -> int:
    """The level an agent's change of state is logged at: debug for a change every call makes (rung,
    talking, wrap-up, free again; the call's own lines say as much), info for logins, pauses (a
    missed ring too) and logouts."""
    routine = new in ON_A_CALL or (new is AgentState.READY and old in ON_A_CALL)
    return logging.DEBUG if routine else logging.INFO


@dataclass
class AgentSeat:
    """An agent as the ACD sees it now. Times are seconds on one clock (``time.time()``)."""

    id: str
    endpoint: str
    groups: frozenset[str] = frozenset()
    seconded_by: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    state: AgentState = AgentState.LOGGED_OUT
    state_since: float = 0.0
    pause_reason: str = ""
    idle_since: float = 0.0  # when the agent last became free (ready, or end of wrap-up)
    wrap_up_until: float = 0.0
    call_id: str = ""  # the call the agent is ringing for or talking on
    reachable: bool = True  # the phone is registered and answers qualify (the engine starts agents False)

    def serves_group(self, group: str) -> bool:
        """Whether the agent belongs to ``group``: an expert group, or the department that seconded them."""
        return group in self.groups or (self.seconded_by is not None and self.seconded_by == group)


@dataclass
class QueuedCall:
    """A caller waiting (or being offered to an agent)."""

    call_id: str
    channel_id: str
    hotline: str
    enqueued_at: float  # when the caller joined the queue: their place in line
    seq: int  # tie-breaker for equal times, in arrival order
    priority: int = 0  # higher first
    group: str = ""  # preferred group ("" = anyone)
    widen_at: float = 0.0  # with a group: from this moment any agent may take the call (0 = never widen)
    skill: str = "general"
    offered_to: str = ""  # agent id while ringing an agent
    escalated: bool = False  # handed from a 12345 agent to an expert seat: ahead of new arrivals


@dataclass(frozen=True)
class AgentOffer:
    """From the ACD to a call's task: this agent is reserved for the call; ring them."""

    agent_id: str
    endpoint: str


@dataclass(frozen=True)
class QueuePolicy:
    ring_timeout: int = 15  # seconds an agent's phone rings before the next agent is tried
    wrap_up: int = 5  # seconds after a call before the agent gets the next one
    widen_after: int = 30  # seconds a call waits for its preferred group before anyone may take it
    announce_every: int = 30  # seconds between position announcements to a waiting caller
    repeat_caller_priority: int = 1  # added to the priority of callers who called in the last 7 days
    escalation_priority: int = 10
    hotline_priority: dict[str, int] = field(default_factory=dict)
    service_level_seconds: int = 20
    rating_after_call: bool = True  # the caller rates the call when the agent hangs up first
    callback_after: int = 120  # seconds waited before the caller may press 1 to be called back (0: never)
