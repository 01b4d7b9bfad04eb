"""HTTP routes of the knowledge desk.

| route | what |
|---|---|
| ``GET /knowledge/search?q=&hotline=&department=&limit=`` | published entries for a query, best first, flagged |
| ``POST /knowledge/entries`` | a new entry, version 1 as a draft |
| ``POST /knowledge/entries/{id}/versions`` | a new draft version (fields not given stay as in the newest) |
| ``POST /knowledge/entries/{id}/{submit,approve,reject,retire}`` | the review workflow (``reason`` to reject) |
| ``GET /knowledge/entries/{id}`` | published and open version, every version, history, allowed actions |
| ``GET /knowledge/entries?department=&state=&limit=`` | each entry's newest version, or its version in ``state`` |

Search results carry ``expired`` (with a ``notice``: never the current answer) and ``review_due``.

Who acts is the logged-in account (ari_app.web.principal): searching is for everyone logged in;
writing is for department handlers (their own department's entries), reviewing for supervisors.
A department handler sees only its own department's entries: its searches and lists are limited to
them, another department's entry is a 404.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from aiohttp import web

from ari_app.knowledge.desk import (
    ACTIONS,
    MAX_RESULTS,
    Changes,
    Draft,
    KnowledgeDesk,
    UnknownDepartment,
    UnknownHotline,
)
from ari_app.knowledge.model import ANSWER_TEXT, CATEGORY_TEXT, MAX_HOTLINES, QUESTION_TEXT
from ari_app.knowledge.store import EntryNotFound
from ari_app.knowledge.workflow import (
    Actor,
    EntryState,
    FieldError,
    Forbidden,
    IllegalTransition,
    KnowledgeAction,
    Role,
)
from ari_app.web.inputs import (
    LONG_TEXT,
    SHORT_TEXT,
    InputError,
    check_text,
    json_object,
    json_type,
    query_int,
    ready,
    text,
)
from ari_app.web.principal import ANYONE, Principal, require

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_DUMPS = functools.partial(json.dumps, ensure_ascii=False)
EXAMPLE = '{"question": "...", "answer": "...", "category": "...", "department": "housing-fund", ...}'
EDITORS = ("department", "supervisor", "admin")  # who writes and reviews entries


def _answer(data: object, status: int = 200) -> web.Response:
    """A JSON answer with Chinese text as it is (not as \\u escapes): readable with curl."""
    return web.json_response(data, status=status, dumps=_DUMPS)


def _actor(request: web.Request, *roles: str) -> Actor:
    """Who acts: the logged-in account (its role must be one of ``roles``)."""
    who = require(request, *roles)
    return Actor(who.actor_id, Role(who.role), who.department or None)


def _scope(who: Principal, asked: str | None) -> str | None:
    """The department a search or list is limited to: a department handler's own, whatever was asked."""
    return who.department if who.role == "department" else asked


def _date(body: Mapping[str, object], name: str) -> date | None:
    raw = text(body, name, SHORT_TEXT)
    if raw is None or raw == "":
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(400, f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


def _hotlines(body: Mapping[str, object]) -> tuple[str, ...] | None:
    raw = body.get("hotlines")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InputError(400, f"hotlines must be a list of numbers as strings, not {json_type(raw)}")
    if len(raw) > MAX_HOTLINES:
        raise InputError(400, f"hotlines: at most {MAX_HOTLINES} numbers")
    numbers: list[str] = []
    for index, item in enumerate(raw):
        if not isinstance(item, str) or not _DIGITS.fullmatch(item):
            raise InputError(400, f"hotlines[{index}] must be a number as a string (\"12329\")")
        numbers.append(item)
    return tuple(numbers)


def _entry_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not _DIGITS.fullmatch(raw):
        raise InputError(404, f"no knowledge entry {check_text('id', raw, SHORT_TEXT * 2)!r}: ids are numbers")
    return int(raw)


def _version(body: Mapping[str, object]) -> int | None:
    value = body.get("version")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(400, "version must be a whole number from 1")
    return value


def add_knowledge_routes(app: web.Application, current: Callable[[], KnowledgeDesk | None]) -> None:
    async def guarded(make: Callable[[], Any]) -> Any:
        try:
            return await make()
        except Forbidden as exc:
            raise InputError(403, str(exc)) from None
        except IllegalTransition as exc:
            raise InputError(409, str(exc)) from None
        except FieldError as exc:
            raise InputError(400, str(exc), field=exc.field) from None
        except UnknownDepartment as exc:
            raise InputError(422, f"no department {exc.target!r} (a short code, id or hotline number)",
                             field="department", valid=exc.known) from None
        except UnknownHotline as exc:
            raise InputError(422, f"no hotline {exc.number!r} in the registry", field="hotlines",
                             valid=exc.known) from None
        except EntryNotFound as exc:
            raise InputError(404, str(exc)) from None

    async def search(request: web.Request) -> web.Response:
        who = require(request, *ANYONE)
        desk = ready(current())
        query = check_text("q", request.query.get("q", ""), QUESTION_TEXT)
        if not query.strip():
            raise InputError(400, "q is required: what the caller asks, in Chinese (q=公积金怎么提取)")
        hotline = request.query.get("hotline") or None
        if hotline is not None and not _DIGITS.fullmatch(hotline):
            raise InputError(400, "hotline must be a number (hotline=12329)")
        department = check_text("department", request.query.get("department", ""), SHORT_TEXT) or None
        limit = query_int(request, "limit", 10, 1, MAX_RESULTS)
        scope = _scope(who, department)
        found = await guarded(lambda: desk.search(query, hotline=hotline, department=scope, limit=limit))
        return _answer(found)

    async def create(request: web.Request) -> web.Response:
        desk = ready(current())
        body = await json_object(request, EXAMPLE)
        actor = _actor(request, *EDITORS)
        draft = Draft(
            question=text(body, "question", QUESTION_TEXT, required=True) or "",
            answer=text(body, "answer", ANSWER_TEXT, required=True, multiline=True) or "",
            category=text(body, "category", CATEGORY_TEXT, required=True) or "",
            department=text(body, "department", SHORT_TEXT) or "",
            hotlines=_hotlines(body), review_date=_date(body, "review_date"), expires=_date(body, "expires"),
        )
        version = await guarded(lambda: desk.create(draft, actor))
        return _answer(desk.version_json(version), status=201)

    async def revise(request: web.Request) -> web.Response:
        desk = ready(current())
        entry_id = _entry_id(request)
        body = await json_object(request, '{"answer": "...", "expires": "2027-06-30"}')
        actor = _actor(request, *EDITORS)
        changes = Changes(
            question=text(body, "question", QUESTION_TEXT), answer=text(body, "answer", ANSWER_TEXT, multiline=True),
            category=text(body, "category", CATEGORY_TEXT), hotlines=_hotlines(body),
            review_date=_date(body, "review_date"), expires=_date(body, "expires"),
            clear_expires=body.get("expires") == "",
        )
        version = await guarded(lambda: desk.revise(entry_id, changes, actor))
        return _answer(desk.version_json(version), status=201)

    async def act(request: web.Request) -> web.Response:
        desk = ready(current())
        entry_id, action = _entry_id(request), KnowledgeAction(request.match_info["action"])
        body = await json_object(request, '{"reason": "...", "version": 2}')
        actor = _actor(request, *EDITORS)
        reason, version = text(body, "reason", LONG_TEXT, multiline=True), _version(body)
        changed = await guarded(lambda: desk.act(entry_id, action, actor, reason, version))
        return _answer(desk.version_json(changed))

    async def one(request: web.Request) -> web.Response:
        who = require(request, *ANYONE)
        desk = ready(current())
        entry_id = _entry_id(request)
        found = await guarded(lambda: desk.entry(entry_id))
        if _scope(who, found["department"]) != found["department"]:
            raise InputError(404, f"no knowledge entry {entry_id} of {who.department}")
        return _answer(found)

    async def listing(request: web.Request) -> web.Response:
        who = require(request, *ANYONE)
        desk = ready(current())
        department = check_text("department", request.query.get("department", ""), SHORT_TEXT) or None
        raw_state = request.query.get("state") or None
        if raw_state is not None and raw_state not in {s.value for s in EntryState}:
            raise InputError(400, "state must be one state", valid=[s.value for s in EntryState])
        state = EntryState(raw_state) if raw_state else None
        limit = query_int(request, "limit", 200, 1, 1000)
        scope = _scope(who, department)
        versions = await guarded(lambda: desk.listing(scope, state, limit))
        return _answer({"entries": [desk.version_json(v) for v in versions]})

    app.router.add_get("/knowledge/search", search)
    app.router.add_post("/knowledge/entries", create)
    app.router.add_get("/knowledge/entries", listing)
    app.router.add_get("/knowledge/entries/{id}", one)
    app.router.add_post("/knowledge/entries/{id}/versions", revise)
    app.router.add_post(r"/knowledge/entries/{id}/{action:" + "|".join(a.value for a in ACTIONS) + "}", act)
