"""HTTP routes of call control: the latest call records, a live call's state, escalation,
departments on a call, work-order requests. Input is checked here against what the seats and the
registry know, before a call's task is asked to do anything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from aiohttp import web

from ari_app.acd.engine import Acd
from ari_app.calls.control import staffed_groups
from ari_app.registry.model import Department
from ari_app.web.inputs import (
    LONG_TEXT,
    SHORT_TEXT,
    InputError,
    choice,
    json_object,
    path_id,
    query_int,
    ready,
    text,
)
from ari_app.web.principal import DESK, require

PARTY_ACTIONS = ("add", "drop", "leave", "blind", "attended", "complete")
DIALLING_ACTIONS = ("add", "blind", "attended")  # these bring a department's seats into the call
NO_CALL = "no such call talking to an agent"


class CallControlApi(Protocol):
    """What the routes ask of call control (ari_app.calls.control.CallControl)."""

    @property
    def acd(self) -> Acd | None: ...

    def escalate(self, call_id: str, group: str) -> bool: ...

    def party(self, call_id: str, action: str, target: str) -> bool: ...

    def call_state(self, call_id: str) -> dict[str, object] | None: ...

    def department(self, target: str) -> Department | None: ...

    def departments(self) -> list[Department]: ...

    async def request_work_order(self, call_id: str, department: Department, note: str) -> str | None: ...

    async def latest_calls(self, limit: int) -> list[dict[str, object]] | None: ...


def department_choices(departments: Iterable[Department], with_line: bool) -> list[str]:
    """What an agent may name, for error messages: short codes of departments with seats, or ids."""
    if with_line:
        return [f"{d.line.short_code} ({d.id})" for d in departments if d.line is not None]
    return [d.id for d in departments]


def add_call_routes(app: web.Application, control: CallControlApi) -> None:
    def known_department(target: str, with_line: bool) -> Department:
        department = control.department(target)
        if department is None:
            raise InputError(422, f"no department {target!r} (give a short code, a department id or a hotline"
                                  " number)", valid=department_choices(control.departments(), with_line))
        if with_line and department.line is None:
            raise InputError(422, f"department {department.id!r} keeps no seats of its own to call",
                             valid=department_choices(control.departments(), True))
        return department

    def talking_call(call_id: str) -> dict[str, object]:
        state = control.call_state(call_id)
        if state is None or not state.get("talking"):
            raise InputError(404, NO_CALL)
        return state

    async def latest(request: web.Request) -> web.Response:
        require(request, *DESK)
        records = await control.latest_calls(query_int(request, "limit", 20, 1, 1000))
        if records is None:
            return web.json_response({"error": "database not reachable"}, status=503)
        return web.json_response({"calls": records})

    async def escalate(request: web.Request) -> web.Response:
        require(request, *DESK)
        acd = ready(control.acd)
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
        if not control.escalate(call_id, group):
            raise InputError(404, NO_CALL)
        return web.json_response({"escalated": True, "group": group}, status=202)

    async def party(request: web.Request) -> web.Response:
        require(request, *DESK)
        ready(control.acd)
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
        if not control.party(call_id, action, target):
            raise InputError(404, NO_CALL)
        return web.json_response({"accepted": True, "action": action}, status=202)

    async def call_state(request: web.Request) -> web.Response:
        require(request, *DESK)
        ready(control.acd)
        state = control.call_state(path_id(request, "call_id"))
        if state is None:
            return web.json_response({"error": "no such live call"}, status=404)
        return web.json_response(state)

    async def work_order(request: web.Request) -> web.Response:
        require(request, *DESK)
        ready(control.acd)
        call_id = path_id(request, "call_id")
        body = await json_object(request, '{"department": "12333", "note": "..."}')
        target = text(body, "department", SHORT_TEXT, required=True) or ""
        note = text(body, "note", LONG_TEXT, multiline=True) or ""
        department = known_department(target, with_line=False)
        number = await control.request_work_order(call_id, department, note)
        if number is None:
            raise InputError(404, f"no call {call_id!r}")
        return web.json_response({"requested": True, "department": department.id, "number": number or None},
                                 status=202)

    app.router.add_get("/calls", latest)
    app.router.add_get("/calls/{call_id}", call_state)
    app.router.add_post("/calls/{call_id}/party", party)
    app.router.add_post("/calls/{call_id}/work-order", work_order)
    app.router.add_post("/calls/{call_id}/escalate", escalate)
