"""HTTP endpoints: liveness, readiness and the call records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web

from ari_app.api.agents import AcdProbe, add_routes
from ari_app.api.inputs import MAX_BODY, json_errors, query_int


class Probe(AcdProbe, Protocol):
    async def readiness(self) -> dict[str, object]: ...

    async def latest_calls(self, limit: int) -> list[dict[str, object]] | None: ...

    def reload_registry(self) -> list[str]: ...

    def registry_summary(self) -> dict[str, object]: ...


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_app(probe: Probe) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(_request: web.Request) -> web.Response:
        state = await probe.readiness()
        return web.json_response(state, status=200 if state.get("ready") else 503)

    async def calls(request: web.Request) -> web.Response:
        records = await probe.latest_calls(query_int(request, "limit", 20, 1, 1000))
        if records is None:
            return web.json_response({"error": "database not reachable"}, status=503)
        return web.json_response({"calls": records})

    async def registry(_request: web.Request) -> web.Response:
        return web.json_response(probe.registry_summary())

    async def registry_reload(_request: web.Request) -> web.Response:
        problems = probe.reload_registry()
        if problems:
            return web.json_response({"reloaded": False, "problems": problems}, status=422)
        return web.json_response({"reloaded": True, **probe.registry_summary()})

    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors])
    app.router.add_get("/registry", registry)
    app.router.add_post("/registry/reload", registry_reload)
    add_routes(app, probe)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/calls", calls)
    return app
