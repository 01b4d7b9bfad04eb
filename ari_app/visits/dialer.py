"""The return-visit dialler: a task that places due visits within the allowed hours, never more
than the policy's share of channels at once, and records what each attempt did.

It wakes when a visit is scheduled and at least every ``TICK`` seconds. Visits this node was
dialling when it stopped count as an interrupted attempt on the next start (retried per policy).
The order's side (close when satisfied, rework when not; is the order still waiting for a visit?)
is the caller's: :class:`OrderSide`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from ari_app.logs import get_logger
from ari_app.visits.policy import AttemptResult, VisitPolicy, after_attempt, free_channels, within_hours
from ari_app.visits.store import Visit, VisitStore

log = get_logger("visits.dialer")
TICK = 5.0  # seconds between looks for due visits when nothing wakes the dialler


@dataclass(frozen=True)
class OrderSide:
    wants_visit: Callable[[str], Awaitable[bool]]  # is the order still waiting for its return visit?
    rated: Callable[[str, str], Awaitable[object]]  # the citizen's rating: close or rework the order


class VisitDialer:
    def __init__(
        self, store: VisitStore, policy: VisitPolicy, place: Callable[[Visit], Awaitable[AttemptResult]],
        orders: OrderSide, clock: Callable[[], datetime], ready: Callable[[], bool] = lambda: True,
    ) -> None:
        """``ready``: whether calls can be placed now (the ARI connection is up)."""
        self._store, self.policy, self._place, self._orders, self._clock = store, policy, place, orders, clock
        self._ready = ready
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()  # one round at a time: two would both count the same free channels
        self._active: dict[int, asyncio.Task[None]] = {}
        self.peak = 0  # the most visits dialled at once (for the figures)

    @property
    def dialling(self) -> int:
        return len(self._active)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Dial what is due, on every wake and every TICK; it never dies: a round that fails (the
        database is down, say) is logged and tried again at the next one."""
        recovered = False
        try:
            while True:
                try:
                    if not recovered:
                        for visit in await self._store.interrupted():
                            await self._finish(visit, AttemptResult(False, None, "interrupted"))
                        recovered = True
                    if self.policy.enabled and self._ready():
                        await self.dial_due()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("return_visits_round_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), TICK)
        finally:
            for task in list(self._active.values()):
                task.cancel()

    async def dial_due(self) -> None:
        """One round: claim and dial the visits due now, within the hours and the share."""
        async with self._round:
            now = self._clock()
            if not within_hours(self.policy, now):
                return
            # Every claimed visit is counted at once (no await between the claim and its task), so
            # a visit the database shows 'dialling' is always one of ``dialling`` here.
            for visit in await self._store.claim_due(now, free_channels(self.policy, self.dialling)):
                self._active[visit.id] = asyncio.create_task(self._attempt(visit), name=f"visit-{visit.id}")
            self.peak = max(self.peak, self.dialling)

    async def _attempt(self, visit: Visit) -> None:
        structlog.contextvars.bind_contextvars(visit=visit.id, number=visit.number)
        try:
            try:
                if not await self._orders.wants_visit(visit.number):
                    await self._store.cancel(visit.id, "order no longer waiting for a visit", self._clock())
                    return
                result = await self._place(visit)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("return_visit_failed")
                result = AttemptResult(False, None, "error")
            if result.rating is not None:
                try:
                    await self._orders.rated(visit.number, result.rating)
                except Exception:
                    log.exception("return_visit_order_update_failed")
            try:
                await self._finish(visit, result)
            except Exception as exc:  # left 'dialling': counted as interrupted at the next start
                log.error("return_visit_not_recorded", error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self._active.pop(visit.id, None)
            self._wake.set()  # a channel is free

    async def _finish(self, visit: Visit, result: AttemptResult) -> None:
        now = self._clock()
        then = after_attempt(self.policy, visit.attempts, result, now)
        await self._store.finish(visit.id, then, result, now)
        if then.state == "manual":
            log.warning("return_visit_manual", visit=visit.id, number=visit.number, attempts=visit.attempts,
                        last_result=result.reason)
