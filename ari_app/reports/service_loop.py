"""The service loop's figures for ``GET /queues``: ratings given after calls in the last 24 hours,
the queue callbacks of the last 24 hours (requested, waiting, connected, failed) and the return
visits (by state, by rating, dialling now). Read from PostgreSQL at most once every
``ttl`` seconds, whatever the request rate, so the queue figures stay cheap to serve."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

RATINGS_SQL = (
    "SELECT count(*) FILTER (WHERE survey_started_at IS NOT NULL) AS asked,"
    " count(*) FILTER (WHERE rating = 'satisfied') AS satisfied,"
    " count(*) FILTER (WHERE rating = 'basically_satisfied') AS basically_satisfied,"
    " count(*) FILTER (WHERE rating = 'unsatisfied') AS unsatisfied"
    " FROM calls WHERE route <> 'return_visit' AND started_at > now() - interval '24 hours'"
)


CALLBACKS_SQL = (
    "SELECT count(*) FILTER (WHERE callback_to <> '') AS requested,"
    " count(*) FILTER (WHERE status = 'callback') AS waiting,"
    " count(*) FILTER (WHERE callback_to <> '' AND status IN ('talking', 'ended')) AS connected,"
    " count(*) FILTER (WHERE status = 'callback_failed') AS failed"
    " FROM queue_calls WHERE enqueued_at > extract(epoch FROM now()) - 86400"
)


class LoopFigures:
    def __init__(
        self, pool: asyncpg.Pool, visits: Callable[[], Awaitable[dict[str, Any]] | None], ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``visits``: the return visits' figures (None while they are not running)."""
        self._pool, self._visits, self._ttl, self._clock = pool, visits, ttl, clock
        self._cached: list[tuple[str, str]] = []
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def members(self) -> list[tuple[str, str]]:
        """(name, value as JSON) pairs to add to the queue figures."""
        async with self._lock:
            if self._clock() - self._at >= self._ttl:
                self._cached = await self._read()
                self._at = self._clock()
            return self._cached

    async def _read(self) -> list[tuple[str, str]]:
        row = await self._pool.fetchrow(RATINGS_SQL)
        asked = int(row["asked"]) if row else 0
        counts = {k: int(row[k]) if row else 0 for k in ("satisfied", "basically_satisfied", "unsatisfied")}
        rated = sum(counts.values())
        ratings = {"asked": asked, "rated": rated, **counts,
                   "satisfaction": round((counts["satisfied"] + counts["basically_satisfied"]) / rated, 4)
                   if rated else None}
        callbacks = await self._pool.fetchrow(CALLBACKS_SQL)
        pending = self._visits()
        visits = await pending if pending is not None else None
        return [("ratings_24h", json.dumps(ratings)),
                ("callbacks_24h", json.dumps({k: int(v) for k, v in dict(callbacks or {}).items()})),
                ("return_visits", json.dumps(visits))]
