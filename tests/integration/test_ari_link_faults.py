"""The link between the service and Asterisk's ARI broken by a proxy: cut for 5 s with a caller
talking and one waiting, then made slow. The app reconnects and reconciles; no caller is dropped
and none is answered twice. (Issue 14's ARI faults; the figures are printed for its report.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.agents import AgentSpec
from tests.harness.faults import record_fault
from tests.harness.proxy import TcpProxy
from tests.harness.records import call_events, calls_from
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults]
CUT = 5.0  # seconds the link stays cut
SLOW = 0.2  # seconds added to every chunk Asterisk sends back, in the slow phase


def _readyz(q: QueueStack) -> dict[str, Any]:
    status, body = q.serve.get("/readyz")
    result: dict[str, Any] = body
    return result if status == 200 else {**body, "ready": False}


def test_the_ari_link_cut_then_slow_drops_no_caller_and_answers_none_twice(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-then-bye", hold_ms=10000)])
    with TcpProxy(q.stack.asterisk.http_port) as proxy:
        q.serve.stop()  # the service again, now talking to Asterisk through the proxy
        q.serve.extra_env["HOTLINE_ARI_URL"] = f"http://127.0.0.1:{proxy.port}"
        q.serve.start().wait_ready(20)
        q.login("1001")
        talking, talking_sipp = q.call("12345", listen_ms=90000)
        q.wait_event(talking, "agent_connected")
        waiting, waiting_sipp = q.call("12345", listen_ms=90000)
        q.wait_event(waiting, "queued")
        connects = _readyz(q)["ari_connects"]

        proxy.cut()
        cut_at = time.time()
        wait_for(lambda: not _readyz(q)["ari"] or None, 10, "the service to notice the cut")
        time.sleep(max(0.0, CUT - (time.time() - cut_at)))  # the cut lasts its full length
        proxy.restore()
        restored = time.time()
        wait_for(lambda: (_readyz(q)["ready"] and _readyz(q)["ari_connects"] > connects) or None, 20,
                 "the service to reconnect")
        reconnected = time.time() - restored

        talked, waited = talking_sipp.wait(60), waiting_sipp.wait(60)
        assert talked.returncode == 0, talked.output[-1500:]  # the talk went on to its end
        assert waited.returncode == 0, waited.output[-1500:]  # then the waiting caller's turn

        proxy.delay = SLOW
        slow, slow_sipp = q.call("12345", listen_ms=90000)
        served = slow_sipp.wait(60)
        assert served.returncode == 0, served.output[-1500:]
        proxy.delay = 0.0

    for caller in (talking, waiting, slow):
        wait_for(lambda c=caller: all(r["ended_at"] for r in calls_from(q.dsn, c)), 10, "the records closed")
        (record,) = calls_from(q.dsn, caller)  # one record: the call was never taken for a new one
        assert record["outcome"] == "answered", record
        connected = [e for e in call_events(q.dsn, record["call_id"]) if e["kind"] == "agent_connected"]
        assert len(connected) == 1, (caller, connected)  # answered once
    log = q.serve.log_text()
    assert "call_flow_failed" not in log
    # The agent's phone hung up (10 s into the talk) while the link was cut: the call was told on reconnect.
    assert "channel_gone_while_disconnected" in log
    record_fault(f"ARI link cut {CUT:.0f} s, then {SLOW * 1000:.0f} ms per chunk", placed=3, answered=3, dropped=0,
                 records_lost=0, duplicates=0, recovery_s=reconnected, answered_twice=0)
