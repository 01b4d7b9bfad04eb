"""PostgreSQL stopped while callers wait and more arrive: every caller is still answered, queued and
connected to an agent from the ACD's memory; the call records, queue rows and events written in
the outage arrive once the database is back, with the times they happened, none lost, none twice.
(Issue 14's first fault; the figures are printed for its report.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from tests.harness.agents import AgentSpec, agent_action, agents_state
from tests.harness.faults import record_fault
from tests.harness.records import calls_from
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults]
OUTAGE = 30.0  # seconds PostgreSQL stays down
ARRIVING = 4  # callers who call while it is down


def _rows(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    import asyncio

    import asyncpg

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return [dict(r) for r in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_callers_are_served_through_a_database_outage_and_every_record_arrives_afterwards(
    queue_stack: Callable[..., QueueStack], postgres: PostgresCluster,
) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-then-bye", hold_ms=3000),
                     AgentSpec("1002", phone="answer-then-bye", hold_ms=3000)])
    q.login("1001", "1002")
    waiting, waiting_sipp = q.call("12345", listen_ms=90000)
    wait_for(lambda: calls_from(q.dsn, waiting) or None, 15, "the first caller's record")

    postgres.stop()
    stopped = time.time()
    try:
        arrived = []
        for _ in range(ARRIVING):  # callers arriving in the outage
            arrived.append(q.call("12345", listen_ms=90000))
        results = [sipp.wait(80) for _, sipp in [(waiting, waiting_sipp), *arrived]]
        served_in_outage = time.time() - stopped
        # A session seen before the outage still works: an agent pauses and is ready again, from memory.
        wait_for(lambda: agents_state(q.serve.http)["1002"]["state"] == "ready" or None, 15, "1002 free")
        assert agent_action(q.serve.http, "1002", "pause", {"reason": "小休"})["state"] == "paused"
        assert agent_action(q.serve.http, "1002", "ready")["state"] == "ready"
    finally:
        remaining = OUTAGE - (time.time() - stopped)
        if remaining > 0:
            time.sleep(remaining)  # the outage lasts its full length, whatever the calls did
        postgres.start()
    restarted = time.time()
    assert [r.returncode for r in results] == [0] * (ARRIVING + 1), [r.output[-800:] for r in results]
    assert served_in_outage < OUTAGE + 30

    def caught_up() -> dict[str, Any] | None:
        status, body = q.serve.get("/readyz")
        return body if status == 200 and body["writes_behind"] == 0 else None

    ready = wait_for(caught_up, 30, "the service to write what it kept")
    recovery = time.time() - restarted
    callers = [waiting, *[caller for caller, _ in arrived]]
    records = {caller: calls_from(q.dsn, caller) for caller in callers}
    assert all(len(rows) == 1 for rows in records.values()), records  # none lost, none twice
    for caller, (record,) in records.items():
        assert record["outcome"] == "answered" and record["answered_at"] is not None, record
        assert record["ended_at"] is not None and record["ended_at"].timestamp() < restarted, (
            "the record carries when the call ended, not when it was written", caller, record)
    arrived_ids = [records[caller][0]["call_id"] for caller, _ in arrived]
    for caller, _ in arrived:  # opened in the outage, stamped with the time the call came
        assert stopped <= records[caller][0]["started_at"].timestamp() <= restarted, records[caller]
    queue_rows = _rows(q.dsn, "SELECT call_id, status, agent_id, answered_at FROM queue_calls WHERE call_id = ANY($1)",
                       [r[0]["call_id"] for r in records.values()])
    assert len(queue_rows) == ARRIVING + 1 and {r["status"] for r in queue_rows} == {"ended"}, queue_rows
    assert {r["agent_id"] for r in queue_rows} <= {"1001", "1002"} and all(r["answered_at"] for r in queue_rows)
    connected = _rows(q.dsn, "SELECT call_id, count(*) AS n FROM call_events WHERE kind = 'agent_connected'"
                             " AND call_id = ANY($1) GROUP BY call_id", arrived_ids)
    assert sorted(r["n"] for r in connected) == [1] * ARRIVING, connected
    assert ready["writes_dropped"] == 0
    (agent,) = _rows(q.dsn, "SELECT state FROM agent_states WHERE agent_id = '1002'")
    assert agent["state"] == "ready"  # the pause and the ready of the outage, stored in order
    log = q.serve.log_text()
    assert "database_write_delayed" in log and "database_caught_up" in log
    record_fault(f"PostgreSQL stopped {OUTAGE:.0f} s", placed=ARRIVING + 1, answered=len(connected) + 1, dropped=0,
                 records_lost=sum(1 for rows in records.values() if not rows), duplicates=0, recovery_s=recovery,
                 arrived_in_outage=ARRIVING, writes_dropped=ready["writes_dropped"])

