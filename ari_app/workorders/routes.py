"""HTTP routes of the work-order desk.

| route | what |
|---|---|
| ``POST /work-orders`` | file an order (from a call with ``call_id``), dispatched at once when a department is chosen |
| ``GET /work-orders?department=&state=&due=overdue|soon&limit=`` | orders by deadline, most urgent first |
| ``GET /work-orders/{number}`` | the order, its deadline flags, its history and what may be done next |
| ``POST /work-orders/{number}/{action}`` | accept, send_back, redispatch, extensions, reply, return visit ... |

Who acts is the logged-in account (ari_app.web.principal): its role and department decide what it
may do (the lifecycle's rules); a department handler sees only its own department's orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ari_app.web.inputs import (
    LONG_TEXT,
    SHORT_TEXT,
    InputError,
    json_object,
    query_int,
    ready,
    text,
)
from ari_app.web.principal import ANYONE, principal, require
from ari_app.workorders.calendar import CalendarGap
from ari_app.workorders.deadlines import UnknownCategory
from ari_app.workorders.desk import Filing, UnknownDepartment, WorkOrderDesk
from ari_app.workorders.lifecycle import (
    Action,
    Actor,
    FieldError,
    Forbidden,
    IllegalTransition,
    Role,
    State,
    allowed_actions,
)
from ari_app.workorders.numbers import is_number
from ari_app.workorders.store import Order, OrderNotFound

ACTIONS = tuple(a.value for a in Action if a is not Action.CREATE)
TEXT_FIELDS = {"department": SHORT_TEXT, "reason": LONG_TEXT, "reply": LONG_TEXT, "target": SHORT_TEXT,
               "rating": SHORT_TEXT}


def _actor(request: web.Request) -> Actor:
    """Who acts: the logged-in account; the lifecycle decides what its role may do."""
    who = require(request, *ANYONE)
    return Actor(who.actor_id, Role(who.role), who.department or None)


def _visible(request: web.Request, order: Order) -> bool:
    """A department handler sees only the orders of their own department (others: 404)."""
    who = principal(request)
    return who.role != "department" or order.state.department == who.department


def _flag(body: Mapping[str, object], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(400, f"{name} must be true or false")
    return value


def _fields(body: Mapping[str, object]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, limit in TEXT_FIELDS.items():
        value = text(body, name, limit, multiline=limit == LONG_TEXT)
        if value is not None:
            fields[name] = value
    days = body.get("working_days")
    if days is not None:
        if not isinstance(days, int) or isinstance(days, bool):
            raise InputError(400, "working_days must be a whole number")
        fields["working_days"] = days
    return fields


def _number(request: web.Request) -> str:
    number = request.match_info["number"]
    if not is_number(number):
        raise InputError(404, f"no work order {number!r}: numbers look like 20261130-000123")
    return number


def add_workorder_routes(app: web.Application, current: Callable[[], WorkOrderDesk | None]) -> None:
    def order_json(desk: WorkOrderDesk, order: Order) -> dict[str, Any]:
        return {**order.to_json(), **desk.deadline_flags(order)}

    async def guarded(make: Callable[[], Any]) -> Any:
        try:
            return await make()
        except Forbidden as exc:
            raise InputError(403, str(exc)) from None
        except IllegalTransition as exc:
            raise InputError(409, str(exc)) from None
        except FieldError as exc:
            raise InputError(400, str(exc), field=exc.field) from None
        except UnknownCategory as exc:
            raise InputError(422, str(exc), field="category") from None
        except UnknownDepartment as exc:
            raise InputError(422, f"no department {exc.target!r} (a short code, id or hotline number)",
                             field="department", valid=exc.known) from None
        except OrderNotFound as exc:
            raise InputError(404, str(exc)) from None
        except CalendarGap as exc:
            raise InputError(409, f"the deadline cannot be computed: {exc}") from None

    async def file(request: web.Request) -> web.Response:
        desk = ready(current())
        body = await json_object(request, '{"category": "request", "content": "...", "department": "01", ...}')
        actor = _actor(request)
        filing = Filing(
            category=text(body, "category", SHORT_TEXT, required=True) or "",
            content=text(body, "content", LONG_TEXT, required=True, multiline=True) or "",
            address=text(body, "address", LONG_TEXT) or "",
            call_id=text(body, "call_id", SHORT_TEXT),
            caller=text(body, "caller", SHORT_TEXT) or "",
            hotline=text(body, "hotline", SHORT_TEXT) or "",
            department=text(body, "department", SHORT_TEXT) or "",
            direct=_flag(body, "direct"),
            reply=text(body, "reply", LONG_TEXT, multiline=True) or "",
        )
        order = await guarded(lambda: desk.file(filing, actor))
        return web.json_response(order_json(desk, order), status=201)

    async def listing(request: web.Request) -> web.Response:
        who = require(request, *ANYONE)
        desk = ready(current())
        department = who.department if who.role == "department" else (request.query.get("department") or None)
        states = [s for s in request.query.get("state", "").split(",") if s] or None
        if states is not None and not set(states) <= {s.value for s in State}:
            raise InputError(400, "state must be states separated by commas", valid=[s.value for s in State])
        due = request.query.get("due", "")
        if due not in ("", "overdue", "soon"):
            raise InputError(400, "due must be overdue or soon")
        orders = await desk.orders(department, states, due, query_int(request, "limit", 100, 1, 1000))
        return web.json_response({"orders": [order_json(desk, o) for o in orders]})

    async def one(request: web.Request) -> web.Response:
        require(request, *ANYONE)
        desk = ready(current())
        order = await desk.get(_number(request))
        if order is None or not _visible(request, order):
            raise InputError(404, f"no work order {request.match_info['number']}")
        return web.json_response({**order_json(desk, order), "history": await desk.history(order.number),
                                  "allowed": [a.value for a in allowed_actions(order.state)]})

    async def act(request: web.Request) -> web.Response:
        desk = ready(current())
        number, action = _number(request), request.match_info["action"]
        body = await json_object(request, '{"reason": "..."}')
        actor, fields = _actor(request), _fields(body)
        order = await guarded(lambda: desk.act(number, Action(action), actor, fields))
        return web.json_response(order_json(desk, order))

    app.router.add_post("/work-orders", file)
    app.router.add_get("/work-orders", listing)
    app.router.add_get("/work-orders/{number}", one)
    app.router.add_post(r"/work-orders/{number}/{action:" + "|".join(ACTIONS) + "}", act)
