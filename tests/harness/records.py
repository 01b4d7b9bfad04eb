"""Read call records from PostgreSQL for assertions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg


async def _fetch(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return [dict(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def calls_from(dsn: str, caller: str) -> list[dict[str, Any]]:
    return asyncio.run(_fetch(dsn, "SELECT * FROM calls WHERE caller = $1 ORDER BY started_at", caller))


def count_calls(dsn: str) -> int:
    """How many call records there are (every call opened, by the dialplan or the app)."""
    return int(asyncio.run(_fetch(dsn, "SELECT count(*) AS n FROM calls"))[0]["n"])


def call_events(dsn: str, call_id: str) -> list[dict[str, Any]]:
    rows = asyncio.run(_fetch(dsn, "SELECT kind, detail FROM call_events WHERE call_id = $1 ORDER BY id", call_id))
    return [{"kind": r["kind"], "detail": json.loads(r["detail"])} for r in rows]


def closed_call_from(dsn: str, caller: str) -> dict[str, Any] | None:
    rows = calls_from(dsn, caller)
    if rows and rows[-1]["ended_at"] is not None:
        return rows[-1]
    return None


def timed_events(dsn: str, call_id: str) -> list[dict[str, Any]]:
    """The call's events with their times (``at`` as a datetime)."""
    rows = asyncio.run(
        _fetch(dsn, "SELECT at, kind, detail FROM call_events WHERE call_id = $1 ORDER BY id", call_id)
    )
    return [{"at": r["at"], "kind": r["kind"], "detail": json.loads(r["detail"])} for r in rows]
