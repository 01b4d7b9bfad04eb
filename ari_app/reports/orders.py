"""Work-order figures per department, pure: orders, on-time rate, extensions granted, returns.

The rules:

- *orders*: the work orders whose responsible department is it now (``work_orders.department``; an
  order sent back stays with the department that returned it until it is re-dispatched). Orders
  with no department (registered only, or answered directly by the agent) belong to none.
- *on time*: an order is *met* when it was replied (or closed) at or before its deadline and is
  replied, in return visit or closed now; it is *due* when it is met or its deadline has passed.
  The rate is met / due, and none when nothing is due yet. Orders without a deadline, merged ones
  (a duplicate, handled as another order) and orders sent back (not in the department's hands)
  are neither.
- *extensions*: the extensions granted on the department's orders (``work_orders.extensions``).
- *returns*: the times the department sent an order back (``send_back`` history entries naming it).
- *ratings*: of its orders, the callers' ratings after the call they were filed from
  (``call_rating``) and the citizens' latest return-visit rating (``rating``); *manual visits*:
  its return visits whose attempts were spent (on the supervisors' list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ari_app.workorders.states import State

NOT_THE_DEPARTMENTS = frozenset({State.MERGED, State.SENT_BACK})  # left out of the on-time figure
DONE = frozenset({State.REPLIED, State.RETURN_VISIT, State.CLOSED})  # the department has answered


@dataclass(frozen=True)
class OrderFact:
    """What the report needs of one work order."""

    department: str  # department id, responsible now
    state: State
    deadline: datetime | None
    done_at: datetime | None  # when it was last replied (or closed), if it is replied, in return visit or closed
    extensions: int = 0  # extensions granted
    call_rating: str | None = None  # the caller's rating after the call the order was filed from
    visit_rating: str | None = None  # the latest return-visit rating


def met(order: OrderFact) -> bool:
    """Replied or closed at or before the deadline (and not reopened since)."""
    return (
        order.deadline is not None
        and order.done_at is not None
        and order.state in DONE
        and order.done_at <= order.deadline
    )


def due(order: OrderFact, now: datetime) -> bool:
    """Counts for the on-time rate: met, or its deadline has passed."""
    if order.deadline is None or order.state in NOT_THE_DEPARTMENTS:
        return False
    return met(order) or order.deadline <= now


@dataclass(frozen=True)
class OrderFigures:
    department: str  # id
    name: str  # as the registry names it (the id for a department the registry does not know)
    orders: int
    met: int
    due: int
    extensions: int
    returns: int
    call_ratings: Mapping[str, int] = field(default_factory=dict)
    visit_ratings: Mapping[str, int] = field(default_factory=dict)
    manual_visits: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.met / self.due if self.due else None

    @property
    def visit_satisfaction(self) -> float | None:
        """Satisfied or basically satisfied / rated, on the return visits."""
        rated = sum(self.visit_ratings.values())
        pleased = self.visit_ratings.get("satisfied", 0) + self.visit_ratings.get("basically_satisfied", 0)
        return pleased / rated if rated else None

    def to_json(self) -> dict[str, Any]:
        rate = self.on_time_rate
        return {
            "department": self.department, "name": self.name, "orders": self.orders,
            "on_time": {"met": self.met, "due": self.due, "rate": None if rate is None else round(rate, 4)},
            "extensions": self.extensions, "returns": self.returns,
            "ratings_after_call": dict(self.call_ratings), "return_visits": {
                "ratings": dict(self.visit_ratings), "manual": self.manual_visits,
                "satisfaction": None if self.visit_satisfaction is None else round(self.visit_satisfaction, 4)},
        }


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        if value:
            counted[value] = counted.get(value, 0) + 1
    return dict(sorted(counted.items()))


def figures_of(
    department: str, name: str, orders: Sequence[OrderFact], returns: int, now: datetime, manual_visits: int = 0,
) -> OrderFigures:
    """One department's figures from its own orders."""
    return OrderFigures(
        department, name, len(orders), sum(1 for o in orders if met(o)), sum(1 for o in orders if due(o, now)),
        sum(o.extensions for o in orders), returns, _counts(o.call_rating for o in orders),
        _counts(o.visit_rating for o in orders), manual_visits,
    )


def order_figures(
    departments: Mapping[str, str], orders: Iterable[OrderFact], returns: Mapping[str, int], now: datetime,
    manual_visits: Mapping[str, int] | None = None,
) -> list[OrderFigures]:
    """Figures for every department of ``departments`` (id -> name, in that order), then for any other
    department the orders or returns name (by id, sorted)."""
    by_department: dict[str, list[OrderFact]] = {}
    for order in orders:
        if order.department:
            by_department.setdefault(order.department, []).append(order)
    others = sorted((set(by_department) | {d for d, n in returns.items() if n}) - set(departments))
    names = {**departments, **{d: d for d in others}}
    manual = manual_visits or {}
    return [figures_of(d, name, by_department.get(d, []), returns.get(d, 0), now, manual.get(d, 0))
            for d, name in names.items()]
