"""Stand-ins for unit tests of the ACD engine: an in-memory :class:`AcdPersistence` that keeps rows
the way ``ari_app/acd/store.py`` writes them (and can be told to fail), and a settable clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ari_app.acd.model import AgentSeat, QueuedCall


class StoreDown(Exception):
    """What the fake store raises for a write it was told to fail (as asyncpg would on an outage)."""


@dataclass
class MemoryStore:
    """The ACD's tables in memory, with the semantics of the SQL in :class:`ari_app.acd.store.AcdStore`.

    ``agents`` holds one row per agent (as ``load_agents`` returns them), ``calls`` one row per
    queued call. ``writes`` records every write in order as ``(operation, key)``. Put an operation
    name in ``failing`` to make its calls raise :class:`StoreDown` without writing anything (they are
    listed in ``refused``).
    """

    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    refused: list[tuple[str, str]] = field(default_factory=list)  # the writes that failed

    def _write(self, operation: str, key: str) -> None:
        if operation in self.failing:
            self.refused.append((operation, key))
            raise StoreDown(f"{operation} {key}: database unavailable")
        self.writes.append((operation, key))

    async def save_agent(self, agent: AgentSeat) -> None:
        self._write("save_agent", agent.id)
        self.agents[agent.id] = {
            "agent_id": agent.id, "state": agent.state.value, "state_since": agent.state_since,
            "pause_reason": agent.pause_reason, "idle_since": agent.idle_since,
            "wrap_up_until": agent.wrap_up_until, "call_id": agent.call_id,
        }

    async def load_agents(self) -> dict[str, dict[str, Any]]:
        return {agent_id: dict(row) for agent_id, row in self.agents.items()}

    async def enqueue(self, call: QueuedCall, queue: str) -> None:
        self._write("enqueue", call.call_id)
        row = self.calls.get(call.call_id)
        if row is None:  # INSERT: the place in line (enqueued_at, seq) is set once
            row = self.calls[call.call_id] = {
                "call_id": call.call_id, "channel_id": call.channel_id, "hotline": call.hotline,
                "enqueued_at": call.enqueued_at, "seq": call.seq, "answered_at": None, "ended_at": None,
            }
        row.update(status="waiting", grp=call.group, priority=call.priority, escalated=call.escalated,
                   widen_at=call.widen_at, queue=queue, agent_id="", agent_channel="", bridge_id="")

    async def talking(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str, at: float) -> None:
        self._write("talking", call_id)
        row = self.calls.get(call_id)
        if row is None:  # UPDATE ... WHERE call_id: no row, nothing updated
            return
        row.update(status="talking", agent_id=agent_id, agent_channel=agent_channel, bridge_id=bridge_id)
        if row["answered_at"] is None:
            row["answered_at"] = at

    async def finish(self, call_id: str, status: str, at: float) -> None:
        self._write("finish", call_id)
        row = self.calls.get(call_id)
        if row is not None and row["ended_at"] is None:
            row.update(status=status, ended_at=at)

    async def max_seq(self) -> int:
        return max((int(row["seq"]) for row in self.calls.values()), default=0)

    # -- for assertions ------------------------------------------------------------------------
    def waiting_ids(self) -> set[str]:
        return {call_id for call_id, row in self.calls.items() if row["status"] == "waiting"}

    def writes_of(self, operation: str) -> list[str]:
        return [key for op, key in self.writes if op == operation]


class FakeClock:
    """A clock the test sets (``now``, ``advance``). ``tick()`` makes it run on from its current
    value at real speed, for the few tests where the engine's own timers must fire."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self._ticking_since: float | None = None

    def __call__(self) -> float:
        if self._ticking_since is None:
            return self.now
        return self.now + (time.monotonic() - self._ticking_since)

    def set(self, now: float) -> None:
        self.now = now
        if self._ticking_since is not None:
            self._ticking_since = time.monotonic()

    def advance(self, seconds: float) -> None:
        self.set(self() + seconds)

    def tick(self) -> None:
        self._ticking_since = time.monotonic()
