"""Asterisk killed (SIGKILL) with a caller talking to an agent and one waiting, then started again:
the service, with its default reconnect settings, registers the app again within 3 s of Asterisk
being ready; the records of the calls lost with Asterisk close with what they were (answered,
abandoned); a new caller is served. (Issue 14's Asterisk fault; the figures are printed.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.agents import AgentSpec
from tests.harness.faults import record_fault
from tests.harness.records import calls_from, closed_call_from
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults]
DEFAULT_BACKOFF = {"HOTLINE_ARI_BACKOFF_INITIAL": "0.5", "HOTLINE_ARI_BACKOFF_MAX": "2.0"}  # as a deployment has it


def _readyz(q: QueueStack) -> dict[str, Any]:
    status, body = q.serve.get("/readyz")
    result: dict[str, Any] = {**body, "ready": status == 200}
    return result


def test_asterisk_killed_with_calls_up_then_back(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-then-bye", hold_ms=60000)], env=DEFAULT_BACKOFF)
    q.login("1001")
    talking, _talking_sipp = q.call("12345", listen_ms=60000)
    q.wait_event(talking, "agent_connected")
    waiting, _waiting_sipp = q.call("12345", listen_ms=60000)
    q.wait_event(waiting, "queued")

    q.stack.asterisk.kill()
    wait_for(lambda: not _readyz(q)["ari"] or None, 10, "the service to see Asterisk gone")
    down_for = 4.0  # long enough for the reconnect backoff to reach its ceiling
    deadline = time.time() + down_for
    wait_for(lambda: time.time() >= deadline or None, down_for + 1, "Asterisk to stay down a while")
    q.stack.asterisk.start()
    back = time.time()  # start() returns once Asterisk answers on its ARI port
    wait_for(lambda: _readyz(q)["ari"] or None, 15, "the app registered again")
    registered = time.time() - back
    assert registered < 3.0, f"the app registered {registered:.1f} s after Asterisk was ready"

    talked = wait_for(lambda: closed_call_from(q.dsn, talking), 20, "the talking call's record closed")
    left = wait_for(lambda: closed_call_from(q.dsn, waiting), 20, "the waiting call's record closed")
    assert talked["outcome"] == "answered" and talked["answered_at"] is not None, talked
    assert left["outcome"] == "abandoned", left
    assert len(calls_from(q.dsn, talking)) == 1 and len(calls_from(q.dsn, waiting)) == 1

    q.phones.wait_registered(q.stack.ari, 40)  # the agent's phone registers with the new Asterisk
    wait_for(lambda: q.serve.get("/agents")[1]["agents"][0]["state"] == "ready" or None, 30,
             "the agent free again (the lost call wrapped up)")
    fresh, fresh_sipp = q.call("12345", listen_ms=20000)
    q.wait_event(fresh, "agent_connected", 40)
    q.stack.ari.delete(f"/channels/{calls_from(q.dsn, fresh)[-1]['call_id']}")
    assert fresh_sipp.wait(30).returncode == 0
    record_fault("Asterisk SIGKILLed with 2 calls up", placed=3, answered=2, dropped=0, records_lost=0, duplicates=0,
                 recovery_s=registered, lost_with_asterisk=2, closed_answered=1, closed_abandoned=1,
                 down_s=down_for, new_call_answered=True)
