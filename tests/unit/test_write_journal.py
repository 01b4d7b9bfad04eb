"""The write journal: writes run at once while the database answers, are kept in order through an
outage and replayed when it is back, a refused write does not hold back the rest, and the backlog
is bounded. A fake database stands in for PostgreSQL here; test_database_outage.py stops a real one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from ari_app.store import journal as journal_module
from ari_app.store.journal import WriteJournal
from tests.harness.wait import until


class FakeDatabase:
    def __init__(self) -> None:
        self.up = True
        self.stored: list[str] = []
        self.refuse: set[str] = set()

    def op(self, name: str) -> Callable[[], Awaitable[str]]:
        async def write() -> str:
            if not self.up:
                raise ConnectionRefusedError("database down")
            if name in self.refuse:
                raise asyncpg.UniqueViolationError("refused")
            self.stored.append(name)
            return name
        return write


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "RETRY_INITIAL", 0.01)
    monkeypatch.setattr(journal_module, "RETRY_MAX", 0.02)


async def test_writes_go_straight_through_while_the_database_answers() -> None:
    db, journal = FakeDatabase(), WriteJournal()
    assert await journal.write("a", db.op("a")) == "a"
    assert db.stored == ["a"] and journal.behind == 0 and journal.kept == 0


async def test_an_outage_keeps_writes_in_order_and_they_land_when_the_database_is_back() -> None:
    db, journal = FakeDatabase(), WriteJournal()
    db.up = False
    for name in ("open c1", "enqueue c1", "agent 1001 busy"):
        assert await journal.write(name, db.op(name)) is None
    assert journal.behind == 3 and db.stored == []
    db.up = True
    # A write made now, with the backlog not yet replayed, waits its turn behind it.
    assert await journal.write("close c1", db.op("close c1")) is None
    assert await journal.caught_up(2)
    assert db.stored == ["open c1", "enqueue c1", "agent 1001 busy", "close c1"]
    assert journal.behind == 0 and journal.kept == 4 and journal.dropped == 0
    assert await journal.write("open c2", db.op("open c2")) == "open c2"  # straight through again


async def test_a_write_the_database_refuses_is_dropped_after_a_few_tries_without_holding_back_the_rest() -> None:
    db, journal = FakeDatabase(), WriteJournal()
    db.up = False
    db.refuse = {"bad"}
    for name in ("first", "bad", "last"):
        await journal.write(name, db.op(name))
    db.up = True
    assert await journal.caught_up(2)
    assert db.stored == ["first", "last"] and journal.dropped == 1


async def test_a_write_that_does_not_answer_in_time_is_kept() -> None:
    journal = WriteJournal(timeout=0.05)
    hang = asyncio.Event()

    async def slow() -> None:
        await hang.wait()

    assert await journal.write("slow", slow) is None
    assert journal.behind == 1
    hang.set()
    assert await journal.caught_up(2)


async def test_the_backlog_is_bounded_and_drops_the_oldest() -> None:
    db, journal = FakeDatabase(), WriteJournal(limit=3)
    db.up = False
    for n in range(5):
        await journal.write(f"w{n}", db.op(f"w{n}"))
    await until(lambda: journal.behind <= 3, "the backlog held at its limit")
    assert journal.dropped >= 2
    db.up = True
    assert await journal.caught_up(2)
    assert db.stored[-2:] == ["w3", "w4"] and "w0" not in db.stored


async def test_a_real_error_is_raised_while_nothing_is_kept() -> None:
    db, journal = FakeDatabase(), WriteJournal()
    db.refuse = {"bad"}
    with pytest.raises(asyncpg.UniqueViolationError):
        await journal.write("bad", db.op("bad"))
    assert journal.behind == 0


async def test_other_keys_go_straight_through_once_the_database_answers_again() -> None:
    """Writes stay in order within their key only: once a replay has landed, a call with nothing
    kept is written at once while another call's writes wait their turn behind its kept ones."""
    db, journal = FakeDatabase(), WriteJournal()
    db.up = False
    assert await journal.write("open c1", db.op("open c1"), key="c1") is None
    assert await journal.write("open c2", db.op("open c2"), key="c2") is None  # down: kept at once
    db.up = True
    assert journal.pending("c1") and journal.oldest("c1") == "open c1" and journal.oldest("c3") is None
    assert await journal.caught_up(2)
    assert not journal.pending("c1") and journal.oldest("c1") is None
    assert await journal.write("open c3", db.op("open c3"), key="c3") == "open c3"
    assert journal.behind == 0 and db.stored == ["open c1", "open c2", "open c3"]


async def test_a_slow_database_is_caught_up_several_keys_at_a_time_each_in_order() -> None:
    """Every write 50 ms late (a slow database, not a down one): the backlog of 4 calls x 3 writes
    is replayed 4 keys at a time, each call's writes in their order."""
    journal, stored, in_flight, most = WriteJournal(timeout=1.0, lanes=4), [], [0], [0]

    def slow(name: str) -> Callable[[], Awaitable[str]]:
        async def write() -> str:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            await asyncio.sleep(0.05)
            in_flight[0] -= 1
            stored.append(name)
            return name
        return write

    async def down() -> None:
        raise ConnectionRefusedError("down")

    assert await journal.write("first", down, key="c0") is None  # something is kept: the rest waits
    journal._kept["c0"][0].op = slow("c0 w0")  # and the database is back, slow
    for n in range(3):
        for c in range(1, 5):
            assert await journal.write(f"c{c} w{n}", slow(f"c{c} w{n}"), key=f"c{c}") is None
    assert await journal.caught_up(5)
    assert most[0] == 4, most
    for c in range(1, 5):
        assert [s for s in stored if s.startswith(f"c{c} ")] == [f"c{c} w0", f"c{c} w1", f"c{c} w2"]
    assert len(stored) == 13 and journal.behind == 0
