"""Writes behind the calls: call records and queue state, never waited for on the call path.

Every write names its ``key``: what it must stay in order with (a call's id for its record and
queue row, ``agent:<id>`` for an agent's state). :meth:`WriteJournal.submit` queues the write and
returns at once (with a future of its result, for the few callers that want it): the ACD and the
flows act on the call from memory and the database follows. A few writer tasks (``lanes``) take
what is queued, each key's writes oldest first and never two batches of one key at a time, and
send many writes of many keys as one batch: one round trip to PostgreSQL (the
``hotline_write_batch`` function of migrations 011 and 012), however many writes it holds. So a database
that answers every statement 200 ms late is written at up to ``MAX_BATCH`` writes per round trip
per lane instead of one, and the backlog does not grow under load; a fast one sees each write
within one round trip of its making, or a moment later: a write nobody waits for lingers up to
``linger`` seconds (50 ms) so that the writes of that moment share one round trip (each round trip
costs the service more CPU than the writes in it: measured, about 14 round trips per call before);
a write somebody waits for (``urgent``: opening a record whose result the call wants) takes along
whatever is queued at once.

When PostgreSQL cannot be reached (a connection fault, or no answer within ``timeout``), the batch
stays queued and is sent again after a growing pause: the ACD keeps queueing and connecting callers
from memory through an outage. Every write is idempotent (an upsert, or an update that changes
nothing the second time): a batch that timed out but did land is harmless when sent again. A write
the database refuses for another reason is tried again a few times, alone, then dropped and logged,
so one bad row cannot hold back the rest; the backlog is bounded (``limit``), beyond which the
oldest writes are dropped, counted and logged.

What is queued lives in memory only: if the service itself dies, the writes not yet stored are lost
(normally the last round trip's; through an outage, all of the outage's; the README's durability
table says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ari_app import codec
from ari_app.logs import get_logger

log = get_logger("store.journal")
OUTAGE = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
          asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError)
RETRY_INITIAL, RETRY_MAX = 0.2, 5.0
REFUSALS = 3  # tries of a write the database refuses (not an outage) before it is dropped
MAX_BATCH = 200  # writes per round trip
MAX_ARGS = 12  # arguments a statement may take (the batch function passes $1..$12)
READY_LOOK = 0.05  # seconds between looks while every queued write waits for something (its call's events)
LINGER = 0.05  # seconds a write nobody waits for may wait for others to share its round trip
BATCH_SQL = "SELECT hotline_write_batch($1::jsonb)"
COUNTED = " RETURNING 1"  # what a write that returns nothing gets in a batch: its rows written, counted

Result = dict[str, Any]  # {"n": rows, "row": {...} (asked for)} | {"error": sqlstate, "message": ...}
BatchRunner = Callable[[Sequence["Write"]], Awaitable[list[Result]]]


def as_text(value: object) -> str | None:
    """A statement argument as the text PostgreSQL reads back to the same value (the statement casts
    it): None stays NULL; floats keep every digit; times need their zone. A NUL, which no text column
    can hold, becomes U+FFFD rather than sinking the batch."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"a time without a zone cannot be stored: {value!r}")
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    raise TypeError(f"cannot pass a {type(value).__name__} to a queued write")


def counts(sql: str) -> bool:
    """Whether ``sql`` gets ``COUNTED`` in a batch: an INSERT, UPDATE or DELETE without RETURNING."""
    return sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE") and "RETURNING" not in sql.upper()


@dataclass
class Write:
    what: str  # what kind of write (logs, and the event writer's look at a call's oldest write)
    key: str
    sql: str  # takes its arguments as $1..$n, each cast to its type where it is used
    args: tuple[object, ...]
    row: bool = False  # the result carries the statement's first row
    ready: Callable[[], bool] | None = None  # may it be sent now (a close: once its call's events are stored)
    ready_within: float = 10.0  # seconds of the database answering after which it goes whatever ``ready`` says
    ready_by: float = 0.0  # that moment (monotonic), once the clock runs
    refusals: int = 0
    alone: bool = False  # sent in a batch of its own (its last batch was refused as a whole)
    urgent: bool = False  # somebody waits for it: sent at once, with whatever else is queued
    not_before: float = 0.0  # monotonic: a refused write waits a moment before its next try
    done: asyncio.Future[Result | None] | None = field(default=None, repr=False)
    texts: list[str | None] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.texts = [as_text(a) for a in self.args]  # a value that cannot be passed fails its maker now

    def op(self) -> dict[str, Any]:
        """As the batch function takes it (migration 012: its "n" is the rows the statement returns)."""
        return {"k": self.key, "s": self.sql + COUNTED if counts(self.sql) else self.sql, "a": self.texts,
                "r": self.row}

    def sendable(self, now: float, clock_runs: bool) -> bool:
        """``clock_runs``: the database answers, so the wait for ``ready`` counts (through an outage
        what the write waits for, its call's events, cannot be stored either)."""
        if now < self.not_before:
            return False
        if self.ready is None or self.ready():
            return True
        if not clock_runs:  # starts again once the database answers
            self.ready_by = 0.0
            return False
        if not self.ready_by:
            self.ready_by = now + self.ready_within
        return now >= self.ready_by

    def resolve(self, result: Result | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(result)


async def run_now(pool: asyncpg.Pool, sql: str, args: Sequence[object], row: bool) -> Result:
    """A write run at once as its own statement (prepared and cached by asyncpg), its result as the
    batch function gives it."""
    if row:
        found = await pool.fetchrow(sql, *args)
        return {"n": int(found is not None), "row": dict(found) if found is not None else None}
    status: str = await pool.execute(sql, *args)
    return {"n": int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0}


def pool_runner(pool: asyncpg.Pool) -> BatchRunner:
    """Send a batch to PostgreSQL in one round trip: a write alone as its own prepared statement (the
    common case with a fast database: the batch function plans every statement afresh and runs it in a
    subtransaction, which doubled PostgreSQL's CPU per call), several through the batch function."""
    async def run(batch: Sequence[Write]) -> list[Result]:
        if len(batch) == 1:
            return [await run_now(pool, batch[0].sql, batch[0].args, batch[0].row)]
        raw = await pool.fetchval(BATCH_SQL, codec.dumps([w.op() for w in batch]))
        results: list[Result] = codec.loads(raw)
        if len(results) != len(batch):
            raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        return results
    return run


class WriteJournal:
    def __init__(self, runner: BatchRunner, timeout: float = 5.0, limit: int = 100_000, lanes: int = 4,
                 linger: float = LINGER) -> None:
        self._run = runner
        self.timeout, self.limit, self.lanes, self.linger = timeout, limit, lanes, linger
        self._urgent = 0  # queued writes somebody waits for
        self._timer: asyncio.TimerHandle | None = None  # wakes the writers when the linger is over
        self._held = False  # the last look found a write that may not go yet (its ``ready``, a pause after a refusal)
        self._kept: dict[str, deque[Write]] = {}  # key -> its queued writes, oldest first; keys by age
        self._count = 0
        self._busy: set[str] = set()  # keys with a batch on its way
        self._down = False  # the last batch failed for want of the database; cleared by one that lands
        self._wake = asyncio.Event()
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        self._tasks: list[asyncio.Task[None]] = []
        self.kept = 0  # writes ever queued
        self.stored = 0  # writes stored
        self.dropped = 0  # writes given up (refused, or beyond the limit)
        self.batches = 0  # batches that landed
        self.largest = 0  # most writes in one batch that landed

    @classmethod
    def on_pool(cls, pool: asyncpg.Pool, **options: Any) -> WriteJournal:
        return cls(pool_runner(pool), **options)

    @property
    def behind(self) -> int:
        """Writes queued and not yet stored."""
        return self._count

    def pending(self, key: str) -> bool:
        """Whether writes of ``key`` are queued and not yet stored."""
        return key in self._kept

    def oldest(self, key: str) -> str | None:
        """What the oldest queued write of ``key`` is (its ``what``), or None if none is queued."""
        lane = self._kept.get(key)
        return lane[0].what if lane else None

    def submit(self, what: str, key: str, sql: str, args: Sequence[object], *, row: bool = False,
               ready: Callable[[], bool] | None = None, ready_within: float = 10.0,
               urgent: bool = False) -> asyncio.Future[Result | None]:
        """Queue a write; its future gets the result once stored (None if it was dropped). ``ready``:
        the write waits until it says yes, or for ``ready_within`` seconds of the database answering.
        ``urgent``: its maker waits for it; it goes without lingering."""
        if len(args) > MAX_ARGS:
            raise ValueError(f"{what}: {len(args)} arguments, at most {MAX_ARGS}")
        loop = asyncio.get_running_loop()
        write = Write(what, key, sql, tuple(args), row, ready, ready_within, urgent=urgent, done=loop.create_future())
        if self._count >= self.limit:
            self._drop_oldest()
        self._kept.setdefault(key, deque()).append(write)
        self._count += 1
        self._urgent += urgent
        self.kept += 1
        self._caught_up.clear()
        self._nudge(loop)
        if not self._tasks:
            self._tasks = [loop.create_task(self._lane(), name=f"database-writer-{n}") for n in range(self.lanes)]
        assert write.done is not None
        return write.done

    def _nudge(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Wake the writers now if a write is waited for, a full batch is queued or lingering is off;
        else when the linger started by the oldest of the queued writes is over."""
        if self._urgent or self._count >= MAX_BATCH or self.linger <= 0:
            self._wake.set()
        elif self._timer is None:
            self._timer = (loop or asyncio.get_running_loop()).call_later(self.linger, self._linger_over)

    def _linger_over(self) -> None:
        self._timer = None
        self._wake.set()

    async def caught_up(self, timeout: float) -> bool:
        """Wait until nothing is queued (True), or ``timeout`` seconds (False)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), timeout)
        return not self._count

    async def close(self, timeout: float = 5.0) -> None:
        """Store what is queued (within ``timeout``), then stop the writers."""
        self.linger = 0.0
        self._wake.set()
        if not await self.caught_up(timeout):
            log.error("database_writes_lost_at_stop", writes=self._count)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _drop_oldest(self) -> None:
        key = next((k for k in self._kept if k not in self._busy), None)
        if key is None:
            key = next(iter(self._kept))
        lane = self._kept[key]
        oldest = lane.pop() if key in self._busy and len(lane) > 1 else lane.popleft()
        if not lane:
            del self._kept[key]
        self._count -= 1
        self.dropped += 1
        self._urgent -= oldest.urgent
        oldest.resolve(None)
        log.error("database_write_dropped", what=oldest.what, reason="backlog full", limit=self.limit)

    def _take(self) -> list[Write]:
        """The next batch: the oldest keys nobody is sending, each with its writes from the oldest on
        that may go now (a write sent alone goes in a batch of its own)."""
        now, batch = time.monotonic(), list[Write]()
        self._held = False
        for key, lane in self._kept.items():
            if key in self._busy:
                continue
            took = False
            for write in lane:
                if len(batch) >= MAX_BATCH or (write.alone and batch):
                    break
                if not write.sendable(now, not self._down):
                    self._held = True
                    break
                batch.append(write)
                took = True
                if write.alone:
                    break
            if took:
                self._busy.add(key)
            if len(batch) >= MAX_BATCH or (batch and batch[-1].alone):
                break
        return batch

    async def _lane(self) -> None:
        pause = RETRY_INITIAL
        while True:
            if not self._wake.is_set():  # woken by a write waited for, a full batch, or the linger's end
                if self._held:  # and look again soon for a write that waits for something (its call's events)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), READY_LOOK)
                else:
                    await self._wake.wait()
            batch = self._take()
            if not batch:
                self._wake.clear()
                continue
            try:
                landed = await self._send(batch)
            finally:
                self._busy.difference_update(w.key for w in batch)
                if self._count:  # those keys' next writes may go (after a linger, unless waited for)
                    self._nudge()
            if not self._count:
                self._caught_up.set()
            if landed:
                pause = RETRY_INITIAL
            else:  # the database is out of reach: wait, then try again
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)

    async def _send(self, batch: list[Write]) -> bool:
        """Send one batch and settle its writes; False when the database was out of reach (all kept)."""
        try:
            results = await asyncio.wait_for(self._run(batch), self.timeout)
        except OUTAGE as exc:
            if not self._down:
                log.warning("database_write_delayed", what=batch[0].what, writes=self._count,
                            error=type(exc).__name__)
            self._down = True
            return False
        except (asyncpg.PostgresError, ValueError, RuntimeError) as exc:  # the batch as a whole was refused
            log.error("database_batch_refused", writes=len(batch), error=f"{type(exc).__name__}: {exc}"[:300])
            for write in batch:
                self._refused(write, type(exc).__name__, alone=True)
            return True
        if self._down:
            log.info("database_caught_up", writes_behind=self._count, dropped=self.dropped)
        self._down = False
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        for write, result in zip(batch, results, strict=True):
            if "error" in result:
                self._refused(write, f"{result['error']}: {result.get('message', '')}"[:300], alone=False)
            elif not result.get("skipped"):
                self._remove(write)
                self.stored += 1
                write.resolve(result)
        return True

    def _refused(self, write: Write, error: str, *, alone: bool) -> None:
        write.refusals += 1
        write.alone = write.alone or alone
        if write.refusals < REFUSALS:
            write.not_before = time.monotonic() + RETRY_INITIAL * 2 ** write.refusals
            return
        self.dropped += 1
        log.error("database_write_dropped", what=write.what, key=write.key, reason=error)
        self._remove(write)
        write.resolve(None)

    def _remove(self, write: Write) -> None:
        lane = self._kept.get(write.key)
        if not lane or lane[0] is not write:  # dropped meanwhile for the limit
            return
        lane.popleft()
        self._count -= 1
        self._urgent -= write.urgent
        if not lane:
            del self._kept[write.key]


def write_figures(journal: WriteJournal | None) -> dict[str, int]:
    """What ``/readyz`` shows of the writes queued behind the calls: not stored yet, given up, stored,
    and in how many round trips (batches); zeros before the journal exists."""
    if journal is None:
        return {"writes_behind": 0, "writes_dropped": 0, "writes_stored": 0, "write_batches": 0}
    return {"writes_behind": journal.behind, "writes_dropped": journal.dropped, "writes_stored": journal.stored,
            "write_batches": journal.batches}
