"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /openapi.json``.

Written by hand next to the routes it describes; a unit test checks that every route the app
serves is in it and nothing else, and the fuzzing test (schemathesis) drives the running service
from it: no 5xx, every answer of a documented status with a body of the documented shape.
"""

from __future__ import annotations

from typing import Any

from ari_app.knowledge.openapi import knowledge_paths
from ari_app.web.inputs import LONG_TEXT, MAX_BODY, REASON_TEXT, SHORT_TEXT
from ari_app.workorders.lifecycle import Action, Rating, State

Schema = dict[str, Any]
NO_CONTROL = "^[^\\x00-\\x1f\\x7f]*$"  # what every short text field accepts
NO_CONTROL_MULTILINE = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$"  # notes, content, replies: newline and tab too


def _text(max_len: int = SHORT_TEXT, multiline: bool = False) -> Schema:
    return {"type": "string", "maxLength": max_len, "pattern": NO_CONTROL_MULTILINE if multiline else NO_CONTROL}


def _optional(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return {"type": "object", "properties": properties, **({"required": list(required)} if required else {})}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


ERROR = _object({"error": {"type": "string"}}, ("error",))
ANY_OBJECT: Schema = {"type": "object"}
AGENT = _object({
    "id": {"type": "string"}, "endpoint": {"type": "string"}, "state": {"type": "string"},
    "since": {"type": "number"}, "pause_reason": {"type": "string"}, "call_id": {"type": "string"},
    "groups": {"type": "array", "items": {"type": "string"}}, "seconded_by": _optional({"type": "string"}),
    "skills": {"type": "object", "additionalProperties": {"type": "integer"}},
    "phone": {"enum": ["registered", "unregistered"]},
}, ("id", "endpoint", "state", "phone"))
ORDER = _object({
    "number": {"type": "string", "pattern": "^[0-9]{8}-[0-9]{6}$"}, "state": {"enum": [s.value for s in State]},
    "category": {"type": "string"}, "content": {"type": "string"}, "department": _optional({"type": "string"}),
    "deadline": _optional({"type": "string"}), "overdue": {"type": "boolean"}, "due_soon": {"type": "boolean"},
}, ("number", "state", "category", "content", "overdue", "due_soon"))
NUMBER = {"name": "number", "in": "path", "required": True, "schema": _text()}
CALL_ID = {"name": "call_id", "in": "path", "required": True, "schema": _text()}


def _responses(ok: int, body: Schema, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {str(ok): {"description": "done", **_json(body)}}
    # 400: bad input anywhere; 401: not logged in; 403: the role may not; 503: not ready or database down
    for status in sorted({400, 401, 403, *errors, 503}):
        answers[str(status)] = {"description": "refused", **_json(ERROR)}
    return answers


def _post(summary: str, body: Schema, ok: int, answer: Schema, *errors: int, params: list[Any] | None = None) -> Schema:
    return {"post": {
        "summary": summary, "parameters": params or [],
        "requestBody": {"required": False, **_json(body)},
        "responses": _responses(ok, answer, 400, 413, *errors),
    }}


def _get(summary: str, answer: Schema, *errors: int, params: list[Any] | None = None) -> Schema:
    return {"get": {"summary": summary, "parameters": params or [], "responses": _responses(200, answer, *errors)}}


def _agent_paths() -> dict[str, Any]:
    agent_id = {"name": "agent_id", "in": "path", "required": True, "schema": _text()}
    paths: dict[str, Any] = {
        "/agents": _get("every agent with its state", _object({"agents": {"type": "array", "items": AGENT}},
                                                                ("agents",))),
        "/queues": _get("live and last-24-hours queue figures", ANY_OBJECT),
    }
    for action in ("login", "logout", "ready"):
        paths[f"/agents/{{agent_id}}/{action}"] = _post(f"agent {action}", ANY_OBJECT, 200, AGENT, 404, 409,
                                                        params=[agent_id])
    paths["/agents/{agent_id}/pause"] = _post(
        "pause an agent", _object({"reason": _optional(_text(REASON_TEXT))}), 200, AGENT, 404, 409, params=[agent_id]
    )
    return paths


def _call_paths() -> dict[str, Any]:
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
    accepted = _object({"accepted": {"type": "boolean"}})
    return {
        "/calls": _get("the latest call records", _object({"calls": {"type": "array"}}, ("calls",)), 400,
                       params=[limit]),
        "/calls/{call_id}": _get("who is on a live call", ANY_OBJECT, 404, params=[CALL_ID]),
        "/calls/{call_id}/party": _post("bring in, drop or transfer to a department", _object({
            "action": {"enum": ["add", "drop", "leave", "blind", "attended", "complete"]},
            "department": _optional(_text()),
        }, ("action",)), 202, accepted, 404, 422, params=[CALL_ID]),
        "/calls/{call_id}/escalate": _post("hand the caller to an expert group", _object({"group": _text()},
                                                                                          ("group",)),
                                           202, ANY_OBJECT, 404, 409, 422, params=[CALL_ID]),
        "/calls/{call_id}/work-order": _post("file a work order for the call", _object({
            "department": _text(), "note": _optional(_text(LONG_TEXT, multiline=True)),
        }, ("department",)), 202, ANY_OBJECT, 404, 422, params=[CALL_ID]),
    }


def _workorder_paths() -> dict[str, Any]:
    filing = _object({
        "category": _text(), "content": _text(LONG_TEXT, multiline=True),
        "address": _optional(_text(LONG_TEXT)), "call_id": _optional(_text()), "caller": _optional(_text()),
        "hotline": _optional(_text()), "department": _optional(_text()), "direct": _optional({"type": "boolean"}),
        "reply": _optional(_text(LONG_TEXT, multiline=True)),
    }, ("category", "content"))
    change = _object({
        "department": _optional(_text()), "reason": _optional(_text(LONG_TEXT, multiline=True)),
        "reply": _optional(_text(LONG_TEXT, multiline=True)), "target": _optional(_text()),
        "rating": _optional({"enum": [r.value for r in Rating]}),
        "working_days": _optional({"type": "integer", "minimum": 1, "maximum": 60}),
    })
    query = [
        {"name": "department", "in": "query", "schema": _text()},
        {"name": "state", "in": "query", "schema": {"type": "string", "maxLength": 200}},
        {"name": "due", "in": "query", "schema": {"enum": ["overdue", "soon"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ]
    paths: dict[str, Any] = {
        "/work-orders": {
            **_post("file a work order", filing, 201, ORDER, 403, 409, 422),
            **_get("work orders by urgency", _object({"orders": {"type": "array", "items": ORDER}}, ("orders",)), 400,
                   params=query),
        },
        "/work-orders/{number}": _get("a work order with its history", ORDER, 404, params=[NUMBER]),
    }
    for action in (a for a in Action if a is not Action.CREATE):
        paths[f"/work-orders/{{number}}/{action.value}"] = _post(f"{action.label} ({action.value})", change, 200,
                                                                 ORDER, 403, 404, 409, 422, params=[NUMBER])
    return paths


def _visit_paths() -> dict[str, Any]:
    visit = _object({"id": {"type": "integer"}, "number": {"type": "string"}, "state": {"type": "string"},
                     "attempts": {"type": "integer"}}, ("id", "number", "state", "attempts"))
    query = [
        {"name": "state", "in": "query", "schema": {"enum": ["scheduled", "dialling", "done", "manual", "cancelled"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ]
    callback = _object({"call_id": {"type": "string"}, "number": {"type": "string"},
                        "attempts": {"type": "integer"}}, ("call_id", "number", "attempts"))
    return {"/callbacks": _get(
        "callers waiting to be called back (state=waiting), or whose attempts are spent (state=failed)",
        _object({"callbacks": {"type": "array", "items": callback}}, ("callbacks",)), 400,
        params=[{"name": "state", "in": "query", "schema": {"enum": ["waiting", "failed"]}}, query[1]]),
            "/return-visits": {
        **_post("ask for a return visit of a replied order", _object({"number": _text()}, ("number",)), 201, visit,
                404, 409),
        **_get("return visits, soonest first (state=manual: the list for manual calls)",
               _object({"visits": {"type": "array", "items": visit}}, ("visits",)), 400, params=query),
    }}


def document(server: str) -> dict[str, Any]:
    """The document, with ``server`` (``http://host:port``) as its one server."""
    probes = {
        "/healthz": _get("alive", _object({"alive": {"type": "boolean"}}, ("alive",))),
        "/readyz": {"get": {"summary": "ready: ARI connected and reconciled, database reachable", "responses": {
            "200": {"description": "ready", **_json(ANY_OBJECT)}, "503": {"description": "not", **_json(ANY_OBJECT)},
        }}},
        "/registry": _get("the hotline registry's summary", ANY_OBJECT),
        "/security": _get("failed SIP authentications (wrong passwords, unknown users), last 24 hours", ANY_OBJECT),
        "/registry/reload": {"post": {
            "summary": "reload the registry (dry_run: only show what changes; force: also remove numbers)",
            "requestBody": {"required": False, **_json(_object({"force": {"type": "boolean"},
                                                                "dry_run": {"type": "boolean"}}))},
            "responses": {
                **_responses(200, ANY_OBJECT, 413),
                "409": {"description": "refused: it removes numbers and force is not set", **_json(ANY_OBJECT)},
                "422": {"description": "refused, the old registry stays", **_json(ANY_OBJECT)},
            }}},
        "/openapi.json": _get("this document", ANY_OBJECT),
        "/login": {"post": {"summary": "a bearer token for a shift", "security": [],
                            "requestBody": {"required": True, **_json(_object(
                                {"name": _text(), "password": _text(200)}, ("name", "password")))},
                            "responses": _responses(200, _object({"token": {"type": "string"}}, ("token",)),
                                                    413, 429)}},
        "/logout": _post("end this session", ANY_OBJECT, 200, ANY_OBJECT),
        "/me": _get("the logged-in account", ANY_OBJECT),
        "/metrics": {"get": {
            "summary": "Prometheus metrics (text format): open from this host, else a bearer HOTLINE_METRICS_TOKEN",
            "security": [], "responses": {
                "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "403": {"description": "off this host without the metrics token", **_json(ERROR)},
            }}},
    }
    for open_path in ("/healthz", "/readyz", "/openapi.json"):  # no login needed
        probes[open_path]["get"]["security"] = []
    return {
        "openapi": "3.1.0",
        "info": {"title": "12345 hotline", "version": "1",
                 "description": f"Bodies are JSON, at most {MAX_BODY} bytes."},
        "servers": [{"url": server}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {**probes, **_agent_paths(), **_call_paths(), **_workorder_paths(), **knowledge_paths(),
                  **_visit_paths()},
    }
