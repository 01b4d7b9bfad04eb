"""The knowledge routes' part of the OpenAPI document (``ari_app.api.openapi`` adds :func:`knowledge_paths`).

Written next to the routes it describes (:mod:`ari_app.knowledge.routes`): the same limits, the statuses each route
answers with, and the shapes of its answers, so that fuzzing from the document finds what the routes do.
"""

from __future__ import annotations

from typing import Any

from ari_app.knowledge.desk import ACTIONS, MAX_RESULTS
from ari_app.knowledge.model import ANSWER_TEXT, CATEGORY_TEXT, MAX_HOTLINES, QUESTION_TEXT
from ari_app.knowledge.workflow import EntryState
from ari_app.web.inputs import LONG_TEXT, SHORT_TEXT

Schema = dict[str, Any]
_NO_CONTROL = "^[^\\x00-\\x1f\\x7f]*$"
_NO_CONTROL_MULTILINE = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$"
_DATE = {"anyOf": [{"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"}, {"type": "null"}]}
_STRING = {"type": "string"}


def _text(max_len: int = SHORT_TEXT, multiline: bool = False) -> Schema:
    return {"type": "string", "maxLength": max_len, "pattern": _NO_CONTROL_MULTILINE if multiline else _NO_CONTROL}


def _optional(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return {"type": "object", "properties": properties, **({"required": list(required)} if required else {})}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


ERROR = _object({"error": _STRING}, ("error",))
HOTLINES = _optional({"type": "array", "maxItems": MAX_HOTLINES,
                      "items": {"type": "string", "pattern": "^[0-9]{1,18}$"}})
FLAGS: dict[str, Schema] = {"expired": {"type": "boolean"}, "review_due": {"type": "boolean"},
                            "notice": _optional(_STRING)}
_COMMON: dict[str, Schema] = {
    "id": {"type": "integer"}, "key": _optional(_STRING), "version": {"type": "integer"}, "question": _STRING,
    "answer": _STRING, "category": _STRING, "department": _STRING, "department_name": _STRING,
    "hotlines": _array(_STRING), "review_date": _STRING, "expires": _optional(_STRING), **FLAGS,
}
_REQUIRED = ("id", "version", "question", "answer", "category", "department", "hotlines", "review_date", "expired",
             "review_due")
VERSION = _object({
    **_COMMON, "state": {"enum": [s.value for s in EntryState]}, "author": _STRING, "reviewer": _optional(_STRING),
    "reject_reason": _optional(_STRING),
}, (*_REQUIRED, "state", "author"))
HIT = _object({**_COMMON, "score": {"type": "number"}, "matched": _array(_STRING)}, (*_REQUIRED, "score"))
SEARCH = _object({"query": _STRING, "terms": _array(_STRING), "results": _array(HIT)}, ("query", "terms", "results"))
ENTRY = _object({
    "id": {"type": "integer"}, "department": _STRING, "published": _optional(VERSION), "open": _optional(VERSION),
    "versions": _array(VERSION), "history": _array({"type": "object"}), "allowed": _array(_STRING),
}, ("id", "department", "published", "open", "versions", "history", "allowed"))
ENTRY_ID = {"name": "id", "in": "path", "required": True, "schema": _text()}


def _responses(ok: int, body: Schema, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {str(ok): {"description": "done", **_json(body)}}
    # 400: bad input anywhere; 401: not logged in; 403: the role may not; 503: not ready or database down
    for status in sorted({400, 401, 403, *errors, 503}):
        answers[str(status)] = {"description": "refused", **_json(ERROR)}
    return answers


def _post(summary: str, body: Schema, ok: int, answer: Schema, *errors: int, params: list[Any] | None = None) -> Schema:
    return {"post": {
        "summary": summary, "parameters": params or [], "requestBody": {"required": False, **_json(body)},
        "responses": _responses(ok, answer, 400, 413, *errors),
    }}


def _get(summary: str, answer: Schema, *errors: int, params: list[Any] | None = None) -> Schema:
    return {"get": {"summary": summary, "parameters": params or [], "responses": _responses(200, answer, *errors)}}


def knowledge_paths() -> dict[str, Any]:
    search = [
        {"name": "q", "in": "query", "required": True, "schema": {**_text(QUESTION_TEXT), "minLength": 1}},
        {"name": "hotline", "in": "query", "schema": {"type": "string", "pattern": "^([0-9]{1,18})?$"}},  # "": any
        {"name": "department", "in": "query", "schema": _text()},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RESULTS}},
    ]
    listing = [
        {"name": "department", "in": "query", "schema": _text()},
        {"name": "state", "in": "query", "schema": {"enum": ["", *(s.value for s in EntryState)]}},  # "": any
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ]
    content: dict[str, Schema] = {
        "question": _text(QUESTION_TEXT), "answer": _text(ANSWER_TEXT, multiline=True),
        "category": _text(CATEGORY_TEXT), "hotlines": HOTLINES, "review_date": _DATE, "expires": _DATE,
    }
    create = _object({**content, "department": _optional(_text())}, ("question", "answer", "category"))
    revise = _object({name: _optional(schema) for name, schema in content.items()})
    change = _object({"reason": _optional(_text(LONG_TEXT, multiline=True)),
                      "version": _optional({"type": "integer", "minimum": 1})})
    paths: dict[str, Any] = {
        "/knowledge/search": _get("published knowledge entries for a question in Chinese, best first", SEARCH, 422,
                                  params=search),
        "/knowledge/entries": {
            **_post("a new knowledge entry (version 1, a draft)", create, 201, VERSION, 403, 422),
            **_get("knowledge entries (each one's newest version, or its version in a state)",
                   _object({"entries": _array(VERSION)}, ("entries",)), 422, params=listing),
        },
        "/knowledge/entries/{id}": _get("a knowledge entry: versions, history, allowed actions", ENTRY, 404,
                                        params=[ENTRY_ID]),
        "/knowledge/entries/{id}/versions": _post("a new draft version of a knowledge entry", revise, 201, VERSION,
                                                  403, 404, 409, 422, params=[ENTRY_ID]),
    }
    for action in ACTIONS:
        paths[f"/knowledge/entries/{{id}}/{action.value}"] = _post(
            f"{action.label} ({action.value}) a knowledge entry's version", change, 200, VERSION, 403, 404, 409,
            params=[ENTRY_ID])
    return paths
