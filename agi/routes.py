"""FastAGI routes the dialplan calls (see dialplan/hotline.conf).

- ``number-route``: today's decision for the dialed number (registry + clock). The dialplan passes
  the registry defaults it already set (URI-encoded); only the variables that differ are set, then
  the channel goes on while the call record is opened with its hotline tag and route.
- ``call-end``: the hang-up handler of calls the Stasis app does not own; closes their record.
- ``degraded``: the Stasis app is not connected; the call goes to app_queue. Logged and counted.

The dialplan treats any failure here as "use the registry defaults", so these routes may fail
without a caller going unanswered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote

import asyncpg

from agi.server import AgiRequest, Route
from ari_app.acd.engine import Acd, AcdError
from ari_app.clock import Clock
from ari_app.flows.common import GREETING
from ari_app.logs import get_logger
from ari_app.registry.holder import RegistryHolder
from ari_app.registry.routing import decide
from ari_app.store.calls import CallStore, dialplan_time
from ari_app.store.spool import outcome_of_unowned_call

log = get_logger("agi.routes")

DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
# The variables number-route decides, in the order the dialplan passes their defaults (args 2..8,
# then "end" as arg 9, so that empty trailing values are known to have arrived).
DECIDED = ("HOTLINE_ROUTE", "HOTLINE_TAG", "HOTLINE_PROMPT", "HOTLINE_THEN", "HOTLINE_DIAL",
           "HOTLINE_DIAL_TIMEOUT", "HOTLINE_GROUP")
FEATURE_CODES = {  # dialed code -> (ACD action, confirmation prompt)
    "*72": ("login", "agent-logged-in"),
    "*73": ("logout", "agent-logged-out"),
    "*74": ("pause", "agent-paused"),
    "*75": ("ready", "agent-ready"),
}


def changed_variables(decided: dict[str, str], defaults: list[str] | None) -> list[tuple[str, str]]:
    """The variables to set: those whose decided value differs from the dialplan's default (all of
    them when the defaults were not passed, e.g. by an older dialplan)."""
    if defaults is None or len(defaults) != len(DECIDED):
        return list(decided.items())
    return [(name, value) for (name, value), default in zip(decided.items(), defaults, strict=True)
            if value != default]


@dataclass
class AgiRoutes:
    registry: RegistryHolder
    clock: Clock
    calls: Callable[[], CallStore | None]  # the call store once the database is connected
    acd: Callable[[], Acd | None] = lambda: None  # the ACD once the database is connected
    degraded_calls: int = field(default=0)
    _writes: set[asyncio.Task[None]] = field(default_factory=set)

    def table(self) -> dict[str, Route]:
        return {
            "number-route": self.number_route,
            "call-end": self.call_end,
            "degraded": self.degraded,
            "agent-feature": self.agent_feature,
        }

    async def agent_feature(self, request: AgiRequest) -> None:
        """Feature codes from an agent's own phone: *72 log in, *73 log out, *74 pause, *75 ready."""
        code, endpoint = request.arg(1), request.arg(2)
        acd = self.acd()
        agent = acd.agent_by_endpoint(endpoint) if acd is not None else None
        action = FEATURE_CODES.get(code)
        prompt = "agent-feature-error"
        if acd is not None and agent is not None and action is not None:
            name, prompt_ok = action
            try:
                if name == "pause":
                    await acd.pause(agent.id, "feature code")
                else:
                    await getattr(acd, name)(agent.id)
                prompt = prompt_ok
            except AcdError as exc:
                log.info("agent_feature_refused", agent=agent.id, code=code, error=str(exc))
        log.info("agent_feature", endpoint=endpoint, code=code, agent=agent.id if agent else None, prompt=prompt)
        await request.set_variable("HOTLINE_FEATURE_PROMPT", prompt)

    async def _record(self, write: Callable[[CallStore], Awaitable[object]]) -> None:
        store = self.calls()
        if store is None:
            log.warning("agi_record_skipped", reason="database not connected")
            return
        try:
            await write(store)
        except DB_ERRORS as exc:
            log.error("agi_record_failed", error=type(exc).__name__)

    async def number_route(self, request: AgiRequest) -> None:
        seen = datetime.now(UTC)  # before the dialplan goes on (and may answer): the record's start
        dialed = request.arg(1) or request.headers.get("agi_extension", "")
        registry = self.registry.current
        decision = decide(registry, dialed, self.clock.today(registry.platform.timezone))
        call_id = request.headers.get("agi_uniqueid", "")
        caller = request.headers.get("agi_callerid", "")
        log.debug(  # the call's later lines (call_started, agi_call_end) carry the route
            "agi_number_route", dialed=dialed, route=decision.route.value, prompt=decision.prompt,
            then=decision.then.value, call_id=call_id, channel=request.headers.get("agi_channel", ""),
        )
        decided = dict(zip(DECIDED, (decision.route.value, decision.tag, decision.prompt, decision.then.value,
                                     decision.dial, str(decision.dial_timeout), decision.group), strict=True))
        passed = [request.arg(i) for i in range(2, 2 + len(DECIDED))]
        complete = request.arg(2 + len(DECIDED)) == "end"
        defaults = [unquote(a) for a in passed] if complete else None
        for name, value in changed_variables(decided, defaults):
            await request.set_variable(name, value)
        if call_id:  # the channel need not wait for the record: it goes on when this route returns
            caller_number = "" if caller == "unknown" else caller
            route = decision.route.value
            self._later(lambda store: store.open_if_absent(call_id, decision.tag, caller_number, route, seen))

    def _later(self, write: Callable[[CallStore], Awaitable[object]]) -> None:
        task = asyncio.get_running_loop().create_task(self._record(write))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def drain(self) -> None:
        """Wait for the record writes still running (at stop)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def call_end(self, request: AgiRequest) -> None:
        """``call-end,<route>,<DIALSTATUS>,<QUEUESTATUS>,<HANGUPCAUSE>,<answered>,<tag>,<started>,<greeting>,
        <greeted>`` (times in the dialplan's UTC, the tag URI-encoded; greeting 1: the caller hung up
        while the dialplan greeted it for the app, which never had the call, so its record may not exist
        yet; greeted: how the greeting played, empty if it was cut short)."""
        call_id = request.headers.get("agi_uniqueid", "")
        route, dial_status, queue_status = request.arg(1), request.arg(2), request.arg(3)
        answered_at = dialplan_time(request.arg(5))  # when the dialplan answered (UTC), if it did
        in_greeting = request.arg(8) == "1"
        outcome = outcome_of_unowned_call(route, dial_status, queue_status, in_greeting)
        log.info("agi_call_end", call_id=call_id, route=route, dial_status=dial_status, outcome=outcome)
        if not call_id:
            return
        if in_greeting:
            caller = request.headers.get("agi_callerid", "")
            tag = unquote(request.arg(6)) or request.headers.get("agi_extension", "")
            started = dialplan_time(request.arg(7))
            await self._record(lambda store: store.open_if_absent(
                call_id, tag, "" if caller == "unknown" else caller, route, started))
            await self._record(lambda store: store.event_at(call_id, answered_at, "answered"))
            await self._record(lambda store: store.event(
                call_id, "prompt", name=GREETING, completed=request.arg(9) == "SUCCESS"))
        await self._record(lambda store: store.close_with_route(call_id, route, outcome, answered_at))

    async def degraded(self, request: AgiRequest) -> None:
        """The app was not connected: the call goes to app_queue. Its record is opened here if the
        number-route did not (a number whose route is fixed goes to the app without asking it);
        ``degraded,<dialled>,<tag>,<started>`` (the last two URI-encoded / dialplan UTC time)."""
        self.degraded_calls += 1
        call_id = request.headers.get("agi_uniqueid", "")
        log.warning("call_degraded", call_id=call_id, dialed=request.arg(1), degraded_calls=self.degraded_calls)
        if not call_id:
            return
        caller = request.headers.get("agi_callerid", "")
        tag = unquote(request.arg(2)) or request.arg(1)
        started = dialplan_time(request.arg(3))
        await self._record(lambda store: store.open_if_absent(
            call_id, tag, "" if caller == "unknown" else caller, "degraded", started))
        await self._record(lambda store: store.event(call_id, "degraded", queue="hotline-degraded"))
