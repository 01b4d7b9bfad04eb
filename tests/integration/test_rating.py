"""The caller's rating after the call, with SIPp citizens and agents against the real Asterisk:
the agent hangs up first, the caller hears the question and presses a key (RFC 4733 from SIPp's
DTMF captures); the rating lands on the call and on the work order filed from it. A caller who
hangs up first has no rating; one who presses nothing is asked once more, then hears goodbye."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.proc import free_port, free_port_both
from tests.harness.agents import AgentSpec, agents_state
from tests.harness.records import calls_from
from tests.harness.sipp import PEERS, SippCall, media_port, start_sipp, with_timing
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack
from tests.integration.test_workorders import _send

pytestmark = pytest.mark.integration

DTMF = Path("/usr/share/sip-tester")  # SIPp's RFC 4733 captures (Debian package sip-tester)
GREETING_TO_AGENT_S = 7.2  # the greeting plays before the caller is queued and offered


def _caller_pressing(q: QueueStack, key: str, after_ms: int, listen_ms: int) -> tuple[str, SippCall]:
    caller = f"1380{os.getpid() % 10000:04d}{free_port() % 1000:03d}"
    trace = q.base / f"caller-{caller}"
    scenario = with_timing(PEERS / "caller-presses-key.xml", trace, key_after_ms=after_ms, listen_ms=listen_ms,
                           key_pcap=str(DTMF / f"dtmf_2833_{key}.pcap"))
    local = free_port_both()
    sipp = start_sipp(scenario, target_port=q.stack.asterisk.sip_port, local_port=local,
                      service="12345", trace_dir=trace, keys={"caller": caller}, media_port=media_port(local))
    return caller, sipp


def _kinds(q: QueueStack, caller: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e["kind"], e["detail"]) for e in q.events(caller)]


def test_agent_hangs_up_the_caller_presses_2_on_the_call_and_its_order(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=4000)], rating_after_call=True)
    q.login("1001")
    token = q.serve.login_as("agent-1001", "agent", "", "1001")
    # The agent answers after the greeting and hangs up 4 s later; the key comes during the question.
    caller, sipp = _caller_pressing(q, "2", after_ms=int((GREETING_TO_AGENT_S + 4 + 3) * 1000), listen_ms=40000)
    q.wait_event(caller, "agent_connected")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]
    status, filed = _send(q, "POST", "/work-orders", {
        "call_id": call_id, "category": "enquiry", "content": "公积金提取要带什么材料？", "department": "housing-fund",
    }, token)
    assert status == 201, filed
    assert filed["call_rating"] is None

    assert sipp.wait(60).returncode == 0, "the hotline thanks the caller and hangs up"
    record = q.record(caller)
    assert record["outcome"] == "answered" and record["rating"] == "basically_satisfied"
    kinds = _kinds(q, caller)
    names = [k for k, _ in kinds]
    assert names.index("agent_hung_up") < names.index("survey_answer") < names.index("rated")
    assert ("survey_answer", {"attempt": 1, "key": "2"}) in kinds
    assert ("rated", {"rating": "basically_satisfied"}) in kinds

    status, order = _send(q, "GET", f"/work-orders/{filed['number']}", token=token)
    assert status == 200 and order["call_rating"] == "basically_satisfied"
    rated = [h for h in order["history"] if h["action"] == "call_rated"]
    assert len(rated) == 1 and rated[0]["actor"] == "citizen" and rated[0]["detail"] == {
        "rating": "basically_satisfied"}
    # An order filed after the call carries the rating from the start.
    status, later = _send(q, "POST", "/work-orders", {
        "call_id": call_id, "category": "enquiry", "content": "补充：异地购房提取", "department": "housing-fund",
    }, token)
    assert status == 201 and later["call_rating"] == "basically_satisfied", later

    def rated_in_figures() -> dict[str, Any] | None:
        status, figures = q.serve.get("/queues")
        assert status == 200
        ratings: dict[str, Any] = figures["ratings_24h"]
        return ratings if ratings["basically_satisfied"] == 1 else None

    ratings = wait_for(rated_in_figures, 15, "the rating in GET /queues")  # figures are at most 5 s old
    assert (ratings["asked"], ratings["rated"], ratings["satisfaction"]) == (1, 1, 1.0)


def test_a_caller_who_hangs_up_first_has_no_rating(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=30000)], rating_after_call=True)
    q.login("1001")
    caller, sipp = q.call(listen_ms=12000)  # hangs up while still talking to the agent
    q.wait_event(caller, "agent_connected")
    assert sipp.wait(40).returncode == 0
    record = q.record(caller)
    assert record["outcome"] == "answered" and record["rating"] is None
    names = [k for k, _ in _kinds(q, caller)]
    assert "caller_hung_up" in names and "survey_answer" not in names and "rated" not in names


def test_no_key_asks_once_more_then_goodbye_and_no_rating(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=1500)], rating_after_call=True)
    q.login("1001")
    caller, sipp = q.call(listen_ms=90000)  # never presses a key, never hangs up
    q.wait_event(caller, "agent_connected")
    assert sipp.wait(90).returncode == 0, "the hotline says goodbye and hangs up"
    record = q.record(caller)
    assert record["outcome"] == "answered" and record["rating"] is None
    kinds = _kinds(q, caller)
    assert [d for k, d in kinds if k == "survey_answer"] == [{"attempt": 1, "key": ""}, {"attempt": 2, "key": ""}]
    assert ("not_rated", {"reason": "no key"}) in kinds
    wait_for(lambda: agents_state(q.serve.http)["1001"]["state"] == "ready", 10, "agent 1001 ready again")


def test_a_restart_during_the_question_asks_again_and_keeps_the_rating(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = queue_stack([AgentSpec("1001", hold_ms=1500)], rating_after_call=True)
    q.login("1001")
    # The agent hangs up about 10 s after the answer; the service is killed as the question
    # starts and is back within seconds; the key at 24 s comes while the question is asked again.
    caller, sipp = _caller_pressing(q, "1", after_ms=24000, listen_ms=40000)
    q.wait_event(caller, "agent_connected")
    wait_for(lambda: (calls_from(q.dsn, caller) or [{}])[-1].get("survey_started_at"), 20, "the question asked")
    q.serve.kill()  # SIGKILL
    q.serve.start()
    q.serve.wait_ready(20)
    assert sipp.wait(60).returncode == 0
    record = q.record(caller)
    assert record["outcome"] == "answered" and record["rating"] == "satisfied"
    kinds = _kinds(q, caller)
    assert ("readopted", {"status": "survey"}) in kinds
    assert ("survey_answer", {"attempt": 1, "key": "1"}) in kinds
