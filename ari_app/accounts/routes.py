"""HTTP of the accounts room: ``POST /login`` (a bearer token for a shift), ``POST /logout``, and
the middleware that lets a request in only with a live session, putting the account on it as a
:class:`~ari_app.web.principal.Principal`. ``/healthz``, ``/readyz``, ``/login`` and
``/openapi.json`` are open; every other route checks the caller's role itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ari_app.accounts.cookies import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_TOKEN,
    clear_session_cookie,
    csrf_matches,
)
from ari_app.accounts.model import Account
from ari_app.accounts.signin import SignIn
from ari_app.accounts.store import AccountStore
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


CONSOLE = "/console"
CONSOLE_OPEN = ("/console/login", "/console/static/")


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(CONSOLE_OPEN)


def _unauthenticated(request: web.Request, message: str) -> web.StreamResponse:
    """A console page sends the browser to the sign-in form; anything else gets a JSON 401."""
    if request.path == CONSOLE or request.path.startswith(CONSOLE + "/"):
        if request.method in SAFE_METHODS:
            response = web.HTTPSeeOther("/console/login")
            clear_session_cookie(response)
            raise response
    raise InputError(401, message)


async def _csrf_offered(request: web.Request) -> str:
    offered = request.headers.get(CSRF_HEADER, "")
    if not offered and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # kept by aiohttp: the handler reads it again
        value = form.get(CSRF_FIELD, "")
        offered = value if isinstance(value, str) else ""
    return offered


def auth_middleware(accounts: Callable[[], AccountStore | None]) -> Callable[..., Any]:
    """A session from ``Authorization: Bearer`` or from the console's cookie; a state change made
    with the cookie must carry the session's CSRF token (a page of another site cannot)."""
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _is_open(request.path):
            return await handler(request)
        token, from_cookie = _bearer(request), False
        if not token:
            token = request.cookies.get(COOKIE, "")
            from_cookie = bool(token)
        if not token:
            return _unauthenticated(request, "log in first: POST /login, then send Authorization: Bearer <token>")
        account = await ready(accounts()).session(token)
        if account is None:
            return _unauthenticated(request, "the session is unknown or has expired: log in again (POST /login)")
        if from_cookie and request.method not in SAFE_METHODS and not csrf_matches(token, await _csrf_offered(request)):
            log.warning("csrf_refused", name=account.name, path=request.path)
            raise InputError(403, "the request lacks this session's CSRF token: reload the page and try again")
        request[KEY] = _principal(account)
        request[SESSION_TOKEN] = token
        return await handler(request)

    return authenticate


def add_account_routes(app: web.Application, sign_in: SignIn) -> None:
    """``POST /login`` (a bearer token), ``POST /logout`` and ``GET /me``."""
    async def login(request: web.Request) -> web.Response:
        body = await json_object(request, '{"name": "sup-zhao", "password": "..."}')
        name = text(body, "name", SHORT_TEXT, required=True) or ""
        password = text(body, "password", PASSWORD_TEXT, required=True) or ""
        account, token, expires_at = await sign_in(name, password, request.remote or "")
        return web.json_response({
            "token": token, "expires_at": expires_at.isoformat(),
            "account": {"name": account.name, "display_name": account.display_name, "role": account.role.value,
                        "department": account.department or None, "agent_id": account.agent_id or None},
        })

    async def logout(request: web.Request) -> web.Response:
        principal(request)
        await ready(sign_in.accounts()).close_session(request.get(SESSION_TOKEN) or _bearer(request))
        return web.json_response({"logged_out": True})

    async def me(request: web.Request) -> web.Response:
        who = principal(request)
        return web.json_response({"name": who.name, "role": who.role, "department": who.department or None,
                                  "agent_id": who.agent_id or None})

    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/me", me)
