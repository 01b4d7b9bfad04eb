"""Call events written behind the call, in batches: one database round trip for all the events
that piled up while the last batch was being written, instead of one per event.

A flow adds an event and goes on at once; a single writer task takes whatever is waiting and
inserts it with one ``executemany`` (its own time of occurrence kept, not the time of writing).
When idle, an event is written at once (one round trip later); under load batches grow by
themselves. ``flush()`` waits until everything added so far is stored: the call record is closed,
and events are read, only after it. A batch the database refuses (a connection fault) is kept and
retried with a growing pause; a row refused because its call has no record yet is kept for
``record_grace`` seconds from its time (the record may still be on its way: the FastAGI route opens
it behind the channel), then, as a row it can never take (opening the record failed), dropped with
an error; such rows are written one by one so they do not sink the others.
The queue is bounded: beyond ``MAX_PENDING`` waiting rows new ones are dropped, counted and logged,
so a database that stays down cannot grow memory without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ari_app.logs import get_logger

log = get_logger("store.events")

INSERT = "INSERT INTO call_events (call_id, at, kind, detail) VALUES ($1, $2, $3, $4::jsonb)"
MAX_BATCH = 500
MAX_PENDING = 50_000
RETRY_INITIAL, RETRY_MAX = 0.2, 5.0
RECORD_GRACE = 5.0  # seconds a row may wait for its call's record to be opened

Row = tuple[str, datetime, str, str]


class RecordsPending(Exception):
    """A batch names calls whose records are still kept by the write journal: retry it later."""


class EventWriter:
    def __init__(self, pool: asyncpg.Pool, records_pending: Callable[[], bool] = lambda: False) -> None:
        """``records_pending``: whether call records are waiting to be written (a database outage
        is being caught up): a row refused for want of its call's record is then retried, not dropped."""
        self._pool = pool
        self._records_pending = records_pending
        self._pending: deque[Row] = deque()
        self._added = 0  # rows ever added (dropped ones included)
        self._done = 0  # rows ever written or given up
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.record_grace = RECORD_GRACE
        self.held_back = 0  # times a row was held back for its call's record
        self.dropped = 0
        self.batches = 0  # batches written (round trips, but for the one-by-one fallback)

    def add(self, call_id: str, kind: str, detail: dict[str, Any]) -> None:
        """Queue an event of a call, stamped now."""
        self._added += 1
        if len(self._pending) >= MAX_PENDING:
            self._given_up(1, "queue full")
            return
        self._pending.append((call_id, datetime.now(UTC), kind, json.dumps(detail, ensure_ascii=False)))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="call-event-writer")

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event added so far is stored (or given up); False on timeout."""
        target = self._added
        if self._done >= target:
            return True
        async with self._progress:
            try:
                await asyncio.wait_for(self._progress.wait_for(lambda: self._done >= target), timeout)
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
                await self._wake.wait()
            batch = [self._pending[i] for i in range(min(MAX_BATCH, len(self._pending)))]
            try:
                early = await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken connection, or asyncpg confused by one: keep the rows, retry
                log.error("call_events_write_failed", error=type(exc).__name__, pending=len(self._pending),
                          retry_in=pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)
                continue
            pause = RETRY_INITIAL
            for _ in batch:
                self._pending.popleft()
            await self._advance(len(batch) - len(early))
            if early:  # rows ahead of their call's record: after the others, a moment later
                self._pending.extend(early)
                await asyncio.sleep(RETRY_INITIAL)

    async def _write(self, batch: list[Row]) -> list[Row]:
        """Write a batch; return the rows to try again because their call's record may still come."""
        try:
            await self._pool.executemany(INSERT, batch)  # atomic: all rows or none
            self.batches += 1
            return []
        except (asyncpg.ForeignKeyViolationError, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            if isinstance(exc, asyncpg.ForeignKeyViolationError) and self._records_pending():
                raise RecordsPending from None
        early: list[Row] = []
        now = datetime.now(UTC)
        for row in batch:  # one at a time: only the rows that cannot be written are held back or lost
            try:
                await self._pool.execute(INSERT, *row)
            except asyncpg.ForeignKeyViolationError as exc:
                if (now - row[1]).total_seconds() < self.record_grace:
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

    async def _advance(self, count: int) -> None:
        self._done += count
        async with self._progress:
            self._progress.notify_all()
