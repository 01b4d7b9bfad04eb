"""The work-order lifecycle: every legal transition with the history it leaves, every illegal one refused.
TABLE is this test's own reading of issue 10 (not lifecycle.RULES): per action, where it is allowed, who may, the
state it leads to, its fields and the history detail it leaves."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ari_app.workorders.lifecycle import (
    Action,
    Actor,
    DeadlineChange,
    FieldError,
    Forbidden,
    HistoryEntry,
    IllegalTransition,
    OrderState,
    PendingExtension,
    Rating,
    Role,
    State,
    Transition,
    allowed_actions,
    apply,
    create,
)

A = Action
S = State
NUMBER, TARGET = "20261130-000123", "20261130-000045"
HOUSING, CIVIL = "市住房城乡建设局", "市民政局"
AT = datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
ACTORS = {
    Role.AGENT: Actor("a1001", Role.AGENT),
    Role.DEPARTMENT: Actor("h-housing", Role.DEPARTMENT, HOUSING),
    Role.SUPERVISOR: Actor("s01", Role.SUPERVISOR),
    Role.ADMIN: Actor("root", Role.ADMIN),
    Role.SYSTEM: Actor("return-visit", Role.SYSTEM),
}
AGENT, HANDLER, SUPERVISOR, ADMIN, SYSTEM = ACTORS.values()
CIVIL_HANDLER = Actor("h-civil", Role.DEPARTMENT, CIVIL)
PENDING = PendingExtension(3, "需现场勘查", HANDLER.id, AT - timedelta(hours=1))

# every situation an order can be in (an accepted order with or without an extension pending counts twice)
SITUATIONS: dict[str, OrderState] = {
    "registered": OrderState(NUMBER, S.REGISTERED),
    "dispatched": OrderState(NUMBER, S.DISPATCHED, HOUSING),
    "accepted": OrderState(NUMBER, S.ACCEPTED, HOUSING),
    "accepted+pending": OrderState(NUMBER, S.ACCEPTED, HOUSING, pending_extension=PENDING),
    "replied": OrderState(NUMBER, S.REPLIED, HOUSING, reply="已修复"),
    "return_visit": OrderState(NUMBER, S.RETURN_VISIT, HOUSING, reply="已修复"),
    "closed": OrderState(NUMBER, S.CLOSED, HOUSING, reply="已修复", rating=Rating.SATISFIED),
    "sent_back": OrderState(NUMBER, S.SENT_BACK, HOUSING),
    "merged": OrderState(NUMBER, S.MERGED, HOUSING, merged_into=TARGET),
}
OPEN = tuple(name for name in SITUATIONS if name not in ("closed", "merged"))
DESK = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
SUPERVISION = (Role.SUPERVISOR, Role.ADMIN)
FOLLOW_UP = (Role.SYSTEM, Role.SUPERVISOR, Role.ADMIN)
REQUEST = {"working_days": 3, "reason": "需现场勘查"}
EXTENSION_DETAIL = {"working_days": 3, "request_reason": "需现场勘查", "requested_by": HANDLER.id}


@dataclass(frozen=True)
class Legal:
    situations: tuple[str, ...]
    roles: tuple[Role, ...]
    to: State
    fields: dict[str, Any]
    detail: dict[str, Any]
    deadline: DeadlineChange | None = None


TABLE: dict[Action, Legal] = {
    A.DISPATCH: Legal(("registered",), DESK, S.DISPATCHED, {"department": HOUSING}, {"department": HOUSING},
                      DeadlineChange.START),
    A.ACCEPT: Legal(("dispatched",), (Role.DEPARTMENT,), S.ACCEPTED, {}, {"department": HOUSING}),
    A.SEND_BACK: Legal(("dispatched", "accepted", "accepted+pending"), (Role.DEPARTMENT,), S.SENT_BACK,
                       {"reason": "不属于本单位职责"}, {"department": HOUSING, "reason": "不属于本单位职责"}),
    A.REDISPATCH: Legal(("sent_back",), SUPERVISION, S.DISPATCHED, {"department": CIVIL},
                        {"department": CIVIL, "previous_department": HOUSING}, DeadlineChange.START),
    A.REQUEST_EXTENSION: Legal(("accepted",), (Role.DEPARTMENT,), S.ACCEPTED, REQUEST, REQUEST),
    A.APPROVE_EXTENSION: Legal(("accepted+pending",), SUPERVISION, S.ACCEPTED, {}, EXTENSION_DETAIL,
                               DeadlineChange.EXTEND),
    A.REJECT_EXTENSION: Legal(("accepted+pending",), SUPERVISION, S.ACCEPTED, {}, EXTENSION_DETAIL),
    A.REPLY: Legal(("accepted", "accepted+pending"), (Role.DEPARTMENT,), S.REPLIED, {"reply": "已安排维修"},
                   {"reply": "已安排维修"}),
    A.START_RETURN_VISIT: Legal(("replied",), FOLLOW_UP, S.RETURN_VISIT, {}, {}),
    A.CLOSE: Legal(("return_visit",), FOLLOW_UP, S.CLOSED, {"rating": "satisfied"}, {"rating": "satisfied"}),
    A.REWORK: Legal(("return_visit",), FOLLOW_UP, S.ACCEPTED, {},
                    {"rating": "unsatisfied", "rework_count": 1, "department": HOUSING}, DeadlineChange.RESTART),
    A.MERGE: Legal(OPEN, SUPERVISION, S.MERGED, {"target": TARGET, "target_state": "accepted"}, {"target": TARGET}),
}
LETS_PENDING_LAPSE = {A.SEND_BACK, A.REPLY, A.MERGE}  # leaving the department's hands withdraws the request

LEGAL_CASES = [(action, where, role) for action, row in TABLE.items() for where in row.situations for role in row.roles]
ILLEGAL_STATES = [(action, where, role) for action, row in TABLE.items()
                  for where in SITUATIONS if where not in row.situations for role in row.roles]
FORBIDDEN_ROLES = [(action, role) for action, row in TABLE.items() for role in Role if role not in row.roles]


@pytest.mark.parametrize(("action", "where", "role"), LEGAL_CASES, ids=lambda v: str(v))
def test_every_legal_transition_and_its_history(action: Action, where: str, role: Role) -> None:
    row, before = TABLE[action], SITUATIONS[where]
    done = apply(before, action, ACTORS[role], AT, **row.fields)
    detail = dict(row.detail)
    if where == "accepted+pending" and action in LETS_PENDING_LAPSE:
        detail["extension_withdrawn"] = 3
    assert done.entry == HistoryEntry(action, before.state, row.to, ACTORS[role].id, role, AT, detail)
    assert done.order.state is row.to and done.order.number == NUMBER
    assert done.deadline is row.deadline
    assert done.extension_days == (3 if action is A.APPROVE_EXTENSION else 0)
    assert action in allowed_actions(before, ACTORS[role])


@pytest.mark.parametrize(("action", "where", "role"), ILLEGAL_STATES, ids=lambda v: str(v))
def test_every_action_is_refused_in_every_other_state(action: Action, where: str, role: Role) -> None:
    before, row = SITUATIONS[where], TABLE[action]
    if role is Role.DEPARTMENT and before.department != HOUSING:
        with pytest.raises(Forbidden):  # an order that is not the department's: its state is none of their business
            apply(before, action, HANDLER, AT, **row.fields)
        return
    with pytest.raises(IllegalTransition) as refused:
        apply(before, action, ACTORS[role], AT, **row.fields)
    assert str(refused.value).startswith(f"order {NUMBER} is {before.state}")
    assert str(refused.value).endswith(f"; {action} is not")
    assert action not in allowed_actions(before)


@pytest.mark.parametrize(("action", "role"), FORBIDDEN_ROLES, ids=lambda v: str(v))
def test_every_role_that_may_not_is_forbidden(action: Action, role: Role) -> None:
    row = TABLE[action]
    with pytest.raises(Forbidden, match=f"^{role} may not {action} order {NUMBER}: only "):
        apply(SITUATIONS[row.situations[0]], action, ACTORS[role], AT, **row.fields)


@pytest.mark.parametrize("action", [a for a, row in TABLE.items() if Role.DEPARTMENT in row.roles])
def test_a_department_handler_acts_only_on_its_own_departments_orders(action: Action) -> None:
    row = TABLE[action]
    with pytest.raises(Forbidden, match=f"h-civil of {CIVIL} may not {action} order {NUMBER}"):
        apply(SITUATIONS[row.situations[0]], action, CIVIL_HANDLER, AT, **row.fields)


@pytest.mark.parametrize("role", DESK)
@pytest.mark.parametrize("direct", [False, True])
def test_create_by_each_role_that_may(role: Role, direct: bool) -> None:
    done = create(NUMBER, ACTORS[role], AT, direct=direct, reply="公积金提取需携带身份证" if direct else None)
    assert done.order.state is (S.CLOSED if direct else S.REGISTERED)
    detail: dict[str, Any] = {"direct": direct}
    if direct:
        detail |= {"resolution": "直接办结", "reply": "公积金提取需携带身份证"}
    assert done.entry == HistoryEntry(A.CREATE, None, done.order.state, ACTORS[role].id, role, AT, detail)


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.SYSTEM])
def test_create_is_forbidden_to_departments_and_the_system(role: Role) -> None:
    with pytest.raises(Forbidden, match=f"^{role} may not create an order: only agent or supervisor may$"):
        create(NUMBER, ACTORS[role], AT)


@pytest.mark.parametrize("where", list(SITUATIONS))
def test_create_is_illegal_on_an_order_that_exists(where: str) -> None:
    with pytest.raises(IllegalTransition, match=r"; create is not$"):
        apply(SITUATIONS[where], A.CREATE, SUPERVISOR, AT)


@pytest.mark.parametrize(("where", "action", "message"), [
    ("dispatched", A.REPLY, "order 20261130-000123 is dispatched: accept or send_back (department), "
                            "merge (supervisor) are allowed; reply is not"),
    ("registered", A.CLOSE, "order 20261130-000123 is registered: dispatch (agent or supervisor), "
                            "merge (supervisor) are allowed; close is not"),
    ("accepted", A.APPROVE_EXTENSION, "order 20261130-000123 is accepted: send_back, request_extension or reply "
                                      "(department), merge (supervisor) are allowed; approve_extension is not"),
    ("accepted+pending", A.REQUEST_EXTENSION,
     "order 20261130-000123 is accepted with an extension pending: send_back or reply (department), "
     "approve_extension, reject_extension or merge (supervisor) are allowed; request_extension is not"),
    ("replied", A.CLOSE, "order 20261130-000123 is replied: start_return_visit (supervisor or system), "
                         "merge (supervisor) are allowed; close is not"),
    ("sent_back", A.DISPATCH, "order 20261130-000123 is sent_back: redispatch or merge (supervisor) are allowed; "
                              "dispatch is not"),
    ("closed", A.REWORK, "order 20261130-000123 is closed: nothing more is allowed; rework is not"),
    ("merged", A.MERGE, "order 20261130-000123 is merged into 20261130-000045: nothing more is allowed; "
                        "merge is not"),
])
def test_illegal_messages_say_what_is_allowed(where: str, action: Action, message: str) -> None:
    actor = HANDLER if TABLE[action].roles == (Role.DEPARTMENT,) else ADMIN
    with pytest.raises(IllegalTransition) as refused:
        apply(SITUATIONS[where], action, actor, AT, **TABLE[action].fields)
    assert str(refused.value) == message


def test_forbidden_messages_name_who_may() -> None:
    with pytest.raises(Forbidden) as refused:
        apply(SITUATIONS["registered"], A.DISPATCH, HANDLER, AT, department=HOUSING)
    assert str(refused.value) == "department may not dispatch order 20261130-000123: only agent or supervisor may"
    with pytest.raises(Forbidden) as refused:
        apply(SITUATIONS["return_visit"], A.CLOSE, AGENT, AT, rating="satisfied")
    assert str(refused.value) == "agent may not close order 20261130-000123: only supervisor or system may"


def _run(order: OrderState, steps: list[tuple[Action, Actor, dict[str, Any]]]) -> tuple[OrderState, list[Transition]]:
    done: list[Transition] = []
    for minutes, (action, actor, fields) in enumerate(steps, start=1):
        done.append(apply(order, action, actor, AT + timedelta(minutes=minutes), **fields))
        order = done[-1].order
    return order, done


def _trail(done: list[Transition]) -> list[tuple[Action, State | None, State, str, Role]]:
    return [(t.entry.action, t.entry.from_state, t.entry.to_state, t.entry.actor_id, t.entry.role) for t in done]


def test_the_happy_path_from_registration_to_closure() -> None:
    created = create(NUMBER, AGENT, AT)
    order, done = _run(created.order, [
        (A.DISPATCH, AGENT, {"department": HOUSING}),
        (A.ACCEPT, HANDLER, {}),
        (A.REPLY, HANDLER, {"reply": "  已安排维修，12月2日完成  "}),
        (A.START_RETURN_VISIT, SYSTEM, {}),
        (A.CLOSE, SYSTEM, {"rating": Rating.BASICALLY_SATISFIED}),
    ])
    assert _trail([created, *done]) == [
        (A.CREATE, None, S.REGISTERED, "a1001", Role.AGENT),
        (A.DISPATCH, S.REGISTERED, S.DISPATCHED, "a1001", Role.AGENT),
        (A.ACCEPT, S.DISPATCHED, S.ACCEPTED, "h-housing", Role.DEPARTMENT),
        (A.REPLY, S.ACCEPTED, S.REPLIED, "h-housing", Role.DEPARTMENT),
        (A.START_RETURN_VISIT, S.REPLIED, S.RETURN_VISIT, "return-visit", Role.SYSTEM),
        (A.CLOSE, S.RETURN_VISIT, S.CLOSED, "return-visit", Role.SYSTEM),
    ]
    assert [t.entry.at for t in done] == [AT + timedelta(minutes=m) for m in range(1, 6)]
    assert order == OrderState(NUMBER, S.CLOSED, HOUSING, reply="已安排维修，12月2日完成",
                               rating=Rating.BASICALLY_SATISFIED)
    assert done[2].entry.detail == {"reply": "已安排维修，12月2日完成"}
    assert allowed_actions(order) == ()
    assert (order.state.label, Rating.BASICALLY_SATISFIED.label) == ("已办结", "基本满意")


def test_sent_back_and_redispatched_to_another_department() -> None:
    order, done = _run(OrderState(NUMBER, S.DISPATCHED, HOUSING), [
        (A.ACCEPT, HANDLER, {}),
        (A.SEND_BACK, HANDLER, {"reason": "属民政局职责"}),
        (A.REDISPATCH, SUPERVISOR, {"department": CIVIL}),
    ])
    assert order.state is S.DISPATCHED and order.department == CIVIL
    assert done[2].entry.detail == {"department": CIVIL, "previous_department": HOUSING}
    with pytest.raises(Forbidden):  # the first department is out of it now
        apply(order, A.ACCEPT, HANDLER, AT)
    accepted = apply(order, A.ACCEPT, CIVIL_HANDLER, AT)
    assert accepted.order.state is S.ACCEPTED and accepted.entry.detail == {"department": CIVIL}
    again = apply(done[1].order, A.REDISPATCH, ADMIN, AT, department=HOUSING)  # back to the same one is allowed
    assert again.order.department == HOUSING and again.deadline is DeadlineChange.START


def test_extension_requested_approved_then_another_rejected() -> None:
    requested = apply(SITUATIONS["accepted"], A.REQUEST_EXTENSION, HANDLER, AT, working_days=5, reason="等待检测报告")
    assert requested.order.state is S.ACCEPTED and requested.deadline is None
    assert requested.order.pending_extension == PendingExtension(5, "等待检测报告", HANDLER.id, AT)
    approved = apply(requested.order, A.APPROVE_EXTENSION, SUPERVISOR, AT)
    assert (approved.deadline, approved.extension_days) == (DeadlineChange.EXTEND, 5)
    assert approved.order.pending_extension is None and approved.order.extensions == 1
    again = apply(approved.order, A.REQUEST_EXTENSION, HANDLER, AT, working_days=2, reason="再等两天")
    rejected = apply(again.order, A.REJECT_EXTENSION, SUPERVISOR, AT, reason="期限已够")
    assert (rejected.deadline, rejected.order.extensions, rejected.order.pending_extension) == (None, 1, None)
    assert rejected.entry.detail == {"working_days": 2, "request_reason": "再等两天", "requested_by": HANDLER.id,
                                     "reason": "期限已够"}


def test_a_pending_extension_does_not_block_a_reply_and_lapses_with_it() -> None:
    replied = apply(SITUATIONS["accepted+pending"], A.REPLY, HANDLER, AT, reply="已处理")
    assert replied.order.state is S.REPLIED and replied.order.pending_extension is None
    assert replied.entry.detail == {"reply": "已处理", "extension_withdrawn": 3}


@pytest.mark.parametrize("days", [0, -1, True, "3", 2.5])
def test_extension_days_must_be_a_positive_whole_number(days: Any) -> None:
    with pytest.raises(FieldError) as refused:
        apply(SITUATIONS["accepted"], A.REQUEST_EXTENSION, HANDLER, AT, working_days=days, reason="需现场勘查")
    assert refused.value.field == "working_days"


def test_rework_after_an_unsatisfied_return_visit_then_close() -> None:
    order, done = _run(SITUATIONS["return_visit"], [
        (A.REWORK, SYSTEM, {"reason": "漏水未修好"}),
        (A.REPLY, HANDLER, {"reply": "已更换水管"}),
        (A.START_RETURN_VISIT, SUPERVISOR, {}),
        (A.CLOSE, SUPERVISOR, {"rating": "satisfied"}),
    ])
    reworked = done[0]
    assert reworked.deadline is DeadlineChange.RESTART
    assert (reworked.order.state, reworked.order.rating, reworked.order.rework_count, reworked.order.reply) == (
        S.ACCEPTED, Rating.UNSATISFIED, 1, "")
    assert reworked.entry.detail == {"rating": "unsatisfied", "rework_count": 1, "department": HOUSING,
                                     "reason": "漏水未修好"}
    assert [t.entry.to_state for t in done] == [S.ACCEPTED, S.REPLIED, S.RETURN_VISIT, S.CLOSED]
    assert (order.state, order.rating, order.rework_count, order.reply) == (S.CLOSED, Rating.SATISFIED, 1, "已更换水管")
    second = apply(replace(reworked.order, state=S.RETURN_VISIT), A.REWORK, SYSTEM, AT)
    assert second.order.rework_count == 2 and second.entry.detail["rework_count"] == 2


@pytest.mark.parametrize("rating", ["unsatisfied", Rating.UNSATISFIED])
def test_an_unsatisfied_rating_does_not_close(rating: str) -> None:
    with pytest.raises(FieldError, match="rating unsatisfied does not close order 20261130-000123: close takes "
                                         "satisfied or basically_satisfied; unsatisfied goes to rework"):
        apply(SITUATIONS["return_visit"], A.CLOSE, SYSTEM, AT, rating=rating)


def test_merge_rules() -> None:
    merged = apply(SITUATIONS["accepted+pending"], A.MERGE, SUPERVISOR, AT, target=TARGET, target_state=S.DISPATCHED)
    assert merged.order.merged_into == TARGET and merged.order.pending_extension is None
    assert merged.entry.detail == {"target": TARGET, "extension_withdrawn": 3}
    with pytest.raises(FieldError, match=r"^order 20261130-000123 cannot be merged into itself$"):
        apply(SITUATIONS["registered"], A.MERGE, SUPERVISOR, AT, target=NUMBER, target_state="registered")
    for closed in ("closed", "merged"):
        with pytest.raises(IllegalTransition, match=f"^order 20261130-000123 cannot be merged into {TARGET}: "
                                                    f"that order is {closed}; merge into an open order$"):
            apply(SITUATIONS["registered"], A.MERGE, SUPERVISOR, AT, target=TARGET, target_state=closed)
    with pytest.raises(FieldError, match="is not a work-order number") as refused:
        apply(SITUATIONS["registered"], A.MERGE, SUPERVISOR, AT, target="123", target_state="registered")
    assert refused.value.field == "target"
    with pytest.raises(FieldError, match=r"^target_state 'open' is not one of registered, dispatched"):
        apply(SITUATIONS["registered"], A.MERGE, SUPERVISOR, AT, target=TARGET, target_state="open")


@pytest.mark.parametrize(("action", "where", "fields", "name", "message"), [
    (A.SEND_BACK, "dispatched", {}, "reason", "reason is required to send_back"),
    (A.SEND_BACK, "dispatched", {"reason": "  \n"}, "reason", "reason is required to send_back"),
    (A.DISPATCH, "registered", {"department": ""}, "department", "department is required to dispatch"),
    (A.REDISPATCH, "sent_back", {"department": None}, "department", "department is required to redispatch"),
    (A.REPLY, "accepted", {"reply": " "}, "reply", "reply is required to reply"),
    (A.MERGE, "registered", {"target_state": "registered"}, "target", "target is required to merge"),
    (A.MERGE, "registered", {"target": TARGET}, "target_state", "target_state is required to merge"),
    (A.REQUEST_EXTENSION, "accepted", {"reason": "x"}, "working_days", "working_days is required to request_extension"),
    (A.REQUEST_EXTENSION, "accepted", {"working_days": 1}, "reason", "reason is required to request_extension"),
    (A.CLOSE, "return_visit", {}, "rating", "rating is required to close"),
    (A.DISPATCH, "registered", {"department": HOUSING, "reason": "x"}, "reason", "dispatch takes no reason"),
    (A.ACCEPT, "dispatched", {"reply": "好"}, "reply", "accept takes no reply"),
    (A.DISPATCH, "registered", {"department": 12}, "department", "department must be text"),
])
def test_missing_empty_or_stray_fields_are_named(action: Action, where: str, fields: dict[str, Any], name: str,
                                                  message: str) -> None:
    actor = HANDLER if TABLE[action].roles == (Role.DEPARTMENT,) else SUPERVISOR
    with pytest.raises(FieldError) as refused:
        apply(SITUATIONS[where], action, actor, AT, **fields)
    assert (refused.value.field, str(refused.value)) == (name, message)


def test_a_direct_answer_is_created_closed_and_stays_closed() -> None:
    done = create(NUMBER, AGENT, AT, direct=True, reply="公积金提取可在线办理")
    assert done.order == OrderState(NUMBER, S.CLOSED, direct=True, reply="公积金提取可在线办理")
    assert done.entry.detail == {"direct": True, "resolution": "直接办结", "reply": "公积金提取可在线办理"}
    with pytest.raises(IllegalTransition, match="is closed: nothing more is allowed; dispatch is not"):
        apply(done.order, A.DISPATCH, AGENT, AT, department=HOUSING)
    with pytest.raises(FieldError, match=r"\(the answer given\) is required to create an order answered directly"):
        create(NUMBER, AGENT, AT, direct=True, reply="  ")
    with pytest.raises(FieldError, match="create takes a reply only for an order answered directly"):
        create(NUMBER, AGENT, AT, reply="已答复")


def test_inputs_that_are_not_orders_times_or_actors() -> None:
    with pytest.raises(ValueError, match="not a work-order number"):
        create("2026-1", AGENT, AT)
    with pytest.raises(ValueError, match="no time zone"):
        apply(SITUATIONS["dispatched"], A.ACCEPT, HANDLER, datetime(2026, 11, 30, 9, 30))
    with pytest.raises(ValueError, match="needs a department"):
        Actor("h-1", Role.DEPARTMENT)
    with pytest.raises(ValueError, match="has no department"):
        OrderState(NUMBER, S.ACCEPTED)
    with pytest.raises(ValueError, match="only an accepted order has an extension pending"):
        OrderState(NUMBER, S.REPLIED, HOUSING, pending_extension=PENDING)
    with pytest.raises(ValueError, match="merged_into goes with the merged state"):
        OrderState(NUMBER, S.MERGED, HOUSING)


def test_text_read_from_the_database_becomes_the_enums() -> None:
    order = OrderState(NUMBER, "accepted", HOUSING, rating="unsatisfied")  # type: ignore[arg-type]
    actor = Actor("h-housing", "department", HOUSING)  # type: ignore[arg-type]
    assert (order.state, order.rating, actor.role) == (S.ACCEPTED, Rating.UNSATISFIED, Role.DEPARTMENT)
    done = apply(order, "reply", actor, AT, reply="已处理")  # type: ignore[arg-type]
    assert done.entry.action is A.REPLY and done.entry.role is Role.DEPARTMENT


def test_what_each_actor_may_do_now() -> None:
    accepted = SITUATIONS["accepted"]
    assert allowed_actions(accepted, HANDLER) == (A.SEND_BACK, A.REQUEST_EXTENSION, A.REPLY)
    assert allowed_actions(accepted, CIVIL_HANDLER) == ()
    assert allowed_actions(accepted, SUPERVISOR) == (A.MERGE,)
    assert allowed_actions(SITUATIONS["registered"], AGENT) == (A.DISPATCH,)


def test_every_state_role_action_and_rating_has_a_chinese_label() -> None:
    for kind in (State, Role, Action, Rating):
        for member in kind:
            assert member.label and all("\u4e00" <= ch <= "\u9fff" for ch in member.label), member
    assert [s.label for s in State] == ["已登记", "已派发", "已签收", "已回复", "待回访", "已办结", "已退回", "已合并"]
