"""What the wallboard shows from PostgreSQL: today's calls per hour by dialed number, answered and
abandoned today, overdue orders per department, orders waiting for a supervisor, return visits due
and the manual list, the staffing report. Read at most once every ``ttl`` seconds whatever the
number of screens open (the live part, from memory, is :mod:`ari_app.console.live`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

import asyncpg

from ari_app.logs import get_logger
from ari_app.web.inputs import DATABASE_ERRORS
from ari_app.workorders.states import State

log = get_logger("console.board")

HOURLY_SQL = (
    "SELECT hotline, extract(hour FROM started_at AT TIME ZONE $2)::int AS hour, count(*) AS calls"
    " FROM calls WHERE started_at >= $1 AND route NOT IN ('return_visit', 'callback') GROUP BY 1, 2"
)
QUEUE_TODAY_SQL = (
    "SELECT count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,"
    " count(*) FILTER (WHERE status = 'abandoned' AND answered_at IS NULL) AS abandoned"
    " FROM queue_calls WHERE enqueued_at >= extract(epoch FROM $1::timestamptz)"
)
OVERDUE_SQL = (
    "SELECT department, count(*) AS n FROM work_orders WHERE deadline < now()"
    " AND state IN ('dispatched', 'accepted') GROUP BY department ORDER BY n DESC, department"
)
SUPERVISOR_SQL = (
    "SELECT number, state, department, deadline, extension::text AS pending FROM work_orders"
    " WHERE state IN ('registered', 'sent_back') OR extension IS NOT NULL"
    " ORDER BY registered_at LIMIT 50"
)
LATEST_ORDERS_SQL = (
    "SELECT number, state, department, hotline, registered_at FROM work_orders"
    " WHERE registered_at >= $1 ORDER BY registered_at DESC LIMIT 10"
)
VISITS_SQL = (
    "SELECT count(*) FILTER (WHERE state = 'scheduled' AND next_at <= now()) AS due,"
    " count(*) FILTER (WHERE state = 'scheduled') AS scheduled,"
    " count(*) FILTER (WHERE state = 'dialling') AS dialling FROM return_visits"
)
MANUAL_SQL = (
    "SELECT number, phone, department, attempts, last_result, updated_at FROM return_visits"
    " WHERE state = 'manual' ORDER BY updated_at DESC LIMIT 50"
)


def _label(state: str) -> str:
    try:
        return State(state).label
    except ValueError:
        return state


def start_of_day(now: datetime, zone: tzinfo) -> datetime:
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class BoardFacts:
    def __init__(
        self, pool: Callable[[], asyncpg.Pool | None], zone: tzinfo, now: Callable[[], datetime],
        staffing: Callable[[], Awaitable[dict[str, Any]]] | None = None, ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic, staffing_ttl: float = 60.0,
    ) -> None:
        """The staffing report reads every order and call count: at most once every ``staffing_ttl`` s."""
        self._pool, self._zone, self._now, self._staffing = pool, zone, now, staffing
        self._ttl, self._clock, self._staffing_ttl = ttl, clock, staffing_ttl
        self._staffing_cached: dict[str, Any] | None = None
        self._staffing_at = float("-inf")
        self._cached: dict[str, Any] = {"available": False}
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def read(self) -> dict[str, Any]:
        """The facts, at most ``ttl`` seconds old; on a database failure the last ones, marked stale."""
        async with self._lock:
            if self._clock() - self._at >= self._ttl:
                self._at = self._clock()
                try:
                    self._cached = await self._read()
                except DATABASE_ERRORS as exc:
                    log.warning("board_facts_unavailable", error=type(exc).__name__)
                    self._cached = {**self._cached, "stale": True}
            return self._cached

    async def _read(self) -> dict[str, Any]:
        pool = self._pool()
        if pool is None:
            return {"available": False}
        since = start_of_day(self._now(), self._zone)
        zone_name = str(getattr(self._zone, "key", "UTC"))
        hourly: dict[str, list[int]] = {}
        for row in await pool.fetch(HOURLY_SQL, since, zone_name):
            hourly.setdefault(row["hotline"], [0] * 24)[int(row["hour"])] = int(row["calls"])
        today = await pool.fetchrow(QUEUE_TODAY_SQL, since)
        visits = await pool.fetchrow(VISITS_SQL)
        facts: dict[str, Any] = {
            "available": True, "stale": False, "day": since.date().isoformat(),
            "hourly": dict(sorted(hourly.items(), key=lambda kv: -sum(kv[1]))),
            "answered_today": int(today["answered"]) if today else 0,
            "abandoned_today": int(today["abandoned"]) if today else 0,
            "overdue": [{"department": r["department"], "orders": int(r["n"])} for r in await pool.fetch(OVERDUE_SQL)],
            "for_supervisor": [
                {"number": r["number"], "state": r["state"], "state_label": _label(r["state"]),
                 "department": r["department"],
                 "deadline": r["deadline"].isoformat() if r["deadline"] else None,
                 "extension": r["pending"] is not None}
                for r in await pool.fetch(SUPERVISOR_SQL)
            ],
            "latest_orders": [
                {"number": r["number"], "state": r["state"], "state_label": _label(r["state"]),
                 "department": r["department"], "hotline": r["hotline"],
                 "at": r["registered_at"].isoformat()} for r in await pool.fetch(LATEST_ORDERS_SQL, since)
            ],
            "visits": {k: int(visits[k]) if visits else 0 for k in ("due", "scheduled", "dialling")},
            "manual_visits": [
                {"number": r["number"], "phone": r["phone"], "department": r["department"], "attempts": r["attempts"],
                 "last_result": r["last_result"], "at": r["updated_at"].isoformat()}
                for r in await pool.fetch(MANUAL_SQL)
            ],
        }
        if self._staffing is not None and self._clock() - self._staffing_at >= self._staffing_ttl:
            self._staffing_cached, self._staffing_at = await self._staffing(), self._clock()
        facts["staffing"] = self._staffing_cached
        return facts
