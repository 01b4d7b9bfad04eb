"""Writes the database must get even through an outage: call records and queue state.

Every write names its ``key``: what it must stay in order with (a call's id for its record and
queue row, ``agent:<id>`` for an agent's state). A write runs at once while nothing of its key is
kept and the database is not known to be down. When PostgreSQL cannot be reached (a connection
fault, or no answer within ``timeout``), the write is kept in memory and the caller goes on as if
it were stored: the ACD keeps queueing and connecting callers from memory. Until a replay lands
again every new write is kept at once (callers do not wait out a timeout at every step); the
writes of one key are replayed oldest first, several keys at a time (``lanes``), so a database
that is slow rather than down (every statement 200 ms late, say) is caught up at ``lanes`` writes
per round trip instead of one, and the backlog does not grow without end under load. Every write
given to the journal is idempotent (an upsert, or an update that changes nothing the second
time): a write that timed out but did land is harmless when replayed. A write the database
refuses for another reason is logged and dropped after a few tries, so one bad row cannot hold
back the rest; the backlog is bounded (``limit``), beyond which the oldest writes are dropped,
counted and logged.

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
    key: str = ""
    refusals: int = 0


class WriteJournal:
    def __init__(self, timeout: float = 2.0, limit: int = 100_000, lanes: int = 6) -> None:
        self.timeout, self.limit, self.lanes = timeout, limit, lanes
        self._kept: dict[str, deque[_Kept]] = {}  # key -> its kept writes, oldest first; keys by age
        self._count = 0
        self._busy: set[str] = set()  # keys being replayed now
        self._down = False  # the last try failed for want of the database; cleared by one that lands
        self._replayer: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        self.kept = 0  # writes ever kept for later
        self.dropped = 0  # writes given up (refused, or beyond the limit)

    @property
    def behind(self) -> int:
        """Writes kept and not yet stored."""
        return self._count

    def pending(self, key: str) -> bool:
        """Whether writes of ``key`` are kept and not yet stored."""
        return key in self._kept

    def oldest(self, key: str) -> str | None:
        """What the oldest kept write of ``key`` is (its ``what``), or None if none is kept."""
        lane = self._kept.get(key)
        return lane[0].what if lane else None

    async def write(self, what: str, op: Callable[[], Awaitable[T]], key: str = "") -> T | None:
        """``op``'s result, or None when it was kept for later (the database is out of reach)."""
        if not self._down and key not in self._kept:
            try:
                return await asyncio.wait_for(op(), self.timeout)
            except OUTAGE as exc:
                self._down = True
                log.warning("database_write_delayed", what=what, error=type(exc).__name__)
            except asyncpg.ForeignKeyViolationError:
                if not self._count:  # not for want of a row kept meanwhile (its call's record): a real error
                    raise
        self._keep(_Kept(what, op, key))
        return None

    async def caught_up(self, timeout: float) -> bool:
        """Wait until nothing is kept (True), or ``timeout`` seconds (False)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), timeout)
        return not self._count

    async def close(self, timeout: float = 5.0) -> None:
        """Store what is kept (within ``timeout``), then stop replaying."""
        if not await self.caught_up(timeout):
            log.error("database_writes_lost_at_stop", writes=self._count)
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer

    def _keep(self, kept: _Kept) -> None:
        if self._count >= self.limit:
            self._drop_oldest()
        self._kept.setdefault(kept.key, deque()).append(kept)
        self._count += 1
        self.kept += 1
        self._caught_up.clear()
        if self._replayer is None or self._replayer.done():
            self._replayer = asyncio.get_running_loop().create_task(self._replay(), name="database-journal")

    def _drop_oldest(self) -> None:
        key = next((k for k in self._kept if k not in self._busy), None)
        if key is None:
            key = next(iter(self._kept))
        lane = self._kept[key]
        oldest = lane.pop() if key in self._busy and len(lane) > 1 else lane.popleft()
        self._forget(key)
        self._count -= 1
        self.dropped += 1
        log.error("database_write_dropped", what=oldest.what, reason="backlog full", limit=self.limit)

    def _forget(self, key: str) -> None:
        if key in self._kept and not self._kept[key]:
            del self._kept[key]

    async def _replay(self) -> None:
        replayed: list[int] = []
        while self._count:
            replayed += await asyncio.gather(*(self._lane() for _ in range(self.lanes)))
        self._caught_up.set()
        log.info("database_caught_up", replayed=sum(replayed), dropped=self.dropped)

    async def _lane(self) -> int:
        """Replay the oldest writes of the oldest key nobody else is replaying, while there is one."""
        pause, replayed = RETRY_INITIAL, 0
        while (key := next((k for k in self._kept if k not in self._busy), None)) is not None:
            self._busy.add(key)
            try:
                landed = await self._replay_head(key)
            finally:
                self._busy.discard(key)
            if landed is None:  # the database is out of reach: wait, then try again
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)
                continue
            pause = RETRY_INITIAL
            replayed += landed
        return replayed

    async def _replay_head(self, key: str) -> int | None:
        """Replay the key's oldest write: 1 when it landed, 0 when it was given up, None when the
        database was out of reach (it stays kept)."""
        kept = self._kept[key][0]
        try:
            await asyncio.wait_for(kept.op(), self.timeout)
        except OUTAGE:
            self._down = True
            return None
        except asyncpg.PostgresError as exc:
            kept.refusals += 1
            if kept.refusals < REFUSALS:
                return None
            self.dropped += 1
            log.error("database_write_dropped", what=kept.what, reason=type(exc).__name__)
            self._remove(key, kept)
            return 0
        self._down = False
        self._remove(key, kept)
        return 1

    def _remove(self, key: str, kept: _Kept) -> None:
        lane = self._kept.get(key)
        if lane and lane[0] is kept:  # not dropped meanwhile for the limit
            lane.popleft()
            self._count -= 1
            self._forget(key)
