"""The queue in the Stasis app with SIPp callers and SIPp agent phones against the real Asterisk:
first come first served, skills and the expert group, escalation, no-answer rollover, wrap-up,
abandoned calls, agent feature codes."""

from __future__ import annotations

import itertools
import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from tests.harness.agents import AgentSpec, Phones, agent_action, agents_state, write_seats
from tests.harness.records import calls_from, closed_call_from, timed_events
from tests.harness.services import ServeProcess, Stack, start_asterisk
from tests.harness.sipp import SippCall, place_call
from tests.harness.wait import wait_for

POLICY = {"ring_timeout": 5, "wrap_up": 1, "widen_after": 4, "announce_every": 10}
_callers = itertools.count(700)
_databases = itertools.count(1)


@dataclass
class QueueStack:
    stack: Stack
    serve: ServeProcess
    phones: Phones
    dsn: str
    base: Path

    def call(self, number: str = "12345", listen_ms: int = 60000) -> tuple[str, SippCall]:
        caller = f"1370{os.getpid() % 10000:04d}{next(_callers):03d}"
        sipp = place_call("greeting-12345", target_port=self.stack.asterisk.sip_port, caller=caller, service=number,
                          trace_dir=self.base / f"caller-{caller}", listen_ms=listen_ms)
        return caller, sipp

    def record(self, caller: str) -> dict[str, Any]:
        result: dict[str, Any] = wait_for(lambda: closed_call_from(self.dsn, caller), 15, f"record of {caller}")
        return result

    def events(self, caller: str) -> list[dict[str, Any]]:
        return timed_events(self.dsn, calls_from(self.dsn, caller)[-1]["call_id"])

    def wait_event(self, caller: str, kind: str, timeout: float = 30) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            rows = calls_from(self.dsn, caller)
            if not rows:
                return None
            return next((e for e in timed_events(self.dsn, rows[-1]["call_id"]) if e["kind"] == kind), None)

        return wait_for(found, timeout, f"{kind} on the call from {caller}")

    def login(self, *agent_ids: str) -> None:
        for agent_id in agent_ids:
            assert agent_action(self.serve.http, agent_id, "login")["state"] == "ready"


@pytest.fixture
def queue_stack(postgres: PostgresCluster, artifacts: Path) -> Iterator[Callable[..., QueueStack]]:
    made: list[QueueStack] = []

    def make(agents: list[AgentSpec], **policy: int) -> QueueStack:
        seats = write_seats(artifacts / "seats.yaml", agents, **{**POLICY, **policy})
        phones = Phones(agents, artifacts / "phones").start()
        # A database of its own: the queue figures count only this test's calls.
        dsn = postgres.create_database(f"q{os.getpid()}_{next(_databases)}")
        stack = start_asterisk(f"q{os.getpid() % 10000}{len(made)}", peers=phones.peers, seats_path=seats)
        serve = ServeProcess(stack, dsn, artifacts / "serve.log", extra_env={"HOTLINE_SEATS": str(seats)})
        serve.start().wait_ready(20)
        q = QueueStack(stack, serve, phones, dsn, artifacts)
        made.append(q)
        return q

    yield make
    for q in made:
        try:
            wait_for(lambda q=q: not q.stack.ari.channels(), 15, "no channel left")
            wait_for(lambda q=q: not q.stack.ari.bridges(), 5, "no bridge left")
            log = q.serve.log_text()
            assert "loop_unhandled_exception" not in log and "call_flow_failed" not in log
        finally:
            q.serve.stop()
            q.phones.stop()
            q.stack.asterisk.stop()
            q.stack.asterisk.remove()


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
    assert connected_agent(q, caller) == "1001"  # no expert: widened after widen_after
    queued = q.wait_event(caller, "queued")
    waited = (q.wait_event(caller, "agent_connected")["at"] - queued["at"]).total_seconds()
    assert waited >= POLICY["widen_after"] - 0.2, f"widened too early: {waited:.2f}s"


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
    assert connected == ["1001", "2001"], kinds
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
    caller, sipp = q.call(listen_ms=12000)
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


def test_agent_feature_codes_from_the_agent_phone(queue_stack: Callable[..., QueueStack], artifacts: Path) -> None:
    q = queue_stack([AgentSpec("1001")])
    for code, state in (("*72", "ready"), ("*74", "paused"), ("*75", "ready"), ("*73", "logged_out")):
        sipp = place_call("greeting-12345", target_port=q.stack.asterisk.sip_port, caller="agent-1001",
                          service=code, trace_dir=artifacts / f"feature{code[1:]}", listen_ms=15000)
        assert sipp.wait(30).returncode == 0
        wait_for(lambda s=state: agents_state(q.serve.http)["1001"]["state"] == s, 10, f"agent {state} after {code}")
