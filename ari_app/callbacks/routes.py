"""HTTP route of the queue callbacks (supervisors and admins).

``GET /callbacks?state=waiting|failed&limit=``: the callers waiting to be called back (in line
order), or those whose attempts are spent (to be called by hand).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ari_app.callbacks.desk import CallbackDesk
from ari_app.web.inputs import InputError, query_int, ready
from ari_app.web.principal import SUPERVISION, require

STATES = ("waiting", "failed")


def add_callback_routes(app: web.Application, current: Callable[[], CallbackDesk | None]) -> None:
    async def listing(request: web.Request) -> web.Response:
        require(request, *SUPERVISION)
        desk = ready(current())
        state = request.query.get("state") or "waiting"
        if state not in STATES:
            raise InputError(400, "state must be one state", valid=list(STATES))
        found = await desk.listing(state, query_int(request, "limit", 200, 1, 1000))
        return web.json_response({"callbacks": [
            {"call_id": c["call_id"], "hotline": c["hotline"], "number": c["callback_to"],
             "attempts": c["callback_attempts"], "enqueued_at": c["enqueued_at"], "ended_at": c["ended_at"]}
            for c in found]})

    app.router.add_get("/callbacks", listing)
