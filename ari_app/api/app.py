"""The HTTP application: liveness, readiness, the registry, and each domain's routes.

Every route reads its input through :mod:`ari_app.web.inputs`; :func:`json_errors` answers bad
input with a JSON 4xx and a database failure with a 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from ari_app.accounts.routes import add_account_routes, auth_middleware
from ari_app.accounts.signin import SignIn
from ari_app.accounts.store import AccountStore
from ari_app.accounts.throttle import LoginThrottle
from ari_app.acd.engine import Acd
from ari_app.acd.routes import add_acd_routes
from ari_app.api.openapi import document
from ari_app.callbacks.desk import CallbackDesk
from ari_app.callbacks.routes import add_callback_routes
from ari_app.calls.routes import CallControlApi, add_call_routes
from ari_app.console.routes import add_console_routes
from ari_app.console.sources import ConsoleSources
from ari_app.knowledge.desk import KnowledgeDesk
from ari_app.knowledge.routes import add_knowledge_routes
from ari_app.metrics.routes import add_metrics_routes
from ari_app.registry.routes import RegistryService, add_registry_routes
from ari_app.visits.desk import ReturnVisits
from ari_app.visits.routes import add_visit_routes
from ari_app.web.inputs import MAX_BODY, json_errors
from ari_app.web.principal import SUPERVISION, require
from ari_app.workorders.desk import WorkOrderDesk
from ari_app.workorders.routes import add_workorder_routes

Middleware = Callable[..., Any]


class ServiceProbe(RegistryService, Protocol):
    async def readiness(self) -> dict[str, object]: ...

    def security_summary(self) -> dict[str, object]: ...


def build_app(
    service: ServiceProbe,
    control: CallControlApi,
    acd: Callable[[], Acd | None],
    queue_report: Callable[[Acd], Awaitable[str]],  # the body of GET /queues, as JSON
    desk: Callable[[], WorkOrderDesk | None] = lambda: None,
    knowledge: Callable[[], KnowledgeDesk | None] = lambda: None,
    accounts: Callable[[], AccountStore | None] = lambda: None,
    session_hours: float = 12.0,
    authenticate: Middleware | None = None,
    throttle: LoginThrottle | None = None,
    visits: Callable[[], ReturnVisits | None] = lambda: None,
    callbacks: Callable[[], CallbackDesk | None] = lambda: None,
    console: ConsoleSources | None = None,
) -> web.Application:
    """The application. ``authenticate`` (tests) replaces the accounts' session check."""
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(_request: web.Request) -> web.Response:
        state = await service.readiness()
        return web.json_response(state, status=200 if state.get("ready") else 503)

    async def security(request: web.Request) -> web.Response:
        require(request, *SUPERVISION)
        return web.json_response(service.security_summary())

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document(f"{request.scheme}://{request.host}"))

    gate = authenticate if authenticate is not None else auth_middleware(accounts)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors, gate])
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/security", security)
    add_registry_routes(app, service)
    add_metrics_routes(app, acd, service.readiness)
    sign_in = SignIn(accounts, session_hours, throttle)
    add_account_routes(app, sign_in)
    if console is not None:
        add_console_routes(app, console, sign_in)
    add_acd_routes(app, acd, queue_report)
    add_call_routes(app, control)
    add_workorder_routes(app, desk)
    add_knowledge_routes(app, knowledge)
    add_visit_routes(app, visits)
    add_callback_routes(app, callbacks)
    return app
