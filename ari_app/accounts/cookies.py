"""The browser's session: the same session token as ``POST /login`` gives, carried in an HttpOnly,
SameSite=Strict cookie, and the CSRF token every state change made with that cookie must carry
(header ``X-CSRF-Token`` or form field ``csrf``).

The CSRF token is an HMAC of a fixed label keyed by the session token: only a page that the
session's owner loaded can know it (the cookie itself is out of reach of scripts), it needs no
storage, and it survives a restart of the service as the session does."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_TOKEN = web.RequestKey("session_token", str)  # the session a request came with


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"hotline-console-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, offered: str) -> bool:
    return bool(offered) and hmac.compare_digest(csrf_token(session_token), offered)


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=request.secure)


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
