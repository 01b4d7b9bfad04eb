"""The dialplan's call spool: the durable trace of calls the Stasis app does not own.

The hang-up handler (dialplan/hotline.conf, ``[hotline-hangup]``) appends one line per such call to
``HOTLINE_CALL_SPOOL`` whether or not its FastAGI ``call-end`` worked. While ``hotline serve`` is
down (FastAGI refused, Stasis not connected: the degraded app_queue path, unknown numbers,
intercepts, department lines) that line is the only trace of the call. The service imports the
spool when it starts and every few seconds after:

- the live file is renamed aside (``<spool>.<ns>.importing``) so Asterisk starts a new one; a renamed
  file is read once it has been quiet for ``settle`` seconds (a line being appended when it was
  renamed lands in it), then deleted after its lines are in the database;
- each line becomes the call's record (``degraded = true``), or completes the record the FastAGI
  route had opened, and is skipped when the call already has a closed record: importing the same
  line twice, or a call the service recorded itself, changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import asyncpg

from ari_app.logs import get_logger
from ari_app.store.calls import dialplan_time

log = get_logger("store.spool")

# version, call id, tag, caller, route, started, answered, ended, DIALSTATUS, QUEUESTATUS, cause, AGISTATUS,
# and from version 2 on: 1 if the caller hung up during the greeting the dialplan plays for the app.
FIELDS = 13
VERSION = "2"
FIELDS_OF = {"1": 12, VERSION: FIELDS}  # lines an older dialplan wrote are read too
DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


def outcome_of_unowned_call(route: str, dial_status: str, queue_status: str, in_greeting: bool = False) -> str:
    """The outcome recorded for a call that ended outside the Stasis app (``in_greeting``: the caller
    hung up while the dialplan greeted it, on its way to the app)."""
    if in_greeting:
        return "caller_hangup"
    if route in ("department", "subcenter"):
        return f"{route}_answered" if dial_status == "ANSWER" else f"{route}_{dial_status.lower() or 'hangup'}"
    if route == "intercept":
        return "intercepted"
    if route == "unknown":
        return "unknown_number"
    if route == "degraded":  # CONNECTED: an agent answered (the hang-up handler sets it from MEMBERINTERFACE)
        if queue_status in ("CONNECTED", "CONTINUE"):
            return "degraded_answered"
        return f"degraded_{queue_status.lower() or 'abandoned'}"
    return "ended_outside_app"


@dataclass(frozen=True)
class SpooledCall:
    call_id: str
    hotline: str
    caller: str
    route: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    outcome: str


def parse_line(line: str) -> SpooledCall | None:
    """One spool line, or None if it is not a complete line of a known format."""
    fields = line.rstrip("\r\n").split(",")
    if len(fields) != FIELDS_OF.get(fields[0]) or not fields[1]:
        return None
    _, call_id, tag, caller, route, started, answered, ended, dial_status, queue_status, _cause, _agi = fields[:12]
    in_greeting = fields[12:] == ["1"]
    started_at, ended_at = dialplan_time(started), dialplan_time(ended)
    if started_at is None or ended_at is None:
        return None
    caller = unquote(caller)
    return SpooledCall(call_id, unquote(tag), "" if caller == "unknown" else caller, route, started_at,
                       dialplan_time(answered), ended_at,
                       outcome_of_unowned_call(route, dial_status, queue_status, in_greeting))


# A new record, or the completion of one the FastAGI route opened; a closed record is left alone.
_IMPORT = (
    "INSERT INTO calls (call_id, channel_id, hotline, caller, route, node, started_at, answered_at, ended_at,"
    " outcome, degraded) VALUES ($1, $1, $2, $3, $4, $5, $6,"
    " CASE WHEN $7::timestamptz IS NULL THEN NULL ELSE greatest($7, $6) END, $8, $9, true)"
    " ON CONFLICT (call_id) DO UPDATE SET ended_at = EXCLUDED.ended_at, outcome = EXCLUDED.outcome,"
    " route = CASE WHEN EXCLUDED.route = '' THEN calls.route ELSE EXCLUDED.route END,"
    " answered_at = coalesce(calls.answered_at, CASE WHEN EXCLUDED.answered_at IS NULL THEN NULL"
    " ELSE greatest(EXCLUDED.answered_at, calls.started_at) END), degraded = true"
    " WHERE calls.ended_at IS NULL"
    " RETURNING (xmax = 0) AS created"
)


@dataclass
class Imported:
    lines: int = 0
    created: int = 0  # records made from the spool
    completed: int = 0  # open records (opened by the FastAGI route) closed from the spool
    skipped: int = 0  # calls that had a closed record already
    bad: int = 0  # lines that are not spool lines


class CallSpool:
    def __init__(self, path: Path, pool: asyncpg.Pool, node: str, settle: float = 1.0) -> None:
        self.path = path
        self._pool = pool
        self._node = node
        self._settle = settle

    def _rotate(self) -> None:
        try:
            if self.path.stat().st_size == 0:
                return
        except FileNotFoundError:
            return
        self.path.rename(self.path.with_name(f"{self.path.name}.{time.time_ns()}.importing"))

    def _settled(self) -> list[Path]:
        quiet_since = time.time() - self._settle
        return sorted(p for p in self.path.parent.glob(f"{self.path.name}.*.importing")
                      if p.stat().st_mtime <= quiet_since)

    async def import_once(self) -> Imported:
        """Rotate the live file, then import every renamed file that has settled."""
        result = Imported()
        self._rotate()
        for path in self._settled():
            calls = []
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                result.lines += 1
                call = parse_line(line)
                if call is None:
                    result.bad += 1
                    log.warning("call_spool_bad_line", file=path.name, line=line[:200])
                else:
                    calls.append(call)
            await self._write(calls, result)
            path.unlink()
        if result.lines:
            log.info("call_spool_imported", lines=result.lines, created=result.created, completed=result.completed,
                     skipped=result.skipped, bad=result.bad)
        return result

    async def _write(self, calls: list[SpooledCall], result: Imported) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            for c in calls:
                created = await conn.fetchval(_IMPORT, c.call_id, c.hotline, c.caller, c.route, self._node,
                                              c.started_at, c.answered_at, c.ended_at, c.outcome)
                if created is None:
                    result.skipped += 1
                elif created:
                    result.created += 1
                else:
                    result.completed += 1

    async def run(self, every: float) -> None:
        """Import at once, then every ``every`` seconds; a failure is logged and tried again."""
        while True:
            try:
                await self.import_once()
            except DB_ERRORS as exc:
                log.error("call_spool_import_failed", error=type(exc).__name__)
            await asyncio.sleep(every)
