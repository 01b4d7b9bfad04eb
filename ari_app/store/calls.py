"""Call records: open, answer, close, events, and the queries behind ``hotline calls``.

Writes go behind the call through the write journal (ari_app.store.journal), in order per call; events
are written behind the call in batches (ari_app.store.event_writer); closing a record and reading a
call's events wait until its events are stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ari_app.metrics import instruments
from ari_app.store.event_writer import EventWriter
from ari_app.store.journal import Result, WriteJournal, run_now


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
    degraded: bool = False  # served by app_queue while the app was down or not connected (spool or FastAGI route)

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
    recent_calls: int | None  # calls from the same caller in the last days asked (0 for an unknown caller;
    # None: not known in time, the database being slow or out of reach)


OPEN_WAIT = 1.0  # seconds a flow waits for the caller's recent calls before going on without them

# Every argument is cast where it is used: queued writes pass their arguments as text (journal.py).
_UPSERT = (
    "INSERT INTO calls (call_id, channel_id, hotline, caller, route, node, started_at)"
    " VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::timestamptz)"
    " ON CONFLICT (call_id) DO UPDATE SET route = EXCLUDED.route, node = EXCLUDED.node"
    " WHERE calls.ended_at IS NULL"
    " RETURNING (xmax = 0) AS created"
)

# The snapshot the count reads does not hold the row being opened (and it is excluded anyway).
_OPEN_COUNTING_RECENT = (
    f"WITH opened AS ({_UPSERT})"  # noqa: S608 (constant text, no input)
    " SELECT (SELECT created FROM opened) AS created,"
    " CASE WHEN $4::text = '' THEN 0 ELSE (SELECT count(*) FROM calls WHERE caller = $4::text AND call_id <> $1::text"
    " AND started_at > now() - make_interval(days => $8::int)) END AS recent"
)
_OPEN_IF_ABSENT = (
    "INSERT INTO calls (call_id, channel_id, hotline, caller, route, node, started_at)"
    " VALUES ($1::text, $1::text, $2::text, $3::text, $4::text, $5::text, $6::timestamptz)"
    " ON CONFLICT (call_id) DO NOTHING"
)
_ANSWERED = "UPDATE calls SET answered_at = coalesce(answered_at, $2::timestamptz) WHERE call_id = $1::text"
_CLOSE = ("UPDATE calls SET ended_at = $3::timestamptz, outcome = $2::text WHERE call_id = $1::text"
          " AND ended_at IS NULL")
_CLOSE_WITH_ROUTE = (
    "UPDATE calls SET ended_at = $5::timestamptz, outcome = $3::text,"
    " route = CASE WHEN $2::text = '' THEN route ELSE $2::text END,"
    " degraded = degraded OR $2::text = 'degraded',"  # served by app_queue: the app was not connected
    # Asterisk's EPOCH has whole seconds: an answer time derived from it never precedes the start.
    " answered_at = coalesce(answered_at, CASE WHEN $4::timestamptz IS NULL THEN NULL"
    " ELSE greatest($4::timestamptz, started_at) END) WHERE call_id = $1::text AND ended_at IS NULL"
)
_SURVEY = ("UPDATE calls SET survey_started_at = $2::timestamptz WHERE call_id = $1::text AND ended_at IS NULL")
_RATE = ("UPDATE calls SET rating = $2::text, rated_at = $3::timestamptz WHERE call_id = $1::text"
         " AND rating IS NULL")


async def _within(done: asyncio.Future[Result | None], wait: float) -> Result | None:
    """The result of a queued write if it is stored within ``wait`` seconds (None: later, or not asked)."""
    if wait <= 0:
        return None
    try:
        return await asyncio.wait_for(asyncio.shield(done), wait)
    except TimeoutError:
        return None


async def _opened(written: Awaitable[Result | None]) -> Opened:
    result = await written
    row = result.get("row") if result else None
    return Opened(bool(row["created"]), int(row["recent"])) if row else Opened(False, None)


class CallStore:
    def __init__(self, pool: asyncpg.Pool, node: str, journal: WriteJournal | None = None) -> None:
        """``journal``: writes queued behind the call, kept through an outage (None: written at once, or
        raise)."""
        self._pool = pool
        self.node = node
        self.journal = journal
        # A call's events wait while the insert of its record is queued: the oldest of its queued writes
        # (a later, second insert, say the FastAGI route's, does not count: the call's close, queued
        # after it, waits for the events in turn).
        self.events_behind = EventWriter(
            pool, records_pending=lambda call_id: bool(journal and journal.oldest(call_id) == "call_open"))

    async def _write(
        self, what: str, call_id: str, sql: str, *args: object, row: bool = False, wait: float = 0.0,
        then: Callable[[Result], None] | None = None, after_events: bool = False, urgent: bool | None = None,
    ) -> Result | None:
        """Queue a write of the call, in order with its other writes (without a journal: run it now).
        Its result when ``wait`` > 0 and it is stored within ``wait`` seconds, else None; ``then`` gets
        the result whenever it comes. ``after_events``: not before the call's events are stored.
        ``urgent`` (default: whether it is waited for): sent at once rather than after the journal's
        linger.
        Times are taken by the caller, so a write stored late carries the moment it happened."""
        return await self._queued(what, call_id, sql, *args, row=row, wait=wait, then=then, after_events=after_events,
                                  urgent=urgent)

    def _queued(
        self, what: str, call_id: str, sql: str, *args: object, row: bool = False, wait: float = 0.0,
        then: Callable[[Result], None] | None = None, after_events: bool = False, urgent: bool | None = None,
    ) -> Awaitable[Result | None]:
        """:meth:`_write`, queued now (ahead of whatever the caller queues next); await it for the result."""
        if self.journal is None:
            return self._now(call_id, sql, args, row, then, after_events)
        events = self.events_behind
        done = self.journal.submit(what, call_id, sql, args, row=row, urgent=wait > 0 if urgent is None else urgent,
                                   ready=(lambda: events.settled(call_id)) if after_events else None)
        if then is not None:
            def deliver(future: asyncio.Future[Result | None], then: Callable[[Result], None] = then) -> None:
                result = None if future.cancelled() else future.result()
                if result is not None:
                    then(result)
            done.add_done_callback(deliver)
        return _within(done, wait)

    async def _now(self, call_id: str, sql: str, args: tuple[object, ...], row: bool,
                   then: Callable[[Result], None] | None, after_events: bool) -> Result:
        if after_events:
            await self.events_behind.flush(call_id=call_id)
        result = await run_now(self._pool, sql, args, row)
        if then is not None:
            then(result)
        return result

    @staticmethod
    def _recorded(hotline: str, route: str) -> Callable[[Result], None]:
        def count(result: Result) -> None:
            row = result.get("row")
            if (row.get("created") if isinstance(row, dict) else result.get("n")):
                instruments.call_recorded(hotline, route)
        return count

    async def open(self, call_id: str, channel_id: str, hotline: str, caller: str, route: str) -> bool | None:
        """Create the record, or bring an existing open one up to date with the route now taken
        (the FastAGI route opens it, the Stasis app takes it over). True if it was created (None:
        queued, not known yet)."""
        result = await self._write("call_open", call_id, _UPSERT, call_id, channel_id, hotline, caller, route,
                                   self.node, datetime.now(UTC), row=True, then=self._recorded(hotline, route))
        row = result.get("row") if result else None
        return None if result is None else bool(row and row["created"])

    def open_counting_recent(
        self, call_id: str, channel_id: str, hotline: str, caller: str, route: str, days: int, urgent: bool = False,
        started_at: datetime | None = None,
    ) -> Awaitable[Opened]:
        """:meth:`open`, and in the same round trip the caller's other calls in the last ``days``
        (waited for ``OPEN_WAIT`` seconds at most: the record is opened in any case). Queued when
        called, ahead of the call's later writes; await the result. ``urgent``: the call waits for it
        at once (no greeting meanwhile): not after the journal's linger. ``started_at``: when the call
        began (default: now)."""
        written = self._queued(
            "call_open", call_id, _OPEN_COUNTING_RECENT, call_id, channel_id, hotline, caller, route, self.node,
            started_at or datetime.now(UTC), days, row=True, wait=OPEN_WAIT, then=self._recorded(hotline, route),
            urgent=urgent)
        return _opened(written)

    async def open_if_absent(
        self, call_id: str, hotline: str, caller: str, route: str, started_at: datetime | None = None
    ) -> bool | None:
        """Create the record unless the call has one already (the Stasis app may have opened it
        first: its route stands). ``started_at``: when the call was seen (default: now). True if it
        was created (None: queued, not known yet)."""
        result = await self._write("call_open", call_id, _OPEN_IF_ABSENT, call_id, hotline, caller, route, self.node,
                                   started_at or datetime.now(UTC), then=self._recorded(hotline, route))
        return None if result is None else result.get("n") == 1

    async def answered(self, call_id: str, at: datetime | None = None) -> None:
        """The caller was answered (``at``: when, if before now: by the dialplan)."""
        await self._write("call_answered", call_id, _ANSWERED, call_id, at or datetime.now(UTC))

    async def close(self, call_id: str, outcome: str, wait: float = 0.0) -> bool | None:
        """Close an open record once its events are stored; closing twice keeps the first outcome.
        With ``wait``: whether this closed it (None: not stored within ``wait`` seconds, or not asked)."""
        result = await self._write("call_close", call_id, _CLOSE, call_id, outcome, datetime.now(UTC), wait=wait,
                                   after_events=True)
        return None if result is None else result.get("n") == 1

    async def close_with_route(
        self, call_id: str, route: str, outcome: str, answered_at: datetime | None = None
    ) -> None:
        """Close a record the app does not own, with the route the dialplan ended on and the time
        the dialplan answered the caller (None: it did not)."""
        await self._write("call_close", call_id, _CLOSE_WITH_ROUTE, call_id, route, outcome, answered_at,
                          datetime.now(UTC), after_events=True)

    async def survey_started(self, call_id: str) -> None:
        await self._write("call_survey", call_id, _SURVEY, call_id, datetime.now(UTC))

    async def rate(self, call_id: str, rating: str) -> None:
        """The caller's rating after the call (the first one stands)."""
        await self._write("call_rating", call_id, _RATE, call_id, rating, datetime.now(UTC))

    async def surveying(self) -> set[str]:
        """Open calls of this node whose caller was being asked for a rating."""
        rows = await self._pool.fetch(
            "SELECT call_id FROM calls WHERE ended_at IS NULL AND survey_started_at IS NOT NULL AND node = $1",
            self.node)
        return {r["call_id"] for r in rows}

    async def event(self, call_id: str, kind: str, **detail: Any) -> None:
        """Queue an event of the call (stamped now, written in the next batch)."""
        self.events_behind.add(call_id, kind, detail)

    async def event_at(self, call_id: str, at: datetime | None, kind: str, **detail: Any) -> None:
        """Queue an event of the call that happened at ``at`` (None: now), before the app knew of it."""
        self.events_behind.add(call_id, kind, detail, at)

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
