"""Call events written behind the call, in batches: one database round trip for all the events
of a moment, instead of one per event.

A flow adds an event and goes on at once; a single writer task takes whatever is waiting and
inserts it with one ``executemany`` (its own time of occurrence kept, not the time of writing).
Nobody waits for an event to be stored, so the writer lets them gather for ``linger`` seconds
after the first one before it writes (at 20 calls/s about six events of several calls per round
trip instead of one: each round trip costs the service more than the rows in it). ``flush()`` cuts
that short and waits until everything added so far is stored: events are read only after it.
A batch the database refuses (a connection fault) is kept and retried with a growing pause; a row
refused because its call has no record yet is kept for ``record_grace`` seconds from its adding (the
record may still be on its way: the FastAGI route opens it behind the channel), then, as a row it
can never take (opening the record failed), dropped with an error; such rows are written one by one
so they do not sink the others.
The queue is bounded: beyond ``MAX_PENDING`` waiting rows new ones are dropped, counted and logged,
so a database that stays down cannot grow memory without end. Rows of a call whose record the write
journal still keeps (an outage, or a slow database being caught up) wait in the queue while the
other calls' rows are written: one kept record does not hold back every call's events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ari_app import codec
from ari_app.logs import get_logger

log = get_logger("store.events")

INSERT = "INSERT INTO call_events (call_id, at, kind, detail) VALUES ($1, $2, $3, $4::jsonb)"
MAX_BATCH = 500
MAX_PENDING = 50_000
RETRY_INITIAL, RETRY_MAX = 0.2, 5.0
DEFERRED_LOOK = 0.1  # seconds between looks while every waiting row's record is kept (no fault of ours)
RECORD_GRACE = 5.0  # seconds a row may wait for its call's record to be opened
LINGER = 0.05  # seconds the first waiting event waits for others to share its round trip

Row = tuple[str, datetime, str, str, datetime]  # call id, time, kind, detail (the INSERT's arguments); added at


class RecordsPending(Exception):
    """A batch names calls whose records are still kept by the write journal: retry it later."""


class EventWriter:
    def __init__(self, pool: asyncpg.Pool, records_pending: Callable[[str], bool] = lambda call_id: False) -> None:
        """``records_pending(call_id)``: whether the call's record is waiting to be written (a database
        outage is being caught up): its rows wait meanwhile, and a row refused for want of its call's
        record is retried, not dropped."""
        self._pool = pool
        self._records_pending = records_pending
        self._pending: deque[Row] = deque()
        self._outstanding: dict[str, int] = {}  # call id -> its rows added and not yet written or given up
        self._added = 0  # rows ever added (dropped ones included)
        self._done = 0  # rows ever written or given up
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # somebody waits for the events: no lingering
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.record_grace = RECORD_GRACE
        self.linger = LINGER
        self.held_back = 0  # times a row was held back for its call's record
        self.dropped = 0
        self.batches = 0  # batches written (round trips, but for the one-by-one fallback)

    @property
    def pending(self) -> int:
        """Events added and not yet stored (waiting, or in the batch on its way) nor given up."""
        return self._added - self._done

    def settled(self, call_id: str) -> bool:
        """Whether every event of the call added so far is stored or given up."""
        return call_id not in self._outstanding

    def add(self, call_id: str, kind: str, detail: dict[str, Any], at: datetime | None = None) -> None:
        """Queue an event of a call, stamped ``at`` (default: now)."""
        self._added += 1
        if len(self._pending) >= MAX_PENDING:
            self._given_up(1, "queue full")
            return
        now = datetime.now(UTC)
        self._pending.append((call_id, at or now, kind, codec.dumps(detail), now))
        self._outstanding[call_id] = self._outstanding.get(call_id, 0) + 1
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="call-event-writer")

    async def flush(self, timeout: float = 10.0, call_id: str | None = None) -> bool:
        """Wait until every event added so far (of ``call_id`` only, if given) is stored or given up;
        False on timeout."""
        target = self._added

        def done() -> bool:
            return self._done >= target if call_id is None else call_id not in self._outstanding

        if done():
            return True
        self._hurry.set()
        async with self._progress:
            try:
                await asyncio.wait_for(self._progress.wait_for(done), timeout)
            except TimeoutError:
                return False
        return True

    async def close(self, timeout: float = 5.0) -> None:
        """Write what is waiting (within ``timeout``), then stop the writer."""
        if not await self.flush(timeout):
            log.error("call_events_unwritten_at_stop", pending=len(self._pending))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        pause = RETRY_INITIAL
        while True:
            if not self._pending:
                self._wake.clear()
                self._hurry.clear()
                await self._wake.wait()
            await self._gather()
            taken = self._take()
            batch = [row for row in taken if not self._records_pending(row[0])]
            if not batch:  # every waiting row's call record is still kept by the journal: look again soon
                self._pending.extendleft(reversed(taken))
                await asyncio.sleep(DEFERRED_LOOK)
                continue
            try:
                early = await self._write(batch)
            except asyncio.CancelledError:
                self._pending.extendleft(reversed(taken))
                raise
            except Exception as exc:  # a broken connection, or asyncpg confused by one: keep the rows, retry
                self._pending.extendleft(reversed(taken))
                log.error("call_events_write_failed", error=type(exc).__name__, pending=len(self._pending),
                          retry_in=pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)
                continue
            pause = RETRY_INITIAL
            held = {id(row) for row in early}
            done = {id(row) for row in batch}
            self._pending.extendleft(reversed([row for row in taken if id(row) not in done]))
            await self._advance([row for row in batch if id(row) not in held])
            if early:  # rows ahead of their call's record: after the others, a moment later
                self._pending.extend(early)
                await asyncio.sleep(RETRY_INITIAL)

    async def _gather(self) -> None:
        """Let more events come before the round trip, unless somebody waits or a batch is full."""
        if self.linger <= 0 or self._hurry.is_set() or len(self._pending) >= MAX_BATCH:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.linger):
                await self._hurry.wait()

    def _take(self) -> list[Row]:
        """Rows from the head of the queue, in order: up to ``MAX_BATCH`` that can be written now,
        with the rows of calls whose record is still kept that come among them."""
        taken: list[Row] = []
        ready = 0
        while self._pending and ready < MAX_BATCH:
            row = self._pending.popleft()
            taken.append(row)
            ready += not self._records_pending(row[0])
        return taken

    async def _write(self, batch: list[Row]) -> list[Row]:
        """Write a batch; return the rows to try again because their call's record may still come."""
        try:
            await self._pool.executemany(INSERT, [row[:4] for row in batch])  # atomic: all rows or none
            self.batches += 1
            return []
        except (asyncpg.ForeignKeyViolationError, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            if isinstance(exc, asyncpg.ForeignKeyViolationError) and any(self._records_pending(r[0]) for r in batch):
                raise RecordsPending from None
        early: list[Row] = []
        now = datetime.now(UTC)
        for row in batch:  # one at a time: only the rows that cannot be written are held back or lost
            try:
                await self._pool.execute(INSERT, *row[:4])
            except asyncpg.ForeignKeyViolationError as exc:
                if (now - row[4]).total_seconds() < self.record_grace:  # from its adding: its time may be older
                    early.append(row)
                    self.held_back += 1
                else:
                    self._refused(row, exc)
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
                self._refused(row, exc)
        return early

    def _refused(self, row: Row, exc: Exception) -> None:
        log.error("call_event_refused", call_id=row[0], kind=row[2], error=type(exc).__name__)
        self.dropped += 1

    def _given_up(self, count: int, reason: str) -> None:
        self.dropped += count
        self._done += count
        log.error("call_events_dropped", count=count, reason=reason, dropped=self.dropped)

    async def _advance(self, rows: list[Row]) -> None:
        self._done += len(rows)
        for row in rows:
            left = self._outstanding.get(row[0], 0) - 1
            if left > 0:
                self._outstanding[row[0]] = left
            else:
                self._outstanding.pop(row[0], None)
        async with self._progress:
            self._progress.notify_all()
