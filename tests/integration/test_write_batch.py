"""The write journal on a real PostgreSQL (``hotline_write_batch``, migration 011): call records,
queue rows and agent states of many calls land in one round trip each batch, with the results the
stores need (a new record, the caller's recent calls, a queue row as written); a write the
database refuses is reported alone and holds back only its own call's later writes; a text with a
NUL is stored, not refused; the values read back are the values written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from ari_app.acd.figures import CallOutcome
from ari_app.acd.model import AgentSeat, AgentState, QueuedCall
from ari_app.acd.store import AcdStore
from ari_app.store.calls import CallStore
from ari_app.store.journal import BATCH_SQL, WriteJournal

pytestmark = pytest.mark.integration


DATABASE = "write_batch"  # a database of its own; these tables are emptied before each test (see conftest.py)
TRUNCATE = "calls, agent_states"


async def test_many_calls_in_few_round_trips_with_their_results(pool: asyncpg.Pool) -> None:
    journal = WriteJournal.on_pool(pool, lanes=1)
    outcomes: list[tuple[str, CallOutcome]] = []
    calls = CallStore(pool, "node1", journal)
    acd = AcdStore(pool, "node1", on_outcome=lambda call_id, o: outcomes.append((call_id, o)), journal=journal)
    await calls.open("old", "old", "12345", "13800000009", "intake")  # an earlier call of the same caller
    assert await journal.caught_up(10)
    batches = journal.batches
    for n in range(40):
        call_id = f"c{n}"
        await calls.open(call_id, call_id, "12345", f"1390000{n:04d}", "intake")
        await calls.answered(call_id)
        queued = QueuedCall(call_id=call_id, channel_id=call_id, hotline="12345", enqueued_at=1764540000.0 + n / 7,
                            seq=n + 1)
        await acd.enqueue(queued, "intake")
        await acd.talking(call_id, "1001", f"agent-{n}", f"talk-{n}", 1764540001.25 + n)
        await acd.finish(call_id, "ended", 1764540002.5 + n)
        await calls.event(call_id, "answered")
        await calls.close(call_id, "answered")
    seat = AgentSeat(id="1001", endpoint="agent-1001", state=AgentState.WRAP_UP, state_since=1764540003.125,
                     pause_reason="小休 'x'", wrap_up_until=1764540010.0, call_id="c39")
    await acd.save_agent(seat)
    repeat = await calls.open_counting_recent("c40", "c40", "12345", "13800000009", "intake", 7)
    assert await journal.caught_up(20), journal.behind
    assert journal.batches - batches < 40, "one round trip per call or more"
    assert journal.dropped == 0 and journal.largest > 10
    assert (repeat.created, repeat.recent_calls) == (True, 1)

    rows = {r["call_id"]: r for r in await pool.fetch("SELECT * FROM calls WHERE call_id LIKE 'c%'")}
    assert len(rows) == 41 and all(rows[f"c{n}"]["outcome"] == "answered" for n in range(40))
    assert all(rows[f"c{n}"]["answered_at"] and rows[f"c{n}"]["ended_at"] for n in range(40))
    queue = {r["call_id"]: r for r in await pool.fetch("SELECT * FROM queue_calls")}
    assert queue["c3"]["enqueued_at"] == 1764540000.0 + 3 / 7  # every digit of a float kept
    assert (queue["c3"]["status"], queue["c3"]["agent_id"], queue["c3"]["answered_at"]) == ("ended", "1001",
                                                                                          1764540004.25)
    agent = await pool.fetchrow("SELECT * FROM agent_states WHERE agent_id = '1001'")
    assert agent is not None
    assert (agent["state"], agent["state_since"], agent["pause_reason"], agent["call_id"]) == (
        "wrap_up", 1764540003.125, "小休 'x'", "c39")
    # The figures window got each call's row as written, last the finished one.
    last = {call_id: outcome for call_id, outcome in outcomes}
    assert len(last) == 40 and last["c3"].ended_at == 1764540005.5 and last["c3"].answered_at == 1764540004.25
    events = await pool.fetchval("SELECT count(*) FROM call_events WHERE call_id LIKE 'c%'")
    assert events == 40
    await calls.events_behind.close()
    await journal.close()


async def test_an_opening_is_queued_when_asked_ahead_of_the_calls_next_writes(pool: asyncpg.Pool) -> None:
    # The flow asks for the opening without waiting for it, then records the dialplan's answer: the
    # answer must land on the record, not run before the record exists.
    journal = WriteJournal.on_pool(pool, lanes=1)
    calls = CallStore(pool, "node1", journal)
    answered = datetime(2026, 12, 1, 5, 0, 1, 250000, tzinfo=UTC)
    opening = calls.open_counting_recent("o1", "o1", "12345", "13800000001", "intake", 7, urgent=True,
                                         started_at=datetime(2026, 12, 1, 5, 0, 0, tzinfo=UTC))
    await calls.answered("o1", answered)
    assert (await opening).created
    assert await journal.caught_up(10)
    row = await pool.fetchrow("SELECT started_at, answered_at FROM calls WHERE call_id = 'o1'")
    assert (row["started_at"], row["answered_at"]) == (datetime(2026, 12, 1, 5, 0, 0, tzinfo=UTC), answered)
    await journal.close()


async def test_a_refused_write_holds_back_only_its_own_calls_later_writes(pool: asyncpg.Pool) -> None:
    journal = WriteJournal.on_pool(pool, lanes=1)
    calls = CallStore(pool, "node1", journal)
    await calls.open("good", "good", "12345", "139\x00nul", "intake")
    # No record for "orphan": its queue row is refused (foreign key), and its close after it waits.
    acd = AcdStore(pool, "node1", journal=journal)
    await acd.enqueue(QueuedCall(call_id="orphan", channel_id="orphan", hotline="12345", enqueued_at=1.0, seq=1),
                      "intake")
    await calls.close("orphan", "answered")
    await calls.close("good", "answered")
    assert await journal.caught_up(20), journal.behind
    assert journal.dropped == 1  # the queue row; the close of a call without a record changes nothing
    good = await pool.fetchrow("SELECT caller, outcome FROM calls WHERE call_id = 'good'")
    assert good is not None and (good["caller"], good["outcome"]) == ("139\ufffdnul", "answered")
    await calls.events_behind.close()
    await journal.close()


async def test_the_stores_without_a_journal_write_at_once_with_the_same_statements(pool: asyncpg.Pool) -> None:
    calls = CallStore(pool, "node1")
    assert await calls.open("direct", "direct", "12345", "", "intake") is True
    assert await calls.open_if_absent("direct", "12345", "", "department") is False
    await calls.answered("direct")
    acd = AcdStore(pool, "node1")
    await acd.enqueue(QueuedCall(call_id="direct", channel_id="direct", hotline="12345", enqueued_at=2.5, seq=1),
                      "intake")
    await acd.save_agent(AgentSeat(id="1002", endpoint="agent-1002", state=AgentState.READY, state_since=3.5))
    assert await acd.to_callback("direct", "13900000001") is True
    assert await calls.close("direct", "callback_requested") is True
    row = await pool.fetchrow("SELECT outcome, answered_at FROM calls WHERE call_id = 'direct'")
    assert row is not None and row["outcome"] == "callback_requested" and row["answered_at"] <= datetime.now(UTC)
    await calls.events_behind.close()


async def test_a_write_alone_and_the_same_write_in_a_batch_give_the_same_result(pool: asyncpg.Pool) -> None:
    """A batch of one goes as its own prepared statement, a larger one through the batch function: the
    stores read the same result from either (``created`` of a new record, the caller's recent calls)."""
    journal = WriteJournal.on_pool(pool, lanes=1)
    calls = CallStore(pool, "node1", journal)
    await calls.open("a0", "a0", "12345", "13800000001", "intake")  # an earlier call of the caller
    assert await journal.caught_up(10)
    before = journal.batches
    alone = await calls.open_counting_recent("a1", "a1", "12345", "13800000001", "intake", 30)
    assert journal.batches == before + 1 and journal.largest == 1
    opened = [calls.open_counting_recent(f"b{n}", f"b{n}", "12345", "13800000001", "intake", 30) for n in range(3)]
    together = await asyncio.gather(*opened)  # all three queued before the writer looks
    assert journal.largest > 1  # the three went together, through the batch function
    assert alone.created is True and alone.recent_calls == 1
    assert [t.created for t in together] == [True] * 3 and all(t.recent_calls is not None for t in together)
    await journal.close()


async def test_batched_writes_report_the_rows_they_wrote_and_survive_a_refusal_beside_them(pool: asyncpg.Pool) -> None:
    """Migration 012 runs each statement prepared, with its arguments as quoted literals: the rows a
    write changed still come back ("n": a close closes once, an opening happens once), arguments
    with quotes and backslashes land as given, and a statement the database refuses in the middle
    of a batch leaves the others (prepared before it or not) to run."""
    journal = WriteJournal.on_pool(pool, lanes=1)
    calls = CallStore(pool, "node1", journal)
    caller = "13900000000 \\'; DROP TABLE calls; --"
    written = [
        journal.submit("open", "q1", "INSERT INTO calls (call_id, channel_id, hotline, caller, route, started_at)"
                       " VALUES ($1::text, $1::text, '12345', $2::text, 'intake', now()) ON CONFLICT DO NOTHING",
                       ("q1", caller)),
        journal.submit("open again", "q2", "INSERT INTO calls (call_id, channel_id, hotline, caller, route, started_at)"
                       " VALUES ($1::text, $1::text, '12345', $2::text, 'intake', now()) ON CONFLICT DO NOTHING",
                       ("q1", caller)),
        journal.submit("bad", "q3", "UPDATE calls SET no_such_column = 1 WHERE call_id = $1::text", ("q1",)),
        journal.submit("close", "q1", "UPDATE calls SET ended_at = now(), outcome = $2::text"
                       " WHERE call_id = $1::text AND ended_at IS NULL", ("q1", "answered")),
        journal.submit("close again", "q4", "UPDATE calls SET ended_at = now(), outcome = $2::text"
                       " WHERE call_id = $1::text AND ended_at IS NULL", ("q1", "abandoned")),
    ]
    results = await asyncio.gather(*written)
    assert journal.largest == 5  # one batch: through the batch function
    assert [r["n"] if r else None for r in results] == [1, 0, None, 1, 0]  # the bad one: refused, then dropped
    row = await pool.fetchrow("SELECT caller, outcome FROM calls WHERE call_id = 'q1'")
    assert row is not None and (row["caller"], row["outcome"]) == (caller, "answered")
    await calls.open_if_absent("q5", "12345", "", "department")
    assert await calls.close("q5", "answered", wait=5) is True
    assert await calls.close("q5", "abandoned", wait=5) is False
    await calls.events_behind.close()
    await journal.close()


async def test_the_batch_function_prepares_each_statement_once_per_connection(pool: asyncpg.Pool) -> None:
    update = "UPDATE agent_states SET pause_reason = $2::text WHERE agent_id = $1::text RETURNING 1"
    insert = ("INSERT INTO agent_states (agent_id, state, state_since, pause_reason, idle_since, wrap_up_until,"
              " call_id) VALUES ($1::text, 'ready', 1.5, $2::text, 0, 0, '') RETURNING 1")
    async with pool.acquire() as conn:
        for n in range(3):
            ops = [{"k": f"a{n}", "s": insert, "a": [f"90{n}", "a\\b 'c'"], "r": False},
                   {"k": "bad", "s": "UPDATE nowhere SET x = 1 RETURNING 1", "a": [], "r": False},
                   {"k": f"a{n}", "s": update, "a": [f"90{n}", f"'{n}\\"], "r": False}]
            results = orjson.loads(await conn.fetchval(BATCH_SQL, orjson.dumps(ops).decode()))
            assert [r.get("n") for r in results] == [1, None, 1] and results[1]["error"] == "42P01"
        names = await conn.fetch("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'hw_%'")
    statements = [r["statement"].split(" AS ", 1)[1] for r in names]
    assert statements.count(insert) == 1 and statements.count(update) == 1  # prepared once, run three times
    rows = await pool.fetch("SELECT agent_id, pause_reason FROM agent_states WHERE agent_id LIKE '90%'")
    assert sorted((r["agent_id"], r["pause_reason"]) for r in rows) == [(f"90{n}", f"'{n}\\") for n in range(3)]
