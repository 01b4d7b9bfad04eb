"""Work orders through HTTP against the running service: an agent files an order from a live
SIPp call, the department accepts and replies, the order reaches the return visit; the rules
hold (another department's handler is refused, illegal moves say what is allowed)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.agents import AgentSpec
from tests.harness.records import call_events, calls_from
from tests.harness.wait import wait_for
from tests.integration.conftest import QueueStack

pytestmark = pytest.mark.integration

ACCOUNTS = {  # login -> (role, department, agent seat)
    "agent-1001": ("agent", "", "1001"), "hr-li": ("department", "human-resources", ""),
    "water-wang": ("department", "water", ""), "sup-zhao": ("supervisor", "", ""),
}
AGENT, HR, WATER, SUPERVISOR = ACCOUNTS


def _tokens(q: QueueStack) -> dict[str, str]:
    return {name: q.serve.login_as(name, *who) for name, who in ACCOUNTS.items()}


def _send(q: QueueStack, method: str, path: str, body: dict[str, Any] | None = None,
          token: str = "") -> tuple[int, Any]:
    return q.serve.send(method, path, body, token)


def _act(q: QueueStack, number: str, action: str, token: str, **fields: Any) -> dict[str, Any]:
    status, order = _send(q, "POST", f"/work-orders/{number}/{action}", fields, token)
    assert status == 200, (action, status, order)
    result: dict[str, Any] = order
    return result


def test_an_order_filed_from_a_live_call_reaches_the_return_visit(queue_stack: Callable[..., QueueStack]) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye")])
    q.login("1001")
    token = _tokens(q)
    caller, sipp = q.call("12333", listen_ms=60000)  # 12333's line is unreachable: overflow to 12345 intake
    q.wait_event(caller, "agent_connected")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]

    status, filed = _send(q, "POST", "/work-orders", {
        "call_id": call_id, "category": "request", "content": "社保卡补办需要哪些材料？",
        "address": "牡丹区中华路1号", "department": "01",
    }, token[AGENT])
    assert status == 201, filed
    number = filed["number"]
    assert re.fullmatch(r"\d{8}-\d{6}", number), number
    assert filed["state"] == "dispatched" and filed["department"] == "human-resources"
    assert (filed["caller"], filed["hotline"], filed["call_id"]) == (caller, "12333", call_id)
    assert filed["suggested_department"] == "human-resources" and filed["hotline_name"]
    assert filed["deadline"] is not None and not filed["overdue"]

    # Another department's handler can neither see it nor act on it; nobody acts without a login.
    status, refused = _send(q, "POST", f"/work-orders/{number}/accept", {}, token[WATER])
    assert status == 403 and "own orders" in refused["error"], refused
    assert _send(q, "GET", f"/work-orders/{number}", token=token[WATER])[0] == 404
    status, listed = _send(q, "GET", "/work-orders?department=human-resources", token=token[WATER])
    assert status == 200 and listed["orders"] == [], listed  # a handler's list is their own department's
    assert _send(q, "POST", f"/work-orders/{number}/accept", {}, token="not-a-token")[0] == 401
    status, refused = _send(q, "POST", f"/work-orders/{number}/accept", {}, token[AGENT])
    assert status == 403, refused  # an agent does not accept for a department
    status, refused = _send(q, "POST", f"/work-orders/{number}/reply", {"reply": "x"}, token[HR])
    assert status == 409 and "accept" in refused["error"], refused  # not accepted yet: says what is allowed

    _act(q, number, "accept", token[HR])
    _act(q, number, "reply", token[HR], reply="携带身份证到社保大厅办理，当场补办。")
    visit = _act(q, number, "start_return_visit", token[SUPERVISOR])
    assert visit["state"] == "return_visit" and visit["reply"].startswith("携带身份证")

    status, full = _send(q, "GET", f"/work-orders/{number}", token=token[HR])
    assert status == 200
    assert [h["actor"] for h in full["history"]] == ["1001", "1001", HR, HR, SUPERVISOR]
    steps = [(h["action"], h["from"], h["to"], h["role"]) for h in full["history"]]
    assert steps == [
        ("create", None, "registered", "agent"), ("dispatch", "registered", "dispatched", "agent"),
        ("accept", "dispatched", "accepted", "department"), ("reply", "accepted", "replied", "department"),
        ("start_return_visit", "replied", "return_visit", "supervisor"),
    ]
    assert set(full["allowed"]) == {"close", "rework", "merge"}
    status, listed = _send(q, "GET", "/work-orders?state=return_visit", token=token[HR])
    assert status == 200 and [o["number"] for o in listed["orders"]] == [number]

    q.stack.ari.delete(f"/channels/{call_id}")  # the caller hangs up
    assert sipp.wait(30).returncode == 0


def test_the_call_route_files_a_real_order_and_bad_input_changes_nothing(
    queue_stack: Callable[..., QueueStack],
) -> None:
    q = queue_stack([AgentSpec("1001", phone="answer-wait-bye")])
    q.login("1001")
    caller, sipp = q.call("12345", listen_ms=60000)
    q.wait_event(caller, "agent_connected")
    call_id = calls_from(q.dsn, caller)[-1]["call_id"]
    status, answer = _send(q, "POST", f"/calls/{call_id}/work-order", {"department": "12329", "note": "公积金提取进度"})
    assert status == 202 and answer["number"], answer
    status, order = _send(q, "GET", f"/work-orders/{answer['number']}")
    assert order["state"] == "dispatched" and order["department"] == "housing-fund" and order["call_id"] == call_id
    assert order["history"][0]["actor"] == "1001"  # the agent on the call
    wait_for(lambda: any(e["kind"] == "work_order_requested" and e["detail"]["number"] == answer["number"]
                         for e in call_events(q.dsn, call_id)), 10, "the call's event (written behind the call)")

    token = _tokens(q)
    for body, who, status_expected in (
        ({"category": "gossip", "content": "x"}, AGENT, 422),  # no such category
        ({"category": "request", "content": "x", "department": "nowhere"}, AGENT, 422),
        ({"category": "request", "content": "x\u0000"}, AGENT, 400),
        ({"category": "request", "content": "x"}, HR, 403),  # a department handler files no orders
        ({"category": "request", "content": "x", "call_id": "no-such-call"}, AGENT, 400),
    ):
        status, error = _send(q, "POST", "/work-orders", body, token[who])
        assert status == status_expected and error["error"], (body, status, error)
    status, listed = _send(q, "GET", "/work-orders")
    assert [o["number"] for o in listed["orders"]] == [answer["number"]], "a refused request wrote an order"
    assert _send(q, "GET", "/work-orders/20261130-999999")[0] == 404
    assert _send(q, "GET", "/work-orders/not-a-number")[0] == 404

    status, direct = _send(q, "POST", "/work-orders", {
        "category": "enquiry", "content": "12345能查询公积金吗", "direct": True, "reply": "可以，转公积金中心专线。",
    }, token[AGENT])
    assert status == 201 and direct["state"] == "closed" and direct["direct"] and direct["deadline"] is None

    q.stack.ari.delete(f"/channels/{call_id}")
    assert sipp.wait(30).returncode == 0
