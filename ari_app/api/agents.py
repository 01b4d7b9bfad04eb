"""HTTP API of the ACD: agents (state, login/logout/pause/ready), live queue figures, escalation."""

from __future__ import annotations

import json
from typing import Protocol

from aiohttp import web

from ari_app.acd.engine import Acd, AcdError
from ari_app.acd.model import AgentSeat


class AcdProbe(Protocol):
    @property
    def acd(self) -> Acd | None: ...

    async def queue_figures(self) -> dict[str, object]: ...

    def escalate(self, call_id: str, group: str) -> bool: ...

    def party(self, call_id: str, action: str, target: str) -> bool: ...

    def call_state(self, call_id: str) -> dict[str, object] | None: ...

    async def request_work_order(self, call_id: str, department: str, note: str) -> bool: ...


PARTY_ACTIONS = ("add", "drop", "leave", "blind", "attended", "complete")


def agent_json(agent: AgentSeat) -> dict[str, object]:
    return {
        "id": agent.id, "endpoint": agent.endpoint, "state": agent.state.value, "since": agent.state_since,
        "pause_reason": agent.pause_reason, "call_id": agent.call_id, "groups": sorted(agent.groups),
        "seconded_by": agent.seconded_by, "skills": agent.skills,
    }


def add_routes(app: web.Application, probe: AcdProbe) -> None:
    def acd_or_503() -> Acd:
        if probe.acd is None:
            raise web.HTTPServiceUnavailable(text=json.dumps({"error": "not ready"}), content_type="application/json")
        return probe.acd

    async def agents(_request: web.Request) -> web.Response:
        acd = acd_or_503()
        return web.json_response({"agents": [agent_json(a) for a in sorted(acd.agents.values(), key=lambda a: a.id)]})

    async def agent_action(request: web.Request) -> web.Response:
        acd = acd_or_503()
        agent_id, action = request.match_info["agent_id"], request.match_info["action"]
        reason = ""
        if action == "pause" and request.can_read_body:
            try:
                body = await request.json()
            except (ValueError, UnicodeDecodeError):
                return web.json_response({"error": "body must be JSON like {\"reason\": \"...\"}"}, status=400)
            reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
        try:
            if action == "login":
                agent = await acd.login(agent_id)
            elif action == "logout":
                agent = await acd.logout(agent_id)
            elif action == "pause":
                agent = await acd.pause(agent_id, reason)
            else:
                agent = await acd.ready(agent_id)
        except AcdError as exc:
            status = 404 if str(exc).startswith("no agent") else 409
            return web.json_response({"error": str(exc)}, status=status)
        return web.json_response(agent_json(agent))

    async def queues(_request: web.Request) -> web.Response:
        acd_or_503()
        return web.json_response(await probe.queue_figures())

    async def escalate(request: web.Request) -> web.Response:
        acd_or_503()
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "body must be JSON like {\"group\": \"transport-experts\"}"}, status=400)
        group = str(body.get("group", "")) if isinstance(body, dict) else ""
        if not group:
            return web.json_response({"error": "group is required"}, status=400)
        if not probe.escalate(request.match_info["call_id"], group):
            return web.json_response({"error": "no such call talking to an agent"}, status=404)
        return web.json_response({"escalated": True, "group": group}, status=202)

    async def party(request: web.Request) -> web.Response:
        acd_or_503()
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            example = '{"action": "add", "department": "12333"}'
            return web.json_response({"error": f"body must be JSON like {example}"}, status=400)
        if not isinstance(body, dict) or body.get("action") not in PARTY_ACTIONS:
            return web.json_response({"error": f"action must be one of {', '.join(PARTY_ACTIONS)}"}, status=400)
        action, target = str(body["action"]), str(body.get("department", ""))
        if action in ("add", "blind", "attended") and not target:
            return web.json_response({"error": "department (short code or hotline number) is required"}, status=400)
        if not probe.party(request.match_info["call_id"], action, target):
            return web.json_response({"error": "no such call talking to an agent"}, status=404)
        return web.json_response({"accepted": True, "action": action}, status=202)

    async def call_state(request: web.Request) -> web.Response:
        acd_or_503()
        state = probe.call_state(request.match_info["call_id"])
        if state is None:
            return web.json_response({"error": "no such live call"}, status=404)
        return web.json_response(state)

    async def work_order(request: web.Request) -> web.Response:
        acd_or_503()
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": 'body must be JSON like {"department": "12333", "note": "..."}'},
                                     status=400)
        department = str(body.get("department", "")) if isinstance(body, dict) else ""
        note = str(body.get("note", ""))[:2000] if isinstance(body, dict) else ""
        if not department:
            return web.json_response({"error": "department is required"}, status=400)
        if not await probe.request_work_order(request.match_info["call_id"], department, note):
            return web.json_response({"error": "no such call, or no such department"}, status=404)
        return web.json_response({"requested": True, "department": department}, status=202)

    app.router.add_post("/calls/{call_id}/party", party)
    app.router.add_post("/calls/{call_id}/work-order", work_order)
    app.router.add_get("/calls/{call_id}", call_state)
    app.router.add_get("/agents", agents)
    app.router.add_post(r"/agents/{agent_id}/{action:login|logout|pause|ready}", agent_action)
    app.router.add_get("/queues", queues)
    app.router.add_post("/calls/{call_id}/escalate", escalate)
