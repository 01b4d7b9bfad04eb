"""The ``steps`` of a scenario's expect.yaml: its call, agents logging in later, HTTP requests, call records.

Each problem is reported with file, line and field path, as for the rest of the file.
"""

from __future__ import annotations

import re

import yaml

from ari_app.configcheck.reader import DIGITS, SLUG, Keys, Reader
from ari_app.configcheck.yamlnodes import BOOL, FLOAT, INT, NULL, STR, describe
from ari_app.scenarios.model import CallStep, HttpStep, Login, LogInStep, RecordStep, Step

KINDS = ("call", "log_in", "http", "record")
_HTTP = Keys(("http", "as"), ("body", "status", "keep", "expect", "until"))
_RECORD = Keys(("record",), ("events", "within"))
_LOG_IN = Keys(("log_in",), ())
_REQUEST = re.compile(r"(GET|POST|PUT|PATCH|DELETE) (/\S*)")
_KEYWORD = re.compile(r"[a-z_][a-z0-9_]*")
ROLES = ("agent", "department", "supervisor", "admin")
RECORD_FIELDS = ("hotline", "route", "outcome", "rating", "caller")


def read_steps(reader: Reader, items: list[tuple[yaml.Node, str]], agents_later: set[str]) -> tuple[Step, ...]:
    """The steps in order; ``agents_later``: ids of agents declared with ``log_in: later``."""
    steps: list[Step] = []
    kept: set[str] = {"caller"}
    for node, at in items:
        step = _step(reader, node, at, kept, agents_later)
        if isinstance(step, CallStep) and any(isinstance(s, CallStep) for s in steps):
            reader.problem(node, at, "the caller calls once: at most one `call` step")
        if step is not None:
            steps.append(step)
    return tuple(steps)


def _step(reader: Reader, node: yaml.Node, at: str, kept: set[str], later: set[str]) -> Step | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == STR and node.value == "call":
        return CallStep()
    kind = _kind(reader, node, at)
    if kind == "log_in":
        f = reader.mapping(node, at, _LOG_IN)
        agent = f.matching("log_in", DIGITS, "an agent id (digits)") if f else None
        if f is not None and agent is not None and agent not in later:
            f.problem("log_in", f"agent {agent} is not among `agents` with `log_in: later`")
        return LogInStep(agent, f"log in {agent}") if agent is not None else None
    if kind == "http":
        return _http(reader, node, at, kept)
    if kind == "record":
        return _record_step(reader, node, at)
    return None


def _kind(reader: Reader, node: yaml.Node, at: str) -> str | None:
    if not isinstance(node, yaml.MappingNode):
        reader.problem(node, at, f"expected `call` or a mapping with one of {', '.join(KINDS[1:])}, "
                                 f"got {describe(node)}")
        return None
    kinds = [str(k.value) for k, _v in node.value if isinstance(k, yaml.ScalarNode) and k.value in KINDS]
    if len(kinds) != 1:
        said = ", ".join(kinds) if kinds else "none"
        reader.problem(node, at, f"a step has exactly one of {', '.join(KINDS[1:])} (found: {said})")
        return None
    return kinds[0]


def _http(reader: Reader, node: yaml.Node, at: str, kept: set[str]) -> HttpStep | None:
    f = reader.mapping(node, at, _HTTP)
    if f is None:
        return None
    request = f.matching("http", _REQUEST, "METHOD /path, e.g. POST /work-orders")
    login = f.get("as", lambda n, p: _login(reader, n, p))
    if request is not None:
        for name in re.findall(r"\[([^\]]*)\]", request):
            if name not in kept:
                f.problem("http", f"[{name}] is not known here: [caller] or a name kept by an earlier step")
    body = f.get("body", lambda n, p: _json(reader, n, p))
    status = f.integer("status", low=100, high=599)
    keep = f.get("keep", lambda n, p: text_map(reader, n, p)) or {}
    for name in keep:
        if not _KEYWORD.fullmatch(name):
            f.problem("keep", f"{name!r}: a keyword is lowercase letters, digits and _")
    kept.update(keep)
    expect = f.get("expect", lambda n, p: text_map(reader, n, p)) or {}
    until = f.get("until", lambda n, p: seconds(reader, n, p))
    if until is not None and not expect:
        f.problem("until", "`until` repeats the request until `expect` holds: give `expect` too")
    if request is None or login is None:
        return None
    method, path = request.split(" ", 1)
    return HttpStep(method, path, login, request, body, status, tuple(keep.items()), tuple(expect.items()), until)


def _record_step(reader: Reader, node: yaml.Node, at: str) -> RecordStep | None:
    f = reader.mapping(node, at, _RECORD)
    if f is None:
        return None
    fields = f.get("record", lambda n, p: record_fields(reader, n, p))
    events = tuple(t for t in (reader.text(n, p) for n, p in f.sequence("events")) if t is not None)
    within = f.get("within", lambda n, p: seconds(reader, n, p))
    if not fields:
        if fields is not None:
            f.problem("record", "name at least one call record field")
        return None
    label = "record " + ", ".join(f"{k}={v}" for k, v in fields)
    return RecordStep(fields, label, events, within if within is not None else 60.0)


def _login(reader: Reader, node: yaml.Node, at: str) -> Login | None:
    text = reader.text(node, at)
    if text is None:
        return None
    role, _, rest = text.partition(" ")
    rest = rest.strip()
    if role not in ROLES:
        reader.problem(node, at, f"unknown role {role!r}: one of {', '.join(ROLES)}")
    elif role == "agent" and not DIGITS.fullmatch(rest):
        reader.problem(node, at, "an agent is `agent <seat id>`, e.g. `agent 1001`")
    elif role == "department" and not SLUG.fullmatch(rest):
        reader.problem(node, at, "a department handler is `department <department id>`, "
                                 "e.g. `department human-resources`")
    elif role in ("supervisor", "admin") and rest:
        reader.problem(node, at, f"`{role}` takes nothing after it")
    else:
        return Login(role, rest if role == "department" else "", rest if role == "agent" else "")
    return None


def record_fields(reader: Reader, node: yaml.Node, at: str) -> tuple[tuple[str, str], ...] | None:
    values = text_map(reader, node, at)
    if values is None:
        return None
    for key in values:
        if key not in RECORD_FIELDS:
            reader.problem(node, f"{at}.{key}", f"not a call record field; expected one of {', '.join(RECORD_FIELDS)}")
    return tuple(values.items())


def _json(reader: Reader, node: yaml.Node, at: str) -> object:
    """A YAML value as JSON: mappings, lists, strings, numbers, booleans, null."""
    if isinstance(node, yaml.MappingNode):
        entries = reader.entries(node, at) or []
        return {key: _json(reader, value, f"{at}.{key}") for key, _k, value in entries}
    if isinstance(node, yaml.SequenceNode):
        return [_json(reader, item, f"{at}[{i}]") for i, item in enumerate(node.value)]
    value = str(node.value) if isinstance(node, yaml.ScalarNode) else ""
    match node.tag if isinstance(node, yaml.ScalarNode) else "":
        case tag if tag == STR:
            return value
        case tag if tag == INT:
            return int(value, 0) if value.lstrip("-+").isdigit() else int(value.replace("_", ""))
        case tag if tag == FLOAT:
            return float(value)
        case tag if tag == BOOL:
            return value.lower() in ("true", "yes", "on")
        case tag if tag == NULL:
            return None
    reader.problem(node, at, f"expected a JSON value, got {describe(node)}")
    return None


def seconds(reader: Reader, node: yaml.Node, at: str) -> float | None:
    if isinstance(node, yaml.ScalarNode) and node.tag in (INT, FLOAT):
        value = float(node.value)
        if value >= 0:
            return value
    reader.problem(node, at, f"expected a number of seconds (0 or more), got {describe(node)}")
    return None


def text_map(reader: Reader, node: yaml.Node, at: str) -> dict[str, str] | None:
    """A mapping of names to texts (numbers and booleans taken as written)."""
    entries = reader.entries(node, at)
    if entries is None:
        return None
    out: dict[str, str] = {}
    for key, _key_node, value in entries:
        if isinstance(value, yaml.ScalarNode) and value.tag in (INT, FLOAT):
            out[key] = str(value.value)  # `rework_count: 1` compares as the text "1"
            continue
        if isinstance(value, yaml.ScalarNode) and value.tag == BOOL:  # as JSON writes it
            out[key] = "true" if str(value.value).lower() in ("true", "yes", "on") else "false"
            continue
        text = reader.text(value, f"{at}.{key}")
        if text is not None:
            out[key] = text
    return out

