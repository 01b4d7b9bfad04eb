"""The call records a scenario's caller left in PostgreSQL (with ``--dsn``): fields, events, prompts.

A scenario's caller number is new on each run; its calls are those started since the scenario
began (by the database's clock): the caller's own call first, then any the target placed back to
the same number (a queue callback, a return visit)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass
class CallSeen:
    record: dict[str, Any]
    events: list[str]
    prompts_completed: list[str]


async def _calls(dsn: str, caller: str, since: datetime | None) -> list[CallSeen]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch("SELECT * FROM calls WHERE caller = $1"
                                " AND ($2::timestamptz IS NULL OR started_at >= $2) ORDER BY started_at, call_id",
                                caller, since)
        seen = []
        for row in rows:
            events = await conn.fetch("SELECT kind, detail FROM call_events WHERE call_id = $1 ORDER BY id",
                                      row["call_id"])
            seen.append(_seen(dict(row), events))
    finally:
        await conn.close()
    return seen


def _seen(record: dict[str, Any], rows: list[asyncpg.Record]) -> CallSeen:
    prompts = []
    for r in rows:
        detail = json.loads(r["detail"]) if r["kind"] == "prompt" else {}
        if isinstance(detail, dict) and detail.get("completed"):
            prompts.append(str(detail.get("name")))
    return CallSeen(record, [r["kind"] for r in rows], prompts)


def calls_since(dsn: str, caller: str, since: datetime | None) -> list[CallSeen]:
    """The caller number's calls started since ``since`` (all of them with None), oldest first."""
    return asyncio.run(_calls(dsn, caller, since))


async def _now(dsn: str) -> datetime:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        now: datetime = await conn.fetchval("SELECT now()")
        return now
    finally:
        await conn.close()


def database_now(dsn: str) -> datetime:
    return asyncio.run(_now(dsn))


def closed_call(dsn: str, caller: str, since: datetime | None = None, timeout: float = 10.0) -> CallSeen | None:
    """The caller's own call (the first since ``since``) once closed; None when it is not closed
    within ``timeout`` seconds (the record is written when the service sees the hang-up, a moment
    after SIPp ends)."""
    deadline = time.monotonic() + timeout
    while True:
        calls = calls_since(dsn, caller, since)
        if calls and calls[0].record.get("ended_at") is not None:
            return calls[0]
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)  # polling the database until the deadline, not waiting a fixed time
