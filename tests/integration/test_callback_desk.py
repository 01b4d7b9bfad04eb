"""The callbacks' owner with the real ACD engine on a real PostgreSQL (the call itself is a stand-in
here; its telephony is test_callback.py's): a caller not reached is tried once more, then the
entry leaves the line and is listed as failed; stored callbacks are taken back in line at start."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentOffer, AgentSeat, QueuedCall, QueuePolicy
from ari_app.acd.store import AcdStore
from ari_app.callbacks.desk import CallbackDesk
from tests.harness.wait import until

pytestmark = pytest.mark.integration

NUMBER = "13912345678"


DATABASE = "callback_desk"  # a database of its own; these tables are emptied before each test (see conftest.py)
TRUNCATE = "calls, agent_states"


async def _acd(pool: asyncpg.Pool) -> Acd:
    acd = Acd([AgentSeat("1001", "agent-1001", skills={"general": 3})], QueuePolicy(wrap_up=0),
              AcdStore(pool, "node1"))
    await acd.load()
    acd.phone_state("agent-1001", True)
    return acd


async def _waiting_caller(pool: asyncpg.Pool, acd: Acd) -> QueuedCall:
    await pool.execute("INSERT INTO calls (call_id, channel_id, hotline, caller, route) VALUES ('c1', 'c1', '12345',"
                       " $1, 'intake')", NUMBER)
    entry = acd.new_entry("c1", "c1", "12345", "", False)
    await acd.enqueue(entry, deliver=lambda _offer: None)
    return entry


async def test_not_reached_twice_leaves_the_line_and_is_listed(pool: asyncpg.Pool) -> None:
    acd = await _acd(pool)
    entry = await _waiting_caller(pool, acd)
    tried: list[tuple[str, str]] = []

    async def nobody_answers(queued: QueuedCall, number: str, offer: AgentOffer) -> str:
        tried.append((number, offer.agent_id))
        await acd.release_ring(queued.call_id, offer.agent_id)  # as the real attempt does
        return "no_answer"

    store = AcdStore(pool, "node1")
    desk = CallbackDesk(acd, store, nobody_answers)
    assert await desk.keep(entry, NUMBER)
    assert await pool.fetchval("SELECT status FROM queue_calls WHERE call_id = 'c1'") == "callback"
    assert [c["callback_to"] for c in await desk.listing("waiting", 10)] == [NUMBER]
    assert "c1" in acd.queue, "the callback keeps its place in line"
    running = asyncio.create_task(acd.run())
    await acd.login("1001")
    try:
        await until(lambda: len(tried) == 2 and "c1" not in acd.queue, "two attempts, then out of line")
    finally:
        running.cancel()
        await desk.stop()
    assert tried == [(NUMBER, "1001"), (NUMBER, "1001")]
    failed = await desk.listing("failed", 10)
    assert [(c["call_id"], c["callback_to"], c["callback_attempts"]) for c in failed] == [("c1", NUMBER, 2)]
    assert await desk.listing("waiting", 10) == []
    assert acd.agents["1001"].state.value == "ready"


async def test_stored_callbacks_are_back_in_line_after_a_restart(pool: asyncpg.Pool) -> None:
    acd = await _acd(pool)
    entry = await _waiting_caller(pool, acd)

    async def unused(_queued: QueuedCall, _number: str, _offer: AgentOffer) -> str:
        raise AssertionError("no agent is logged in")

    assert await CallbackDesk(acd, AcdStore(pool, "node1"), unused).keep(entry, NUMBER)
    restarted = await _acd(pool)  # a new process: nothing in memory
    assert restarted.queue == {}
    assert await CallbackDesk(restarted, AcdStore(pool, "node1"), unused).start() == 1
    (back,) = restarted.queue.values()
    assert (back.call_id, back.seq, back.enqueued_at) == ("c1", entry.seq, entry.enqueued_at), "same place"
    # A waiting callback is not a caller who left: the stored rows a reconcile reads leave it out.
    assert [live.call.call_id for live in await AcdStore(pool, "node1").live_calls()] == []
