"""HTTP routes of the return visits (supervisors and admins).

| route | what |
|---|---|
| ``GET /return-visits?state=&limit=`` | visits, soonest first; ``state=manual`` is the list for manual calls |
| ``POST /return-visits`` ``{"number": "20261130-000123"}`` | ask for a visit of a replied order now |
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ari_app.visits.desk import NotVisitable, ReturnVisits
from ari_app.web.inputs import SHORT_TEXT, InputError, json_object, query_int, ready, text
from ari_app.web.principal import SUPERVISION, require

STATES = ("scheduled", "dialling", "done", "manual", "cancelled")


def add_visit_routes(app: web.Application, current: Callable[[], ReturnVisits | None]) -> None:
    async def listing(request: web.Request) -> web.Response:
        require(request, *SUPERVISION)
        visits = ready(current())
        state = request.query.get("state") or None
        if state is not None and state not in STATES:
            raise InputError(400, "state must be one state", valid=list(STATES))
        found = await visits.listing(state, query_int(request, "limit", 200, 1, 1000))
        return web.json_response({"visits": [v.to_json() for v in found]})

    async def request_visit(request: web.Request) -> web.Response:
        require(request, *SUPERVISION)
        visits = ready(current())
        body = await json_object(request, '{"number": "20261130-000123"}')
        number = text(body, "number", SHORT_TEXT, required=True) or ""
        try:
            visit = await visits.request(number)
        except LookupError as exc:
            raise InputError(404, str(exc)) from None
        except NotVisitable as exc:
            raise InputError(409, str(exc)) from None
        return web.json_response(visit.to_json(), status=201)

    app.router.add_get("/return-visits", listing)
    app.router.add_post("/return-visits", request_visit)
