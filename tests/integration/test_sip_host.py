"""A softphone on another device: SIP and RTP on a chosen, non-loopback address (HOTLINE_SIP_HOST).

Off loopback nothing is let in by address (no carrier named): agents register with their
passwords, and the test-caller account dials the hotline numbers through the trunk's inbound path.
An unauthenticated INVITE is refused. A second address on the loopback interface plays the
machine's LAN address.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import agent_action, agents_state, phone_passwords
from tests.harness.loopback import loopback_address
from tests.harness.records import calls_from, closed_call_from
from tests.harness.services import ServeProcess, assert_no_leaks, start_asterisk
from tests.harness.sipp import Account, place_authenticated_call, place_call, start_phone
from tests.harness.wait import wait_for

pytestmark = pytest.mark.integration

ADDRESS = "198.18.77.1"  # benchmarking range (RFC 2544): never a real host on the user's network


@pytest.fixture(scope="module")
def lan_address() -> Iterator[str]:
    with loopback_address(ADDRESS) as address:
        yield address


def test_test_caller_and_agent_on_a_lan_address(
    lan_address: str, postgres: PostgresCluster, artifacts: Path
) -> None:
    stack = start_asterisk(f"lan{os.getpid() % 10**5}", state_dir=artifacts / "state", sip_host=lan_address,
                           trunk_match=())
    dsn = postgres.create_database(f"lan{os.getpid()}")
    serve = ServeProcess(stack, dsn, artifacts / "serve.log")
    phone = None
    try:
        serve.start().wait_ready(20)
        agent = Account("agent-1001", phone_passwords(stack.asterisk.state_dir)["1001"], stack.asterisk.sip_port,
                        host=lan_address)
        phone = start_phone("answer-then-bye", account=agent, port=free_port_both(), trace_dir=artifacts / "phone",
                            hold_ms=1500)
        wait_for(lambda: agents_state(serve.http)["1001"]["phone"] == "registered", 15, "agent 1001 registered")
        assert agent_action(serve.http, "1001", "login")["state"] == "ready"

        # Nobody is let in by address: an INVITE without credentials is challenged and goes no further.
        stranger = place_call("greeting-12345", target_port=stack.asterisk.sip_port, caller="13900000001",
                              trace_dir=artifacts / "stranger", listen_ms=3000, host=lan_address).wait(30)
        assert stranger.returncode != 0
        replies = [line for line in stranger.message_log().splitlines() if line.startswith("SIP/2.0 ")]
        assert replies and all(r.startswith(("SIP/2.0 401", "SIP/2.0 403")) for r in replies), replies
        assert not calls_from(dsn, "13900000001")

        # The test caller dials 12345 with its credentials and a person answers.
        caller = Account("test-caller", stack.asterisk.test_caller_password(), stack.asterisk.sip_port,
                         host=lan_address)
        call = place_authenticated_call(caller, service="12345", trace_dir=artifacts / "test-caller",
                                        listen_ms=30000)
        assert call.wait(60).returncode == 0
        record = wait_for(lambda: closed_call_from(dsn, "test-caller"), 15, "the test caller's record")
        assert record["hotline"] == "12345" and record["outcome"] == "answered", record
        assert_no_leaks(stack, 15)
    finally:
        if phone is not None:
            phone.stop()
        serve.stop()
        stack.asterisk.stop()
        stack.asterisk.remove()
