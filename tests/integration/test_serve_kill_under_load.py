"""`hotline serve` SIGKILLed under load (issue 14): callers arrive at 20 calls/s, no agent is logged
in, so they pile up in the queue; once 50 wait, the service is killed (SIGKILL) while more keep
coming (those arriving while it is down take the dialplan's degraded path), and started again;
then the agents log in. None is dropped: every caller ends served by an agent (the far end hung up),
none gives up and SIPp fails none; the 50 and more who waited at the kill are offered to agents in
the order they queued; every caller has exactly one closed record (the degraded ones from the
dialplan's spool). ``HOTLINE_FAULT_PROFILE=long`` (scripts/faults --long) runs the arrivals longer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.agents import AgentSpec
from tests.harness.faults import profile, record_fault
from tests.harness.load import CallerLoad, start_load
from tests.harness.records import _fetch
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.load]
WAITING = 50  # callers in the queue when the service is killed
AGENTS = 20
GREETING_S = 8.0  # about how long a caller hears the greeting before it queues


def _waiting_now(q: QueueStack) -> int:
    status, body = q.serve.get("/queues")
    return int(body["total"]["waiting_now"]) if status == 200 else 0


def _records(dsn: str, callers: list[str]) -> list[dict[str, Any]]:
    import asyncio

    return asyncio.run(_fetch(dsn, "SELECT call_id, caller, route, outcome, degraded, ended_at FROM calls"
                                   " WHERE caller = ANY($1)", callers))


def _events(dsn: str, kinds: list[str], call_ids: list[str]) -> list[dict[str, Any]]:
    import asyncio

    return asyncio.run(_fetch(dsn, "SELECT call_id, kind, at, detail FROM call_events"
                                   " WHERE kind = ANY($1) AND call_id = ANY($2) ORDER BY id", kinds, call_ids))


def _queue_rows(dsn: str, call_ids: list[str]) -> list[dict[str, Any]]:
    import asyncio

    return asyncio.run(_fetch(dsn, "SELECT call_id, seq, enqueued_at FROM queue_calls WHERE call_id = ANY($1)",
                              call_ids))


def _first_offers(q: QueueStack, since: int) -> list[str]:
    """Call ids in the order the ACD first offered them to an agent, from the log after ``since``."""
    seen: dict[str, None] = {}
    for event in q.serve.log_events()[since:]:
        if event.get("event") == "acd_offer":
            seen.setdefault(str(event["call_id"]), None)
    return list(seen)


@pytest.mark.timeout(420)
def test_serve_killed_under_load_drops_nobody_and_keeps_the_order(
    queue_stack: Callable[..., QueueStack],
) -> None:
    plan = profile()
    q = queue_stack([AgentSpec(str(1001 + i), phone="answer-at-once", hold_ms=800) for i in range(AGENTS)], wrap_up=0,
                    announce_every=600)
    # Arrivals that outlast the moment 50 wait (the greeting, then 50 at the rate) by a few seconds.
    seconds = max(plan.seconds, GREETING_S + WAITING / plan.rate + 3)
    load: CallerLoad = start_load(q.stack.asterisk.sip_port, q.base / "callers", rate=plan.rate,
                                  calls=int(plan.rate * seconds), patience_s=240)
    try:
        wait_for(lambda: _waiting_now(q) >= WAITING or None, GREETING_S + 60, f"{WAITING} callers waiting",
                 interval=0.1)
        waiting_at_kill = _waiting_now(q)
        q.serve.kill()
        killed = time.time()
        log_mark = len(q.serve.log_events())
        q.serve.start().wait_ready(30)
        recovered = time.time() - killed
        q.login(*(str(1001 + i) for i in range(AGENTS)))
        result = load.wait(seconds + 300)
    finally:
        load.stop()

    callers = result.callers
    assert result.placed == len(callers), result.output[-2000:]
    assert result.failed == 0 and result.returncode == 0, result.output[-2000:]
    assert not result.gave_up, f"{len(result.gave_up)} callers gave up: {result.gave_up[:5]}"
    assert sorted(result.served) == sorted(callers), "some callers were not served to the end"

    def all_closed() -> list[dict[str, Any]] | None:
        rows = _records(q.dsn, callers)
        return rows if len({r["caller"] for r in rows if r["ended_at"]}) == len(callers) else None

    rows = wait_for(all_closed, 60, "a closed record for every caller", interval=0.5)
    per_caller: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        per_caller.setdefault(row["caller"], []).append(row)
    duplicates = sum(len(v) - 1 for v in per_caller.values())
    assert duplicates == 0, {c: v for c, v in per_caller.items() if len(v) > 1}
    outcomes = {r["outcome"] for r in rows}
    assert outcomes <= {"answered", "degraded_answered"}, outcomes
    # Served by the dialplan's app_queue: while the service was down (their records from the spool,
    # marked degraded), or as it came back, before its ARI link was up (the FastAGI route sent them there).
    degraded = sum(1 for r in rows if r["outcome"] == "degraded_answered")
    stasis_ids = [r["call_id"] for r in rows if r["outcome"] == "answered"]
    connected: dict[str, int] = {}
    for event in _events(q.dsn, ["agent_connected"], stasis_ids):
        connected[event["call_id"]] = connected.get(event["call_id"], 0) + 1
    never = sorted(set(stasis_ids) - set(connected))
    twice = sorted(call_id for call_id, n in connected.items() if n > 1)
    assert not never and not twice, f"connected to an agent never: {never}, more than once: {twice}"

    # The order: those who had queued before the kill, offered after the restart in the order they queued.
    # Their place in line: the ACD's sequence number from the queue row a restart reads (written at
    # once when a caller joins the line; the call's "queued" event is written behind the call and may
    # be lost with the last ~100 ms before a SIGKILL).
    queued = {r["call_id"]: r["seq"] for r in _queue_rows(q.dsn, stasis_ids) if r["enqueued_at"] < killed}
    assert len(queued) >= WAITING, len(queued)
    line = sorted(queued, key=lambda call_id: queued[call_id])
    offers = [call_id for call_id in _first_offers(q, log_mark) if call_id in queued]
    assert offers == line, "the callers who waited at the kill were not offered in their order"
    record_fault(
        "hotline serve SIGKILLed under load", placed=len(callers), answered=len(result.served),
        dropped=len(result.gave_up) + result.failed, records_lost=len(callers) - len(per_caller),
        duplicates=duplicates, recovery_s=recovered, profile=plan.name, rate=plan.rate,
        waiting_at_kill=waiting_at_kill, order_kept_of=len(line), served_degraded=degraded,
        agents=AGENTS, invite_to_200_ms=result.invite_to_200_ms(),
    )
