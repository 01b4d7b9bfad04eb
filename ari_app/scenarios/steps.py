"""Run a scenario's steps in order: the caller's call, agents logging in later, requests to the
target's HTTP API as a role's account, waits for call records. The first step that fails ends the
run of the steps with one sentence naming the step."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ari_app.scenarios.api import Api, ApiError
from ari_app.scenarios.checker import in_order
from ari_app.scenarios.model import CallStep, HttpStep, LogInStep, RecordStep, Step
from ari_app.scenarios.records import CallSeen, calls_since

_KEYWORD = re.compile(r"\[([a-z_][a-z0-9_]*)\]")
_MISSING = object()
POLL_S = 1.0  # how often an `until` request or a record wait looks again


@dataclass
class StepContext:
    call: Callable[[], bool]  # places the caller's call; False: the call failed (its checks say why)
    log_in: Callable[[str], str]  # an agent dials *72; an error sentence or ""
    api: Api | None  # None: no database to make accounts with (--dsn)
    dsn: str
    caller: str  # the citizen's number: [caller]
    since: datetime | None  # the database's clock when the scenario began
    keywords: dict[str, str] = field(default_factory=dict)


def run_steps(steps: tuple[Step, ...], ctx: StepContext) -> list[str]:
    ctx.keywords.setdefault("caller", ctx.caller)
    for number, step in enumerate(steps, 1):
        if isinstance(step, CallStep):
            if not ctx.call():
                return []  # the checker says what went wrong with the call
            continue
        error = _one(step, ctx)
        if error:
            return [f"step {number} ({substitute(step.label, ctx.keywords)}): {error}"]
    return []


def _one(step: Step, ctx: StepContext) -> str:
    if isinstance(step, LogInStep):
        return ctx.log_in(step.agent)
    if isinstance(step, HttpStep):
        if ctx.api is None:
            return "needs --dsn (the runner makes the accounts it logs in as)"
        try:
            return _http(step, ctx.api, ctx.keywords)
        except ApiError as exc:
            return str(exc)
    if isinstance(step, RecordStep):
        if not ctx.dsn or ctx.since is None:
            return "needs --dsn (call records are read from the database)"
        try:
            return _record(step, ctx)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return f"cannot read call records (--dsn): {type(exc).__name__}: {exc}"
    return ""


def _http(step: HttpStep, api: Api, keywords: dict[str, str]) -> str:
    path = substitute(step.path, keywords)
    body = substitute(step.body, keywords)
    deadline = time.monotonic() + (step.until or 0)
    while True:
        status, answer = api.request(step.method, path, body, step.login)
        if not status_ok(status, step.status):
            wanted = step.status if step.status is not None else "2xx"
            return f"answered {status} {shorten(answer)}, expected {wanted}"
        wrong = mismatches(answer, step.expect)
        if not wrong:
            break
        if time.monotonic() >= deadline:
            waited = f" after {step.until:g} s" if step.until else ""
            return "; ".join(wrong) + waited
        time.sleep(POLL_S)  # polling the API until the step's deadline
    for name, where in step.keep:
        value = pick(answer, where)
        if value is _MISSING or isinstance(value, dict | list):
            return f"the answer has no {where!r} to keep as [{name}]: {shorten(answer)}"
        keywords[name] = str(value)
    return ""


def _record(step: RecordStep, ctx: StepContext) -> str:
    assert ctx.since is not None
    deadline = time.monotonic() + step.within
    seen: list[CallSeen] = []
    while True:
        seen = calls_since(ctx.dsn, ctx.caller, ctx.since)
        for call in seen:
            if call.record.get("ended_at") is not None and record_matches(call, step.fields, step.events):
                return ""
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)  # polling the database until the step's deadline
    calls = "; ".join(_said(c) for c in seen) or "none"
    events = f" with events {', '.join(step.events)} in this order" if step.events else ""
    return f"no closed call of {ctx.caller}{events} within {step.within:g} s (calls: {calls})"


def record_matches(call: CallSeen, fields: tuple[tuple[str, str], ...], events: tuple[str, ...]) -> bool:
    return all(str(call.record.get(k)) == v for k, v in fields) and in_order(events, call.events)


def _said(call: CallSeen) -> str:
    state = "open" if call.record.get("ended_at") is None else "closed"
    kinds = ",".join(call.events[-6:])
    return f"route={call.record.get('route')} outcome={call.record.get('outcome')} {state} events ...{kinds}"


def substitute(value: Any, keywords: dict[str, str]) -> Any:
    """``value`` with ``[name]`` replaced by the keyword's text in every string (unknown names stay)."""
    if isinstance(value, str):
        return _KEYWORD.sub(lambda m: keywords.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, keywords) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, keywords) for v in value]
    return value


def pick(answer: Any, path: str) -> Any:
    """The value at a dotted path (``history.0.action``: list items by index); _MISSING if none."""
    value = answer
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def mismatches(answer: Any, expect: tuple[tuple[str, str], ...]) -> list[str]:
    """One sentence per expected field that the answer lacks or has otherwise (compared as text;
    JSON true/false/null as written in JSON)."""
    wrong = []
    for where, wanted in expect:
        value = pick(answer, where)
        if value is _MISSING:
            wrong.append(f"{where} missing, expected {wanted!r}")
        elif as_text(value) != wanted:
            wrong.append(f"{where} is {as_text(value)!r}, expected {wanted!r}")
    return wrong


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def status_ok(status: int, wanted: int | None) -> bool:
    return status == wanted if wanted is not None else 200 <= status < 300


def shorten(answer: Any, limit: int = 160) -> str:
    text = str(answer)
    return text if len(text) <= limit else text[: limit - 3] + "..."
