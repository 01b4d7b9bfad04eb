"""The desk's deadline after each transition: a time limit on dispatch and rework, approved working
days on an extension, and the waiting time given back when the configuration pauses the clock."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import pytest

from ari_app.registry.loader import load_registry
from ari_app.workorders.calendar import load_calendar
from ari_app.workorders.deadlines import load_limits
from ari_app.workorders.desk import WorkOrderDesk
from ari_app.workorders.lifecycle import Action, Actor, OrderState, PendingExtension, Role, State, apply
from ari_app.workorders.store import Order, WorkOrderStore

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(ROOT / "config" / "calendar.yaml")
LIMITS = load_limits(ROOT / "config" / "workorders.yaml")
REGISTRY = load_registry(ROOT / "config" / "hotlines.yaml")
BEIJING = timezone(timedelta(hours=8))
HR = Actor("hr-li", Role.DEPARTMENT, "human-resources")
SUPERVISOR = Actor("sup-zhao", Role.SUPERVISOR)


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BEIJING)


def end_of(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 23, 59, 59, tzinfo=BEIJING)


def desk(pause: bool) -> WorkOrderDesk:
    limits = dataclasses.replace(LIMITS, pause_during_extension=pause)
    return WorkOrderDesk(cast(WorkOrderStore, None), lambda: REGISTRY, CALENDAR, limits)


def order(state: OrderState, due: datetime | None) -> Order:
    return Order(state.number, state, "complaint", "内容", "", "", None, "", "", "", at(9, 1), due, at(9, 1))


PENDING = OrderState("20260918-000001", State.ACCEPTED, "human-resources",
                     pending_extension=PendingExtension(3, "需现场核查", "hr-li", at(9, 18, 16)))


def test_dispatch_starts_the_time_limit() -> None:
    registered = order(OrderState("20260925-000001", State.REGISTERED), None)
    moved = apply(registered.state, Action.DISPATCH, SUPERVISOR, at(9, 25, 16), department="human-resources")
    assert desk(False)._deadline_rule(moved, registered) == end_of(10, 9)  # 5 working days across 国庆节


@pytest.mark.parametrize(("pause", "due"), [(False, end_of(9, 30)), (True, end_of(10, 9))])
def test_an_approved_extension_and_the_pause(pause: bool, due: datetime) -> None:
    # Due Thu 24 Sep; asked Fri 18 Sep 16:00, approved Mon 21 Sep 10:00 for 3 working days.
    # Without the pause: 25-27 Sep are 中秋节, so Mon 28, Tue 29, Wed 30.
    # With it: first the 2 working days the request waited (Sun 20 is a make-up workday, Mon 21):
    # Mon 28, Tue 29; then 3 more: Wed 30, (1-7 Oct 国庆节) Thu 8, Fri 9 Oct.
    approved = apply(PENDING, Action.APPROVE_EXTENSION, SUPERVISOR, at(9, 21, 10))
    result = desk(pause)._deadline_rule(approved, order(PENDING, end_of(9, 24)))
    assert result == due


def test_a_rejected_extension_gives_back_the_waiting_time_only_with_the_pause() -> None:
    rejected = apply(PENDING, Action.REJECT_EXTENSION, SUPERVISOR, at(9, 21, 10), reason="材料齐全，按期办理")
    assert desk(False)._deadline_rule(rejected, order(PENDING, end_of(9, 24))) == end_of(9, 24)
    # pending after Fri 18 up to Mon 21: Sun 20 (make-up workday) and Mon 21: 2 working days -> Tue 29
    assert desk(True)._deadline_rule(rejected, order(PENDING, end_of(9, 24))) == end_of(9, 29)
