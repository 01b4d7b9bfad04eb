"""Work orders in PostgreSQL (store/migrations/003_workorders.sql).

Every change is one transaction: the order row is locked, the lifecycle decides
(:func:`ari_app.workorders.lifecycle.apply`), the row is updated and the history entry appended
together, or nothing is written at all.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from ari_app.workorders.lifecycle import (
    Action,
    Actor,
    HistoryEntry,
    OrderState,
    PendingExtension,
    Transition,
    apply,
    create,
)
from ari_app.workorders.numbers import day_of, format_number

DeadlineRule = Callable[[Transition, "Order"], datetime | None]  # the new deadline after a transition


@dataclass(frozen=True)
class NewOrder:
    """What an agent files: the citizen's request and where it came from."""

    category: str
    content: str
    address: str = ""
    caller: str = ""
    call_id: str | None = None
    hotline: str = ""
    hotline_name: str = ""
    suggested_department: str = ""


@dataclass(frozen=True)
class Order:
    number: str
    state: OrderState
    category: str
    content: str
    address: str
    caller: str
    call_id: str | None
    hotline: str
    hotline_name: str
    suggested_department: str
    registered_at: datetime
    deadline: datetime | None
    updated_at: datetime
    call_rating: str | None = None  # the caller's rating after the call the order was filed from

    def to_json(self) -> dict[str, Any]:
        s = self.state
        pending = s.pending_extension
        return {
            "number": self.number, "state": s.state.value, "state_label": s.state.label,
            "category": self.category, "content": self.content, "address": self.address, "caller": self.caller,
            "call_id": self.call_id, "hotline": self.hotline, "hotline_name": self.hotline_name,
            "suggested_department": self.suggested_department or None, "department": s.department,
            "direct": s.direct, "registered_at": self.registered_at.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "pending_extension": (
                {"working_days": pending.working_days, "reason": pending.reason, "requested_by": pending.requested_by,
                 "requested_at": pending.requested_at.isoformat()} if pending else None
            ),
            "extensions": s.extensions, "rework_count": s.rework_count, "reply": s.reply,
            "rating": s.rating.value if s.rating else None, "merged_into": s.merged_into,
            "call_rating": self.call_rating, "updated_at": self.updated_at.isoformat(),
        }


def _history_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "at": row["at"].isoformat(), "action": row["action"], "from": row["from_state"], "to": row["to_state"],
        "actor": row["actor"], "role": row["role"], "detail": json.loads(row["detail"]),
    }


def _pending(raw: str | None) -> PendingExtension | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return PendingExtension(int(data["working_days"]), str(data["reason"]), str(data["requested_by"]),
                            datetime.fromisoformat(data["requested_at"]))


def _order(row: Mapping[str, Any]) -> Order:
    state = OrderState(
        row["number"], row["state"], department=row["department"] or None, direct=row["direct"],
        pending_extension=_pending(row["extension"]), extensions=row["extensions"],
        rework_count=row["rework_count"], reply=row["reply"], rating=row["rating"] or None,
        merged_into=row["merged_into"],
    )
    return Order(
        row["number"], state, row["category"], row["content"], row["address"], row["caller"], row["call_id"],
        row["hotline"], row["hotline_name"], row["suggested_department"], row["registered_at"], row["deadline"],
        row["updated_at"], row["call_rating"],
    )


def _pending_json(pending: PendingExtension | None) -> str | None:
    if pending is None:
        return None
    return json.dumps({"working_days": pending.working_days, "reason": pending.reason,
                       "requested_by": pending.requested_by, "requested_at": pending.requested_at.isoformat()})


async def _append(conn: asyncpg.Connection, entry: HistoryEntry, number: str) -> None:
    await conn.execute(
        "INSERT INTO work_order_history (number, at, action, from_state, to_state, actor, role, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        number, entry.at, entry.action.value, entry.from_state.value if entry.from_state else None,
        entry.to_state.value, entry.actor_id, entry.role.value, json.dumps(dict(entry.detail), ensure_ascii=False),
    )


class OrderNotFound(LookupError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no work order {number}")
        self.number = number


class WorkOrderStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _next_number(self, conn: asyncpg.Connection, day: date) -> str:
        seq: int = await conn.fetchval(
            "INSERT INTO work_order_numbers (day, last) VALUES ($1, 1)"
            " ON CONFLICT (day) DO UPDATE SET last = work_order_numbers.last + 1 RETURNING last",
            day,
        )
        return format_number(day, seq)

    async def rate_call(self, call_id: str, rating: str, at: datetime) -> list[str]:
        """The caller's rating after the call, on the orders filed from it (each with a history
        entry by the citizen; an order keeps the first rating). The numbers of the orders rated."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "UPDATE work_orders SET call_rating = $2 WHERE call_id = $1 AND call_rating IS NULL"
                " RETURNING number, state", call_id, rating)
            for row in rows:
                await conn.execute(
                    "INSERT INTO work_order_history (number, at, action, from_state, to_state, actor, role, detail)"
                    " VALUES ($1, $2, 'call_rated', $3, $3, 'citizen', 'citizen', $4)",
                    row["number"], at, row["state"], json.dumps({"rating": rating}))
        return [r["number"] for r in rows]

    async def call_facts(self, call_id: str) -> tuple[str, str] | None:
        """(caller number, dialled number) of a call record, or None if there is no such call."""
        row = await self._pool.fetchrow("SELECT caller, hotline FROM calls WHERE call_id = $1", call_id)
        return (row["caller"], row["hotline"]) if row else None

    async def create(
        self, new: NewOrder, actor: Actor, at: datetime, *, direct: bool = False, reply: str | None = None,
        then: Callable[[Order], Awaitable[tuple[Action, Mapping[str, Any]] | None]] | None = None,
        deadline_rule: DeadlineRule | None = None,
    ) -> Order:
        """Register a new order (one transaction with its number and history); ``then`` may name a
        first change made in the same transaction (dispatching it to the chosen department)."""
        async with self._pool.acquire() as conn, conn.transaction():
            number = await self._next_number(conn, day_of(at))
            transition = create(number, actor, at, direct=direct, reply=reply)
            s = transition.order
            await conn.execute(
                "INSERT INTO work_orders (number, state, category, content, address, caller, call_id, hotline,"
                " hotline_name, suggested_department, department, direct, registered_at, reply, updated_at,"
                " call_rating)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13,"
                " (SELECT rating FROM calls WHERE call_id = $7))",
                number, s.state.value, new.category, new.content, new.address, new.caller, new.call_id, new.hotline,
                new.hotline_name, new.suggested_department, s.department or "", s.direct, at, s.reply,
            )
            await _append(conn, transition.entry, number)
            order = await self._locked(conn, number)
            follow = await then(order) if then is not None else None
            if follow is not None:
                action, fields = follow
                order = await self._change(conn, order, action, actor, at, fields, deadline_rule)
            return order

    async def change(
        self, number: str, action: Action, actor: Actor, at: datetime, fields: Mapping[str, Any],
        deadline_rule: DeadlineRule | None = None,
    ) -> Order:
        """Apply ``action`` to order ``number`` (lifecycle errors propagate; nothing is written then)."""
        async with self._pool.acquire() as conn, conn.transaction():
            order = await self._locked(conn, number)
            return await self._change(conn, order, action, actor, at, fields, deadline_rule)

    async def _change(
        self, conn: asyncpg.Connection, order: Order, action: Action, actor: Actor, at: datetime,
        fields: Mapping[str, Any], deadline_rule: DeadlineRule | None,
    ) -> Order:
        transition = apply(order.state, action, actor, at, **fields)
        deadline = deadline_rule(transition, order) if deadline_rule is not None else order.deadline
        s = transition.order
        await conn.execute(
            "UPDATE work_orders SET state = $2, department = $3, extension = $4, extensions = $5,"
            " rework_count = $6, reply = $7, rating = $8, merged_into = $9, deadline = $10, updated_at = $11,"
            " version = version + 1 WHERE number = $1",
            order.number, s.state.value, s.department or "", _pending_json(s.pending_extension), s.extensions,
            s.rework_count, s.reply, s.rating.value if s.rating else "", s.merged_into, deadline, at,
        )
        await _append(conn, transition.entry, order.number)
        return await self._locked(conn, order.number)

    async def _locked(self, conn: asyncpg.Connection, number: str) -> Order:
        row = await conn.fetchrow("SELECT * FROM work_orders WHERE number = $1 FOR UPDATE", number)
        if row is None:
            raise OrderNotFound(number)
        return _order(row)

    async def get(self, number: str) -> Order | None:
        row = await self._pool.fetchrow("SELECT * FROM work_orders WHERE number = $1", number)
        return _order(row) if row else None

    async def history(self, number: str) -> list[dict[str, Any]]:
        rows = await self._pool.fetch("SELECT * FROM work_order_history WHERE number = $1 ORDER BY id", number)
        return [_history_json(r) for r in rows]

    async def orders(self, department: str | None, states: list[str] | None, limit: int) -> list[Order]:
        """Orders by deadline (the most urgent first), optionally of one department and in some states."""
        rows = await self._pool.fetch(
            "SELECT * FROM work_orders WHERE ($1::text IS NULL OR department = $1)"
            " AND ($2::text[] IS NULL OR state = ANY($2)) ORDER BY deadline NULLS LAST, registered_at LIMIT $3",
            department, states, limit,
        )
        return [_order(r) for r in rows]
