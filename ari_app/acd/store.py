"""Persistence of the ACD: agent states and queued calls (see store/migrations/002_acd.sql).

Writes are queued behind the calls (ari_app.store.journal): the ACD acts from memory and never waits
for them. Each write of a queued call returns the row as written, and :class:`AcdStore` hands this
node's rows, as outcomes, once stored, to ``on_outcome`` (the in-memory window of the queue figures, see
:mod:`ari_app.acd.report`): what the window holds is what PostgreSQL holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from ari_app.acd.figures import CallOutcome
from ari_app.acd.model import AgentSeat, QueuedCall
from ari_app.logs import get_logger
from ari_app.store.journal import Result, WriteJournal, run_now

log = get_logger("acd")
OutcomeListener = Callable[[str, CallOutcome], None]
# Every argument is cast where it is used: queued writes pass their arguments as text (store/journal.py).
_SAVE_AGENT = (
    "INSERT INTO agent_states (agent_id, state, state_since, pause_reason, idle_since, wrap_up_until, call_id)"
    " VALUES ($1::text, $2::text, $3::float8, $4::text, $5::float8, $6::float8, $7::text) ON CONFLICT (agent_id)"
    " DO UPDATE SET state = $2::text, state_since = $3::float8, pause_reason = $4::text, idle_since = $5::float8,"
    " wrap_up_until = $6::float8, call_id = $7::text"
)
_ENQUEUE = (
    "INSERT INTO queue_calls (call_id, channel_id, hotline, queue, grp, priority, escalated, enqueued_at, seq,"
    " widen_at, status, node) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::int, $7::boolean,"
    " $8::float8, $9::bigint, $10::float8, 'waiting', $11::text)"
    " ON CONFLICT (call_id) DO UPDATE SET status = 'waiting', grp = $5::text, priority = $6::int,"
    " escalated = $7::boolean, widen_at = $10::float8, queue = $4::text, agent_id = '', agent_channel = '',"
    " bridge_id = '' RETURNING hotline, queue, enqueued_at, answered_at, ended_at, status, node"
)
_TALKING = (
    "UPDATE queue_calls SET status = 'talking', agent_id = $2::text, agent_channel = $3::text, bridge_id = $4::text,"
    " answered_at = coalesce(answered_at, $5::float8) WHERE call_id = $1::text"
    " RETURNING hotline, queue, enqueued_at, answered_at, ended_at, status, node"
)
_TO_CALLBACK = ("UPDATE queue_calls SET status = 'callback', callback_to = $2::text WHERE call_id = $1::text"
                " AND status = 'waiting' RETURNING hotline, queue, enqueued_at, answered_at, ended_at, status, node")
_FINISH = ("UPDATE queue_calls SET status = $2::text, ended_at = $3::float8 WHERE call_id = $1::text"
           " AND ended_at IS NULL RETURNING hotline, queue, enqueued_at, answered_at, ended_at, status, node")


def outcome_of(row: Mapping[str, Any]) -> CallOutcome:
    """A ``queue_calls`` row as the queue figures read it."""
    return CallOutcome(row["hotline"], row["queue"], row["enqueued_at"], row["answered_at"], row["ended_at"],
                       row["status"] == "abandoned")


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
    def __init__(
        self, pool: asyncpg.Pool, node: str, on_outcome: OutcomeListener | None = None,
        journal: WriteJournal | None = None,
    ) -> None:
        """``journal``: the queue's and agents' writes queued behind the calls, in order with the call
        records' and kept through a database outage (the ACD goes on from memory); None: written at
        once, or raise."""
        self._pool = pool
        self.node = node
        self._on_outcome = on_outcome
        self._journal = journal

    async def _write(self, what: str, key: str, sql: str, *args: object, row: bool = False,
                     urgent: bool = False) -> None:
        """Queue a write behind the call (``key``: what it stays in order with; the call's id: its record
        comes first), or without a journal run it now. A queued call's row as written goes to
        ``on_outcome`` once stored. ``urgent``: what a restart reads to put callers back in their place
        (joining the line, talking to an agent) goes at once, not after the journal's linger, so that a
        killed service loses no more of it than the last round trip."""
        call_id = str(args[0])
        if self._journal is None:
            result = await run_now(self._pool, sql, args, row)
            if row:
                self._written(call_id, result.get("row"))
            return
        done = self._journal.submit(what, key, sql, args, row=row, urgent=urgent)
        if row:
            def written(future: asyncio.Future[Result | None]) -> None:
                result = None if future.cancelled() else future.result()
                if result is not None:
                    self._written(call_id, result.get("row"))
            done.add_done_callback(written)

    def _written(self, call_id: str, row: Mapping[str, Any] | None) -> None:
        """Tell ``on_outcome`` of a queued call's row as written (none: the write changed nothing)."""
        if row is None or self._on_outcome is None or row["node"] != self.node:
            return
        try:
            self._on_outcome(call_id, outcome_of(row))
        except Exception as exc:  # the figures must never fail a call
            log.error("queue_figures_update_failed", call_id=call_id, error=f"{type(exc).__name__}: {exc}"[:300])

    # -- agents --------------------------------------------------------------------------------
    async def save_agent(self, agent: AgentSeat) -> None:
        """The agent's state as it is now (queued: stored behind the call, in order per agent)."""
        await self._write("agent_state", f"agent:{agent.id}", _SAVE_AGENT, agent.id, agent.state.value,
                          agent.state_since, agent.pause_reason, agent.idle_since, agent.wrap_up_until, agent.call_id)

    async def load_agents(self) -> dict[str, dict[str, Any]]:
        rows = await self._pool.fetch("SELECT * FROM agent_states")
        return {r["agent_id"]: dict(r) for r in rows}

    # -- queue ---------------------------------------------------------------------------------
    async def enqueue(self, call: QueuedCall, queue: str) -> None:
        await self._write("queue_enqueue", call.call_id, _ENQUEUE, call.call_id, call.channel_id, call.hotline, queue,
                          call.group, call.priority, call.escalated, call.enqueued_at, call.seq, call.widen_at,
                          self.node, row=True, urgent=True)

    async def talking(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str, at: float) -> None:
        await self._write("queue_talking", call_id, _TALKING, call_id, agent_id, agent_channel, bridge_id, at, row=True,
                          urgent=True)

    async def finish(self, call_id: str, status: str, at: float) -> None:
        await self._write("queue_finish", call_id, _FINISH, call_id, status, at, row=True)

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

    # -- callbacks (ari_app.callbacks) -------------------------------------------------------
    async def to_callback(self, call_id: str, phone: str) -> bool:
        """A waiting caller keeps the place and will be called back at ``phone``; False if the call
        was not waiting any more. In order with the call's queued writes, and waited for: what the
        caller is told depends on it."""
        args = (call_id, phone)
        if self._journal is None:
            result: Result | None = await run_now(self._pool, _TO_CALLBACK, args, True)
        else:
            result = await self._journal.submit("queue_callback", call_id, _TO_CALLBACK, args, row=True,
                                                 urgent=True)
        row = result.get("row") if result else None
        self._written(call_id, row)
        return row is not None

    async def callbacks(self) -> list[tuple[QueuedCall, str, int]]:
        """This node's entries waiting to be called back: (entry, number, attempts made), in line order."""
        rows = await self._pool.fetch(
            "SELECT * FROM queue_calls WHERE node = $1 AND status = 'callback' ORDER BY seq", self.node)
        return [(QueuedCall(call_id=r["call_id"], channel_id=r["channel_id"], hotline=r["hotline"],
                            enqueued_at=r["enqueued_at"], seq=r["seq"], priority=r["priority"], group=r["grp"],
                            widen_at=r["widen_at"], escalated=r["escalated"]),
                 r["callback_to"], r["callback_attempts"]) for r in rows]

    async def callback_attempted(self, call_id: str) -> int:
        """Count an attempt to call back; the attempts made so far."""
        value: int | None = await self._pool.fetchval(
            "UPDATE queue_calls SET callback_attempts = callback_attempts + 1 WHERE call_id = $1"
            " RETURNING callback_attempts", call_id)
        return value or 0

    async def callback_listing(self, status: str, limit: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT call_id, hotline, callback_to, callback_attempts, enqueued_at, ended_at, status FROM queue_calls"
            " WHERE status = $1 ORDER BY seq LIMIT $2", status, limit)
        return [dict(r) for r in rows]

    async def max_seq(self) -> int:
        value: int | None = await self._pool.fetchval("SELECT max(seq) FROM queue_calls")
        return value or 0

    async def outcomes(self, since: float) -> list[tuple[str, CallOutcome]]:
        """This node's queued calls that joined the queue at or after ``since``, in the order they joined."""
        rows = await self._pool.fetch(
            "SELECT call_id, hotline, queue, enqueued_at, answered_at, ended_at, status, node FROM queue_calls"
            " WHERE node = $1 AND enqueued_at >= $2 ORDER BY enqueued_at, seq",
            self.node, since,
        )
        return [(r["call_id"], outcome_of(r)) for r in rows]


class AcdPersistence(Protocol):
    """What the ACD engine needs stored (PostgreSQL in :class:`AcdStore`; in memory in unit tests)."""

    async def save_agent(self, agent: AgentSeat) -> None: ...

    async def load_agents(self) -> dict[str, dict[str, Any]]: ...

    async def enqueue(self, call: QueuedCall, queue: str) -> None: ...

    async def talking(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str, at: float) -> None: ...

    async def finish(self, call_id: str, status: str, at: float) -> None: ...

    async def max_seq(self) -> int: ...
