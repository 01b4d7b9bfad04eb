"""ari_app.store.event_writer.EventWriter with a stand-in pool: the events of a call whose record
the write journal still keeps wait, while other calls' events are written (a slow or returning
database must not hold every call's events behind one kept record); a call's flush waits for its
own events only. tests/integration/test_event_writer.py runs it against PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from ari_app.store import event_writer as module
from ari_app.store.event_writer import EventWriter
from tests.harness.wait import until


class Pool:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    async def executemany(self, _query: str, rows: list[tuple[Any, ...]]) -> None:
        await asyncio.sleep(0)
        self.rows += [(r[0], r[2]) for r in rows]


async def test_events_of_a_call_whose_record_is_kept_wait_and_the_others_go_through(monkeypatch: Any) -> None:
    monkeypatch.setattr(module, "RETRY_INITIAL", 0.01)
    monkeypatch.setattr(module, "RETRY_MAX", 0.02)
    kept = {"c1"}
    pool = Pool()
    writer = EventWriter(pool, records_pending=lambda call_id: call_id in kept)  # type: ignore[arg-type]
    for call_id, kind in (("c1", "answered"), ("c2", "answered"), ("c1", "queued"), ("c2", "queued")):
        writer.add(call_id, kind, {})
    assert await writer.flush(2, call_id="c2")
    assert pool.rows == [("c2", "answered"), ("c2", "queued")]
    assert writer.pending == 2 and not await writer.flush(0.1, call_id="c1")

    kept.clear()  # the record of c1 is written
    assert await writer.flush(2, call_id="c1") and await writer.flush(2)
    assert pool.rows[2:] == [("c1", "answered"), ("c1", "queued")]  # in their order
    assert writer.pending == 0 and writer.dropped == 0
    await writer.close()


async def test_a_close_kept_before_a_second_insert_of_its_record_does_not_wait_forever(monkeypatch: Any) -> None:
    """The journal keeps, for one call: its record's insert, its close (which waits for the call's
    events), then a second insert (the FastAGI route's, written late). The events wait only while
    the oldest kept write is an insert: once the first insert lands they are written, the close
    lands, then the second insert (waiting for any kept insert stalled this: seen in
    tests/integration/test_database_slow.py, 81 writes and 70 events never written)."""
    from ari_app.store import journal as journal_module
    from ari_app.store.journal import Result, Write, WriteJournal

    for mod in (module, journal_module):
        monkeypatch.setattr(mod, "RETRY_INITIAL", 0.01)
        monkeypatch.setattr(mod, "RETRY_MAX", 0.05)
    pool, stored, down = Pool(), [], [True]

    async def run(batch: list[Write]) -> list[Result]:
        if down[0]:
            raise ConnectionRefusedError("down")
        stored.extend(w.sql for w in batch)
        return [{"n": 1} for _ in batch]

    journal = WriteJournal(run, timeout=0.3)  # type: ignore[arg-type]
    writer = EventWriter(pool, records_pending=lambda call_id: journal.oldest(call_id) == "call_open")  # type: ignore[arg-type]
    journal.submit("call_open", "c1", "open", ())
    writer.add("c1", "answered", {})
    journal.submit("call_close", "c1", "close", (), ready=lambda: writer.settled("c1"))
    journal.submit("call_open", "c1", "open again", ())
    down[0] = False
    assert await journal.caught_up(5), (journal.behind, writer.pending)
    assert stored == ["open", "close", "open again"] and pool.rows == [("c1", "answered")]
    await writer.close()
    await journal.close()


async def test_events_linger_to_share_a_round_trip_and_a_flush_cuts_the_linger_short() -> None:
    loop = asyncio.get_running_loop()

    sent_at: list[float] = []  # loop time of each round trip
    pool = Pool()
    plain = pool.executemany

    async def timed(query: str, rows: list[tuple[Any, ...]]) -> None:
        sent_at.append(loop.time())
        await plain(query, rows)

    pool.executemany = timed  # type: ignore[method-assign]
    writer = EventWriter(pool)  # type: ignore[arg-type]
    writer.linger = 30.0  # a linger no test would wait out
    for n in range(4):
        writer.add(f"c{n % 2}", "answered", {})
    assert writer.pending == 4
    started = loop.time()
    assert await writer.flush(2, call_id="c0")  # somebody waits: everything waiting goes, in one round trip
    assert loop.time() - started < 2 and len(sent_at) == 1
    assert pool.rows == [("c0", "answered"), ("c1", "answered")] * 2
    writer.linger = 0.2
    added = loop.time()
    writer.add("c2", "queued", {})
    writer.add("c3", "queued", {})
    await until(lambda: writer.pending == 0, "the lingering events written")
    assert len(sent_at) == 2 and writer.settled("c2") and writer.settled("c3")
    assert sent_at[1] - added >= 0.19  # written together once the linger was over, not at once
    await writer.close()
