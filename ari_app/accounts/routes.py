"""HTTP of the accounts room: ``POST /login`` (a bearer token for a shift), ``POST /logout``, and
the middleware that lets a request in only with a live session, putting the account on it as a
:class:`~ari_app.web.principal.Principal`. ``/healthz``, ``/readyz``, ``/login`` and
``/openapi.json`` are open; every other route checks the caller's role itself."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ari_app.accounts.model import Account
from ari_app.accounts.store import AccountStore
from ari_app.accounts.throttle import LoginThrottle
from ari_app.logs import get_logger
from ari_app.web.inputs import SHORT_TEXT, Handler, InputError, json_object, ready, text
from ari_app.web.principal import KEY, Principal, principal

log = get_logger("accounts")
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/login", "/openapi.json", "/metrics"})  # /metrics: own guard
PASSWORD_TEXT = 200


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _principal(account: Account) -> Principal:
    return Principal(account.name, account.role.value, account.department, account.agent_id)


def auth_middleware(accounts: Callable[[], AccountStore | None]) -> Callable[..., Any]:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        token = _bearer(request)
        if not token:
            raise InputError(401, "log in first: POST /login, then send Authorization: Bearer <token>")
        account = await ready(accounts()).session(token)
        if account is None:
            raise InputError(401, "the session is unknown or has expired: log in again (POST /login)")
        request[KEY] = _principal(account)
        return await handler(request)

    return authenticate


def _locked_out(seconds: float) -> InputError:
    wait = max(1, math.ceil(seconds))
    return InputError(429, f"too many failed logins: try again in {wait} s", retry_after=wait)


def add_account_routes(
    app: web.Application, accounts: Callable[[], AccountStore | None], ttl_hours: float,
    throttle: LoginThrottle | None = None, clock: Callable[[], float] = time.monotonic,
) -> None:
    """The login routes; ``throttle`` (default: the standard policy) slows password guessing down."""
    guard = throttle or LoginThrottle()

    async def login(request: web.Request) -> web.Response:
        store = ready(accounts())
        body = await json_object(request, '{"name": "sup-zhao", "password": "..."}')
        name = text(body, "name", SHORT_TEXT, required=True) or ""
        password = text(body, "password", PASSWORD_TEXT, required=True) or ""
        address = request.remote or ""
        wait = guard.wait_seconds(name, address, clock())
        if wait > 0:
            raise _locked_out(wait)
        account = await store.authenticate(name, password)
        if account is None:
            locked = guard.failed(name, address, clock())
            log.warning("login_failed", name=name, address=address, locked_seconds=locked)
            if locked:
                raise _locked_out(locked)
            raise InputError(401, "wrong name or password, or the account is disabled")
        guard.succeeded(name)
        token, expires_at = await store.open_session(account.name, int(ttl_hours * 3600))
        return web.json_response({
            "token": token, "expires_at": expires_at.isoformat(),
            "account": {"name": account.name, "display_name": account.display_name, "role": account.role.value,
                        "department": account.department or None, "agent_id": account.agent_id or None},
        })

    async def logout(request: web.Request) -> web.Response:
        principal(request)
        await ready(accounts()).close_session(_bearer(request))
        return web.json_response({"logged_out": True})

    async def me(request: web.Request) -> web.Response:
        who = principal(request)
        return web.json_response({"name": who.name, "role": who.role, "department": who.department or None,
                                  "agent_id": who.agent_id or None})

    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/me", me)
