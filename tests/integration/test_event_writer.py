"""Call events written behind the call, on a real PostgreSQL: batched, in order, flushed before a
record closes, a row the database can never take does not sink its batch, a broken connection
loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ari_app.store.calls import CallStore
from tests.harness.wait import until

pytestmark = pytest.mark.integration


DATABASE = "event_writer"  # a database of its own; these tables are emptied before each test (see conftest.py)
TRUNCATE = "calls"


@pytest.fixture
async def store(pool: asyncpg.Pool) -> AsyncIterator[CallStore]:
    calls = CallStore(pool, "node1")
    yield calls
    await calls.events_behind.close()


async def _kinds(store: CallStore, call_id: str) -> list[str]:
    return [e["kind"] for e in await store.events(call_id)]


async def test_events_arrive_in_order_in_few_round_trips_and_before_the_close(store: CallStore) -> None:
    for n in range(20):
        await store.open(f"c{n}", f"c{n}", "12345", "13900000000", "intake")
    for step in range(50):
        for n in range(20):
            await store.event(f"c{n}", f"step-{step}", n=n)
    assert await store.close("c0", "answered")
    # Closing waited for c0's events: all 50 are there, in the order they happened.
    assert await _kinds(store, "c0") == [f"step-{s}" for s in range(50)]
    batches = store.events_behind.batches
    assert await store._pool.fetchval("SELECT count(*) FROM call_events") == 1000
    assert batches < 20, f"1000 events took {batches} round trips"
    stamps = await store._pool.fetch("SELECT at FROM call_events WHERE call_id = 'c3' ORDER BY id")
    assert [r["at"] for r in stamps] == sorted(r["at"] for r in stamps)
    assert await store.events_behind.flush()


async def test_a_row_without_its_call_is_dropped_alone(store: CallStore) -> None:
    store.events_behind.record_grace = 0.5  # how long a row waits for its call's record to be opened
    await store.open("real", "real", "12345", "", "intake")
    await store.event("real", "before")
    await store.event("no-such-call", "orphan")  # its record was never opened (the database was down)
    await store.event("real", "after")
    assert await store.events_behind.flush()
    assert await _kinds(store, "real") == ["before", "after"]
    assert store.events_behind.dropped == 1


async def test_a_row_ahead_of_its_calls_record_waits_for_it(store: CallStore) -> None:
    # The FastAGI route opens a record behind the channel: an event of the call may reach the
    # database first. It is held back and written once the record is there, not dropped.
    await store.event("late", "degraded")
    await until(lambda: store.events_behind.held_back > 0, "the event refused for want of its record")
    await store.open("late", "late", "12345", "", "degraded")
    assert await store.events_behind.flush()
    assert await _kinds(store, "late") == ["degraded"]
    assert store.events_behind.dropped == 0


async def test_an_event_that_happened_long_before_it_was_added_still_waits_for_its_record(store: CallStore) -> None:
    # The dialplan answered the caller 8 s before the app had the call: the app adds that answer
    # with its own time. The record's wait counts from the adding, not from that time.
    answered = datetime.now(UTC) - timedelta(seconds=8)
    await store.event_at("greeted", answered, "answered")
    await until(lambda: store.events_behind.held_back > 0, "the event refused for want of its record")
    await store.open("greeted", "greeted", "12345", "", "intake")
    assert await store.events_behind.flush()
    rows = await store._pool.fetch("SELECT at, kind FROM call_events WHERE call_id = 'greeted'")
    assert [(r["at"], r["kind"]) for r in rows] == [(answered, "answered")]
    assert store.events_behind.dropped == 0


async def test_a_broken_connection_loses_nothing(store: CallStore, dsn: str) -> None:
    await store.open("c1", "c1", "12345", "", "intake")
    await store.event("c1", "first")
    assert await store.events_behind.flush()
    # Kill every connection of the pool from outside: the next batch fails and is retried.
    admin = await asyncpg.connect(dsn)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")
    finally:
        await admin.close()
    assert killed >= 1
    for n in range(10):
        await store.event("c1", f"after-{n}")
    assert await store.events_behind.flush(timeout=20)
    assert await _kinds(store, "c1") == ["first", *[f"after-{n}" for n in range(10)]]
    assert store.events_behind.dropped == 0


async def test_opening_counts_the_callers_recent_calls_in_the_same_round_trip(store: CallStore) -> None:
    first = await store.open_counting_recent("a1", "a1", "12345", "13900000001", "intake", 7)
    assert (first.created, first.recent_calls) == (True, 0)
    await store.open_if_absent("a2", "12345", "13900000001", "intake")
    await store._pool.execute("UPDATE calls SET started_at = now() - interval '8 days' WHERE call_id = 'a1'")
    again = await store.open_counting_recent("a3", "a3", "12345", "13900000001", "intake", 7)
    assert (again.created, again.recent_calls) == (True, 1)  # a2 only: a1 is older than 7 days
    reopened = await store.open_counting_recent("a3", "a3", "12345", "13900000001", "fallback", 7)
    assert (reopened.created, reopened.recent_calls) == (False, 1)
    anonymous = await store.open_counting_recent("a4", "a4", "12345", "", "intake", 7)
    assert anonymous.recent_calls == 0
    # The FastAGI route's insert never overwrites a record the app opened first.
    assert not await store.open_if_absent("a3", "12345", "13900000001", "department")
    assert await store._pool.fetchval("SELECT route FROM calls WHERE call_id = 'a3'") == "fallback"


async def test_flush_times_out_rather_than_hanging(store: CallStore, dsn: str) -> None:
    await store.open("t1", "t1", "12345", "", "intake")
    locker = await asyncpg.connect(dsn)  # holds the table: inserts wait
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE call_events IN ACCESS EXCLUSIVE MODE")
        await store.event("t1", "slow")
        assert not await store.events_behind.flush(timeout=0.3)
        await transaction.commit()
    finally:
        await locker.close()
    assert await store.events_behind.flush(timeout=5)
    assert await _kinds(store, "t1") == ["slow"]
