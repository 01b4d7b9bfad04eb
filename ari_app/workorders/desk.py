"""The work-order desk: filing orders from calls, moving them through their lifecycle with
working-day deadlines, and the lists departments work from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ari_app.logs import get_logger
from ari_app.registry.model import Registry
from ari_app.workorders.calendar import WorkCalendar
from ari_app.workorders.deadlines import Limits, deadline, due_within, extended, is_overdue, resumed
from ari_app.workorders.lifecycle import TERMINAL, Action, Actor, DeadlineChange, FieldError, Transition
from ari_app.workorders.states import CLOSING_RATINGS, Rating, Role, State
from ari_app.workorders.store import NewOrder, Order, WorkOrderStore

log = get_logger("workorders")
VISITOR = Actor("return-visit", Role.SYSTEM)  # who acts on an order after the citizen rated it by phone


class UnknownDepartment(LookupError):
    def __init__(self, target: str, known: list[str]) -> None:
        super().__init__(f"no department {target!r}")
        self.target, self.known = target, known


@dataclass(frozen=True)
class Filing:
    """An agent's new order: the request, the call it came from (if any), and the department chosen."""

    category: str
    content: str
    address: str = ""
    call_id: str | None = None
    caller: str = ""
    hotline: str = ""
    department: str = ""  # chosen by the agent: dispatched at once; "" leaves it registered
    direct: bool = False  # answered directly (直接办结): closed at once with the answer in reply
    reply: str = ""


class WorkOrderDesk:
    def __init__(
        self,
        store: WorkOrderStore,
        registry: Callable[[], Registry],
        calendar: WorkCalendar,
        limits: Limits,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store, self._registry, self.calendar, self.limits, self._clock = store, registry, calendar, limits, clock
        self.on_replied: Callable[[Order], Awaitable[object]] | None = None  # schedules the return visit

    # -- registry look-ups -----------------------------------------------------------------------------
    def department_id(self, target: str) -> str:
        """A department by short code, id or hotline number (as agents name them); UnknownDepartment if none."""
        registry = self._registry()
        found = registry.department_for(target)
        if found is None:
            raise UnknownDepartment(target, sorted(registry.departments))
        return found.id

    def suggestion(self, hotline: str) -> tuple[str, str]:
        """(suggested department id, the line's name) for a dialled number: the line's responsible unit."""
        line = self._registry().hotline(hotline)
        return (line.department, line.name) if line is not None else ("", "")

    # -- changes ---------------------------------------------------------------------------------------
    def _deadline_rule(self, transition: Transition, order: Order) -> datetime | None:
        """The order's deadline after ``transition``: a new time limit on dispatch and rework, the
        approved working days on an extension; and, when the configuration pauses the clock while an
        extension is pending, the time the request waited is given back once it is decided."""
        at = transition.entry.at
        current = order.deadline
        pending = order.state.pending_extension
        if current is not None and pending is not None and transition.order.pending_extension is None:
            current = resumed(current, pending.requested_at, at, order.category, self.calendar, self.limits)
        if transition.deadline in (DeadlineChange.START, DeadlineChange.RESTART):
            return deadline(at, order.category, self.calendar, self.limits)
        if transition.deadline is DeadlineChange.EXTEND and current is not None:
            return extended(current, transition.extension_days, self.calendar, timezone=self.limits.timezone)
        return current

    async def file(self, filing: Filing, actor: Actor) -> Order:
        self.limits.limit(filing.category)  # UnknownCategory before anything is written
        if not filing.content.strip():
            raise FieldError("content", "content (what the citizen asks) is required")
        caller, hotline = filing.caller, filing.hotline
        if filing.call_id is not None:
            facts = await self._store.call_facts(filing.call_id)
            if facts is None:
                raise FieldError("call_id", f"no call {filing.call_id!r}")
            caller, hotline = caller or facts[0], hotline or facts[1]
        suggested, line_name = self.suggestion(hotline)
        department = self.department_id(filing.department) if filing.department else ""
        if filing.direct and department:
            raise FieldError("department", "an order answered directly goes to no department")
        new = NewOrder(filing.category, filing.content.strip(), filing.address.strip(), caller, filing.call_id,
                       hotline, line_name, suggested)

        async def dispatch(_order: Order) -> tuple[Action, Mapping[str, Any]] | None:
            return (Action.DISPATCH, {"department": department}) if department else None

        return await self._store.create(new, actor, self._clock(), direct=filing.direct,
                                        reply=filing.reply if filing.direct else None, then=dispatch,
                                        deadline_rule=self._deadline_rule)

    async def act(self, number: str, action: Action, actor: Actor, fields: Mapping[str, Any]) -> Order:
        if fields.get("department"):
            fields = {**fields, "department": self.department_id(str(fields["department"]))}
        if action is Action.MERGE and fields.get("target"):
            target = await self._store.get(str(fields["target"]))
            if target is None:
                raise FieldError("target", f"no work order {fields['target']} to merge into")
            fields = {**fields, "target_state": target.state.state}
        order = await self._store.change(number, action, actor, self._clock(), fields, self._deadline_rule)
        if action is Action.REPLY and self.on_replied is not None:
            try:  # the reply stands even when the visit cannot be scheduled now
                await self.on_replied(order)
            except Exception:
                log.exception("return_visit_not_scheduled", number=number)
        return order

    # -- return visits -----------------------------------------------------------------------------------
    async def wants_visit(self, number: str) -> bool:
        """Whether the order still waits for its return visit (replied, or the visit started)."""
        order = await self._store.get(number)
        return order is not None and order.state.state in (State.REPLIED, State.RETURN_VISIT)

    async def visit_rated(self, number: str, rating: str) -> Order:
        """The citizen rated the result on the return-visit call: satisfied or basically satisfied
        closes the order, unsatisfied sends it back to the department for rework (new deadline)."""
        order = await self._store.get(number)
        if order is not None and order.state.state is State.REPLIED:
            await self.act(number, Action.START_RETURN_VISIT, VISITOR, {})
        if Rating(rating) in CLOSING_RATINGS:
            return await self.act(number, Action.CLOSE, VISITOR, {"rating": rating})
        return await self.act(number, Action.REWORK, VISITOR, {"reason": "回访不满意"})

    # -- reading -----------------------------------------------------------------------------------------
    async def call_rated(self, call_id: str, rating: str) -> list[str]:
        """A caller rated the call after it (ari_app.survey): onto the orders filed from it."""
        return await self._store.rate_call(call_id, rating, self._clock())

    async def get(self, number: str) -> Order | None:
        return await self._store.get(number)

    async def history(self, number: str) -> list[dict[str, Any]]:
        return await self._store.history(number)

    async def orders(self, department: str | None, states: list[str] | None, due: str, limit: int) -> list[Order]:
        """Orders by urgency; ``due``: "" (all), "overdue", or "soon" (due within a day, not overdue)."""
        now = self._clock()
        found = await self._store.orders(department, states, limit)
        if due == "overdue":
            return [o for o in found if o.deadline is not None and is_overdue(o.deadline, now)]
        if due == "soon":
            return [o for o in found if o.deadline is not None and due_within(o.deadline, now, hours=24)]
        return found

    def deadline_flags(self, order: Order) -> dict[str, bool]:
        """Whether an open order is past its deadline, or due within a day."""
        now = self._clock()
        if order.deadline is None or order.state.state in TERMINAL:
            return {"overdue": False, "due_soon": False}
        return {"overdue": is_overdue(order.deadline, now), "due_soon": due_within(order.deadline, now, hours=24)}
