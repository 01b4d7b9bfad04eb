"""The facts the staffing report reads from PostgreSQL (tables of store/migrations 001 and 003).

Everything is read in one read-only snapshot, with the database's clock as "now".
"""

from __future__ import annotations

from typing import Any

import asyncpg

from ari_app.registry.model import Registry
from ari_app.reports.orders import OrderFact
from ari_app.reports.staffing import ReportFacts, build_report
from ari_app.seats.model import Seats
from ari_app.workorders.states import State

CALLS_SQL = "SELECT hotline, count(*) AS calls FROM calls GROUP BY hotline"
SPAN_SQL = "SELECT min(started_at) AS first_call, now() AS now FROM calls"
# done_at: the last reply (or, with none, the close) of an order the department has answered and
# that was not reopened since; a rework puts the order back to accepted, and then there is none.
ORDERS_SQL = """
SELECT o.department, o.state, o.deadline, o.extensions, o.call_rating, nullif(o.rating, '') AS rating,
       CASE WHEN o.state = ANY($1::text[]) THEN coalesce(
           (SELECT max(h.at) FROM work_order_history h WHERE h.number = o.number AND h.action = 'reply'),
           (SELECT max(h.at) FROM work_order_history h WHERE h.number = o.number AND h.action = 'close'))
       END AS done_at
FROM work_orders o
WHERE o.department <> ''
"""
# the department that sent the order back, as the history entry names it (else the order's department)
RETURNS_SQL = """
SELECT coalesce(nullif(h.detail->>'department', ''), o.department) AS department, count(*) AS returns
FROM work_order_history h JOIN work_orders o ON o.number = h.number
WHERE h.action = 'send_back'
GROUP BY 1
"""
MANUAL_VISITS_SQL = "SELECT department, count(*) AS n FROM return_visits WHERE state = 'manual' GROUP BY department"
CALLBACKS_SQL = """
SELECT count(*) FILTER (WHERE callback_to <> '') AS requested,
       count(*) FILTER (WHERE status = 'callback') AS waiting,
       count(*) FILTER (WHERE callback_to <> '' AND status IN ('talking', 'ended')) AS connected,
       count(*) FILTER (WHERE status = 'callback_failed') AS failed
FROM queue_calls
"""
ANSWERED = [State.REPLIED.value, State.RETURN_VISIT.value, State.CLOSED.value]
CONNECT_TIMEOUT = 10  # seconds


class ReportDatabaseError(RuntimeError):
    """The database could not be reached or read; the message is one sentence without the DSN."""


async def read_facts(conn: asyncpg.Connection) -> ReportFacts:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        calls = {row["hotline"]: int(row["calls"]) for row in await conn.fetch(CALLS_SQL)}
        span = await conn.fetchrow(SPAN_SQL)
        orders = [
            OrderFact(row["department"], State(row["state"]), row["deadline"], row["done_at"], row["extensions"],
                      row["call_rating"], row["rating"])
            for row in await conn.fetch(ORDERS_SQL, ANSWERED)
        ]
        returns = {row["department"]: int(row["returns"]) for row in await conn.fetch(RETURNS_SQL)}
        manual = {row["department"]: int(row["n"]) for row in await conn.fetch(MANUAL_VISITS_SQL)}
        callbacks = dict((await conn.fetchrow(CALLBACKS_SQL)) or {})
    return ReportFacts(span["now"], calls, span["first_call"], tuple(orders), returns, manual,
                       {k: int(v) for k, v in callbacks.items()})


async def fetch_facts(dsn: str) -> ReportFacts:
    """Connect, read, close; any failure is a :class:`ReportDatabaseError`."""
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ReportDatabaseError(f"cannot reach the database (HOTLINE_DSN): {_reason(exc)}") from None
    try:
        return await read_facts(conn)
    except asyncpg.UndefinedTableError as exc:
        raise ReportDatabaseError(f"the database has no hotline tables yet ({exc}); `hotline serve` creates them") \
            from None
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise ReportDatabaseError(f"cannot read the database (HOTLINE_DSN): {_reason(exc)}") from None
    finally:
        await _close(conn)


async def _close(conn: asyncpg.Connection) -> None:
    """Close politely; a connection already broken is simply dropped (the reading has succeeded or failed)."""
    try:
        await conn.close(timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


async def staffing_now(pool: asyncpg.Pool, registry: Registry, seats: Seats) -> dict[str, Any]:
    """The staffing report as JSON, read through the service's pool (the console's wallboard)."""
    async with pool.acquire() as conn:
        facts = await read_facts(conn)
    return build_report(registry, seats, facts).to_json()
