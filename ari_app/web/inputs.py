"""Input at the HTTP edge: a JSON object body, typed and bounded text fields, path ids, query integers.

Every HTTP route reads its input through these functions, so bad input is answered
with a 4xx whose JSON ``error`` names the field before anything reaches the ACD or PostgreSQL:

- a body, when there is one, is UTF-8 JSON holding an object, at most ``MAX_BODY`` bytes (413 beyond);
  an empty body is an empty object;
- a text field is a string or absent, and JSON ``null`` counts as absent;
- text holds no C0 control character (U+0000-U+001F) and no DEL, except newline and tab in long text
  (notes), and no lone surrogate (it cannot be stored as UTF-8); it has a length limit.

:func:`json_errors` (a middleware) turns :class:`InputError` into its JSON answer, and a database
error into a 503 (the routes change memory only after the database took the change).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import NoReturn, TypeVar

import asyncpg
from aiohttp import web

from ari_app.logs import get_logger

log = get_logger("api")

MAX_BODY = 64 * 1024  # bytes; also the application's client_max_size
SHORT_TEXT = 64  # group names, department codes, ids
REASON_TEXT = 200  # a pause reason
LONG_TEXT = 2000  # a work-order note

_CONTROL_SHORT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_LONG = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # newline and tab allowed

DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


class InputError(Exception):
    """Input the API refuses, answered as ``{"error": error, **details}`` with ``status``."""

    def __init__(self, status: int, error: str, **details: object) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details

    def response(self) -> web.Response:
        retry = self.details.get("retry_after")  # seconds, also as the HTTP header clients honour
        headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
        return web.json_response({"error": self.error, **self.details}, status=self.status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InputError as exc:
        return exc.response()
    except DATABASE_ERRORS as exc:
        log.error("http_database_error", path=request.path, error=type(exc).__name__)
        return web.json_response(
            {"error": f"database unavailable ({type(exc).__name__}): nothing was changed; try again"}, status=503
        )


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def parse_object(raw: bytes, example: str) -> dict[str, object]:
    """A request body as a JSON object (empty body: empty object)."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(400, f"body is not UTF-8 (bad byte at offset {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise InputError(400, f"body is not valid JSON; send an object like {example}") from None
    if not isinstance(value, dict):
        raise InputError(400, f"body must be a JSON object like {example}, not {json_type(value)}")
    return value


async def json_object(request: web.Request, example: str) -> dict[str, object]:
    """The request's body as a JSON object; ``example`` shows the expected shape in errors."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise InputError(413, f"body larger than {MAX_BODY} bytes") from None
    return parse_object(raw, example)


def check_text(name: str, value: str, max_len: int, multiline: bool = False) -> str:
    """``value`` if it is within ``max_len`` characters and holds no control character."""
    if len(value) > max_len:
        raise InputError(400, f"{name} is longer than {max_len} characters")
    bad = (_CONTROL_LONG if multiline else _CONTROL_SHORT).search(value)
    if bad is not None:
        what = "a lone surrogate" if "\ud800" <= bad.group() <= "\udfff" else "a control character"
        raise InputError(400, f"{name} contains {what} (U+{ord(bad.group()):04X}) at position {bad.start()}")
    return value


def text(
    body: Mapping[str, object], name: str, max_len: int, *, required: bool = False, multiline: bool = False
) -> str | None:
    """A text field of a JSON body: a string, or None when absent or null (an error if ``required``)."""
    value = body.get(name)
    if value is None:
        if required:
            raise InputError(400, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InputError(400, f"{name} must be a string, not {json_type(value)}")
    check_text(name, value, max_len, multiline)
    if required and not value.strip():
        raise InputError(400, f"{name} must not be empty")
    return value


def choice(body: Mapping[str, object], name: str, allowed: tuple[str, ...]) -> str:
    """A required text field whose value is one of ``allowed``."""
    value = text(body, name, SHORT_TEXT, required=True)
    if value not in allowed:
        raise InputError(400, f"{name} must be one of {', '.join(allowed)}")
    return value


def path_id(request: web.Request, name: str) -> str:
    """An id from the URL path (agent or call id): short, printable."""
    return check_text(name, request.match_info[name], SHORT_TEXT * 2)


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter from ``low`` to ``high`` (ASCII digits only)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)) and low <= int(raw) <= high):
        raise InputError(400, f"{name} must be an integer from {low} to {high}")
    return int(raw)


def ready(value: T | None) -> T:
    """``value`` (the ACD, say), or a 503 while the service is still connecting to its database."""
    if value is None:
        raise web.HTTPServiceUnavailable(text=json.dumps({"error": "not ready"}), content_type="application/json")
    return value
