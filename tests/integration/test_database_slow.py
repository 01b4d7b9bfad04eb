"""PostgreSQL slow (issue 14): every statement the service sends reaches PostgreSQL 200 ms late
(a TCP proxy delays each chunk from the service by 200 ms) while callers arrive at 20 calls/s (8 s
in the CI profile, 30 s sustained in the long one) and 20 agents answer them. Every caller is
answered and served, none gives up, SIPp fails none; what the service has to write (the write
journal's ``writes_behind``, the event writer's ``events_behind``) is all stored, no call up, within
``CATCH_UP_BOUND_S`` of the last call's end, with the delay still on; every caller has exactly one
closed record, connected to an agent exactly once.

Latency is reported, never asserted: INVITE->200 as the callers saw it, the service's own answer
latency (``hotline_answer_latency_seconds``), ring to bridge (the agent phones hang up 0.8 s after
answering: a bridge later than that loses the call), what was still to be written when the load
ended and how long it took to be stored, the backlog's peaks and the service's peak memory."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ari_app.bench.stats import summary
from tests.harness.agents import AgentSpec
from tests.harness.faults import profile, record_fault
from tests.harness.load import start_load
from tests.harness.metrics import answer_latency_ms, histogram_buckets
from tests.harness.proxy import TcpProxy
from tests.harness.records import _fetch
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.load]
DELAY = 0.2  # seconds added to every chunk the service sends PostgreSQL
AGENTS = 20
CATCH_UP_BOUND_S = 60  # after the last call ended: every write and event stored, no call up


def _rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status", encoding="ascii"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler:
    """Reads /readyz and the service's memory every half second in a thread, keeping the peaks."""

    def __init__(self, q: QueueStack) -> None:
        self.q = q
        self.peak: dict[str, int] = {"writes_behind": 0, "events_behind": 0, "rss_kib": 0}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                _, body = self.q.serve.get("/readyz")
            except OSError:
                continue
            process = self.q.serve.process
            figures = {**{k: int(body.get(k, 0)) for k in ("writes_behind", "events_behind")},
                       "rss_kib": _rss_kib(process.pid) if process else 0}
            self.peak = {k: max(v, figures[k]) for k, v in self.peak.items()}
            self.samples += 1

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _readyz(q: QueueStack) -> dict[str, Any]:
    _, body = q.serve.get("/readyz")
    result: dict[str, Any] = body
    return result


def _all_written(q: QueueStack) -> dict[str, Any] | None:
    """/readyz once no call is up and nothing waits to be written, else None."""
    body = _readyz(q)
    return body if body["writes_behind"] == 0 and body["events_behind"] == 0 and body["active_calls"] == 0 else None


def _ring_to_bridge_ms(dsn: str, call_ids: list[str]) -> dict[str, float | None]:
    """Per call, from ringing the agent who took it to the caller and agent bridged (both events are
    stamped by the flow as they happen, not when stored)."""
    rows = asyncio.run(_fetch(dsn, "SELECT call_id, kind, at FROM call_events WHERE call_id = ANY($1)"
                                   " AND kind IN ('agent_ringing', 'agent_connected') ORDER BY id", call_ids))
    rung: dict[str, Any] = {}
    spans: list[float] = []
    for row in rows:
        if row["kind"] == "agent_ringing":
            rung[row["call_id"]] = row["at"]
        elif row["call_id"] in rung:
            spans.append((row["at"] - rung.pop(row["call_id"])).total_seconds() * 1000)
    return summary(spans)


@pytest.mark.timeout(600)
def test_a_slow_database_keeps_answering_and_nothing_piles_up(queue_stack: Callable[..., QueueStack]) -> None:
    plan = profile()
    agents = [str(1001 + i) for i in range(AGENTS)]
    q = queue_stack([AgentSpec(a, phone="answer-at-once", hold_ms=800) for a in agents], wrap_up=0, announce_every=600)
    port = q.dsn.rsplit(":", 1)[1].split("/", 1)[0]
    with TcpProxy(int(port)) as proxy:
        q.serve.stop()  # the service again, now reaching PostgreSQL through the proxy
        q.serve.dsn = q.dsn.replace(f":{port}/", f":{proxy.port}/")
        q.serve.start().wait_ready(30)
        q.login(*agents)
        proxy.request_delay = DELAY
        before = histogram_buckets(q.serve.http)
        load = start_load(q.stack.asterisk.sip_port, q.base / "callers", rate=plan.rate,
                          calls=plan.calls, patience_s=240)
        try:
            with Sampler(q) as sampler:
                result = load.wait(plan.seconds + 300)
                ended = time.time()
                at_end = _readyz(q)  # what was still to be written when the last caller's call ended
                drained: dict[str, Any] | None = None
                with contextlib.suppress(AssertionError):
                    drained = wait_for(lambda: _all_written(q), CATCH_UP_BOUND_S,
                                       "the service to have written everything", 0.2)
                drain_s = time.time() - ended
                left = drained or _readyz(q)
        finally:
            load.stop()
        after = histogram_buckets(q.serve.http)
        delayed = proxy.delayed_chunks
        q.serve.stop()  # while its database is still reachable (the fixture's teardown checks its log)

    rows = asyncio.run(_fetch(q.dsn, "SELECT call_id, caller, outcome, ended_at FROM calls WHERE caller = ANY($1)",
                              result.callers))
    per_caller: dict[str, int] = {}
    for row in rows:
        per_caller[row["caller"]] = per_caller.get(row["caller"], 0) + 1
    # The figures first, whatever the verdict: a failed run's are what tells why.
    record_fault(
        "PostgreSQL slow (200 ms per statement)", placed=len(result.callers), answered=len(result.served),
        dropped=len(result.gave_up) + result.failed, records_lost=len(result.callers) - len(per_caller),
        duplicates=sum(per_caller.values()) - len(per_caller), recovery_s=drain_s if drained else None,
        profile=plan.name, rate=plan.rate, seconds=plan.seconds, gave_up=len(result.gave_up),
        invite_to_200_ms=result.invite_to_200_ms(), app_answer_latency_ms=answer_latency_ms(before, after),
        ring_to_bridge_ms=_ring_to_bridge_ms(q.dsn, [r["call_id"] for r in rows]),
        writes_per_round_trip=round(left["writes_stored"] / max(1, left["write_batches"]), 1),
        writes_behind_at_end=at_end["writes_behind"], events_behind_at_end=at_end["events_behind"],
        writes_behind_after=left["writes_behind"], events_behind_after=left["events_behind"],
        peak_writes_behind=sampler.peak["writes_behind"], peak_events_behind=sampler.peak["events_behind"],
        peak_rss_mib=round(sampler.peak["rss_kib"] / 1024, 1),
    )
    assert result.placed == len(result.callers), result.output[-2000:]
    assert result.failed == 0 and result.returncode == 0, result.output[-2000:]
    assert not result.gave_up, f"{len(result.gave_up)} callers gave up: {result.gave_up[:5]}"
    assert sorted(result.served) == sorted(result.callers)
    assert delayed > len(result.callers), "the delay was not in the way of the service's statements"
    assert drained is not None, f"not all written {CATCH_UP_BOUND_S:g} s after the load; /readyz: {left}"
    assert drained["writes_dropped"] == 0
    assert sampler.samples > 0
    assert set(per_caller) == set(result.callers), "records lost"
    assert set(per_caller.values()) == {1}, "records twice"
    assert {r["outcome"] for r in rows} == {"answered"} and all(r["ended_at"] for r in rows)
    connected = asyncio.run(_fetch(q.dsn, "SELECT call_id, count(*) AS n FROM call_events"
                                          " WHERE kind = 'agent_connected' AND call_id = ANY($1) GROUP BY call_id",
                                   [r["call_id"] for r in rows]))
    assert len(connected) == len(rows) and {r["n"] for r in connected} == {1}
