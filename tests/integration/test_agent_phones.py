"""Agent phones for real: they register with the password generated for them, a wrong password is
refused with 401 and nothing else, and an agent whose phone is not registered is never rung."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec, agent_action, agents_state, phone_passwords
from tests.harness.services import REPO, Stack, start_asterisk
from tests.harness.sipp import Account, place_authenticated_call, start_phone
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """An Asterisk of this module's own: phones registered here must not reach other tests' calls."""
    s = start_asterisk(f"ph{os.getpid() % 10**5}", state_dir=tmp_path_factory.mktemp("phones-state"))
    yield s
    s.asterisk.stop()
    s.asterisk.remove()


def _endpoint_state(stack: Stack, endpoint: str) -> str:
    state: str = stack.ari.get(f"/endpoints/PJSIP/{endpoint}")["state"]
    return state


def test_a_wrong_password_is_refused_with_401_and_nothing_else(stack: Stack, artifacts: Path) -> None:
    right = phone_passwords(stack.asterisk.state_dir)["1001"]
    wrong = Account("agent-1001", right[::-1] + "x", stack.asterisk.sip_port)
    phone = start_phone("answer-then-bye", account=wrong, port=free_port_both(), trace_dir=artifacts / "register")
    result = phone.wait(20)
    assert result.returncode != 0, "SIPp expected 200 to its REGISTER and must have failed"
    assert result.start_lines()[:4] == [
        f"REGISTER sip:127.0.0.1:{stack.asterisk.sip_port} SIP/2.0", "SIP/2.0 401 Unauthorized",
        f"REGISTER sip:127.0.0.1:{stack.asterisk.sip_port} SIP/2.0", "SIP/2.0 401 Unauthorized",
    ]
    assert result.responses() == {"SIP/2.0 401 Unauthorized"}
    assert _endpoint_state(stack, "agent-1001") == "offline"
    # A call from the agent's phone with the wrong password is not let in as the trunk either.
    dial = place_authenticated_call(wrong, service="12345", trace_dir=artifacts / "dial", listen_ms=2000).wait(30)
    assert dial.returncode != 0
    # Challenged, and challenged again with the wrong digest (retransmitted), never let in.
    assert dial.responses() == {"SIP/2.0 401 Unauthorized"}, dial.start_lines()
    assert sum(line.startswith("INVITE ") for line in dial.start_lines()) >= 2
    assert not stack.ari.channels()


def test_the_password_hotline_seats_prints_registers_the_phone(stack: Stack, artifacts: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_STATE_DIR"] = str(stack.asterisk.state_dir)
    out = subprocess.run([sys.executable, "-m", "ari_app.cli", "seats", "--json"], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=30, check=True).stdout
    rows = {row["agent"]: row for row in json.loads(out)}
    assert rows.keys() == phone_passwords(stack.asterisk.state_dir).keys()
    assert rows["1002"]["sip_user"] == "agent-1002"
    account = Account("agent-1002", rows["1002"]["password"], stack.asterisk.sip_port)
    phone = start_phone("answer-then-bye", account=account, port=free_port_both(), trace_dir=artifacts / "phone")
    try:
        wait_for(lambda: _endpoint_state(stack, "agent-1002") == "online", 15, "agent-1002 registered")
    finally:
        phone.stop()
    # Challenged once, then let in (Asterisk lists the endpoint online, above).
    assert phone.wait(5).start_lines()[:3] == [
        f"REGISTER sip:127.0.0.1:{stack.asterisk.sip_port} SIP/2.0", "SIP/2.0 401 Unauthorized",
        f"REGISTER sip:127.0.0.1:{stack.asterisk.sip_port} SIP/2.0",
    ]


def test_an_agent_whose_phone_is_not_registered_is_never_rung(queue_stack: Callable[..., QueueStack]) -> None:
    # 1001 has been idle longest, so the ACD would pick them first if their phone were there.
    q = queue_stack([AgentSpec("1001", phone=""), AgentSpec("1002", hold_ms=1500)])
    assert agents_state(q.serve.http)["1001"]["phone"] == "unregistered"
    q.login("1001")
    caller, sipp = q.call(listen_ms=20000)
    q.wait_event(caller, "queued")
    assert agent_action(q.serve.http, "1001", "ready")["state"] == "ready"  # ready, yet nothing is offered
    q.login("1002")
    connected = q.wait_event(caller, "agent_connected")
    assert connected["detail"]["agent"] == "1002"
    assert sipp.wait(40).returncode == 0
    rung = [e["detail"]["agent"] for e in q.events(caller) if e["kind"] == "agent_ringing"]
    assert rung == ["1002"]
    assert agents_state(q.serve.http)["1001"]["state"] == "ready"


def test_agent_logs_in_from_the_phone_and_is_offered_the_next_caller(
    queue_stack: Callable[..., QueueStack], artifacts: Path
) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=1500)])
    login = place_authenticated_call(q.phones.account("1001"), service="*72", trace_dir=artifacts / "star72")
    assert login.wait(30).returncode == 0
    wait_for(lambda: agents_state(q.serve.http)["1001"]["state"] == "ready", 10, "agent 1001 ready after *72")
    caller, sipp = q.call(listen_ms=20000)
    assert q.wait_event(caller, "agent_connected")["detail"]["agent"] == "1001"
    assert sipp.wait(40).returncode == 0
    assert q.record(caller)["outcome"] == "answered"


def test_a_centre_with_more_agents_than_one_subscription_takes_comes_up(
    queue_stack: Callable[..., QueueStack],
) -> None:
    """Asterisk takes at most 128 event sources per subscription request: 150 agents' phones are
    watched in batches, and the service becomes ready (phones off: all unregistered)."""
    q = queue_stack([AgentSpec(str(2000 + n), phone="") for n in range(150)])
    agents = agents_state(q.serve.http)
    assert len(agents) == 150 and {a["phone"] for a in agents.values()} == {"unregistered"}
