"""The queue in the Stasis app with SIPp callers and SIPp agent phones against the real Asterisk:
first come first served, skills and the expert group, escalation, no-answer rollover, wrap-up,
abandoned calls, agent feature codes."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.harness.agents import AgentSpec, agent_action, agents_state
from tests.harness.records import calls_from
from tests.harness.sipp import place_authenticated_call
from tests.harness.wait import wait_for
from tests.integration.conftest import POLICY, QueueStack


def connected_agent(q: QueueStack, caller: str) -> str:
    return str(q.wait_event(caller, "agent_connected")["detail"]["agent"])


def test_first_come_first_served_when_an_agent_becomes_ready(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=800)])
    callers = []
    for _ in range(3):
        caller, sipp = q.call()
        q.wait_event(caller, "queued")  # in line before the next one dials
        callers.append((caller, sipp))
    q.login("1001")
    for _caller, sipp in callers:
        assert sipp.wait(60).returncode == 0
    connected = [q.wait_event(c, "agent_connected")["at"] for c, _ in callers]
    assert connected == sorted(connected), "served out of arrival order"
    for caller, _ in callers:
        assert q.record(caller)["outcome"] == "answered"


def test_expert_group_first_then_widened_to_everyone(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001"), AgentSpec("2001", groups=("transport-experts",),
                                                  skills={"general": 3, "transport": 5})])
    q.login("1001", "2001")  # 1001 is the longest idle, yet the 12328 call goes to the expert
    caller, sipp = q.call("12328")
    assert sipp.wait(60).returncode == 0
    assert connected_agent(q, caller) == "2001"
    assert q.record(caller)["route"] == "expert"

    assert agent_action(q.serve.http, "2001", "logout")["state"] == "logged_out"
    wait_for(lambda: agents_state(q.serve.http)["1001"]["state"] == "ready", 10, "1001 ready")
    caller, sipp = q.call("12328")
    assert sipp.wait(60).returncode == 0
    assert connected_agent(q, caller) == "1001"  # no expert logged in: nobody to wait for
    queued = q.wait_event(caller, "queued")
    waited = (q.wait_event(caller, "agent_connected")["at"] - queued["at"]).total_seconds()
    assert waited < POLICY["widen_after"], f"waited {waited:.2f}s for an expert group nobody staffs"
    # (Waiting up to widen_after while an expert is logged in but busy: tests/integration/test_preference.py.)


def test_skill_routing_never_offers_to_an_agent_without_the_skill(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", skills={"transport": 5}), AgentSpec("1002")])
    q.login("1001", "1002")
    caller, sipp = q.call("12345")
    assert sipp.wait(60).returncode == 0
    assert connected_agent(q, caller) == "1002"
    assert all(e["detail"].get("agent") != "1001" for e in q.events(caller) if e["kind"] == "agent_ringing")


def test_escalation_to_an_expert_seat(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([
        AgentSpec("1001", phone="answer-wait-bye"),
        AgentSpec("2001", groups=("transport-experts",), skills={"general": 3, "transport": 5}, hold_ms=1000),
    ])
    q.login("1001")
    caller, sipp = q.call("12345")
    assert connected_agent(q, caller) == "1001"
    q.login("2001")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]
    request = urllib.request.Request(f"{q.serve.http}/calls/{call_id}/escalate", method="POST",
                                     data=json.dumps({"group": "transport-experts"}).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202
    assert sipp.wait(60).returncode == 0
    kinds = [(e["kind"], e["detail"].get("agent") or e["detail"].get("group")) for e in q.events(caller)]
    assert ("escalated", "transport-experts") in kinds
    connected = [agent for kind, agent in kinds if kind == "agent_connected"]
    assert connected == ["1001", "2001"], str(kinds)  # a str: pytest shows it whole
    assert q.record(caller)["outcome"] == "answered"


def test_no_answer_rolls_over_and_pauses_the_agent_and_wrap_up_is_respected(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = queue_stack([AgentSpec("1001", phone="ring-no-answer"), AgentSpec("1002", hold_ms=1000)], wrap_up=4)
    q.login("1001")
    q.login("1002")  # 1001 is idle longer: rung first
    caller, sipp = q.call()
    assert sipp.wait(60).returncode == 0
    kinds = [(e["kind"], e["detail"].get("agent")) for e in q.events(caller)]
    assert kinds.index(("agent_missed", "1001")) < kinds.index(("agent_connected", "1002")), kinds
    state = agents_state(q.serve.http)["1001"]
    assert state["state"] == "paused" and "missed" in state["pause_reason"], state

    # 1002 is in wrap-up for 4 s after the call: a new caller waits for it.
    ended = q.wait_event(caller, "agent_hung_up")["at"]
    second, sipp2 = q.call()
    assert sipp2.wait(60).returncode == 0
    ringing = q.wait_event(second, "agent_ringing")
    assert ringing["detail"]["agent"] == "1002"
    assert (ringing["at"] - ended).total_seconds() >= 4 - 0.3


def test_abandoned_call_is_recorded_with_its_wait(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001")])  # logged out: nobody answers
    caller, sipp = q.call(listen_ms=20000)  # greeting ~7 s, then ~13 s in the queue
    assert sipp.wait(60).returncode == 0
    record = q.record(caller)
    assert record["outcome"] == "abandoned"
    status, figures = q.serve.get("/queues")
    assert status == 200
    total = figures["total"]
    assert total["abandoned"] == 1 and total["answered"] == 0 and len(total["abandoned_waits"]) == 1
    queued = q.wait_event(caller, "queued")["at"]
    expected = (record["ended_at"] - queued).total_seconds()
    assert abs(total["abandoned_waits"][0] - expected) < 1.0, (total, expected)
    assert figures["agents"]["logged_out"] == 1
    # Position announcements every announce_every (10 s) while waiting.
    announcements = [e for e in q.events(caller) if e["kind"] == "announcement"]
    assert announcements and announcements[0]["detail"]["position"] == 1, announcements
    assert (announcements[0]["at"] - queued).total_seconds() >= POLICY["announce_every"] - 0.5
    # The last 24 hours are kept in memory: a restarted service loads them and gives the same figures.
    q.serve.stop()
    q.serve.start().wait_ready(20)
    status, again = q.serve.get("/queues")
    assert status == 200
    assert {k: v for k, v in again.items() if k != "now"} == {k: v for k, v in figures.items() if k != "now"}


def test_agent_feature_codes_from_the_agent_phone(queue_stack: Callable[..., QueueStack], artifacts: Path) -> None:
    q = queue_stack([AgentSpec("1001")])
    for code, state in (("*72", "ready"), ("*74", "paused"), ("*75", "ready"), ("*73", "logged_out")):
        sipp = place_authenticated_call(q.phones.account("1001"), service=code,
                                        trace_dir=artifacts / f"feature{code[1:]}", listen_ms=15000)
        assert sipp.wait(30).returncode == 0
        wait_for(lambda s=state: agents_state(q.serve.http)["1001"]["state"] == s, 10, f"agent {state} after {code}")
