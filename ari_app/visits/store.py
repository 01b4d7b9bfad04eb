"""Return visits in PostgreSQL: scheduled, claimed for dialling (several nodes never dial the same
visit: rows are claimed with FOR UPDATE SKIP LOCKED), finished, listed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ari_app.visits.policy import AttemptResult, Next

_COLUMNS = ("id, number, phone, department, state, attempts, next_at, node, last_result, rating, created_at,"
            " updated_at")


@dataclass(frozen=True)
class Visit:
    id: int
    number: str  # the work order
    phone: str
    department: str
    state: str
    attempts: int  # attempts made (the one being dialled included)
    next_at: datetime
    node: str
    last_result: str
    rating: str | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "number": self.number, "phone": self.phone, "department": self.department,
            "state": self.state, "attempts": self.attempts, "next_at": self.next_at.isoformat(),
            "last_result": self.last_result, "rating": self.rating, "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _visit(row: Mapping[str, Any]) -> Visit:
    return Visit(**dict(row))


class VisitStore:
    def __init__(self, pool: asyncpg.Pool, node: str) -> None:
        self._pool, self.node = pool, node

    async def schedule(self, number: str, phone: str, department: str, at: datetime) -> Visit | None:
        """A new visit of order ``number`` due at ``at``; None if the order has an open visit already."""
        row = await self._pool.fetchrow(
            f"INSERT INTO return_visits (number, phone, department, state, next_at, created_at, updated_at)"  # noqa: S608 (constant column list)
            f" VALUES ($1, $2, $3, 'scheduled', $4, $4, $4)"
            f" ON CONFLICT (number) WHERE state IN ('scheduled', 'dialling') DO NOTHING RETURNING {_COLUMNS}",
            number, phone, department, at,
        )
        return _visit(row) if row else None

    async def claim_due(self, now: datetime, limit: int) -> list[Visit]:
        """Up to ``limit`` visits due by ``now``, oldest first, marked as dialled by this node (the
        attempt counted)."""
        if limit <= 0:
            return []
        rows = await self._pool.fetch(
            f"UPDATE return_visits SET state = 'dialling', node = $3, attempts = attempts + 1, updated_at = $1"  # noqa: S608 (constant column list)
            f" WHERE id IN (SELECT id FROM return_visits WHERE state = 'scheduled' AND next_at <= $1"
            f" ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}",
            now, limit, self.node,
        )
        return sorted((_visit(r) for r in rows), key=lambda v: (v.next_at, v.id))

    async def finish(self, visit_id: int, then: Next, result: AttemptResult, now: datetime) -> None:
        """The attempt is over: done, another attempt at ``then.at``, or on the manual list."""
        await self._pool.execute(
            "UPDATE return_visits SET state = $2, next_at = coalesce($3, next_at), last_result = $4,"
            " rating = coalesce($5, rating), node = '', updated_at = $6 WHERE id = $1 AND state = 'dialling'",
            visit_id, then.state, then.at, result.reason or ("rated" if result.rating else ""), result.rating, now,
        )

    async def cancel(self, visit_id: int, reason: str, now: datetime) -> None:
        await self._pool.execute(
            "UPDATE return_visits SET state = 'cancelled', last_result = $2, node = '', updated_at = $3"
            " WHERE id = $1", visit_id, reason, now)

    async def interrupted(self) -> list[Visit]:
        """Visits this node was dialling when it stopped (their calls are gone)."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM return_visits WHERE state = 'dialling' AND node = $1", self.node)  # noqa: S608 (constant column list)
        return [_visit(r) for r in rows]

    async def listing(self, state: str | None, limit: int) -> list[Visit]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM return_visits WHERE ($1::text IS NULL OR state = $1)"  # noqa: S608 (constant column list)
            f" ORDER BY next_at, id LIMIT $2", state, limit)
        return [_visit(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT state, count(*) AS n FROM return_visits GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    async def ratings(self) -> dict[str, int]:
        rows = await self._pool.fetch(
            "SELECT rating, count(*) AS n FROM return_visits WHERE rating IS NOT NULL GROUP BY rating")
        return {r["rating"]: int(r["n"]) for r in rows}
