"""Call records: open, answer, close, events, and the queries behind ``hotline calls``.

Events are written behind the call in batches (ari_app.store.event_writer); closing a record and
reading a call's events wait until its events are stored."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from ari_app.metrics import instruments
from ari_app.store.event_writer import EventWriter
from ari_app.store.journal import WriteJournal

T = TypeVar("T")


def dialplan_time(text: str) -> datetime | None:
    """A time the dialplan wrote (``STRFTIME(,UTC,%Y-%m-%d %H:%M:%S.%3q)``), or None if empty or not one."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    channel_id: str
    hotline: str
    caller: str
    route: str
    node: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    rating: str | None = None  # the caller's rating after the call, or None (not rated)
    degraded: bool = False  # recorded from the dialplan's call spool: served while the service was down

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "call_id": self.call_id,
            "channel_id": self.channel_id,
            "hotline": self.hotline,
            "caller": self.caller,
            "route": self.route,
            "node": self.node,
            "started_at": iso(self.started_at),
            "answered_at": iso(self.answered_at),
            "ended_at": iso(self.ended_at),
            "outcome": self.outcome,
            "rating": self.rating,
            "degraded": self.degraded,
        }


_COLUMNS = ("call_id, channel_id, hotline, caller, route, node, started_at, answered_at, ended_at, outcome, rating,"
            " degraded")


@dataclass(frozen=True)
class Opened:
    created: bool  # the record is new (not opened before by the FastAGI route or a previous run)
    recent_calls: int  # calls from the same caller in the last days asked (0 for an unknown caller)


_UPSERT = (
    "INSERT INTO calls (call_id, channel_id, hotline, caller, route, node, started_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (call_id) DO UPDATE SET route = EXCLUDED.route, node = EXCLUDED.node"
    " WHERE calls.ended_at IS NULL"
    " RETURNING (xmax = 0) AS created"
)

# The snapshot the count reads does not hold the row being opened (and it is excluded anyway).
_OPEN_COUNTING_RECENT = (
    f"WITH opened AS ({_UPSERT})"  # noqa: S608 (constant text, no input)
    " SELECT (SELECT created FROM opened) AS created,"
    " CASE WHEN $4 = '' THEN 0 ELSE (SELECT count(*) FROM calls WHERE caller = $4 AND call_id <> $1"
    " AND started_at > now() - make_interval(days => $8)) END AS recent"
)


class CallStore:
    def __init__(self, pool: asyncpg.Pool, node: str, journal: WriteJournal | None = None) -> None:
        """``journal``: writes kept through a database outage (None: written at once, or raise)."""
        self._pool = pool
        self.node = node
        self.journal = journal
        # A call's events wait while the insert of its record is kept: the oldest of its kept writes
        # (a later, second insert, say the FastAGI route's, does not count: the call's close, kept
        # before it, waits for the events in turn).
        self.events_behind = EventWriter(
            pool, records_pending=lambda call_id: bool(journal and journal.oldest(call_id) == "call_open"))

    async def _write(self, what: str, call_id: str, op: Callable[[], Awaitable[T]]) -> T | None:
        """``op`` now, or kept by the journal through an outage (None then), in order with the
        call's other writes. Times are taken by the caller, so a write stored late carries the
        moment it happened."""
        if self.journal is None:
            return await op()
        return await self.journal.write(what, op, key=call_id)

    async def open(self, call_id: str, channel_id: str, hotline: str, caller: str, route: str) -> bool:
        """Create the record, or bring an existing open one up to date with the route now taken
        (the FastAGI route opens it, the Stasis app takes it over). True if it was created."""
        at = datetime.now(UTC)
        created = await self._write("call_open", call_id, lambda: self._pool.fetchval(
            _UPSERT, call_id, channel_id, hotline, caller, route, self.node, at))
        if created:
            instruments.call_recorded(hotline, route)
        return bool(created)

    async def open_counting_recent(
        self, call_id: str, channel_id: str, hotline: str, caller: str, route: str, days: int,
    ) -> Opened:
        """:meth:`open`, and in the same round trip the caller's other calls in the last ``days``."""
        at = datetime.now(UTC)
        row = await self._write("call_open", call_id, lambda: self._pool.fetchrow(
            _OPEN_COUNTING_RECENT, call_id, channel_id, hotline, caller, route, self.node, at, days,
        ))
        if row and row["created"]:
            instruments.call_recorded(hotline, route)
        return Opened(bool(row["created"]), int(row["recent"])) if row else Opened(False, 0)

    async def open_if_absent(
        self, call_id: str, hotline: str, caller: str, route: str, started_at: datetime | None = None
    ) -> bool:
        """Create the record unless the call has one already (the Stasis app may have opened it
        first: its route stands). ``started_at``: when the call was seen (default: now). True if it
        was created."""
        at = started_at or datetime.now(UTC)
        status = await self._write("call_open", call_id, lambda: self._pool.execute(
            "INSERT INTO calls (call_id, channel_id, hotline, caller, route, node, started_at)"
            " VALUES ($1, $1, $2, $3, $4, $5, $6) ON CONFLICT (call_id) DO NOTHING",
            call_id, hotline, caller, route, self.node, at,
        ))
        if status == "INSERT 0 1":
            instruments.call_recorded(hotline, route)
        return bool(status == "INSERT 0 1")

    async def answered(self, call_id: str) -> None:
        at = datetime.now(UTC)
        await self._write("call_answered", call_id, lambda: self._pool.execute(
            "UPDATE calls SET answered_at = coalesce(answered_at, $2) WHERE call_id = $1", call_id, at))

    async def close(self, call_id: str, outcome: str) -> bool:
        """Close an open record once its events are stored; closing twice keeps the first outcome."""
        at = datetime.now(UTC)

        async def close() -> str:
            await self.events_behind.flush(call_id=call_id)
            status: str = await self._pool.execute(
                "UPDATE calls SET ended_at = $3, outcome = $2 WHERE call_id = $1 AND ended_at IS NULL",
                call_id, outcome, at)
            return status

        return await self._write("call_close", call_id, close) == "UPDATE 1"

    async def close_with_route(
        self, call_id: str, route: str, outcome: str, answered_at: datetime | None = None
    ) -> bool:
        """Close a record the app does not own, with the route the dialplan ended on and the time
        the dialplan answered the caller (None: it did not)."""
        at = datetime.now(UTC)

        async def close() -> str:
            await self.events_behind.flush(call_id=call_id)
            status: str = await self._pool.execute(
                "UPDATE calls SET ended_at = $5, outcome = $3, route = CASE WHEN $2 = '' THEN route ELSE $2 END,"
                # Asterisk's EPOCH has whole seconds: an answer time derived from it never precedes the start.
                " answered_at = coalesce(answered_at, CASE WHEN $4::timestamptz IS NULL THEN NULL"
                " ELSE greatest($4, started_at) END) WHERE call_id = $1 AND ended_at IS NULL",
                call_id, route, outcome, answered_at, at)
            return status

        return await self._write("call_close", call_id, close) == "UPDATE 1"

    async def survey_started(self, call_id: str) -> None:
        at = datetime.now(UTC)
        await self._write("call_survey", call_id, lambda: self._pool.execute(
            "UPDATE calls SET survey_started_at = $2 WHERE call_id = $1 AND ended_at IS NULL", call_id, at))

    async def rate(self, call_id: str, rating: str) -> None:
        """The caller's rating after the call (the first one stands)."""
        at = datetime.now(UTC)
        await self._write("call_rating", call_id, lambda: self._pool.execute(
            "UPDATE calls SET rating = $2, rated_at = $3 WHERE call_id = $1 AND rating IS NULL", call_id, rating, at))

    async def surveying(self) -> set[str]:
        """Open calls of this node whose caller was being asked for a rating."""
        rows = await self._pool.fetch(
            "SELECT call_id FROM calls WHERE ended_at IS NULL AND survey_started_at IS NOT NULL AND node = $1",
            self.node)
        return {r["call_id"] for r in rows}

    async def event(self, call_id: str, kind: str, **detail: Any) -> None:
        """Queue an event of the call (stamped now, written in the next batch)."""
        self.events_behind.add(call_id, kind, detail)

    async def exists(self, call_id: str) -> bool:
        return bool(await self._pool.fetchval("SELECT 1 FROM calls WHERE call_id = $1", call_id))

    async def open_call_ids(self) -> list[str]:
        rows = await self._pool.fetch(
            "SELECT call_id FROM calls WHERE ended_at IS NULL AND node = $1", self.node
        )
        return [r["call_id"] for r in rows]

    async def latest(self, limit: int) -> list[CallRecord]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM calls ORDER BY started_at DESC, call_id LIMIT $1",  # noqa: S608
            limit,
        )
        return [CallRecord(**dict(r)) for r in rows]

    async def events(self, call_id: str) -> list[dict[str, Any]]:
        await self.events_behind.flush(call_id=call_id)
        rows = await self._pool.fetch(
            "SELECT at, kind, detail FROM call_events WHERE call_id = $1 ORDER BY id", call_id
        )
        return [{"at": r["at"].isoformat(), "kind": r["kind"], "detail": json.loads(r["detail"])} for r in rows]
