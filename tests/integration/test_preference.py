"""A preference that helps nobody must not cost the caller.

Calls to a merged number prefer the staff its department seconded to 12345, for ``widen_after``
seconds, but only while such staff is logged in and could take the call; overflow from a
department that keeps its seats carries no preference at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec
from tests.harness.records import calls_from
from tests.harness.services import registry_copy
from tests.harness.sipp import SippCall, start_peer
from tests.integration.conftest import QueueStack

pytestmark = pytest.mark.integration

WIDEN_AFTER = 12
SECONDED = AgentSpec("3001", phone="answer-wait-bye", seconded_by="civil-affairs")  # 12349's department


@pytest.fixture
def busy_department(artifacts: Path) -> Iterator[Path]:
    """A registry whose 12333 line answers busy at once: its callers overflow to 12345 intake."""
    port = free_port_both()
    peer: SippCall = start_peer("busy", port=port, trace_dir=artifacts / "dept-12333")
    try:
        yield registry_copy(artifacts / "hotlines.yaml", {"dept-12333": port})
    finally:
        peer.stop()


def _answered(q: QueueStack, caller: str) -> tuple[str, float, str]:
    """Who answered the caller, after how long in the queue, and the group the call was queued with."""
    connected = q.wait_event(caller, "agent_connected", timeout=60)
    queued = next(e for e in q.events(caller) if e["kind"] == "queued")
    return connected["detail"]["agent"], connected["detail"]["waited"], queued["detail"]["group"]


def test_with_only_general_agents_merged_and_overflow_calls_are_answered_at_once(
    queue_stack: Callable[..., QueueStack], busy_department: Path
) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=1500), AgentSpec("1002", hold_ms=1500), SECONDED],
                    registry=busy_department, widen_after=WIDEN_AFTER)
    q.login("1001", "1002")  # the seconded agent 3001 stays logged out
    merged, merged_sipp = q.call("12349")
    overflow, overflow_sipp = q.call("12333")
    agent, waited, group = _answered(q, merged)
    assert agent in ("1001", "1002") and group == "civil-affairs"
    assert waited < WIDEN_AFTER / 2, f"the 12349 caller waited {waited}s for seconded staff nobody staffs"
    agent, waited, group = _answered(q, overflow)
    assert agent in ("1001", "1002") and group == "", "overflow from 12333 must carry no preference"
    assert waited < WIDEN_AFTER / 2
    assert [e["kind"] for e in q.events(overflow)].count("overflow") == 1
    assert merged_sipp.wait(60).returncode == 0 and overflow_sipp.wait(60).returncode == 0


def test_a_busy_seconded_agent_is_waited_for_up_to_widen_after(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=1500), SECONDED], widen_after=WIDEN_AFTER)
    q.login("3001")
    first, first_sipp = q.call("12345", listen_ms=90000)
    assert _answered(q, first)[0] == "3001"  # 3001 now talks until this caller hangs up
    q.login("1001")
    merged, merged_sipp = q.call("12349")
    agent, waited, group = _answered(q, merged)
    assert group == "civil-affairs"
    assert agent == "1001" and waited >= WIDEN_AFTER - 0.5, (agent, waited)
    assert merged_sipp.wait(60).returncode == 0
    q.stack.ari.delete(f"/channels/{calls_from(q.dsn, first)[-1]['call_id']}")  # the first caller hangs up
    assert first_sipp.wait(30).returncode == 0
