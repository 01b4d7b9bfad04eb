"""The work-order lifecycle's words and records: states, roles, actions, ratings with their Chinese labels, the
order as the lifecycle sees it, the history entry each change leaves, and what a refused change raises.

The rules (who may do what, in which state) and the transitions are in :mod:`ari_app.workorders.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class _Labelled(StrEnum):
    @property
    def label(self) -> str:
        """The Chinese name the UI shows."""
        return _LABELS[self]


class State(_Labelled):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    REPLIED = "replied"
    RETURN_VISIT = "return_visit"
    CLOSED = "closed"
    SENT_BACK = "sent_back"
    MERGED = "merged"


class Role(_Labelled):
    AGENT = "agent"
    DEPARTMENT = "department"  # a handler of one department: acts only on that department's orders
    SUPERVISOR = "supervisor"
    ADMIN = "admin"  # may do whatever a supervisor may
    SYSTEM = "system"  # the return-visit machinery


class Action(_Labelled):
    CREATE = "create"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    SEND_BACK = "send_back"
    REDISPATCH = "redispatch"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    REPLY = "reply"
    START_RETURN_VISIT = "start_return_visit"
    CLOSE = "close"
    REWORK = "rework"
    MERGE = "merge"


class Rating(_Labelled):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


class DeadlineChange(StrEnum):
    """What a transition does to the order's deadline; the caller does the working-day arithmetic."""

    START = "start"  # dispatch, redispatch: the department's time limit runs from the transition's time
    EXTEND = "extend"  # approve_extension: the current deadline moves by Transition.extension_days working days
    RESTART = "restart"  # rework: the department redoes the order, a new time limit from the transition's time


_LABELS: Mapping[StrEnum, str] = {
    State.REGISTERED: "已登记", State.DISPATCHED: "已派发", State.ACCEPTED: "已签收", State.REPLIED: "已回复",
    State.RETURN_VISIT: "待回访", State.CLOSED: "已办结", State.SENT_BACK: "已退回", State.MERGED: "已合并",
    Role.AGENT: "话务员", Role.DEPARTMENT: "承办单位", Role.SUPERVISOR: "班长", Role.ADMIN: "管理员",
    Role.SYSTEM: "系统",
    Action.CREATE: "登记", Action.DISPATCH: "派发", Action.ACCEPT: "签收", Action.SEND_BACK: "退回",
    Action.REDISPATCH: "重新派发", Action.REQUEST_EXTENSION: "申请延期", Action.APPROVE_EXTENSION: "批准延期",
    Action.REJECT_EXTENSION: "驳回延期", Action.REPLY: "回复", Action.START_RETURN_VISIT: "回访",
    Action.CLOSE: "办结", Action.REWORK: "重办", Action.MERGE: "合并",
    Rating.SATISFIED: "满意", Rating.BASICALLY_SATISFIED: "基本满意", Rating.UNSATISFIED: "不满意",
}
DIRECT_LABEL = "直接办结"
TERMINAL = frozenset({State.CLOSED, State.MERGED})
OPEN = frozenset(State) - TERMINAL
CLOSING_RATINGS = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})
ASSIGNED = frozenset({State.DISPATCHED, State.ACCEPTED, State.REPLIED, State.RETURN_VISIT, State.SENT_BACK})


class LifecycleError(Exception):
    """Base of what :func:`apply` and :func:`create` refuse; nothing changed."""


class IllegalTransition(LifecycleError):
    """The action makes no sense in the order's present state (HTTP 409); the message says what does."""


class Forbidden(LifecycleError):
    """The actor's role may not do this, or the order is another department's (HTTP 403 or 404)."""


class FieldError(LifecycleError, ValueError):
    """A required field is missing or empty, or a field is wrong for the action (HTTP 400/422)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.field = name


@dataclass(frozen=True)
class Actor:
    id: str
    role: Role
    department: str | None = None  # required for (and only meaningful to) a department handler

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))  # a role read as text becomes the enum (or ValueError)
        if not self.id:
            raise ValueError("an actor needs an id")
        if self.role is Role.DEPARTMENT and not self.department:
            raise ValueError(f"department handler {self.id} needs a department")


@dataclass(frozen=True)
class PendingExtension:
    working_days: int
    reason: str
    requested_by: str
    requested_at: datetime


@dataclass(frozen=True)
class OrderState:
    """What the lifecycle needs of an order (its content, caller and deadline live with the caller)."""

    number: str
    state: State
    department: str | None = None  # responsible now; kept after send_back, closing and merging
    direct: bool = False  # answered directly by the agent (直接办结)
    pending_extension: PendingExtension | None = None
    extensions: int = 0  # extensions granted so far
    rework_count: int = 0
    reply: str = ""  # the department's latest reply (or the agent's direct answer)
    rating: Rating | None = None  # the latest return-visit rating
    merged_into: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", State(self.state))  # as read from the database: text becomes the enum
        if self.rating is not None:
            object.__setattr__(self, "rating", Rating(self.rating))
        if self.state in ASSIGNED and not self.department:
            raise ValueError(f"order {self.number} is {self.state} but has no department")
        if self.pending_extension is not None and self.state is not State.ACCEPTED:
            raise ValueError(f"order {self.number} is {self.state}: only an accepted order has an extension pending")
        if (self.state is State.MERGED) != (self.merged_into is not None):
            raise ValueError(f"order {self.number}: merged_into goes with the merged state and only with it")


Detail = Mapping[str, str | int | bool]


@dataclass(frozen=True)
class HistoryEntry:
    action: Action
    from_state: State | None  # None: the order was created
    to_state: State
    actor_id: str
    role: Role
    at: datetime
    detail: Detail = field(default_factory=dict, hash=False)  # JSON-ready: text, whole numbers, booleans


@dataclass(frozen=True)
class Transition:
    order: OrderState
    entry: HistoryEntry
    deadline: DeadlineChange | None = None
    extension_days: int = 0  # with DeadlineChange.EXTEND: the working days granted
