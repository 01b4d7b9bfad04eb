"""The console's live views, from the service's own state: an agent's desk (state, the call on
screen with its history) and the wallboard (queues and agents from memory, the rest from
:class:`~ari_app.console.board.BoardFacts`). Sent as Server-Sent Events when they change, woken
by the ACD's pulse and at least every second (a department joining a call is not an ACD change)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ari_app.acd.model import AgentSeat, AgentState
from ari_app.console.board import BoardFacts
from ari_app.console.history import CallerHistory
from ari_app.console.sources import ConsoleSources
from ari_app.console.views import AGENT_STATES, ROUTES, line_description
from ari_app.logs import get_logger

log = get_logger("console.live")
REFRESH = 1.0  # seconds: the longest a view waits without an ACD change before it is looked at again
HEARTBEAT = 15.0  # seconds between comments that keep proxies from closing a quiet stream
ON_CALL = (AgentState.RINGING, AgentState.BUSY, AgentState.WRAP_UP)


def agent_json(agent: AgentSeat) -> dict[str, Any]:
    return {"id": agent.id, "state": agent.state.value, "state_label": AGENT_STATES.get(agent.state.value, ""),
            "since": agent.state_since, "pause_reason": agent.pause_reason, "call_id": agent.call_id or None,
            "wrap_up_until": agent.wrap_up_until if agent.state is AgentState.WRAP_UP else None,
            "phone": "registered" if agent.reachable else "unregistered"}


def _without_waits(figures: dict[str, Any]) -> dict[str, Any]:
    """The queue figures without the list of every abandoned call's wait (thousands on a busy day)."""
    def trim(group: Any) -> Any:
        return {k: v for k, v in group.items() if k != "abandoned_waits"} if isinstance(group, dict) else group

    for name in ("by_hotline", "by_queue"):
        if isinstance(figures.get(name), dict):
            figures[name] = {key: trim(group) for key, group in figures[name].items()}
    figures["total"] = trim(figures.get("total"))
    return figures


class LiveViews:
    def __init__(self, sources: ConsoleSources, facts: BoardFacts) -> None:
        self.sources, self.facts = sources, facts
        self.history = CallerHistory(sources.pool)
        self._last_call: dict[str, dict[str, Any]] = {}  # agent -> the call last on their screen
        self.closing = asyncio.Event()  # set when the service stops: streams end

    async def agent(self, agent_id: str) -> dict[str, Any]:
        acd = self.sources.acd()
        if acd is None:
            return {"available": False}
        agent = acd.agents.get(agent_id)
        if agent is None:
            return {"available": True, "error": f"座席 {agent_id} 不在 seats.yaml 中"}
        view: dict[str, Any] = {"available": True, "agent": agent_json(agent), "call": None}
        if agent.call_id and agent.state in ON_CALL:
            view["call"] = await self._call(agent, agent.call_id)
        return view

    async def _call(self, agent: AgentSeat, call_id: str) -> dict[str, Any] | None:
        screen = self.sources.screen(call_id)
        kept = self._last_call.get(agent.id)
        if screen is None:  # the call has ended (wrap-up): what was on screen stays, marked ended
            return {**kept, "ended": True, "talking": False} if kept and kept["call_id"] == call_id else None
        caller = str(screen.get("caller") or "")
        hotline = str(screen.get("hotline") or "")
        enqueued = screen.get("enqueued_at")
        answered = agent.state_since if agent.state is AgentState.BUSY else None
        if kept is not None and kept["call_id"] == call_id and kept.get("answered_at"):
            answered = kept["answered_at"]
        waited = answered - enqueued if isinstance(enqueued, float) and answered is not None else None
        call = {
            **screen, "call_id": call_id, "caller": caller, "line": line_description(self.sources.registry(), hotline),
            "route_label": ROUTES.get(str(screen.get("route")), str(screen.get("route"))),
            "answered_at": answered, "waited": round(waited, 1) if waited is not None else None, "ended": False,
            "history": await self.history.for_call(call_id, caller),
        }
        self._last_call[agent.id] = call
        return call

    async def board(self) -> dict[str, Any]:
        acd = self.sources.acd()
        facts = await self.facts.read()
        if acd is None:
            return {"available": False, "facts": facts}
        now = acd.now()
        waiting = sorted(acd.waiting(), key=lambda c: c.enqueued_at)
        return {
            "available": True,
            "queues": _without_waits(json.loads(await self.sources.queue_figures(acd))),
            "waiting": [{"call_id": c.call_id, "hotline": c.hotline, "group": c.group or None,
                         "enqueued_at": c.enqueued_at, "offered_to": c.offered_to or None} for c in waiting],
            "longest_wait": round(now - waiting[0].enqueued_at, 1) if waiting else 0,
            "agents": [agent_json(a) for a in sorted(acd.agents.values(), key=lambda a: a.id)],
            "facts": facts,
        }

    async def stream(self, request: web.Request, event: str, view: Callable[[], Awaitable[dict[str, Any]]]) -> \
            web.StreamResponse:
        """Send ``view`` as the SSE ``event`` now and whenever it changes, until the browser goes away."""
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        last, seen, quiet_since = "", -1, time.monotonic()
        try:
            while not self.closing.is_set():
                data = json.dumps(await view(), ensure_ascii=False, default=str, sort_keys=True)
                if data != last:
                    now = time.time()
                    await response.write(f"event: {event}\ndata: {{\"now\": {now}, \"view\": {data}}}\n\n".encode())
                    last, quiet_since = data, time.monotonic()
                elif time.monotonic() - quiet_since > HEARTBEAT:
                    await response.write(b": ping\n\n")
                    quiet_since = time.monotonic()
                acd = self.sources.acd()
                if acd is None:
                    await asyncio.sleep(REFRESH)
                else:
                    seen = await acd.changes.wait(seen, REFRESH)
        except ConnectionResetError:
            log.info("console_stream_closed", stream=event)
        return response
