"""Queue callback against the real Asterisk: a caller who waited presses 1 (RFC 4733 from SIPp),
keeps the place and hangs up; three later callers wait behind it; `hotline serve` is killed and
restarted; when an agent logs in the callback comes first: the agent's phone rings, then the
caller is dialled through the outbound trunk (a SIPp peer) and the two talk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec
from tests.harness.records import calls_from, timed_events
from tests.harness.sipp import start_peer
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack
from tests.integration.test_rating import _caller_pressing
from tests.integration.test_return_visits import _settings

pytestmark = pytest.mark.integration

CALLBACK_AFTER = 3  # seconds in line before the offer


def test_a_callback_keeps_its_place_through_a_restart_and_is_connected_agent_first(
    queue_stack: Callable[..., QueueStack], tmp_path: Path,
) -> None:
    port = free_port_both()
    trunk = SipPeer("return-visit", f"sip:return-visit@127.0.0.1:{port}", context="hotline-department")
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye")], peers=(trunk,),
                    env={"HOTLINE_RETURN_VISITS": str(_settings(tmp_path / "rv.yaml", 1))},
                    callback_after=CALLBACK_AFTER)
    q.phones.running["citizen"] = start_peer("answer-then-bye", port=port, trace_dir=q.base / "citizen", hold_ms=3000)

    # Greeting (7.2 s), 3 s in line, then the offer plays: 1 during it.
    first, first_sipp = _caller_pressing(q, "1", after_ms=12500, listen_ms=40000)
    q.wait_event(first, "callback_requested", timeout=40)
    assert first_sipp.wait(40).returncode == 0, "told the place is kept, then hung up on"
    record = q.record(first)
    assert record["outcome"] == "callback_requested"
    later = []
    for _ in range(3):
        caller, sipp = q.call(listen_ms=120000)
        q.wait_event(caller, "queued")
        later.append((caller, sipp))
    status, figures = q.serve.get("/queues")
    assert status == 200 and figures["total"]["waiting_now"] == 4, "the callback counts in the queue"
    status, listed = q.serve.get("/callbacks")
    assert status == 200 and [c["number"] for c in listed["callbacks"]] == [first]

    q.serve.kill()  # SIGKILL
    q.serve.start()
    q.serve.wait_ready(20)
    status, listed = q.serve.get("/callbacks")
    assert status == 200 and [c["number"] for c in listed["callbacks"]] == [first], "lost in the restart"
    assert all(s.process.poll() is None for _, s in later)

    q.login("1001")
    callback = wait_for(lambda: next((c for c in calls_from(q.dsn, first) if c["route"] == "callback"), None),
                        30, "the call back placed")
    events = wait_for(lambda: (lambda e: e if "agent_connected" in [x["kind"] for x in e] else None)(
        timed_events(q.dsn, callback["call_id"])), 60, "the agent and the caller connected")
    kinds = [e["kind"] for e in events]
    assert kinds.index("callback_agent_answered") < kinds.index("agent_connected"), "agent first"
    connected_at = next(e["at"] for e in events if e["kind"] == "agent_connected")
    closed = wait_for(lambda: (lambda c: c if c and c[-1]["ended_at"] else None)(
        [c for c in calls_from(q.dsn, first) if c["route"] == "callback"]), 30, "the call back over")[-1]
    assert closed["outcome"] == "answered"
    second = q.wait_event(later[0][0], "agent_connected", timeout=60)
    assert second["at"] > connected_at, "the callback kept its place ahead of the later callers"
    status, listed = q.serve.get("/callbacks")
    assert status == 200 and listed["callbacks"] == []
    counted = wait_for(lambda: (lambda f: f["callbacks_24h"] if f["callbacks_24h"]["connected"] == 1 else None)(
        q.serve.get("/queues")[1]), 15, "the callback in GET /queues")  # figures are at most 5 s old
    assert counted == {"requested": 1, "waiting": 0, "connected": 1, "failed": 0}
    for caller, sipp in later:
        q.stack.ari.delete(f"/channels/{calls_from(q.dsn, caller)[-1]['call_id']}")
        assert sipp.wait(30).returncode == 0
