"""Writes the database must get even through an outage: call records and queue state.

A write runs at once while nothing waits before it. When PostgreSQL cannot be reached (a
connection fault, or no answer within ``timeout``), the write is kept in memory, in order, and the
caller goes on as if it were stored: the ACD keeps queueing and connecting callers from memory.
A single task replays what was kept, oldest first, until the database takes it; meanwhile new
writes queue behind (so a queue row never lands before its call's record). Every write given to
the journal is idempotent (an upsert, or an update that changes nothing the second time): a write
that timed out but did land is harmless when replayed. A write the database refuses for another
reason is logged and dropped after a few tries, so one bad row cannot hold back the rest; the
backlog is bounded (``limit``), beyond which the oldest writes are dropped, counted and logged.

What is kept lives in memory only: if the service itself dies during an outage, those writes are
lost (the README's durability table says so).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg

from ari_app.logs import get_logger

log = get_logger("store.journal")
T = TypeVar("T")
OUTAGE = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
          asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)
RETRY_INITIAL, RETRY_MAX = 0.2, 5.0
REFUSALS = 3  # tries of a write the database refuses (not an outage) before it is dropped


@dataclass
class _Kept:
    what: str
    op: Callable[[], Awaitable[object]]
    refusals: int = 0


class WriteJournal:
    def __init__(self, timeout: float = 2.0, limit: int = 100_000) -> None:
        self.timeout, self.limit = timeout, limit
        self._backlog: deque[_Kept] = deque()
        self._replayer: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        self.kept = 0  # writes ever kept for later
        self.dropped = 0  # writes given up (refused, or beyond the limit)

    @property
    def behind(self) -> int:
        """Writes kept and not yet stored."""
        return len(self._backlog)

    async def write(self, what: str, op: Callable[[], Awaitable[T]]) -> T | None:
        """``op``'s result, or None when it was kept for later (the database is out of reach)."""
        if not self._backlog:
            try:
                return await asyncio.wait_for(op(), self.timeout)
            except OUTAGE as exc:
                log.warning("database_write_delayed", what=what, error=type(exc).__name__)
            except asyncpg.ForeignKeyViolationError:
                if not self._backlog:  # not for want of a row kept meanwhile (its call's record): a real error
                    raise
        self._keep(_Kept(what, op))
        return None

    async def caught_up(self, timeout: float) -> bool:
        """Wait until nothing is kept (True), or ``timeout`` seconds (False)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), timeout)
        return not self._backlog

    async def close(self, timeout: float = 5.0) -> None:
        """Store what is kept (within ``timeout``), then stop replaying."""
        if not await self.caught_up(timeout):
            log.error("database_writes_lost_at_stop", writes=len(self._backlog))
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer

    def _keep(self, kept: _Kept) -> None:
        if len(self._backlog) >= self.limit:
            oldest = self._backlog.popleft()
            self.dropped += 1
            log.error("database_write_dropped", what=oldest.what, reason="backlog full", limit=self.limit)
        self._backlog.append(kept)
        self.kept += 1
        self._caught_up.clear()
        if self._replayer is None or self._replayer.done():
            self._replayer = asyncio.get_running_loop().create_task(self._replay(), name="database-journal")

    async def _replay(self) -> None:
        pause, replayed = RETRY_INITIAL, 0
        while self._backlog:
            kept = self._backlog[0]
            try:
                await asyncio.wait_for(kept.op(), self.timeout)
            except OUTAGE:
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)
                continue
            except asyncpg.PostgresError as exc:
                kept.refusals += 1
                if kept.refusals < REFUSALS:
                    await asyncio.sleep(pause)
                    continue
                self.dropped += 1
                log.error("database_write_dropped", what=kept.what, reason=type(exc).__name__)
            if self._backlog and self._backlog[0] is kept:
                self._backlog.popleft()
            replayed += 1
            pause = RETRY_INITIAL
        self._caught_up.set()
        log.info("database_caught_up", replayed=replayed, dropped=self.dropped)
