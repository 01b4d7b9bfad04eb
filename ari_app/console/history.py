"""A caller's earlier calls and work orders, for the screen pop: read once per call (not per
refresh of the page) and kept for the calls on screens now."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import asyncpg

from ari_app.logs import get_logger
from ari_app.web.inputs import DATABASE_ERRORS

log = get_logger("console.history")
EARLIER_CALLS_SQL = (
    "SELECT call_id, hotline, route, started_at, outcome FROM calls"
    " WHERE caller = $1 AND call_id <> $2 ORDER BY started_at DESC LIMIT 5"
)
EARLIER_ORDERS_SQL = (
    "SELECT number, state, department, category, content, registered_at FROM work_orders"
    " WHERE caller = $1 ORDER BY registered_at DESC LIMIT 5"
)
KEPT = 512  # calls whose history is kept (far more than agents on calls at once)


class CallerHistory:
    def __init__(self, pool: Callable[[], asyncpg.Pool | None]) -> None:
        self._pool = pool
        self._kept: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def for_call(self, call_id: str, caller: str) -> dict[str, Any]:
        """{"calls": [...], "orders": [...]} of this caller before this call; a failed read is not kept
        (the next refresh tries again) and shows as ``unavailable``."""
        if call_id in self._kept:
            self._kept.move_to_end(call_id)
            return self._kept[call_id]
        pool = self._pool()
        if not caller or pool is None:
            return {"calls": [], "orders": [], "unavailable": pool is None}
        try:
            calls = await pool.fetch(EARLIER_CALLS_SQL, caller, call_id)
            orders = await pool.fetch(EARLIER_ORDERS_SQL, caller)
        except DATABASE_ERRORS as exc:
            log.warning("caller_history_unavailable", call_id=call_id, error=type(exc).__name__)
            return {"calls": [], "orders": [], "unavailable": True}
        found = {
            "calls": [{"call_id": r["call_id"], "hotline": r["hotline"], "route": r["route"],
                       "started_at": r["started_at"].isoformat(), "outcome": r["outcome"]} for r in calls],
            "orders": [{"number": r["number"], "state": r["state"], "department": r["department"],
                        "category": r["category"], "content": r["content"][:80],
                        "registered_at": r["registered_at"].isoformat()} for r in orders],
        }
        self._kept[call_id] = found
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return found
