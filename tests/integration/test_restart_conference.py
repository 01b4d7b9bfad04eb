"""`hotline serve` killed (SIGKILL) during a three-party call and during an attended transfer:
after the restart nobody is adopted as a new caller, the talking parties stay connected, the call
goes on under the app's control and its record closes right."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec, agents_state
from tests.harness.records import calls_from, count_calls
from tests.harness.services import registry_copy
from tests.harness.sipp import SippCall, start_peer
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = pytest.mark.integration


@pytest.fixture
def hr_department(artifacts: Path) -> Iterator[Path]:
    """A registry whose 12333 line (市人力资源社会保障局, short code 01) answers and stays on."""
    port = free_port_both()
    phone: SippCall = start_peer("answer-wait-bye", port=port, trace_dir=artifacts / "dept-12333")
    try:
        yield registry_copy(artifacts / "hotlines.yaml", {"dept-12333": port})
    finally:
        phone.stop()


def _post(q: QueueStack, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{q.serve.http}{path}", method="POST", data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202


def _members(q: QueueStack, bridge: str) -> set[str]:
    return set(q.stack.ari.get(f"/bridges/{bridge}")["channels"])


def _state(q: QueueStack, call_id: str, resumed: str) -> dict[str, Any]:
    """The call as the service shows it once it has taken the call up again after its restart
    (``resumed``: the field that says so); the re-adoption runs just after the service says ready."""
    def taken_up() -> dict[str, Any] | None:
        status, state = q.serve.get(f"/calls/{call_id}")
        assert status in (200, 404), state  # 404: not taken up yet
        return state if status == 200 and state.get(resumed) else None

    result: dict[str, Any] = wait_for(taken_up, 10, f"the call taken up again ({resumed})")
    return result


def _talking_with_department(
    q: QueueStack, action: str
) -> tuple[str, str, SippCall]:
    q.login("1001")
    caller, sipp = q.call(listen_ms=90000)
    q.wait_event(caller, "agent_connected")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]
    _post(q, f"/calls/{call_id}/party", {"action": action, "department": "01"})
    q.wait_event(caller, "department_joined")
    return caller, call_id, sipp


def _kill_and_restart(q: QueueStack) -> None:
    q.serve.kill()  # SIGKILL: no goodbye, no cleanup
    q.serve.start()
    q.serve.wait_ready(20)


def _nobody_new(q: QueueStack, calls_before: int) -> None:
    assert count_calls(q.dsn) == calls_before, "a leg was taken for a new caller"
    started = [e for e in q.serve.log_events() if e.get("event") == "call_started"]
    assert all(not str(e.get("call_id", "")).startswith(("agent-", "dept-")) for e in started), started


def _caller_hangs_up(q: QueueStack, caller: str, call_id: str, sipp: SippCall) -> None:
    q.stack.ari.delete(f"/channels/{call_id}")
    assert sipp.wait(30).returncode == 0
    assert q.record(caller)["outcome"] == "answered"


def test_sigkill_during_a_three_party_call(
    queue_stack: Callable[..., QueueStack], hr_department: Path
) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye")], registry=hr_department)
    caller, call_id, sipp = _talking_with_department(q, "add")
    bridge = f"talk-{call_id}"
    before = _members(q, bridge)
    assert len(before) == 3
    calls_before = count_calls(q.dsn)

    _kill_and_restart(q)

    assert _members(q, bridge) == before, "the three parties must stay connected"
    _nobody_new(q, calls_before)
    state = _state(q, call_id, "talking")
    assert state["talking"] and state["agent"] == "1001"
    assert state["department"] == {"id": "human-resources", "mode": "conference", "joined": True}
    assert agents_state(q.serve.http)["1001"]["state"] == "busy"
    wait_for(lambda: "conversation_resumed" in [e["kind"] for e in q.events(caller)], 10,
             "the resumption on the record (events are written behind the call)")

    # The call is the app's again: the agent drops the department, caller and agent go on.
    _post(q, f"/calls/{call_id}/party", {"action": "drop"})
    wait_for(lambda: len(_members(q, bridge)) == 2, 10, "the department to leave")
    _caller_hangs_up(q, caller, call_id, sipp)
    wait_for(lambda: agents_state(q.serve.http)["1001"]["state"] in ("wrap_up", "ready"), 10, "agent released")


def test_sigkill_during_an_attended_transfer(
    queue_stack: Callable[..., QueueStack], hr_department: Path
) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye")], registry=hr_department)
    caller, call_id, sipp = _talking_with_department(q, "attended")
    talk, hold = f"talk-{call_id}", f"xfer-{call_id}"
    agent_and_department = _members(q, talk)
    assert len(agent_and_department) == 2 and _members(q, hold) == {call_id}
    calls_before = count_calls(q.dsn)

    _kill_and_restart(q)

    assert _members(q, talk) == agent_and_department and _members(q, hold) == {call_id}
    _nobody_new(q, calls_before)
    state = _state(q, call_id, "caller_on_hold")
    assert state["caller_on_hold"] and state["agent"] == "1001"
    assert state["department"] == {"id": "human-resources", "mode": "attended", "joined": True}

    # The agent completes the transfer: the caller joins the department, the agent leaves.
    _post(q, f"/calls/{call_id}/party", {"action": "complete"})
    wait_for(lambda: agent_and_department - _members(q, talk) and call_id in _members(q, talk), 10,
             "caller with the department, agent gone")
    assert len(_members(q, talk)) == 2
    wait_for(lambda: agents_state(q.serve.http)["1001"]["state"] in ("wrap_up", "ready"), 10, "agent released")
    _caller_hangs_up(q, caller, call_id, sipp)
