"""The callbacks' owner: it takes a waiting caller's entry over when the caller presses 1, keeps it
in the ACD's line (a callback counts in the queue figures and keeps its place), acts on the offers
the ACD makes for it, and re-adopts the stored entries at start (a restart of ``hotline serve``
or of Asterisk loses none: they are rows in PostgreSQL, no channel holds them).

An attempt that reaches no one is retried once (at the entry's next offer); then the entry leaves
the line as ``callback_failed`` and is listed (``GET /callbacks?state=failed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentOffer, QueuedCall
from ari_app.acd.store import AcdStore
from ari_app.logs import get_logger
from ari_app.visits.policy import may_dial

log = get_logger("callbacks")
ATTEMPTS = 2  # the first call back and one retry
Place = Callable[[QueuedCall, str, AgentOffer], Awaitable[str]]  # -> "connected", "agent_missed" or "no_answer"


def may_offer(policy_after: int, waited: float, caller: str) -> bool:
    """Whether a waiting caller is offered the callback now: on, waited long enough, a number the
    trunk may dial (never an international or malformed one a caller presents)."""
    return policy_after > 0 and waited >= policy_after and caller != "unknown" and may_dial(caller)


class CallbackDesk:
    def __init__(self, acd: Acd, store: AcdStore, place: Place) -> None:
        self._acd, self._store, self._place = acd, store, place
        self._tasks: set[asyncio.Task[None]] = set()
        self._numbers: dict[str, str] = {}  # call id -> number to call back

    async def start(self) -> int:
        """Put the stored callbacks back in line (at start, before calls are taken)."""
        adopted = 0
        for entry, number, attempts in await self._store.callbacks():
            if attempts >= ATTEMPTS:
                await self._give_up(entry.call_id)
                continue
            self._hold(entry, number)
            adopted += 1
        log.info("callbacks_adopted", count=adopted)
        return adopted

    def offer_due(self, waited: float, caller: str) -> bool:
        return may_offer(self._acd.policy.callback_after, waited, caller)

    async def keep(self, entry: QueuedCall, number: str) -> bool:
        """The caller pressed 1: the entry stays in line to be called back (written first)."""
        if not await self._store.to_callback(entry.call_id, number):
            return False
        self._hold(entry, number)
        log.info("callback_requested", call_id=entry.call_id, waited=round(self._acd.now() - entry.enqueued_at, 1))
        return True

    def _hold(self, entry: QueuedCall, number: str) -> None:
        self._numbers[entry.call_id] = number
        self._acd.hold_for_callback(entry, lambda offer: self._offered(entry, offer))

    def _offered(self, entry: QueuedCall, offer: AgentOffer) -> None:
        task = asyncio.get_running_loop().create_task(self._attempt(entry, offer), name=f"callback-{entry.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, entry: QueuedCall, offer: AgentOffer) -> None:
        structlog.contextvars.bind_contextvars(call_id=entry.call_id, hotline=entry.hotline, callback=True)
        number = self._numbers.get(entry.call_id, "")
        try:
            result = await self._place(entry, number, offer)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("callback_failed_to_run")
            result = "no_answer"
            await self._acd.release_ring(entry.call_id, offer.agent_id)
        if result == "connected":
            self._acd.drop_callback(entry.call_id)
            self._numbers.pop(entry.call_id, None)
            return
        if result == "agent_missed":
            return  # the ACD put the entry back in line (offer_failed): the next agent is tried
        try:
            attempts = await self._store.callback_attempted(entry.call_id)
        except Exception as exc:  # not counted: the entry goes back in line as it was
            log.error("callback_attempt_not_recorded", error=f"{type(exc).__name__}: {exc}"[:300])
            attempts = 0
        if attempts >= ATTEMPTS:
            await self._give_up(entry.call_id)
        else:
            log.info("callback_retry", attempts=attempts)
            self._hold(entry, number)

    async def _give_up(self, call_id: str) -> None:
        try:
            await self._store.finish(call_id, "callback_failed", self._acd.now())
        except Exception as exc:  # stays 'callback' in the database: given up again at the next start
            log.error("callback_not_given_up", error=f"{type(exc).__name__}: {exc}"[:300])
        self._acd.drop_callback(call_id)
        self._numbers.pop(call_id, None)
        log.warning("callback_given_up", call_id=call_id)

    async def listing(self, state: str, limit: int) -> list[dict[str, Any]]:
        return await self._store.callback_listing({"waiting": "callback", "failed": "callback_failed"}[state], limit)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
