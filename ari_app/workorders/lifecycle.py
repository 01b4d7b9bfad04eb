"""The work-order lifecycle as pure code: states, actions, who may do what, and the history each change leaves.

registered -> dispatched -> accepted -> replied -> return_visit -> closed, with sent_back (a department returns a
wrongly assigned order; a supervisor re-dispatches it), extensions (requested by the department, decided by a
supervisor), rework after an unsatisfied return visit, and merged (a duplicate folded into another order).

No database and no clock: the caller passes the order as stored, the actor and the time, then stores the new state
and appends the history entry in one transaction. Deadlines are computed elsewhere; a transition only says what
happens to the deadline (:class:`DeadlineChange`). The states, roles and records are defined in
:mod:`ari_app.workorders.states` and exported from here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TypedDict, TypeVar, Unpack

from ari_app.workorders.numbers import InvalidNumber, parse_number
from ari_app.workorders.states import (
    CLOSING_RATINGS,
    DIRECT_LABEL,
    OPEN,
    TERMINAL,
    Action,
    Actor,
    DeadlineChange,
    Detail,
    FieldError,
    Forbidden,
    HistoryEntry,
    IllegalTransition,
    LifecycleError,
    OrderState,
    PendingExtension,
    Rating,
    Role,
    State,
    Transition,
)

__all__ = [
    "CLOSING_RATINGS", "DIRECT_LABEL", "OPEN", "RULES", "TERMINAL", "Action", "Actor", "DeadlineChange", "Detail",
    "FieldError", "Fields", "Forbidden", "HistoryEntry", "IllegalTransition", "LifecycleError", "OrderState",
    "PendingExtension", "Rating", "Role", "Rule", "State", "Transition", "allowed_actions", "apply", "create",
]

_E = TypeVar("_E", bound=StrEnum)


class Fields(TypedDict, total=False):
    """The actions' inputs; which one takes which is in :data:`RULES`. ``None`` counts as absent."""

    department: str | None
    reason: str | None
    reply: str | None
    target: str | None
    target_state: State | str | None
    working_days: int | None
    rating: Rating | str | None


@dataclass(frozen=True)
class Rule:
    sources: frozenset[State]  # the states the action is allowed in (create: none, it starts an order)
    roles: frozenset[Role]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    pending: bool | None = None  # True: only with an extension pending; False: only without one


_DESK = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
_DEPARTMENT = frozenset({Role.DEPARTMENT})
_SUPERVISION = frozenset({Role.SUPERVISOR, Role.ADMIN})
_FOLLOW_UP = frozenset({Role.SYSTEM, Role.SUPERVISOR, Role.ADMIN})

RULES: Mapping[Action, Rule] = {
    Action.CREATE: Rule(frozenset(), _DESK, optional=("reply",)),
    Action.DISPATCH: Rule(frozenset({State.REGISTERED}), _DESK, required=("department",)),
    Action.ACCEPT: Rule(frozenset({State.DISPATCHED}), _DEPARTMENT),
    Action.SEND_BACK: Rule(frozenset({State.DISPATCHED, State.ACCEPTED}), _DEPARTMENT, required=("reason",)),
    Action.REDISPATCH: Rule(frozenset({State.SENT_BACK}), _SUPERVISION, required=("department",)),
    Action.REQUEST_EXTENSION: Rule(frozenset({State.ACCEPTED}), _DEPARTMENT, required=("working_days", "reason"),
                                   pending=False),
    Action.APPROVE_EXTENSION: Rule(frozenset({State.ACCEPTED}), _SUPERVISION, pending=True),
    Action.REJECT_EXTENSION: Rule(frozenset({State.ACCEPTED}), _SUPERVISION, optional=("reason",), pending=True),
    Action.REPLY: Rule(frozenset({State.ACCEPTED}), _DEPARTMENT, required=("reply",)),
    Action.START_RETURN_VISIT: Rule(frozenset({State.REPLIED}), _FOLLOW_UP),
    Action.CLOSE: Rule(frozenset({State.RETURN_VISIT}), _FOLLOW_UP, required=("rating",)),
    Action.REWORK: Rule(frozenset({State.RETURN_VISIT}), _FOLLOW_UP, optional=("reason",)),
    Action.MERGE: Rule(OPEN, _SUPERVISION, required=("target", "target_state")),
}


def allowed_actions(order: OrderState, actor: Actor | None = None) -> tuple[Action, ...]:
    """The actions the order's state allows now, in table order; with an actor, only those that actor may do."""
    return tuple(
        action for action, rule in RULES.items()
        if order.state in rule.sources
        and (rule.pending is None or rule.pending == (order.pending_extension is not None))
        and (actor is None or _may(actor, rule, order))
    )


def create(number: str, actor: Actor, at: datetime, *, direct: bool = False, reply: str | None = None) -> Transition:
    """A new order, registered; or, ``direct`` with the agent's answer in ``reply``, closed at once (直接办结)."""
    _check_time(at)
    parse_number(number)
    if actor.role not in RULES[Action.CREATE].roles:
        raise Forbidden(f"{actor.role} may not create an order: only {_who(RULES[Action.CREATE].roles)} may")
    if not direct:
        if reply is not None:
            raise FieldError("reply", "create takes a reply only for an order answered directly (direct)")
        order = OrderState(number, State.REGISTERED)
        return Transition(order, _entry(Action.CREATE, None, order, actor, at, {"direct": False}))
    if not isinstance(reply, str) or not reply.strip():
        raise FieldError("reply", "reply (the answer given) is required to create an order answered directly")
    order = OrderState(number, State.CLOSED, direct=True, reply=reply.strip())
    detail: Detail = {"direct": True, "resolution": DIRECT_LABEL, "reply": order.reply}
    return Transition(order, _entry(Action.CREATE, None, order, actor, at, detail))


def apply(order: OrderState, action: Action, actor: Actor, at: datetime, **fields: Unpack[Fields]) -> Transition:
    """The order after ``action`` by ``actor`` at ``at``, with the history entry it leaves.

    Refuses with Forbidden (the role may not, or the order is another department's), IllegalTransition (not in
    this state; the message lists what is allowed) or FieldError (a field missing, empty or wrong), in that order.
    """
    _check_time(at)
    action = Action(action)
    rule = RULES[action]
    if actor.role not in rule.roles:
        raise Forbidden(f"{actor.role} may not {action} order {order.number}: only {_who(rule.roles)} may")
    if not _may(actor, rule, order):
        raise Forbidden(f"{actor.id} of {actor.department} may not {action} order {order.number}: "
                        f"a department handler acts only on the department's own orders")
    if action not in allowed_actions(order):
        raise IllegalTransition(_illegal(order, action))
    outcome = _HANDLERS[action](_Step(order, action, _given(action, rule, dict(fields)), actor, at))
    entry = _entry(action, order.state, outcome.order, actor, at, outcome.detail)
    return Transition(outcome.order, entry, outcome.deadline, outcome.extension_days)


def _may(actor: Actor, rule: Rule, order: OrderState) -> bool:
    return actor.role in rule.roles and (actor.role is not Role.DEPARTMENT or order.department == actor.department)


def _entry(action: Action, before: State | None, after: OrderState, actor: Actor, at: datetime,
           detail: Detail) -> HistoryEntry:
    return HistoryEntry(action, before, after.state, actor.id, actor.role, at, dict(detail))


def _check_time(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone")


def _or(words: Iterable[str]) -> str:
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _who(roles: frozenset[Role]) -> str:
    """Roles for a message; admin is left out where supervisor is named (an admin may do what a supervisor may)."""
    return _or(r for r in Role if r in roles and not (r is Role.ADMIN and Role.SUPERVISOR in roles))


def _illegal(order: OrderState, action: Action) -> str:
    where = f"order {order.number} is {order.state}"
    where += f" into {order.merged_into}" if order.merged_into else ""
    where += " with an extension pending" if order.pending_extension is not None else ""
    groups: dict[str, list[str]] = {}
    for allowed in allowed_actions(order):
        groups.setdefault(_who(RULES[allowed].roles), []).append(allowed)
    if not groups:
        return f"{where}: nothing more is allowed; {action} is not"
    verb = "is" if sum(len(actions) for actions in groups.values()) == 1 else "are"
    listed = ", ".join(f"{_or(actions)} ({who})" for who, actions in groups.items())
    return f"{where}: {listed} {verb} allowed; {action} is not"


def _given(action: Action, rule: Rule, fields: Mapping[str, object]) -> Mapping[str, object]:
    """The fields present (``None`` is absent); one the action does not take is an error, not ignored."""
    present = {name: value for name, value in fields.items() if value is not None}
    for name in sorted(present):
        if name not in rule.required and name not in rule.optional:
            raise FieldError(name, f"{action} takes no {name}")
    return present


@dataclass(frozen=True)
class _Step:
    """One action being applied, already authorised and allowed: the order before it, its fields, who and when."""

    order: OrderState
    action: Action
    given: Mapping[str, object]
    actor: Actor
    at: datetime

    def text(self, name: str) -> str:
        value = self.given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise FieldError(name, f"{name} is required to {self.action}")
        if not isinstance(value, str):
            raise FieldError(name, f"{name} must be text")
        return value.strip()

    def optional_text(self, name: str) -> dict[str, str]:
        return {name: self.text(name)} if name in self.given else {}

    def working_days(self) -> int:
        value = self.given.get("working_days")
        if value is None:
            raise FieldError("working_days", f"working_days is required to {self.action}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FieldError("working_days", f"working_days must be a whole number, at least 1 (not {value!r})")
        return value

    def choice(self, kind: type[_E], name: str) -> _E:
        value = self.given.get(name)
        if value is None:
            raise FieldError(name, f"{name} is required to {self.action}")
        if not isinstance(value, str) or value not in {member.value for member in kind}:
            raise FieldError(name, f"{name} {value!r} is not one of {', '.join(kind)}")
        return kind(value)

    def pending(self) -> PendingExtension:
        if self.order.pending_extension is None:  # allowed_actions() saw one; this is for the type checker
            raise IllegalTransition(f"order {self.order.number} has no extension pending")
        return self.order.pending_extension

    def withdrawn(self) -> dict[str, int]:
        """An extension still pending when the department lets go of the order lapses; the history says so."""
        pending = self.order.pending_extension
        return {} if pending is None else {"extension_withdrawn": pending.working_days}


@dataclass(frozen=True)
class _Outcome:
    order: OrderState
    detail: Detail
    deadline: DeadlineChange | None = None
    extension_days: int = 0


def _dispatch(s: _Step) -> _Outcome:
    department = s.text("department")
    return _Outcome(replace(s.order, state=State.DISPATCHED, department=department), {"department": department},
                    DeadlineChange.START)


def _accept(s: _Step) -> _Outcome:
    return _Outcome(replace(s.order, state=State.ACCEPTED), {"department": s.order.department or ""})


def _send_back(s: _Step) -> _Outcome:
    detail: Detail = {"department": s.order.department or "", "reason": s.text("reason"), **s.withdrawn()}
    return _Outcome(replace(s.order, state=State.SENT_BACK, pending_extension=None), detail)


def _redispatch(s: _Step) -> _Outcome:
    department = s.text("department")
    detail: Detail = {"department": department, "previous_department": s.order.department or ""}
    return _Outcome(replace(s.order, state=State.DISPATCHED, department=department), detail, DeadlineChange.START)


def _request_extension(s: _Step) -> _Outcome:
    days, reason = s.working_days(), s.text("reason")
    pending = PendingExtension(days, reason, s.actor.id, s.at)
    return _Outcome(replace(s.order, pending_extension=pending), {"working_days": days, "reason": reason})


def _extension_detail(pending: PendingExtension) -> Detail:
    return {"working_days": pending.working_days, "request_reason": pending.reason,
            "requested_by": pending.requested_by}


def _approve_extension(s: _Step) -> _Outcome:
    pending = s.pending()
    after = replace(s.order, pending_extension=None, extensions=s.order.extensions + 1)
    return _Outcome(after, _extension_detail(pending), DeadlineChange.EXTEND, pending.working_days)


def _reject_extension(s: _Step) -> _Outcome:
    detail: Detail = {**_extension_detail(s.pending()), **s.optional_text("reason")}
    return _Outcome(replace(s.order, pending_extension=None), detail)


def _reply(s: _Step) -> _Outcome:
    text = s.text("reply")
    after = replace(s.order, state=State.REPLIED, reply=text, pending_extension=None)
    return _Outcome(after, {"reply": text, **s.withdrawn()})


def _start_return_visit(s: _Step) -> _Outcome:
    return _Outcome(replace(s.order, state=State.RETURN_VISIT), {})


def _close(s: _Step) -> _Outcome:
    rating = s.choice(Rating, "rating")
    if rating not in CLOSING_RATINGS:
        raise FieldError("rating", f"rating {rating} does not close order {s.order.number}: close takes "
                                   f"{_or(r for r in Rating if r in CLOSING_RATINGS)}; unsatisfied goes to rework")
    return _Outcome(replace(s.order, state=State.CLOSED, rating=rating), {"rating": rating.value})


def _rework(s: _Step) -> _Outcome:
    count = s.order.rework_count + 1
    detail: Detail = {"rating": Rating.UNSATISFIED.value, "rework_count": count,
                      "department": s.order.department or "", **s.optional_text("reason")}
    after = replace(s.order, state=State.ACCEPTED, rating=Rating.UNSATISFIED, rework_count=count, reply="")
    return _Outcome(after, detail, DeadlineChange.RESTART)


def _merge(s: _Step) -> _Outcome:
    try:
        target = str(parse_number(s.text("target")))
    except InvalidNumber as exc:
        raise FieldError("target", f"target: {exc}") from None
    if target == s.order.number:
        raise FieldError("target", f"order {s.order.number} cannot be merged into itself")
    target_state = s.choice(State, "target_state")
    if target_state in TERMINAL:
        raise IllegalTransition(f"order {s.order.number} cannot be merged into {target}: that order is "
                                f"{target_state}; merge into an open order")
    after = replace(s.order, state=State.MERGED, merged_into=target, pending_extension=None)
    return _Outcome(after, {"target": target, **s.withdrawn()})


_HANDLERS: Mapping[Action, Callable[[_Step], _Outcome]] = {
    Action.DISPATCH: _dispatch,
    Action.ACCEPT: _accept,
    Action.SEND_BACK: _send_back,
    Action.REDISPATCH: _redispatch,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.REJECT_EXTENSION: _reject_extension,
    Action.REPLY: _reply,
    Action.START_RETURN_VISIT: _start_return_visit,
    Action.CLOSE: _close,
    Action.REWORK: _rework,
    Action.MERGE: _merge,
}
