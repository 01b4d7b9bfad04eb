"""Degraded mode: the Stasis app is not connected, and still a person answers.

``Stasis()`` fails fast (STASISSTATUS=FAILED) and the dialplan queues the caller in app_queue
``hotline-degraded``, whose members are the seats of config/seats.yaml. A SIPp peer plays the
phone of agent-1001: it answers, stays on the line, and hangs up.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import phone_passwords
from tests.harness.records import call_events, closed_call_from
from tests.harness.services import ServeProcess, Stack, start_asterisk
from tests.harness.sipp import Account, SippCall, SippResult, place_call, start_phone
from tests.harness.wait import wait_for

AGENT = "agent-1001"  # in config/seats.yaml, so a member of the degraded queue
AGENT_HOLD_MS = 1500
WRONG_PASSWORD = "Wr0ng-Degraded-Passw0rd-xyz"


@dataclass
class AgentStack:
    stack: Stack
    agent: SippCall


@pytest.fixture
def agent_stack(artifacts: Path, request: pytest.FixtureRequest) -> Iterator[AgentStack]:
    """An Asterisk of this test's own with agent-1001's phone played by a SIPp phone that registers."""
    name = f"d{os.getpid() % 10**5}{abs(hash(request.node.nodeid)) % 10**4}"
    stack = start_asterisk(name, state_dir=artifacts / "state")
    account = Account(AGENT, phone_passwords(stack.asterisk.state_dir)["1001"], stack.asterisk.sip_port)
    agent = start_phone("answer-then-bye", account=account, port=free_port_both(), trace_dir=artifacts / "agent",
                        hold_ms=AGENT_HOLD_MS)
    try:
        wait_for(lambda: stack.ari.get(f"/endpoints/PJSIP/{AGENT}")["state"] == "online", 15, f"{AGENT} registered")
        yield AgentStack(stack, agent)
        try:
            wait_for(lambda: not stack.ari.channels(), 10, "no channels left in Asterisk")
        except AssertionError:
            leftovers = stack.ari.channels()
            stack.ari.clear()
            raise AssertionError(f"leak after test: {leftovers}") from None
    finally:
        agent.stop()
        stack.asterisk.stop()
        shutil.copytree(stack.asterisk.log_dir, artifacts / "asterisk", dirs_exist_ok=True)
        stack.asterisk.remove()


def _agent_answered(agent_log: str) -> bool:
    """The peer received an INVITE, sent 200 OK to it, and later hung up with a BYE."""
    invite = agent_log.find("INVITE sip:")
    ok = agent_log.find("SIP/2.0 200 OK", invite)
    bye = agent_log.find("BYE sip:", ok)
    return -1 not in (invite, ok, bye)


def _queue_connected(stack: Stack) -> bool:
    """app_queue's own log: the degraded queue connected the caller to agent-1001."""
    queue_log = stack.asterisk.log_dir / "queue_log"
    text = queue_log.read_text(errors="replace") if queue_log.exists() else ""
    return any(f"|hotline-degraded|PJSIP/{AGENT}|CONNECT|" in line for line in text.splitlines())


def _call(stack: Stack, caller: str, trace_dir: Path) -> SippResult:
    return place_call("greeting-12345", target_port=stack.asterisk.sip_port, caller=caller, trace_dir=trace_dir).wait(
        40
    )


def test_stasis_app_not_connected_call_goes_to_agent_via_app_queue(
    agent_stack: AgentStack, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    stack = agent_stack.stack
    serve = ServeProcess(stack, postgres.dsn, artifacts / "serve.log", ari_password=WRONG_PASSWORD).start()
    try:
        # FastAGI and the database work; the Stasis app is refused (401) and never registers.
        wait_for(lambda: serve.get("/readyz")[1].get("database"), 20, "serve to reach the database")
        wait_for(
            lambda: any(e.get("event") == "ari_connect_failed" and e.get("status") == 401 for e in serve.log_events()),
            20,
            "the ARI connection to be refused",
        )
        assert stack.asterisk.ari_app not in [a["name"] for a in stack.ari.get("/applications")]

        result = _call(stack, caller_number, artifacts / "caller")
        assert result.returncode == 0, result.output[-2000:] + result.message_log()[-3000:]
        agent_log = agent_stack.agent.trace_dir.joinpath("messages.log").read_text(errors="replace")
        assert _agent_answered(agent_log), agent_log[-3000:]
        assert _queue_connected(stack)

        record = wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "the closed call record")
        assert record["hotline"] == "12345"
        assert record["route"] == "degraded", record
        assert record["outcome"] == "degraded_answered", record
        assert record["degraded"] is True, record  # served while the app was not connected
        kinds = [e["kind"] for e in call_events(postgres.dsn, record["call_id"])]
        assert "degraded" in kinds, kinds

        messages = (stack.asterisk.log_dir / "messages.log").read_text(errors="replace")
        warnings = [line for line in messages.splitlines() if "Stasis app not connected" in line]
        assert warnings and all("WARNING" in line for line in warnings), warnings or messages[-3000:]

        serve.log_in()  # the API works with the database alone
        status, summary = serve.get("/registry")
        assert status == 200 and summary["degraded_calls"] == 1, summary
        assert serve.process is not None and serve.process.poll() is None
    finally:
        serve.stop()
    log = serve.log_text()
    assert "loop_unhandled_exception" not in log
    assert WRONG_PASSWORD not in log


def test_no_service_at_all_agent_still_answers(agent_stack: AgentStack, artifacts: Path, caller_number: str) -> None:
    """Neither FastAGI nor Stasis: every AGI() fails, Stasis() fails, the queue still rings the agent."""
    stack = agent_stack.stack
    result = _call(stack, caller_number, artifacts / "caller")
    assert result.returncode == 0, result.output[-2000:] + result.message_log()[-3000:]
    agent_log = agent_stack.agent.trace_dir.joinpath("messages.log").read_text(errors="replace")
    assert _agent_answered(agent_log), agent_log[-3000:]
    assert _queue_connected(stack)
