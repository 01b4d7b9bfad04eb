"""Persistence of the ACD: agent states and queued calls (see store/migrations/002_acd.sql)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from ari_app.acd.model import AgentSeat, QueuedCall


@dataclass(frozen=True)
class LiveCall:
    """A queued call as stored: enough to re-adopt it after a restart."""

    call: QueuedCall
    status: str
    agent_id: str
    agent_channel: str
    bridge_id: str
    answered_at: float | None


class AcdStore:
    def __init__(self, pool: asyncpg.Pool, node: str) -> None:
        self._pool = pool
        self.node = node

    # -- agents --------------------------------------------------------------------------------
    async def save_agent(self, agent: AgentSeat) -> None:
        await self._pool.execute(
            "INSERT INTO agent_states (agent_id, state, state_since, pause_reason, idle_since, wrap_up_until, call_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (agent_id) DO UPDATE SET state = $2,"
            " state_since = $3, pause_reason = $4, idle_since = $5, wrap_up_until = $6, call_id = $7",
            agent.id, agent.state.value, agent.state_since, agent.pause_reason, agent.idle_since,
            agent.wrap_up_until, agent.call_id,
        )

    async def load_agents(self) -> dict[str, dict[str, Any]]:
        rows = await self._pool.fetch("SELECT * FROM agent_states")
        return {r["agent_id"]: dict(r) for r in rows}

    # -- queue ---------------------------------------------------------------------------------
    async def enqueue(self, call: QueuedCall, queue: str) -> None:
        await self._pool.execute(
            "INSERT INTO queue_calls (call_id, channel_id, hotline, queue, grp, priority, escalated, enqueued_at, seq,"
            " widen_at, status, node) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'waiting', $11)"
            " ON CONFLICT (call_id) DO UPDATE SET status = 'waiting', grp = $5, priority = $6, escalated = $7,"
            " widen_at = $10, queue = $4, agent_id = '', agent_channel = '', bridge_id = ''",
            call.call_id, call.channel_id, call.hotline, queue, call.group, call.priority, call.escalated,
            call.enqueued_at, call.seq, call.widen_at, self.node,
        )

    async def talking(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str, at: float) -> None:
        await self._pool.execute(
            "UPDATE queue_calls SET status = 'talking', agent_id = $2, agent_channel = $3, bridge_id = $4,"
            " answered_at = coalesce(answered_at, $5) WHERE call_id = $1",
            call_id, agent_id, agent_channel, bridge_id, at,
        )

    async def finish(self, call_id: str, status: str, at: float) -> None:
        await self._pool.execute(
            "UPDATE queue_calls SET status = $2, ended_at = $3 WHERE call_id = $1 AND ended_at IS NULL",
            call_id, status, at,
        )

    async def live_calls(self) -> list[LiveCall]:
        rows = await self._pool.fetch(
            "SELECT * FROM queue_calls WHERE node = $1 AND status IN ('waiting', 'talking') ORDER BY seq", self.node
        )
        return [
            LiveCall(
                QueuedCall(
                    call_id=r["call_id"], channel_id=r["channel_id"], hotline=r["hotline"],
                    enqueued_at=r["enqueued_at"], seq=r["seq"], priority=r["priority"], group=r["grp"],
                    widen_at=r["widen_at"], escalated=r["escalated"],
                ),
                r["status"], r["agent_id"], r["agent_channel"], r["bridge_id"], r["answered_at"],
            )
            for r in rows
        ]

    async def max_seq(self) -> int:
        value: int | None = await self._pool.fetchval("SELECT max(seq) FROM queue_calls")
        return value or 0

    async def outcomes(self, since: float) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT hotline, queue, enqueued_at, answered_at, ended_at, status FROM queue_calls"
            " WHERE enqueued_at >= $1",
            since,
        )
        return [dict(r) for r in rows]


class AcdPersistence(Protocol):
    """What the ACD engine needs stored (PostgreSQL in :class:`AcdStore`; in memory in unit tests)."""

    async def save_agent(self, agent: AgentSeat) -> None: ...

    async def load_agents(self) -> dict[str, dict[str, Any]]: ...

    async def enqueue(self, call: QueuedCall, queue: str) -> None: ...

    async def talking(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str, at: float) -> None: ...

    async def finish(self, call_id: str, status: str, at: float) -> None: ...

    async def max_seq(self) -> int: ...
