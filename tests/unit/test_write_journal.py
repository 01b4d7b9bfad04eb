"""The write journal: writes are queued and never waited for, go to the database many per batch (one
round trip) in order per key, are kept through an outage and land when it is back, a refused write
does not hold back the rest, and the backlog is bounded. A fake database that runs batches as the
``hotline_write_batch`` function does stands in for PostgreSQL here; tests/integration/
test_write_batch.py runs the real function, test_database_outage.py stops a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from ari_app.store import journal as journal_module
from ari_app.store.journal import Result, Write, WriteJournal, as_text, write_figures
from tests.harness.wait import until


class FakeDatabase:
    """Runs a batch as the batch function does: each op alone, a refused op skips its key's later ones."""

    def __init__(self, delay: float = 0.0) -> None:
        self.up = True
        self.delay = delay
        self.stored: list[str] = []
        self.refuse: set[str] = set()  # ops refused one by one
        self.poison: set[str] = set()  # ops that make the whole batch refused
        self.batches: list[list[str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.attempts = 0  # batches tried, refused by an outage included
        self.sent_at: list[float] = []  # loop time of each try

    async def run(self, batch: Sequence[Write]) -> list[Result]:
        self.attempts += 1
        self.sent_at.append(asyncio.get_running_loop().time())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if not self.up:
                raise ConnectionRefusedError("database down")
            if any(w.sql in self.poison for w in batch):
                raise asyncpg.DataError("the batch cannot be read")
            self.batches.append([w.sql for w in batch])
            refused: set[str] = set()
            results: list[Result] = []
            for write in batch:
                if write.key in refused:
                    results.append({"skipped": True})
                elif write.sql in self.refuse:
                    refused.add(write.key)
                    results.append({"error": "23505", "message": "refused"})
                else:
                    self.stored.append(write.sql)
                    results.append({"n": 1, "row": {"name": write.sql}} if write.row else {"n": 1})
            return results
        finally:
            self.in_flight -= 1


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "RETRY_INITIAL", 0.01)
    monkeypatch.setattr(journal_module, "RETRY_MAX", 0.02)


async def test_a_write_is_queued_at_once_and_stored_with_its_result() -> None:
    db = FakeDatabase(delay=0.05)
    journal = WriteJournal(db.run)
    done = journal.submit("open", "c1", "open c1", ("c1",), row=True)
    assert not done.done() and journal.behind == 1 and journal.pending("c1") and journal.oldest("c1") == "open"
    assert await asyncio.wait_for(done, 2) == {"n": 1, "row": {"name": "open c1"}}
    assert journal.behind == 0 and not journal.pending("c1") and journal.oldest("c1") is None
    assert db.stored == ["open c1"] and journal.stored == 1 and journal.kept == 1
    await journal.close()


async def test_writes_made_while_a_batch_is_on_its_way_go_together_in_order_per_key() -> None:
    """A slow database: 2 x 30 writes of 30 keys made at once reach it in a few batches, not 60 round trips."""
    db = FakeDatabase(delay=0.05)
    journal = WriteJournal(db.run, lanes=2)
    for n in range(2):
        for c in range(30):
            journal.submit("w", f"c{c}", f"c{c} w{n}", ())
    assert await journal.caught_up(5)
    assert len(db.batches) <= 4, db.batches
    for c in range(30):
        assert [s for s in db.stored if s.startswith(f"c{c} ")] == [f"c{c} w0", f"c{c} w1"]
    assert journal.stored == 60 and journal.largest >= 30
    await journal.close()


async def test_never_two_batches_of_one_key_at_a_time() -> None:
    db = FakeDatabase(delay=0.02)
    journal = WriteJournal(db.run, lanes=4)
    for n in range(10):
        journal.submit("w", "c1", f"w{n}", ())
        # the next write is made while this one is on its way (or stored already)
        await until(lambda: db.in_flight > 0 or not journal.pending("c1"), "the write on its way")
    assert await journal.caught_up(5)
    assert db.stored == [f"w{n}" for n in range(10)]
    assert db.most_in_flight == 1
    await journal.close()


async def test_an_outage_keeps_writes_in_order_and_they_land_when_the_database_is_back() -> None:
    db = FakeDatabase()
    db.up = False
    journal = WriteJournal(db.run)
    for name in ("open c1", "enqueue c1", "agent 1001 busy"):
        journal.submit(name, "agent:1001" if name.startswith("agent") else "c1", name, ())
    await until(lambda: journal._down, "the outage noticed")
    assert journal.behind == 3 and db.stored == []
    journal.submit("close c1", "c1", "close c1", ())
    db.up = True
    assert await journal.caught_up(2)
    assert [s for s in db.stored if s.endswith("c1")] == ["open c1", "enqueue c1", "close c1"]
    assert journal.behind == 0 and journal.dropped == 0 and not journal._down
    await journal.close()


async def test_a_refused_write_is_dropped_after_a_few_tries_and_holds_back_only_its_key_meanwhile() -> None:
    db = FakeDatabase()
    db.up = False
    db.refuse = {"bad"}
    journal = WriteJournal(db.run)
    first = journal.submit("w", "c1", "first", ())
    bad = journal.submit("w", "c1", "bad", ())
    last = journal.submit("w", "c1", "last", ())
    other = journal.submit("w", "c2", "other", ())
    db.up = True
    assert await journal.caught_up(2)
    assert db.stored.index("first") < db.stored.index("last") and "other" in db.stored
    assert "bad" not in db.stored and journal.dropped == 1
    assert (await first)["n"] == 1 and await bad is None and (await last)["n"] == 1 and await other  # type: ignore[index]
    await journal.close()


async def test_a_batch_refused_as_a_whole_is_split_and_only_the_bad_write_is_lost() -> None:
    db = FakeDatabase()
    db.poison = {"poison"}
    journal = WriteJournal(db.run)
    for name, key in (("a", "c1"), ("poison", "c2"), ("b", "c3")):
        journal.submit(name, key, name, ())
    assert await journal.caught_up(2)
    assert sorted(db.stored) == ["a", "b"] and journal.dropped == 1
    await journal.close()


async def test_a_write_that_does_not_answer_in_time_is_sent_again() -> None:
    slow = FakeDatabase(delay=0.2)
    journal = WriteJournal(slow.run, timeout=0.05)
    journal.submit("w", "c1", "w", ())
    await until(lambda: journal._down, "the timeout taken for an outage")
    slow.delay = 0
    assert await journal.caught_up(2) and slow.stored == ["w"]
    await journal.close()


async def test_the_backlog_is_bounded_and_drops_the_oldest() -> None:
    db = FakeDatabase()
    db.up = False
    journal = WriteJournal(db.run, limit=3)
    dropped = [journal.submit("w", f"c{n}", f"w{n}", ()) for n in range(5)]
    assert journal.behind <= 3 and journal.dropped >= 2
    db.up = True
    assert await journal.caught_up(2)
    assert db.stored[-2:] == ["w3", "w4"] and "w0" not in db.stored
    assert await dropped[0] is None
    await journal.close()


async def test_a_write_waits_until_it_is_ready_or_its_time_is_up() -> None:
    db, ready = FakeDatabase(), [False]
    journal = WriteJournal(db.run)
    journal.submit("open", "c1", "open", ())
    journal.submit("close", "c1", "close", (), ready=lambda: ready[0])
    journal.submit("open", "c2", "other", ())
    await until(lambda: db.stored == ["open", "other"] or db.stored == ["other", "open"], "the ready writes stored")
    assert journal.oldest("c1") == "close"
    ready[0] = True
    assert await journal.caught_up(2) and db.stored[-1] == "close"
    journal.submit("close", "c3", "late close", (), ready=lambda: False, ready_within=0.05)
    assert await journal.caught_up(2) and db.stored[-1] == "late close"
    await journal.close()


async def test_through_an_outage_the_wait_for_ready_does_not_run_out() -> None:
    """A close queued in an outage longer than its wait for the call's events still waits for them
    once the database is back (seen: closes sent before their events, then events not yet stored when
    nothing was left to write)."""
    db, ready = FakeDatabase(), [False]
    db.up = False
    journal = WriteJournal(db.run)
    journal.submit("open", "c1", "open", ())
    journal.submit("close", "c1", "close", (), ready=lambda: ready[0], ready_within=0.05)
    await until(lambda: journal._down, "the outage noticed")
    tried = db.attempts  # eight more tries at growing pauses (>= 0.15 s): longer than the wait, all in the outage
    await until(lambda: db.attempts >= tried + 8, "the outage outlasting the close's wait")
    db.up = True
    await until(lambda: db.stored == ["open"], "the open stored")
    assert journal.oldest("c1") == "close"  # still waiting: its time runs from now
    ready[0] = True
    assert await journal.caught_up(2) and db.stored == ["open", "close"]
    await journal.close()


async def test_close_stores_what_is_queued_and_stops_the_writers() -> None:
    db = FakeDatabase(delay=0.01)
    journal = WriteJournal(db.run)
    for n in range(5):
        journal.submit("w", f"c{n}", f"w{n}", ())
    await journal.close(2)
    assert len(db.stored) == 5 and journal.behind == 0 and not journal._tasks


def test_arguments_go_as_text_the_database_reads_back_to_the_same_value() -> None:
    assert as_text(None) is None and as_text(True) == "true" and as_text(False) == "false"
    assert as_text(7) == "7" and float(as_text(1764541234.123456789) or "") == 1764541234.123456789
    at = datetime(2026, 11, 30, 22, 1, 2, 345678, tzinfo=UTC)
    assert as_text(at) == "2026-11-30T22:01:02.345678+00:00"
    assert as_text(at.astimezone(timezone(timedelta(hours=8)))) == "2026-12-01T06:01:02.345678+08:00"
    assert as_text("a\x00b") == "a\ufffdb" and as_text("菏泽'; --") == "菏泽'; --"
    with pytest.raises(ValueError, match="zone"):
        as_text(datetime(2026, 1, 1))  # a time without its zone
    with pytest.raises(TypeError):
        as_text(object())


async def test_a_write_with_a_value_that_cannot_be_passed_fails_its_maker_and_nothing_is_queued() -> None:
    journal = WriteJournal(FakeDatabase().run)
    with pytest.raises(TypeError):
        journal.submit("w", "c1", "w", ({"a": 1},))
    too_many: tuple[Any, ...] = tuple(range(journal_module.MAX_ARGS + 1))
    with pytest.raises(ValueError, match="arguments"):
        journal.submit("w", "c1", "w", too_many)
    assert journal.behind == 0
    await journal.close()


async def test_readiness_figures_count_queued_stored_and_batches() -> None:
    assert write_figures(None) == {"writes_behind": 0, "writes_dropped": 0, "writes_stored": 0, "write_batches": 0}
    db = FakeDatabase(delay=0.05)
    journal = WriteJournal(db.run)
    dones = [journal.submit("open", f"c{n}", f"open c{n}", (f"c{n}",)) for n in range(3)]
    assert write_figures(journal)["writes_behind"] == 3
    await asyncio.wait_for(asyncio.gather(*dones), 2)
    figures = write_figures(journal)
    assert figures["writes_behind"] == 0 and figures["writes_stored"] == 3 and figures["writes_dropped"] == 0
    assert figures["write_batches"] == len(db.batches) >= 1
    await journal.close()


async def test_writes_nobody_waits_for_linger_and_share_one_round_trip() -> None:
    """A fast database: writes of several calls made within the linger go in one batch, not one each."""
    db = FakeDatabase()
    journal = WriteJournal(db.run, linger=0.2)
    loop = asyncio.get_running_loop()
    made = loop.time()
    for c in range(5):
        journal.submit("w", f"c{c}", f"c{c}", ())
    assert journal.behind == 5
    assert await journal.caught_up(2)
    assert db.batches == [[f"c{c}" for c in range(5)]]
    assert db.sent_at[0] - made >= 0.19  # sent once the linger was over, not at once
    await journal.close()


async def test_a_write_somebody_waits_for_goes_at_once_with_what_is_queued() -> None:
    db = FakeDatabase()
    journal = WriteJournal(db.run, linger=30.0)  # a linger no test would wait out
    journal.submit("w", "agent:1", "agent busy", ())
    journal.submit("w", "c2", "c2 queued", ())
    waited = journal.submit("w", "c1", "c1 to callback", (), row=True, urgent=True)
    assert await asyncio.wait_for(waited, 2) == {"n": 1, "row": {"name": "c1 to callback"}}
    assert db.batches == [["agent busy", "c2 queued", "c1 to callback"]]
    later = journal.submit("w", "c3", "c3 queued", ())  # nothing waited for is queued any more: it lingers
    assert journal.behind == 1
    started = asyncio.get_running_loop().time()
    await journal.close(2)  # a close does not wait out the linger
    assert asyncio.get_running_loop().time() - started < 2
    assert await later == {"n": 1} and db.stored[-1] == "c3 queued" and journal.behind == 0


async def test_a_full_batch_goes_without_lingering() -> None:
    db = FakeDatabase()
    journal = WriteJournal(db.run, linger=30.0)
    for n in range(journal_module.MAX_BATCH):
        journal.submit("w", f"c{n}", f"c{n}", ())
    assert await journal.caught_up(2)
    assert len(db.batches) == 1 and len(db.batches[0]) == journal_module.MAX_BATCH
    await journal.close()
