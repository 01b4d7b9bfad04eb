"""Return visits as the rest of the app sees them: scheduled when a department replies (or a
supervisor asks), listed for supervisors, counted for the reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from ari_app.logs import get_logger
from ari_app.visits.dialer import VisitDialer
from ari_app.visits.policy import VisitPolicy, next_opening
from ari_app.visits.store import Visit, VisitStore
from ari_app.workorders.states import State
from ari_app.workorders.store import Order

log = get_logger("visits")
VISITABLE = (State.REPLIED, State.RETURN_VISIT)


class NotVisitable(ValueError):
    """The order cannot have a return visit now (its state, or no number to call)."""


class ReturnVisits:
    def __init__(
        self, store: VisitStore, dialer: VisitDialer, policy: VisitPolicy, clock: Callable[[], datetime],
        order: Callable[[str], Awaitable[Order | None]],
    ) -> None:
        self.store, self.dialer, self.policy, self._clock, self._order = store, dialer, policy, clock, order

    async def replied(self, order: Order) -> Visit | None:
        """A department replied: the visit is due as soon as the hours allow."""
        if not order.caller:
            log.warning("return_visit_no_number", number=order.number)
            return None
        return await self._schedule(order)

    async def request(self, number: str) -> Visit:
        """A supervisor asks for a visit of ``number`` now (a new one after a manual list entry, say)."""
        order = await self._order(number)
        if order is None:
            raise LookupError(f"no work order {number}")
        if order.state.state not in VISITABLE:
            raise NotVisitable(f"order {number} is {order.state.state.value}: a return visit follows a reply "
                               f"(states {', '.join(s.value for s in VISITABLE)})")
        if not order.caller:
            raise NotVisitable(f"order {number} has no caller number to call back")
        visit = await self._schedule(order)
        if visit is None:
            raise NotVisitable(f"order {number} has a return visit scheduled or in progress already")
        return visit

    async def _schedule(self, order: Order) -> Visit | None:
        at = next_opening(self.policy, self._clock())
        visit = await self.store.schedule(order.number, order.caller, order.state.department or "", at)
        if visit is not None:
            log.info("return_visit_scheduled", number=order.number, visit=visit.id, at=at.isoformat())
            self.dialer.wake()
        return visit

    async def listing(self, state: str | None, limit: int) -> list[Visit]:
        return await self.store.listing(state, limit)

    async def figures(self) -> dict[str, Any]:
        return {"by_state": await self.store.counts(), "ratings": await self.store.ratings(),
                "dialling_now": self.dialer.dialling, "max_channels": self.policy.max_channels}
