"""No call goes unrecorded: calls served while `hotline serve` is down get their records when it
returns, from the dialplan's call spool, marked degraded, each exactly once.

With the service stopped, FastAGI is refused and Stasis() fails: callers to 12345 (and to a
whole-merge number) are served by the degraded app_queue path (agent-1001's SIPp phone answers),
an unknown number hears its notice, one caller gives up during the degraded notice. The hang-up
handler's FastAGI call fails for all of them; its spool line is their only trace. Then the service
starts again and imports the spool; importing the same lines once more changes nothing, and a call
the running service recorded itself is not touched by its spool line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.harness.agents import AgentSpec
from tests.harness.faults import record_fault
from tests.harness.prompts import past_prompts_ms, prompt_seconds
from tests.harness.records import calls_from, count_calls
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def _imports(q: QueueStack) -> list[dict[str, Any]]:
    return [e for e in q.serve.log_events() if e.get("event") == "call_spool_imported"]


def _pending(q: QueueStack) -> bool:
    spool = q.stack.asterisk.call_spool
    return (spool.exists() and spool.stat().st_size > 0) or bool(list(spool.parent.glob("*.importing")))


def _closed(q: QueueStack, caller: str) -> list[dict[str, Any]]:
    return [r for r in calls_from(q.dsn, caller) if r["ended_at"] is not None]


@pytest.mark.timeout(240)
def test_calls_of_an_outage_get_their_records_marked_degraded(
    queue_stack: Callable[..., QueueStack], tmp_path: Path
) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=1500)])
    spool = q.stack.asterisk.call_spool

    # While the service runs: its own record, not degraded; the spool line of the call is skipped.
    before, sipp = q.call("0088213000001", listen_ms=15000)
    assert sipp.wait(30).returncode == 0
    own = wait_for(lambda: _closed(q, before), 15, "the record the service wrote")
    wait_for(lambda: _imports(q) and not _pending(q), 15, "the call's spool line imported")
    assert [(e["created"], e["skipped"]) for e in _imports(q)] == [(0, 1)]

    q.serve.stop()
    calls = {"answered": q.call("12345", listen_ms=40000), "merged": q.call("12336", listen_ms=40000),
             "unknown": q.call("96110", listen_ms=15000),
             # greeted, then gives up halfway through the notice of the degraded service (before app_queue's
             # line, where the one agent might take it first)
             "gave_up": q.call("12345", listen_ms=past_prompts_ms("greeting", then_s=prompt_seconds("degraded") / 2))}
    results = {name: sipp.wait(60) for name, (_, sipp) in calls.items()}
    assert all(r.returncode == 0 for r in results.values()), {n: r.output[-500:] for n, r in results.items()}
    callers = {name: caller for name, (caller, _) in calls.items()}
    assert not any(calls_from(q.dsn, c) for c in callers.values()), "recorded while the service was down?"
    spooled = spool.read_text(encoding="utf-8")
    assert all(f",{c}," in spooled for c in callers.values()), spooled

    q.serve.start().wait_ready(20)
    records = {name: wait_for(lambda c=c: _closed(q, c), 20, f"the record of the {name} call")
               for name, c in callers.items()}
    for name, rows in records.items():
        assert len(rows) == 1, (name, rows)
        record = rows[0]
        assert record["degraded"] is True and record["node"] == "node1", (name, record)
        assert record["started_at"] <= record["ended_at"], (name, record)
        if name != "gave_up" or record["answered_at"] is not None:
            assert record["started_at"] <= record["answered_at"] <= record["ended_at"], (name, record)
    expected = {"answered": ("12345", "degraded", "degraded_answered"),
                "merged": ("12336", "degraded", "degraded_answered"),
                "unknown": ("96110", "unknown", "unknown_number"),
                "gave_up": ("12345", "degraded", "degraded_abandoned")}
    got = {name: (rows[0]["hotline"], rows[0]["route"], rows[0]["outcome"]) for name, rows in records.items()}
    assert got == expected
    # The answered calls lasted the agent's talk: answered well before they ended.
    for name in ("answered", "merged"):
        record = records[name][0]
        assert (record["ended_at"] - record["answered_at"]).total_seconds() > 1.5, record
    assert _closed(q, before) == own and own[0]["degraded"] is False

    # Imported twice (a crash between the write and the file's removal): nothing changes.
    total = count_calls(q.dsn)
    wait_for(lambda: not _pending(q), 15, "the spool imported")
    spool.write_text(spooled, encoding="utf-8")
    wait_for(lambda: not _pending(q) and len(_imports(q)) == 3, 15, "the copy imported")
    assert count_calls(q.dsn) == total
    assert {name: _closed(q, c) for name, c in callers.items()} == records
    imports = _imports(q)
    assert [(e["created"], e["completed"], e["skipped"]) for e in imports[1:]] == [(len(calls), 0, 0),
                                                                                 (0, 0, len(calls))], imports
    record_fault("hotline serve down: degraded calls' records", placed=len(calls),
                 answered=sum(1 for rows in records.values() if rows[0]["answered_at"] is not None), dropped=0,
                 records_lost=len(calls) - len(records), duplicates=0,
                 imports=[(e["lines"], e["created"], e["completed"], e["skipped"]) for e in imports])
