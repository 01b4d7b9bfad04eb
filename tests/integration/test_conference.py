"""Three-party calls and transfers to department lines and sub-centers, with SIPp caller, agent
and department phones against the real Asterisk."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec, agents_state
from tests.harness.records import calls_from
from tests.harness.rtp import RtpSink
from tests.harness.services import registry_copy
from tests.harness.sipp import SippCall, start_peer
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

RING = 5


@dataclass
class Departments:
    registry: Path
    sinks: dict[str, RtpSink]  # what the answering department phones hear
    phones: list[SippCall]


@pytest.fixture
def departments(artifacts: Path) -> Iterator[Departments]:
    """12333 and the 12366 sub-center answer and stay; 12319 is busy; 12348 rings unanswered;
    12329 is unreachable (nothing listens)."""
    ports = {e: free_port_both() for e in ("dept-12333", "dept-12366", "dept-12319", "dept-12348")}
    sinks = {e: RtpSink().start() for e in ("dept-12333", "dept-12366")}
    phones = [
        start_peer("answer-wait-bye", port=ports[e], trace_dir=artifacts / e, rtp_port=sinks[e].port)
        for e in sinks
    ] + [
        start_peer("busy", port=ports["dept-12319"], trace_dir=artifacts / "dept-12319"),
        start_peer("ring-no-answer", port=ports["dept-12348"], trace_dir=artifacts / "dept-12348"),
    ]
    registry = registry_copy(
        artifacts / "hotlines.yaml", {**ports, "dept-12329": free_port_both()},
        # Three-party calls with 12333's department (human-resources) are recorded.
        replace={"ring_timeout: 20": f"ring_timeout: {RING}",
                 "  - id: human-resources\n": "  - id: human-resources\n    record_calls: true\n"},
    )
    yield Departments(registry, sinks, phones)
    for phone in phones:
        phone.stop()
    for sink in sinks.values():
        sink.stop()


def _post(q: QueueStack, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(f"{q.serve.http}{path}", method="POST", data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def _bridge_members(q: QueueStack, call_id: str) -> int:
    bridge = q.stack.ari.get(f"/bridges/talk-{call_id}")
    return len(bridge["channels"])


def _connected(
    q: QueueStack, agent: AgentSpec, listen_ms: int = 60000, rtp_port: int | None = None
) -> tuple[str, str, SippCall]:
    q.login(agent.id)
    caller, sipp = q.call(listen_ms=listen_ms, rtp_port=rtp_port)
    q.wait_event(caller, "agent_connected")
    return caller, calls_from(q.dsn, caller)[-1]["call_id"], sipp


def _bring_in(q: QueueStack, caller: str, call_id: str, department: str) -> dict[str, Any]:
    """The agent brings ``department`` into the call by HTTP; its department_joined event."""
    assert _post(q, f"/calls/{call_id}/party", {"action": "add", "department": department}) == 202
    return q.wait_event(caller, "department_joined")


def _hang_up(q: QueueStack, caller: str, call_id: str, sipp: SippCall) -> dict[str, Any]:
    """The caller hangs up (Asterisk drops the caller's channel); SIPp ends well and the call's
    record says answered. Returns the record."""
    q.stack.ari.delete(f"/channels/{call_id}")
    assert sipp.wait(60).returncode == 0
    record = q.record(caller)
    assert record["outcome"] == "answered"
    return record


def test_three_parties_by_dtmf_all_hear_each_other(
    queue_stack: Callable[..., QueueStack], departments: Departments
) -> None:
    agent = AgentSpec("1001", phone="answer-dtmf", hold_ms=1000,
                      values={"dtmf_1": "*", "dtmf_2": "3", "dtmf_3": "0", "dtmf_4": "1"})  # *301: 12333's line
    q = queue_stack([agent], registry=departments.registry)
    caller_sink = RtpSink().start()
    try:
        caller, call_id, sipp = _connected(q, agent, listen_ms=25000, rtp_port=caller_sink.port)
        joined = q.wait_event(caller, "department_joined")
        _three_hear(q, departments, caller_sink)
    finally:
        caller_sink.stop()
    assert joined["detail"] == {"department": "human-resources", "mode": "conference",
                                "members": ["caller", "agent", "department"]}
    assert _bridge_members(q, call_id) == 3
    _hang_up(q, caller, call_id, sipp)
    recording = next(e["detail"] for e in q.events(caller) if e["kind"] == "recording")
    wav = q.stack.asterisk.run_dir / "spool" / recording["path"]
    wait_for(lambda: wav.exists() and wav.stat().st_size > 8000, 10, f"the recording {wav}")
    kinds = [e["kind"] for e in q.events(caller)]
    assert kinds.index("department_ringing") < kinds.index("department_joined") < kinds.index("caller_hung_up")


def _three_hear(q: QueueStack, departments: Departments, caller: RtpSink) -> None:
    """While all three are bridged, Asterisk's mix sends RTP to every one of them."""
    sinks = {"caller": caller, "agent": q.phones.sinks["1001"], "department": departments.sinks["dept-12333"]}
    before = {name: sink.packets for name, sink in sinks.items()}
    wait_for(lambda: all(s.packets > before[n] + 25 for n, s in sinks.items()), 10, "RTP to all three parties")


def test_department_dropped_back_to_two(queue_stack: Callable[..., QueueStack], departments: Departments) -> None:
    agent = AgentSpec("1001", phone="answer-wait-bye")
    q = queue_stack([agent], registry=departments.registry)
    caller, call_id, sipp = _connected(q, agent, listen_ms=20000)
    _bring_in(q, caller, call_id, "01")
    assert _post(q, f"/calls/{call_id}/party", {"action": "drop"}) == 202
    left = q.wait_event(caller, "department_left")
    assert left["detail"]["members"] == ["caller", "agent"]
    wait_for(lambda: _bridge_members(q, call_id) == 2, 5, "caller and agent only")
    _hang_up(q, caller, call_id, sipp)


def test_agent_leaves_caller_and_department_stay(
    queue_stack: Callable[..., QueueStack], departments: Departments
) -> None:
    agent = AgentSpec("1001", phone="answer-wait-bye")
    q = queue_stack([agent], registry=departments.registry)
    caller, call_id, sipp = _connected(q, agent, listen_ms=20000)
    _bring_in(q, caller, call_id, "12333")
    assert _post(q, f"/calls/{call_id}/party", {"action": "leave"}) == 202
    left = q.wait_event(caller, "agent_left")
    assert left["detail"]["members"] == ["caller", "department"]
    wait_for(lambda: _bridge_members(q, call_id) == 2, 5, "caller and department only")
    wait_for(lambda: agents_state(q.serve.http)["1001"]["state"] in ("wrap_up", "ready"), 5, "agent free")
    assert sipp.process.poll() is None, "the caller was dropped when the agent left"
    _hang_up(q, caller, call_id, sipp)


@pytest.mark.parametrize(
    ("number", "reason"),
    [("12348", "no answer"), ("12319", "busy"), ("12329", "unreachable")],
    ids=["no-answer", "busy", "unreachable"],
)
def test_department_unavailable_agent_is_told_and_keeps_the_caller(
    queue_stack: Callable[..., QueueStack], departments: Departments, number: str, reason: str
) -> None:
    agent = AgentSpec("1001", phone="answer-wait-bye")
    q = queue_stack([agent], registry=departments.registry)
    caller, call_id, sipp = _connected(q, agent, listen_ms=20000)
    assert _post(q, f"/calls/{call_id}/party", {"action": "add", "department": number}) == 202
    failed = q.wait_event(caller, "department_unavailable", timeout=RING + 10)
    assert reason in failed["detail"]["reason"].lower(), failed
    status, state = q.serve.get(f"/calls/{call_id}")
    assert status == 200 and state["agent"] == "1001" and state["department"] is None
    assert state["last_failure"]["reason"] == failed["detail"]["reason"]
    assert _bridge_members(q, call_id) == 2  # caller and agent still talking
    # ... and the agent can dispatch a work order instead.
    assert _post(q, f"/calls/{call_id}/work-order", {"department": number, "note": "请回电"}) == 202
    q.wait_event(caller, "work_order_requested")
    _hang_up(q, caller, call_id, sipp)


def test_blind_transfer_to_a_subcenter(queue_stack: Callable[..., QueueStack], departments: Departments) -> None:
    agent = AgentSpec("1001", phone="answer-wait-bye")
    q = queue_stack([agent], registry=departments.registry)
    caller, call_id, sipp = _connected(q, agent, listen_ms=15000)
    assert _post(q, f"/calls/{call_id}/party", {"action": "blind", "department": "06"}) == 202  # 12366 tax
    q.wait_event(caller, "agent_left")
    joined = q.wait_event(caller, "department_joined")
    assert joined["detail"]["members"] == ["caller", "department"] and joined["detail"]["mode"] == "blind"
    assert _bridge_members(q, call_id) == 2
    _hang_up(q, caller, call_id, sipp)


def test_attended_transfer_to_a_subcenter(queue_stack: Callable[..., QueueStack], departments: Departments) -> None:
    agent = AgentSpec("1001", phone="answer-wait-bye")
    q = queue_stack([agent], registry=departments.registry)
    caller, call_id, sipp = _connected(q, agent, listen_ms=20000)
    assert _post(q, f"/calls/{call_id}/party", {"action": "attended", "department": "12366"}) == 202
    q.wait_event(caller, "caller_on_hold")
    joined = q.wait_event(caller, "department_joined")
    assert joined["detail"]["members"] == ["agent", "department"]  # the caller is on hold meanwhile
    assert len(q.stack.ari.get(f"/bridges/xfer-{call_id}")["channels"]) == 1
    assert _post(q, f"/calls/{call_id}/party", {"action": "complete"}) == 202
    left = q.wait_event(caller, "agent_left")
    assert left["detail"]["members"] == ["caller", "department"]
    wait_for(lambda: _bridge_members(q, call_id) == 2, 5, "caller with the sub-center")
    _hang_up(q, caller, call_id, sipp)


@pytest.mark.parametrize("first", ["caller", "department", "agent"])
def test_whoever_hangs_up_first_nothing_is_left(
    queue_stack: Callable[..., QueueStack], departments: Departments, first: str
) -> None:
    agent = AgentSpec("1001", phone="answer-wait-bye")
    q = queue_stack([agent], registry=departments.registry)
    caller, call_id, sipp = _connected(q, agent, listen_ms=30000)
    _bring_in(q, caller, call_id, "12333")
    channels = {c["id"]: c for c in q.stack.ari.channels()}
    if first == "caller":
        q.stack.ari.delete(f"/channels/{call_id}")
    else:
        prefix = "dept-" if first == "department" else "agent-"
        leg = next(cid for cid in channels if cid.startswith(prefix))
        q.stack.ari.delete(f"/channels/{leg}")
    if first != "caller":  # the other two go on; end it from the caller's side
        q.wait_event(caller, "agent_hung_up" if first == "agent" else "department_left")
        assert _bridge_members(q, call_id) == 2
        q.stack.ari.delete(f"/channels/{call_id}")
    sipp.wait(60)
    record = q.record(caller)
    assert record["outcome"] == "answered" and record["ended_at"] is not None
    wait_for(lambda: not q.stack.ari.channels() and not q.stack.ari.call_bridges(), 10, "no channel or bridge left")
