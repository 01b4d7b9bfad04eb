"""The call record a scenario's caller left in PostgreSQL (with ``--dsn``): fields, events, prompts."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass
class CallSeen:
    record: dict[str, Any]
    events: list[str]
    prompts_completed: list[str]


async def _closed_call(dsn: str, caller: str) -> CallSeen | None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        row = await conn.fetchrow("SELECT * FROM calls WHERE caller = $1 ORDER BY started_at DESC LIMIT 1", caller)
        if row is None or row["ended_at"] is None:
            return None
        rows = await conn.fetch("SELECT kind, detail FROM call_events WHERE call_id = $1 ORDER BY id", row["call_id"])
    finally:
        await conn.close()
    events = [r["kind"] for r in rows]
    prompts = []
    for r in rows:
        detail = json.loads(r["detail"]) if r["kind"] == "prompt" else {}
        if isinstance(detail, dict) and detail.get("completed"):
            prompts.append(str(detail.get("name")))
    return CallSeen(dict(row), events, prompts)


def closed_call(dsn: str, caller: str, timeout: float = 10.0) -> CallSeen | None:
    """The caller's latest call once closed; None when none is closed within ``timeout`` seconds
    (the record is written when the service sees the hang-up, a moment after SIPp ends)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = asyncio.run(_closed_call(dsn, caller))
        if seen is not None or time.monotonic() >= deadline:
            return seen
        time.sleep(0.2)  # polling the database until the deadline, not waiting a fixed time
