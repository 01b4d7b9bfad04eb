"""An agent seat as configured: who, which phone, which groups."""

from __future__ import annotations

from dataclasses import dataclass, field

from ari_app.acd.model import AgentSeat, QueuePolicy


@dataclass(frozen=True)
class Agent:
    id: str  # the agent's number, e.g. "1001"
    name: str
    endpoint: str  # the PJSIP endpoint of the agent's phone, e.g. agent-1001
    groups: tuple[str, ...] = ()  # e.g. ("transport-experts",)
    seconded_by: str | None = None  # the department that seconded this agent to 12345
    skills: dict[str, int] = field(default_factory=dict)  # skill -> level 1..5


@dataclass(frozen=True)
class Seats:
    """The seats file: the agents and the queue policy."""

    agents: tuple[Agent, ...]
    source: str = ""
    policy: QueuePolicy = field(default_factory=QueuePolicy)

    @property
    def endpoints(self) -> list[str]:
        return [agent.endpoint for agent in self.agents]


def agent_seats(seats: Seats) -> list[AgentSeat]:
    """The ACD's view of the configured agents: logged out, phone unreachable until Asterisk says otherwise."""
    return [
        AgentSeat(a.id, a.endpoint, frozenset(a.groups), a.seconded_by, dict(a.skills), reachable=False)
        for a in seats.agents
    ]
