"""HTTP: the registry's summary, and its reload (``{"force": true}`` to remove numbers,
``{"dry_run": true}`` to see what would change)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from ari_app.registry.holder import ReloadOutcome
from ari_app.web.inputs import InputError, json_object
from ari_app.web.principal import DESK, SUPERVISION, require

RELOAD_EXAMPLE = '{"force": false, "dry_run": false}'


class RegistryService(Protocol):
    def reload_registry(self, force: bool = False, dry_run: bool = False) -> ReloadOutcome: ...

    def registry_summary(self) -> dict[str, object]: ...


def _flag(body: dict[str, object], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(400, f"{name} must be true or false")
    return value


def reload_answer(outcome: ReloadOutcome, summary: dict[str, object]) -> tuple[int, dict[str, object]]:
    """The status and body of POST /registry/reload."""
    if outcome.problems:
        return 422, {"reloaded": False, "problems": [str(p) for p in outcome.problems]}
    changes = outcome.changes.to_json() if outcome.changes is not None else {}
    if outcome.refused:
        return 409, {"reloaded": False, "refused": outcome.refused, "changes": changes}
    if not outcome.applied:
        return 200, {"reloaded": False, "dry_run": True, "changes": changes}
    return 200, {"reloaded": True, "changes": changes, **summary}


def add_registry_routes(app: web.Application, service: RegistryService) -> None:
    async def registry(request: web.Request) -> web.Response:
        require(request, *DESK)
        return web.json_response(service.registry_summary())

    async def registry_reload(request: web.Request) -> web.Response:
        require(request, *SUPERVISION)
        body = await json_object(request, RELOAD_EXAMPLE)
        outcome = service.reload_registry(force=_flag(body, "force"), dry_run=_flag(body, "dry_run"))
        status, answer = reload_answer(outcome, service.registry_summary())
        return web.json_response(answer, status=status)

    app.router.add_get("/registry", registry)
    app.router.add_post("/registry/reload", registry_reload)
