"""HTTP routes of the ACD: the agents (state, login/logout/pause/ready) and the queue figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ari_app.acd.engine import Acd, AcdError
from ari_app.acd.model import AgentSeat
from ari_app.web.inputs import REASON_TEXT, InputError, json_object, path_id, ready, text
from ari_app.web.principal import DESK, require

AgentAction = Callable[[Acd, str, str], Awaitable[AgentSeat]]
AGENT_ACTIONS: dict[str, AgentAction] = {
    "login": lambda acd, agent_id, _reason: acd.login(agent_id),
    "logout": lambda acd, agent_id, _reason: acd.logout(agent_id),
    "pause": lambda acd, agent_id, reason: acd.pause(agent_id, reason),
    "ready": lambda acd, agent_id, _reason: acd.ready(agent_id),
}


def agent_json(agent: AgentSeat) -> dict[str, object]:
    return {
        "id": agent.id, "endpoint": agent.endpoint, "state": agent.state.value, "since": agent.state_since,
        "pause_reason": agent.pause_reason, "call_id": agent.call_id, "groups": sorted(agent.groups),
        "seconded_by": agent.seconded_by, "skills": agent.skills,
        "phone": "registered" if agent.reachable else "unregistered",
    }


def add_acd_routes(
    app: web.Application,
    current: Callable[[], Acd | None],
    figures: Callable[[Acd], Awaitable[str]],
) -> None:
    """``figures``: the body of GET /queues as JSON text (see :func:`ari_app.acd.report.queue_report`)."""

    async def agents(request: web.Request) -> web.Response:
        require(request, *DESK)
        acd = ready(current())
        return web.json_response({"agents": [agent_json(a) for a in sorted(acd.agents.values(), key=lambda a: a.id)]})

    async def agent_action(request: web.Request) -> web.Response:
        who = require(request, *DESK)
        acd = ready(current())
        agent_id, action = path_id(request, "agent_id"), request.match_info["action"]
        if who.role == "agent" and who.agent_id != agent_id:
            raise InputError(403, f"agent {who.agent_id} may change only their own state, not {agent_id}'s")
        body = await json_object(request, '{"reason": "..."}')
        reason = (text(body, "reason", REASON_TEXT) or "") if action == "pause" else ""
        try:
            agent = await AGENT_ACTIONS[action](acd, agent_id, reason)
        except AcdError as exc:
            status = 404 if str(exc).startswith("no agent") else 409
            return web.json_response({"error": str(exc)}, status=status)
        return web.json_response(agent_json(agent))

    async def queues(request: web.Request) -> web.Response:
        require(request, *DESK)
        return web.Response(text=await figures(ready(current())), content_type="application/json")

    app.router.add_get("/agents", agents)
    app.router.add_post(r"/agents/{agent_id}/{action:login|logout|pause|ready}", agent_action)
    app.router.add_get("/queues", queues)
