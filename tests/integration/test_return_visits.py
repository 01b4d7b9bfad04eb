"""Unified return visits against the real Asterisk: a department replies through HTTP, the app
calls the citizen back over the outbound trunk (a SIPp peer here), reads the order number and the
department's name, and takes the rating by DTMF. 1 closes the order, 3 sends it back for rework
with a new deadline, an unanswered visit whose attempts are spent is on the manual list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec
from tests.harness.records import calls_from
from tests.harness.sipp import start_peer
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack
from tests.integration.test_workorders import _send

pytestmark = pytest.mark.integration

DTMF = Path("/usr/share/sip-tester")
CITIZEN = "13912345678"
SUMMARY_AND_QUESTION_MS = 36000  # intro, 14 digits, department, then into the question
ACCOUNTS = {"agent-1001": ("agent", "", "1001"), "hr-li": ("department", "human-resources", ""),
            "sup-zhao": ("supervisor", "", "")}


def _settings(path: Path, attempts: int) -> Path:
    path.write_text(
        "enabled: true\ntrunk: return-visit\ncaller_id: \"12345\"\ntimezone: Asia/Shanghai\n"
        f"hours: \"00:00-24:00\"\nattempts: {attempts}\nretry_minutes: [30]\nring_seconds: 10\nmax_channels: 5\n",
        encoding="utf-8")
    return path


def _stack(queue_stack: Callable[..., QueueStack], tmp_path: Path, peer: str, attempts: int = 3,
           **values: str) -> tuple[QueueStack, dict[str, str]]:
    port = free_port_both()
    trunk = SipPeer("return-visit", f"sip:return-visit@127.0.0.1:{port}", context="hotline-department")
    settings = _settings(tmp_path / "rv.yaml", attempts)
    q = queue_stack([AgentSpec("1001", phone="")], peers=(trunk,), env={"HOTLINE_RETURN_VISITS": str(settings)})
    q.phones.running["return-visit"] = start_peer(peer, port=port, trace_dir=q.base / "citizen", values=values)
    return q, {name: q.serve.login_as(name, *who) for name, who in ACCOUNTS.items()}


def _replied_order(q: QueueStack, tokens: dict[str, str]) -> dict[str, Any]:
    status, filed = _send(q, "POST", "/work-orders", {
        "category": "request", "content": "小区门口路灯不亮，请尽快维修。", "caller": CITIZEN, "hotline": "12345",
        "department": "human-resources"}, tokens["agent-1001"])
    assert status == 201, filed
    number = filed["number"]
    for action, fields in (("accept", {}), ("reply", {"reply": "已安排维修，三日内修复。"})):
        status, order = _send(q, "POST", f"/work-orders/{number}/{action}", fields, tokens["hr-li"])
        assert status == 200, (action, order)
    return order


def _visit(q: QueueStack, token: str, number: str, state: str, timeout: float) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        status, listed = _send(q, "GET", "/return-visits", token=token)
        assert status == 200, listed
        return next((v for v in listed["visits"] if v["number"] == number and v["state"] == state), None)

    return wait_for(found, timeout, f"return visit of {number} {state}")


def test_answered_with_1_closes_the_order(queue_stack: Callable[..., QueueStack], tmp_path: Path) -> None:
    q, tokens = _stack(queue_stack, tmp_path, "answer-press-key", key_after_ms=str(SUMMARY_AND_QUESTION_MS),
                       key_pcap=str(DTMF / "dtmf_2833_1.pcap"))
    replied = _replied_order(q, tokens)
    number = replied["number"]
    visit = _visit(q, tokens["sup-zhao"], number, "done", 90)
    assert visit["rating"] == "satisfied" and visit["attempts"] == 1 and visit["phone"] == CITIZEN
    status, order = _send(q, "GET", f"/work-orders/{number}", token=tokens["sup-zhao"])
    assert status == 200 and order["state"] == "closed" and order["rating"] == "satisfied", order
    steps = [(h["action"], h["actor"], h["role"]) for h in order["history"]][-2:]
    assert steps == [("start_return_visit", "return-visit", "system"), ("close", "return-visit", "system")]
    calls = wait_for(lambda: (lambda c: c if c and c[-1]["outcome"] else None)(calls_from(q.dsn, CITIZEN)), 10,
                     "the visit's call record closed (written behind the call)")
    assert [(c["route"], c["outcome"], c["rating"]) for c in calls] == [("return_visit", "visit_rated", "satisfied")]
    figures = wait_for(lambda: (lambda f: f if f["return_visits"]["by_state"].get("done") == 1 else None)(
        q.serve.get("/queues")[1]), 15, "the visit in GET /queues")
    assert figures["return_visits"]["ratings"] == {"satisfied": 1} and figures["return_visits"]["max_channels"] == 5
    assert figures["ratings_24h"]["rated"] == 0, "a return visit's rating is not a rating after a call"


def test_answered_with_3_sends_the_order_back_with_a_new_deadline(
    queue_stack: Callable[..., QueueStack], tmp_path: Path,
) -> None:
    q, tokens = _stack(queue_stack, tmp_path, "answer-press-key", key_after_ms=str(SUMMARY_AND_QUESTION_MS),
                       key_pcap=str(DTMF / "dtmf_2833_3.pcap"))
    replied = _replied_order(q, tokens)
    number = replied["number"]
    visit = _visit(q, tokens["sup-zhao"], number, "done", 90)
    assert visit["rating"] == "unsatisfied"
    status, order = _send(q, "GET", f"/work-orders/{number}", token=tokens["hr-li"])
    assert status == 200 and order["state"] == "accepted" and order["rework_count"] == 1, order
    # Rework starts a new time limit at the rework (5 working days for a request; the same day here,
    # so the same date as before, and in any case not earlier).
    assert order["deadline"] is not None and order["deadline"] >= replied["deadline"] and not order["overdue"]
    assert order["history"][-1]["action"] == "rework" and order["history"][-1]["detail"]["reason"] == "回访不满意"


def test_unanswered_visit_goes_to_the_manual_list_when_the_attempts_are_spent(
    queue_stack: Callable[..., QueueStack], tmp_path: Path,
) -> None:
    q, tokens = _stack(queue_stack, tmp_path, "ring-no-answer", attempts=1)
    number = _replied_order(q, tokens)["number"]
    visit = _visit(q, tokens["sup-zhao"], number, "manual", 60)
    assert visit["attempts"] == 1 and visit["last_result"] in ("no answer", "unreachable"), visit
    status, manual = _send(q, "GET", "/return-visits?state=manual", token=tokens["sup-zhao"])
    assert status == 200 and [v["number"] for v in manual["visits"]] == [number]
    status, order = _send(q, "GET", f"/work-orders/{number}", token=tokens["sup-zhao"])
    assert order["state"] == "replied", "the order waits for the manual call"
    assert [c["route"] for c in calls_from(q.dsn, CITIZEN)] == ["return_visit"]
    # A supervisor asks for another visit; agents and department handlers may not.
    assert _send(q, "POST", "/return-visits", {"number": number}, tokens["hr-li"])[0] == 403
    status, again = _send(q, "POST", "/return-visits", {"number": number}, tokens["sup-zhao"])
    assert status == 201 and again["state"] in ("scheduled", "dialling"), again
    assert _send(q, "POST", "/return-visits", {"number": "20991231-000001"}, tokens["sup-zhao"])[0] == 404


def test_a_burst_of_50_visits_takes_at_most_5_channels_while_inbound_callers_queue(
    queue_stack: Callable[..., QueueStack], tmp_path: Path,
) -> None:
    q, tokens = _stack(queue_stack, tmp_path, "answer-then-bye", attempts=1)  # answers, hangs up after 2 s
    callers = []
    numbers = []
    for n in range(50):
        numbers.append(_replied_order(q, tokens)["number"])
        if n % 6 == 0:  # inbound callers keep arriving while the visits are dialled (no agent: they wait)
            callers.append(q.call(listen_ms=20000))
    most, seen = 0, set()

    def all_visited() -> bool:
        nonlocal most
        channels = [c["id"] for c in q.stack.ari.get("/channels") if c["id"].startswith("visit-")]
        most = max(most, len(channels))
        seen.update(channels)
        status, listed = _send(q, "GET", "/return-visits?limit=1000", token=tokens["sup-zhao"])
        return status == 200 and sum(v["state"] == "manual" for v in listed["visits"]) == 50

    wait_for(all_visited, 180, "50 return visits attempted", interval=0.1)
    assert 2 <= most <= 5, f"at most 5 return-visit channels at once (the share), saw {most}"
    assert len(seen) >= 40  # polled often enough to have seen nearly every call
    for caller, sipp in callers:
        assert q.wait_event(caller, "queued")["detail"]["group"] in ("", None)
        assert sipp.wait(40).returncode == 0
        assert q.record(caller)["outcome"] == "abandoned"  # waited (no agent) and hung up after 20 s
    status, manual = _send(q, "GET", "/return-visits?state=manual&limit=1000", token=tokens["sup-zhao"])
    assert status == 200
    assert sorted(v["number"] for v in manual["visits"]) == sorted(numbers)
    assert {v["last_result"] for v in manual["visits"]} == {"hung up"}
