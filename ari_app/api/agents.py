"""HTTP API of the ACD: agents (state, login/logout/pause/ready), live queue figures, escalation,
departments on a call. Input is checked at this edge (:mod:`ari_app.api.inputs`) against what the
seats and the registry know, before the ACD or a call is asked to do anything."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from aiohttp import web

from ari_app.acd.engine import Acd, AcdError
from ari_app.acd.model import AgentSeat, AgentState
from ari_app.api.inputs import LONG_TEXT, REASON_TEXT, SHORT_TEXT, InputError, choice, json_object, path_id, text
from ari_app.registry.model import Department


class AcdProbe(Protocol):
    @property
    def acd(self) -> Acd | None: ...

    async def queue_figures(self) -> dict[str, object]: ...

    def escalate(self, call_id: str, group: str) -> bool: ...

    def party(self, call_id: str, action: str, target: str) -> bool: ...

    def call_state(self, call_id: str) -> dict[str, object] | None: ...

    def department(self, target: str) -> Department | None: ...

    def departments(self) -> list[Department]: ...

    async def request_work_order(self, call_id: str, department: Department, note: str) -> bool: ...


PARTY_ACTIONS = ("add", "drop", "leave", "blind", "attended", "complete")
DIALLING_ACTIONS = ("add", "blind", "attended")  # these bring a department's seats into the call
AWAY = (AgentState.LOGGED_OUT, AgentState.PAUSED)
NO_CALL = "no such call talking to an agent"
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


def staffed_groups(agents: Iterable[AgentSeat]) -> dict[str, int]:
    """Every group some agent serves (expert group or seconding department), with how many of its
    agents are logged in and not paused."""
    seats = list(agents)
    names = {g for a in seats for g in a.groups} | {a.seconded_by for a in seats if a.seconded_by}
    return {g: sum(1 for a in seats if a.serves_group(g) and a.state not in AWAY) for g in sorted(names)}


def department_choices(departments: Iterable[Department], with_line: bool) -> list[str]:
    """What an agent may name, for error messages: short codes of departments with seats, or ids."""
    if with_line:
        return [f"{d.line.short_code} ({d.id})" for d in departments if d.line is not None]
    return [d.id for d in departments]


def add_routes(app: web.Application, probe: AcdProbe) -> None:
    def acd_or_503() -> Acd:
        if probe.acd is None:
            raise web.HTTPServiceUnavailable(text=json.dumps({"error": "not ready"}), content_type="application/json")
        return probe.acd

    def known_department(target: str, with_line: bool) -> Department:
        department = probe.department(target)
        if department is None:
            raise InputError(422, f"no department {target!r} (give a short code, a department id or a hotline"
                                  " number)", valid=department_choices(probe.departments(), with_line))
        if with_line and department.line is None:
            raise InputError(422, f"department {department.id!r} keeps no seats of its own to call",
                             valid=department_choices(probe.departments(), True))
        return department

    def talking_call(call_id: str) -> dict[str, object]:
        state = probe.call_state(call_id)
        if state is None or not state.get("talking"):
            raise InputError(404, NO_CALL)
        return state

    async def agents(_request: web.Request) -> web.Response:
        acd = acd_or_503()
        return web.json_response({"agents": [agent_json(a) for a in sorted(acd.agents.values(), key=lambda a: a.id)]})

    async def agent_action(request: web.Request) -> web.Response:
        acd = acd_or_503()
        agent_id, action = path_id(request, "agent_id"), request.match_info["action"]
        body = await json_object(request, '{"reason": "..."}')
        reason = (text(body, "reason", REASON_TEXT) or "") if action == "pause" else ""
        try:
            agent = await AGENT_ACTIONS[action](acd, agent_id, reason)
        except AcdError as exc:
            status = 404 if str(exc).startswith("no agent") else 409
            return web.json_response({"error": str(exc)}, status=status)
        return web.json_response(agent_json(agent))

    async def queues(_request: web.Request) -> web.Response:
        acd_or_503()
        return web.json_response(await probe.queue_figures())

    async def escalate(request: web.Request) -> web.Response:
        acd = acd_or_503()
        call_id = path_id(request, "call_id")
        body = await json_object(request, '{"group": "transport-experts"}')
        group = text(body, "group", SHORT_TEXT, required=True) or ""
        staffed = staffed_groups(acd.agents.values())
        if group not in staffed:
            raise InputError(422, f"no group {group!r}: no agent serves it", valid=list(staffed))
        if staffed[group] == 0:
            raise InputError(409, f"no agent of group {group!r} is logged in (all logged out or paused)")
        if talking_call(call_id).get("department") is not None:
            raise InputError(409, "a department is on the call: drop it or finish the transfer first")
        if not probe.escalate(call_id, group):
            raise InputError(404, NO_CALL)
        return web.json_response({"escalated": True, "group": group}, status=202)

    async def party(request: web.Request) -> web.Response:
        acd_or_503()
        call_id = path_id(request, "call_id")
        body = await json_object(request, '{"action": "add", "department": "12333"}')
        action = choice(body, "action", PARTY_ACTIONS)
        target = text(body, "department", SHORT_TEXT) or ""
        if action in DIALLING_ACTIONS:
            if not target.strip():
                raise InputError(400, f"department (short code, id or hotline number) is required to {action}")
            department = known_department(target, with_line=True)
            if target == department.id and department.line is not None:
                target = department.line.short_code  # the call's flow dials by short code or number
        if not probe.party(call_id, action, target):
            raise InputError(404, NO_CALL)
        return web.json_response({"accepted": True, "action": action}, status=202)

    async def call_state(request: web.Request) -> web.Response:
        acd_or_503()
        state = probe.call_state(path_id(request, "call_id"))
        if state is None:
            return web.json_response({"error": "no such live call"}, status=404)
        return web.json_response(state)

    async def work_order(request: web.Request) -> web.Response:
        acd_or_503()
        call_id = path_id(request, "call_id")
        body = await json_object(request, '{"department": "12333", "note": "..."}')
        target = text(body, "department", SHORT_TEXT, required=True) or ""
        note = text(body, "note", LONG_TEXT, multiline=True) or ""
        department = known_department(target, with_line=False)
        if not await probe.request_work_order(call_id, department, note):
            raise InputError(404, f"no call {call_id!r}")
        return web.json_response({"requested": True, "department": department.id}, status=202)

    app.router.add_post("/calls/{call_id}/party", party)
    app.router.add_post("/calls/{call_id}/work-order", work_order)
    app.router.add_get("/calls/{call_id}", call_state)
    app.router.add_get("/agents", agents)
    app.router.add_post(r"/agents/{agent_id}/{action:login|logout|pause|ready}", agent_action)
    app.router.add_get("/queues", queues)
    app.router.add_post("/calls/{call_id}/escalate", escalate)
