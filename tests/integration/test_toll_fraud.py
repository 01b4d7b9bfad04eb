"""Toll fraud and SIP hygiene against the real Asterisk: nothing a fraudster dials leaves the box.

A catalogue of fraud numbers (tests/harness/fraud.py: international and national prefixes, 9/0 +
number, feature-code look-alikes, long and non-digit strings, SIP URI tricks, the box's own
endpoints) is dialled from the carrier trunk, from an agent's phone (with its password) and from a
department line. One SIPp UAS plays every way out of the box: all department and sub-center lines
and the outbound return-visit trunk point at it. It must receive no INVITE; every attempt is
refused, or (from the trunk) answered with the unknown-number notice and hung up by the hotline,
with a call record of route ``unknown`` that carries its answer time.

Then from an address that is neither the carrier nor a registered phone (a second address on the
loopback interface): nothing is answered whoever the From names; and a REGISTER with a wrong
password is refused and counted in Asterisk's security log (``security.log``, one
``ChallengeResponseFailed`` per refusal: what fail2ban and a supervisor's log reader see).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ari_app.registry.loader import load_registry
from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec, phone_passwords
from tests.harness.faults import record_fault
from tests.harness.fraud import Attempt, Probe, Source, catalogue, run_probes
from tests.harness.loopback import loopback_address
from tests.harness.records import calls_from
from tests.harness.services import REPO, registry_copy
from tests.harness.sipp import PEERS, SippCall, _spawn, _traces, sipp_binary, start_peer, with_timing
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = [pytest.mark.integration, pytest.mark.faults]

STRANGER = "198.18.77.9"  # benchmarking range (RFC 2544): never a real host on the user's network


def _departments() -> list[str]:
    registry = load_registry(REPO / "config" / "hotlines.yaml")
    return sorted(d.line.endpoint for d in registry.departments.values() if d.line is not None)


def _fraud_stack(queue_stack: Callable[..., QueueStack], tmp_path: Path) -> tuple[QueueStack, SippCall]:
    """A stack whose every way out (department lines, return-visit trunk) is one SIPp UAS that answers
    OPTIONS and refuses (486) any INVITE; started and reachable before the probes."""
    outside_port = free_port_both()
    registry = registry_copy(tmp_path / "hotlines.yaml", dict.fromkeys(_departments(), outside_port))
    trunk = SipPeer("return-visit", f"sip:return-visit@127.0.0.1:{outside_port}", context="hotline-department")
    outside = start_peer("busy", port=outside_port, trace_dir=tmp_path / "outside")
    try:
        q = queue_stack([AgentSpec("1001")], registry=registry, peers=(trunk,))
    except BaseException:
        outside.stop()
        raise
    q.phones.running["outside"] = outside  # stopped with the phones
    # Reachable (qualify answered): a Dial() to a department line would really send its INVITE.
    wait_for(lambda: all(q.stack.ari.get(f"/endpoints/PJSIP/{e}")["state"] == "online" for e in _departments()),
             20, "the department lines reachable")
    return q, outside


def _invites_received(outside: SippCall) -> list[str]:
    log = outside.trace_dir.joinpath("messages.log")
    text = log.read_text(errors="replace") if log.exists() else ""
    return re.findall(r"^INVITE \S+", text, flags=re.M)


def _dial_outs(q: QueueStack) -> list[str]:
    """Asterisk's own account of outbound legs (app_dial logs every one as "Called ...")."""
    messages = (q.stack.asterisk.log_dir / "messages.log").read_text(errors="replace")
    return [line for line in messages.splitlines() if "Called PJSIP/" in line]


FEATURE_CODES = ("*72", "*73", "*74", "*75")  # the agents' own codes: answered with a confirmation


def _check_attempt(q: QueueStack, attempt: Attempt) -> str:
    """'refused', 'notice' (from the trunk) or 'feature' (an agent's real code); fails the test otherwise."""
    what = f"{attempt.probe} from {attempt.source}: finals {attempt.finals}"
    if attempt.refused:
        return "refused"
    assert attempt.answered and attempt.hung_up_by_hotline, what + attempt.result.message_log()[-2000:]
    if attempt.source == "agent" and attempt.probe.target in FEATURE_CODES:
        return "feature"
    assert attempt.source == "trunk", what  # no other context answers
    record = wait_for(lambda: [r for r in calls_from(q.dsn, attempt.caller) if r["ended_at"]], 15,
                      f"the record of {attempt.probe}")[-1]
    assert record["route"] == "unknown" and record["outcome"] == "unknown_number", (what, record)
    assert record["answered_at"] is not None and record["started_at"] <= record["answered_at"] <= record["ended_at"], \
        (what, record)
    return "notice"


@pytest.mark.timeout(400)
def test_no_fraud_number_leaves_the_box(queue_stack: Callable[..., QueueStack], tmp_path: Path) -> None:
    q, outside = _fraud_stack(queue_stack, tmp_path)
    endpoints = [*_departments(), "agent-1001", "agent-1002", "return-visit", "trunk", "test-caller"]
    probes = catalogue(endpoints)
    kinds = {p.kind for p in probes}
    assert len(probes) >= 100 and kinds == {"international", "national", "prefix", "feature", "junk", "uri",
                                            "endpoint"}, (len(probes), kinds)
    password = phone_passwords(q.stack.asterisk.state_dir)["1001"]
    base = f"1391{os.getpid() % 10000:04d}"
    trunk, agent, department = Source("trunk", "trunk"), Source("agent", "agent-1001", password), \
        Source("department", "dept-12333")
    runs = [(trunk, p, f"{base}{i:03d}") for i, p in enumerate(probes)]
    runs += [(agent, p, agent.user) for p in probes] + [(department, p, department.user) for p in probes]
    done = run_probes(runs, q.stack.asterisk.sip_port, tmp_path / "probes")

    outcomes = [_check_attempt(q, a) for a in done]
    # The agent's probes got past the digest (what refused them is the dialplan, not a 401).
    assert all(a.finals[-1] not in (401, 407) for a in done if a.source == "agent"), \
        [(a.probe, a.finals) for a in done if a.source == "agent"]
    dial_outs = _invites_received(outside) + _dial_outs(q)
    record_fault("toll fraud probe", attempts=len(done), numbers=len(probes), sources=3,
                 notices=outcomes.count("notice"), refusals=outcomes.count("refused"),
                 feature_codes=outcomes.count("feature"), dial_outs=len(dial_outs))
    assert dial_outs == [], dial_outs
    # The outside peer was there all along, answering the qualify: it would have seen a leak.
    assert "OPTIONS sip:" in outside.trace_dir.joinpath("messages.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def stranger_address() -> Iterator[str]:
    with loopback_address(STRANGER) as address:
        yield address


def _security_failures(q: QueueStack, account: str) -> list[str]:
    log = q.stack.asterisk.log_dir / "security.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines()
            if 'SecurityEvent="ChallengeResponseFailed"' in line and f'AccountID="{account}"' in line]


def _register_wrong(q: QueueStack, trace_dir: Path, host: str) -> str:
    """REGISTER as agent-1001 with a wrong password; the final answer's start line."""
    trace_dir.mkdir(parents=True, exist_ok=True)
    scenario = with_timing(PEERS / "register-refused.xml", trace_dir)
    cmd = [sipp_binary(), f"127.0.0.1:{q.stack.asterisk.sip_port}", "-sf", str(scenario), "-i", host,
           "-p", str(free_port_both()), "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
           "-au", "agent-1001", "-ap", "Wrong-Password-0000", "-key", "user", "agent-1001", *_traces(trace_dir)]
    result = _spawn(cmd, trace_dir).wait(30)
    assert result.returncode == 0, result.output[-2000:] + result.message_log()[-2000:]
    return [r for r in result.start_lines() if r.startswith("SIP/2.0 ")][-1]


def _counted(q: QueueStack, stranger: str) -> dict[str, Any] | None:
    summary: dict[str, Any] = q.serve.get("/security")[1]
    by_account, by_address = summary["by_account"], summary["by_address"]
    # Three REGISTERs plus the INVITEs of the stranger naming agent-1001 and test-caller with wrong passwords.
    if by_account.get("agent-1001", 0) >= 3 + 4 and by_account.get("test-caller", 0) >= 4 \
            and by_address.get(stranger, 0) >= 9:
        return summary
    return None


@pytest.mark.timeout(200)
def test_strangers_and_wrong_passwords_are_refused(
    queue_stack: Callable[..., QueueStack], tmp_path: Path, stranger_address: str
) -> None:
    q, outside = _fraud_stack(queue_stack, tmp_path)
    password = phone_passwords(q.stack.asterisk.state_dir)["1001"]
    contact_before = q.stack.asterisk.cli("pjsip show contacts")
    assert "agent-1001/sip:agent-1001@127.0.0.1" in contact_before, contact_before

    # From an address that is not the carrier: whoever the From names, nothing is answered, no
    # record is written, nothing goes out. "trunk" is let in by address only.
    probes = [Probe("endpoint", n) for n in ("12345", "12333", "0088213000001", "*72")]
    users = (("trunk", "x"), ("dept-12333", "x"), ("return-visit", "x"), ("agent-1001", "Wrong-1"),
             ("test-caller", "Wrong-2"), ("13912340000", "x"))
    attempts = run_probes([(Source(f"stranger-{u}", u, secret, host=stranger_address), p, u)
                           for u, secret in users for p in probes], q.stack.asterisk.sip_port, tmp_path / "stranger")
    for attempt in attempts:
        assert attempt.refused, f"{attempt.probe} from {attempt.source}: finals {attempt.finals}"
    assert not calls_from(q.dsn, "trunk") and not calls_from(q.dsn, "13912340000")

    # A registered phone of that address may still call: the agent with its password is let in
    # (and its dialplan refuses the fraud number).
    ok = Source("stranger-agent-ok", "agent-1001", password, host=stranger_address)
    agent = run_probes([(ok, probes[2], ok.user)], q.stack.asterisk.sip_port, tmp_path / "stranger-ok")
    assert agent[0].finals[-1] not in (401, 407) and agent[0].refused, agent[0].finals

    # Wrong passwords: refused, counted, and the phone's registration is untouched.
    before = len(_security_failures(q, "agent-1001"))
    finals = [_register_wrong(q, tmp_path / f"register-{i}", host) for i, host in
              enumerate(("127.0.0.1", stranger_address, "127.0.0.1"))]
    assert all(f.startswith(("SIP/2.0 401", "SIP/2.0 403")) for f in finals), finals
    wait_for(lambda: len(_security_failures(q, "agent-1001")) >= before + 3, 10,
             "three ChallengeResponseFailed events for agent-1001 in security.log")
    # ... and what a supervisor reads from the service (AMI security events): GET /security.
    status, summary = q.serve.get("/security")
    assert status == 200 and summary["watching"] is True, summary
    counted = wait_for(lambda: _counted(q, stranger_address), 10, "the failures counted by the service")
    assert q.stack.asterisk.cli("pjsip show contacts").count("agent-1001/sip:") == 1
    dial_outs = _invites_received(outside) + _dial_outs(q)
    record_fault("strangers and wrong passwords", attempts=len(attempts),
                 answered_strangers=sum(a.answered for a in attempts),
                 wrong_password_registers=len(_security_failures(q, "agent-1001")) - before,
                 security_by_kind=counted["by_kind"], dial_outs=len(dial_outs))
    assert dial_outs == [], dial_outs
