"""Read config/hotlines.yaml into the registry model, reporting every problem with file, line and path.

The YAML is composed into a node tree (never ``safe_load``-ed first), so every value keeps its
line. :class:`Reader` reads typed values off the nodes and turns anything wrong into a
:class:`Problem` plus the value ``None``, so one pass finds all problems; the builders below then
check the plan's rules on the values that did read. The model is returned only when no problem
was found, otherwise :class:`RegistryError` lists them all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.constructor import SafeConstructor

from ari_app.registry.model import (
    AfterCancel,
    Department,
    DepartmentLine,
    Hotline,
    Liaison,
    Mode,
    Platform,
    Registry,
    Transition,
    required_seconded_staff,
)

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

DOCUMENT = "<document>"  # the path of problems that concern the whole file

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

_DIGITS = re.compile(r"[0-9]+")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
_ENDPOINT = re.compile(r"[a-z0-9-]+")
_SHORT_CODE = re.compile(r"[0-9]{2}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

RING_TIMEOUT_RANGE = (5, 120)  # seconds
DEFAULT_RING_TIMEOUT = 20  # seconds, when defaults.department_ring_timeout is not given
DUAL_MERGED_MIN_STAFF = 3  # the plan: 市交通运输局至少选派3名接听人员 for the 12328 expert seats
STAFF_RULE = "the plan: under 500 calls a year at least 1, 500-2000 at least 2, over 2000 at least 3"

KEPT_SEATS = frozenset({Mode.DUAL_DEPARTMENT_SEATS, Mode.SUBCENTER})
SECONDED_SEATS = frozenset({Mode.WHOLE_MERGE_TRANSITION, Mode.WHOLE_MERGE_CANCELLED, Mode.DUAL_MERGED_SEATS})

_constructor = SafeConstructor()


# --- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (1-based line, field path) and what."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class RegistryError(RuntimeError):
    """The registry file has problems; ``problems`` holds all of them, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# --- reading typed values off nodes ----------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """The keys a mapping must have and may have; any other key is a problem."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.required + self.optional


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(node: yaml.Node) -> str:
    """What a node holds, for 'expected X, got Y' messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kinds = {
        _STR: "the string",
        _INT: "the integer",
        _FLOAT: "the number",
        _BOOL: "the boolean",
        _TIMESTAMP: "the date",
    }
    if node.tag == _NULL:
        return "nothing (null)"
    kind = kinds.get(node.tag, f"a value tagged {node.tag}")
    return f"{kind} {node.value!r}" if node.tag == _STR else f"{kind} {node.value}"


class Reader:
    """Reads typed values off YAML nodes; anything wrong becomes a Problem and the value None."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem_at(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, path or DOCUMENT, message))

    def problem(self, node: yaml.Node, path: str, message: str) -> None:
        self.problem_at(line_of(node), path, message)

    # collections

    def entries(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
        """A mapping's (key, key node, value node), string keys only, each key once."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, path, f"expected a mapping, got {describe(node)}")
            return None
        seen: dict[str, yaml.Node] = {}
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR):
                self.problem(key_node, path, f"keys must be plain names, got {describe(key_node)}")
                continue
            key = str(key_node.value)
            if key in seen:
                self.problem(key_node, join(path, key), f"duplicate key (first at line {line_of(seen[key])})")
                continue
            seen[key] = key_node
            out.append((key, key_node, value_node))
        return out

    def mapping(self, node: yaml.Node, path: str, keys: Keys) -> Fields | None:
        entries = self.entries(node, path)
        if entries is None:
            return None
        values: dict[str, yaml.Node] = {}
        for key, key_node, value_node in entries:
            if key in keys.allowed:
                values[key] = value_node
            else:
                self.problem(key_node, join(path, key), _unknown_key_message(key, keys.allowed))
        for key in keys.required:
            if key not in values:
                self.problem(node, join(path, key), "missing required key")
        return Fields(self, path, node, values)

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, path, f"expected a list, got {describe(node)}")
            return None
        return list(node.value)

    # scalars

    def text(self, node: yaml.Node, path: str) -> str | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _STR):
            self.problem(node, path, f"expected a string, got {describe(node)}{_quote_hint(node)}")
            return None
        value = str(node.value)
        if not value.strip():
            self.problem(node, path, "must not be empty")
            return None
        return value

    def matching(self, node: yaml.Node, path: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.text(node, path)
        if value is not None and not pattern.fullmatch(value):
            self.problem(node, path, f"must be {what}, got {value!r}")
            return None
        return value

    def digits(self, node: yaml.Node, path: str) -> str | None:
        return self.matching(node, path, _DIGITS, "digits only")

    def choice(self, node: yaml.Node, path: str, enum: type[E], what: str) -> E | None:
        value = self.text(node, path)
        if value is None:
            return None
        for member in enum:
            if member.value == value:
                return member
        expected = ", ".join(str(member.value) for member in enum)
        self.problem(node, path, f"unknown {what} {value!r}; expected one of {expected}")
        return None

    def integer(self, node: yaml.Node, path: str, low: int | None = None, high: int | None = None) -> int | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _INT):
            self.problem(node, path, f"expected an integer, got {describe(node)}")
            return None
        value = _constructor.construct_yaml_int(node)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            self.problem(node, path, f"must be {bounds}, got {value}")
            return None
        return value

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _BOOL):
            self.problem(node, path, f"expected true or false, got {describe(node)}")
            return None
        return _constructor.construct_yaml_bool(node)

    def date(self, node: yaml.Node, path: str) -> date | None:
        """A date: unquoted (YAML timestamp) or a quoted YYYY-MM-DD string."""
        if isinstance(node, yaml.ScalarNode) and node.tag in (_TIMESTAMP, _STR):
            raw = str(node.value)
            try:
                if node.tag == _STR:
                    if not _ISO_DATE.fullmatch(raw):
                        raise ValueError(raw)
                    return date.fromisoformat(raw)
                value = _constructor.construct_yaml_timestamp(node)
            except ValueError:
                self.problem(node, path, f"not a valid date (YYYY-MM-DD): {raw!r}")
                return None
            if isinstance(value, datetime):
                self.problem(node, path, f"expected a date without a time, got {raw!r}")
                return None
            return value
        self.problem(node, path, f"expected a date (YYYY-MM-DD), got {describe(node)}")
        return None

    def timezone(self, node: yaml.Node, path: str) -> str | None:
        value = self.text(node, path)
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(node, path, f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)")
            return None
        return value


class Fields:
    """One mapping's value nodes by key, read through a :class:`Reader` with each key's path."""

    def __init__(self, reader: Reader, path: str, node: yaml.Node, values: dict[str, yaml.Node]) -> None:
        self.reader = reader
        self.path = path
        self.node = node
        self.values = values

    def has(self, key: str) -> bool:
        return key in self.values

    def at(self, key: str) -> str:
        return join(self.path, key)

    def problem(self, key: str, message: str) -> None:
        """A problem with a key's value, or with the mapping when the key is absent."""
        self.reader.problem(self.values.get(key, self.node), self.at(key), message)

    def get(self, key: str, read: Callable[[yaml.Node, str], T | None]) -> T | None:
        node = self.values.get(key)
        return None if node is None else read(node, self.at(key))

    def text(self, key: str) -> str | None:
        return self.get(key, self.reader.text)

    def digits(self, key: str) -> str | None:
        return self.get(key, self.reader.digits)

    def matching(self, key: str, pattern: re.Pattern[str], what: str) -> str | None:
        return self.get(key, lambda node, path: self.reader.matching(node, path, pattern, what))

    def choice(self, key: str, enum: type[E]) -> E | None:
        return self.get(key, lambda node, path: self.reader.choice(node, path, enum, key))

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int | None:
        return self.get(key, lambda node, path: self.reader.integer(node, path, low, high))

    def boolean(self, key: str) -> bool | None:
        return self.get(key, self.reader.boolean)

    def date(self, key: str) -> date | None:
        return self.get(key, self.reader.date)

    def timezone(self, key: str) -> str | None:
        return self.get(key, self.reader.timezone)

    def mapping(self, key: str, keys: Keys) -> Fields | None:
        return self.get(key, lambda node, path: self.reader.mapping(node, path, keys))

    def sequence(self, key: str) -> list[tuple[yaml.Node, str]]:
        """The items of a list with their paths; empty when absent or not a list."""
        items = self.get(key, self.reader.sequence) or []
        return [(item, join(self.at(key), index)) for index, item in enumerate(items)]


def _unknown_key_message(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; expected one of {', '.join(allowed)}"


def _quote_hint(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode) and node.tag == _INT:
        return f'; quote it ("{node.value}"): unquoted, YAML reads digits as a number and drops leading zeros'
    if isinstance(node, yaml.ScalarNode) and node.tag in (_FLOAT, _BOOL, _TIMESTAMP):
        return f'; quote it ("{node.value}") if it is text'
    return ""


class Unique:
    """Reports the second and later occurrences of a value that must be unique."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.first: dict[str, int] = {}

    def check(self, fields: Fields, key: str, value: str | None) -> None:
        if value is None:
            return
        if value in self.first:
            fields.problem(key, f"duplicate {self.what} {value!r} (first at line {self.first[value]})")
        else:
            self.first[value] = line_of(fields.values[key])


# --- the registry's sections -----------------------------------------------------------------------

TOP = Keys(("platform", "departments", "hotlines"), ("defaults", "volumes_are_samples", "expert_groups"))
PLATFORM = Keys(("number", "name", "timezone", "service_hours", "plan", "merger_deadline"))
DEFAULTS = Keys((), ("department_ring_timeout",))
DEPARTMENT = Keys(("id", "name", "liaison"), ("line", "record_calls"))
LIAISON = Keys(("name", "title", "phone"))
LINE = Keys(("endpoint", "contact", "short_code"))
TRANSITION = Keys(("start", "end"))
HOTLINE = Keys(
    ("number", "name", "department", "mode", "measure", "annual_volume", "seconded_staff"),
    ("transition", "after_cancel", "expert_group", "ring_timeout"),
)

# Keys that belong to some modes only: key -> (the modes it applies to, whether they require it).
MODE_KEYS: dict[str, tuple[frozenset[Mode], bool]] = {
    "transition": (frozenset({Mode.WHOLE_MERGE_TRANSITION}), True),
    "after_cancel": (frozenset({Mode.WHOLE_MERGE_TRANSITION}), False),
    "expert_group": (frozenset({Mode.DUAL_MERGED_SEATS}), True),
    "ring_timeout": (KEPT_SEATS, False),
}


@dataclass
class _Context:
    """What later sections check references against. Ids are known even when their entry had
    problems, so a broken department does not also make every reference to it 'unknown'."""

    reader: Reader
    platform_number: str | None = None
    departments: dict[str, Department] = field(default_factory=dict)
    department_has_line: dict[str, bool] = field(default_factory=dict)  # every id seen -> has a line key
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    group_ids: set[str] = field(default_factory=set)


def _platform(f: Fields) -> Platform | None:
    number = f.digits("number")
    name = f.text("name")
    timezone = f.timezone("timezone")
    hours = f.text("service_hours")
    plan = f.text("plan")
    deadline = f.date("merger_deadline")
    if number is None or name is None or timezone is None or hours is None or plan is None or deadline is None:
        return None
    return Platform(number, name, timezone, hours, plan, deadline)


def _liaison(f: Fields) -> Liaison | None:
    name, title, phone = f.text("name"), f.text("title"), f.text("phone")
    if name is None or title is None or phone is None:
        return None
    return Liaison(name, title, phone)


def _line(f: Fields, endpoints: Unique, codes: Unique) -> DepartmentLine | None:
    endpoint = f.matching("endpoint", _ENDPOINT, "a PJSIP endpoint name of a-z, 0-9 and -")
    contact = f.text("contact")
    if contact is not None and not contact.startswith("sip:"):
        f.problem("contact", f"must be a SIP URI starting with 'sip:', got {contact!r}")
        contact = None
    code = f.matching("short_code", _SHORT_CODE, 'two digits, quoted ("01")')
    endpoints.check(f, "endpoint", endpoint)
    codes.check(f, "short_code", code)
    if endpoint is None or contact is None or code is None:
        return None
    return DepartmentLine(endpoint, contact, code)


def _departments(top: Fields, ctx: _Context) -> None:
    ids, names = Unique("department id"), Unique("department name")  # one entry per responsible unit
    endpoints, codes = Unique("endpoint"), Unique("short_code")
    for node, path in top.sequence("departments"):
        f = ctx.reader.mapping(node, path, DEPARTMENT)
        if f is None:
            continue
        dep_id = f.matching("id", _SLUG, "a lowercase slug of a-z, 0-9 and -")
        name = f.text("name")
        names.check(f, "name", name)
        liaison = _sub(f, "liaison", LIAISON, _liaison)
        line = _sub(f, "line", LINE, lambda sub: _line(sub, endpoints, codes))
        ids.check(f, "id", dep_id)
        if dep_id is None or dep_id in ctx.department_has_line:
            continue
        ctx.department_has_line[dep_id] = f.has("line")
        if name is not None and liaison is not None:
            record_calls = bool(f.boolean("record_calls")) if f.has("record_calls") else False
            ctx.departments[dep_id] = Department(dep_id, name, liaison, line, record_calls)


def _expert_groups(top: Fields, ctx: _Context) -> None:
    r = ctx.reader
    for group, key_node, node in top.get("expert_groups", r.entries) or []:
        path = join("expert_groups", group)
        if not _SLUG.fullmatch(group):
            r.problem(key_node, path, "a group id must be a lowercase slug of a-z, 0-9 and -")
        ctx.group_ids.add(group)
        members = [(item, join(path, index)) for index, item in enumerate(r.sequence(node, path) or [])]
        if not members and isinstance(node, yaml.SequenceNode):
            r.problem(node, path, "names no department")
        ids = [_department_ref(ctx, item, item_path) for item, item_path in members]
        ctx.groups[group] = tuple(dep_id for dep_id in ids if dep_id is not None)


def _department_ref(ctx: _Context, node: yaml.Node, path: str) -> str | None:
    dep_id = ctx.reader.text(node, path)
    if dep_id is not None and dep_id not in ctx.department_has_line:
        ctx.reader.problem(node, path, f"unknown department {dep_id!r}{_did_you_mean(dep_id, ctx.department_has_line)}")
        return None
    return dep_id


def _group_ref(ctx: _Context, node: yaml.Node, path: str) -> str | None:
    group = ctx.reader.text(node, path)
    if group is not None and group not in ctx.group_ids:
        ctx.reader.problem(node, path, f"unknown expert group {group!r}{_did_you_mean(group, ctx.group_ids)}")
        return None
    return group


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _transition(f: Fields) -> Transition | None:
    start, end = f.date("start"), f.date("end")
    if start is None or end is None:
        return None
    if end <= start:
        f.problem("end", f"the transition ends ({end}) before or on the day it starts ({start})")
        return None
    return Transition(start, end)


def _check_mode_keys(f: Fields, mode: Mode) -> None:
    for key, (modes, required) in MODE_KEYS.items():
        names = " / ".join(m.value for m in Mode if m in modes)
        if f.has(key) and mode not in modes:
            f.problem(key, f"applies only to mode {names}, not {mode.value}")
        elif required and mode in modes and not f.has(key):
            f.problem(key, f"mode {mode.value} requires {key}")


def _check_staff(f: Fields, mode: Mode, volume: int | None, staff: int | None) -> None:
    if mode not in SECONDED_SEATS or volume is None or staff is None:
        return
    needed = required_seconded_staff(volume)
    if staff < needed:
        f.problem("seconded_staff", f"{staff} is too few for {volume} calls a year: at least {needed} ({STAFF_RULE})")
    elif mode is Mode.DUAL_MERGED_SEATS and staff < DUAL_MERGED_MIN_STAFF:
        f.problem(
            "seconded_staff",
            f"{staff} is too few for dual_merged_seats: the expert seats need at least {DUAL_MERGED_MIN_STAFF} "
            "(the plan: 市交通运输局至少选派3名接听人员)",
        )


def _check_line(f: Fields, ctx: _Context, mode: Mode, dep_id: str | None) -> None:
    if mode in KEPT_SEATS and dep_id is not None and not ctx.department_has_line.get(dep_id, True):
        message = f"mode {mode.value} keeps the department's seats, but department {dep_id!r} has no line"
        f.problem("department", message)


def _hotline(ctx: _Context, numbers: Unique, node: yaml.Node, path: str) -> Hotline | None:
    f = ctx.reader.mapping(node, path, HOTLINE)
    if f is None:
        return None
    number = f.digits("number")
    numbers.check(f, "number", number)
    if number is not None and number == ctx.platform_number:
        f.problem("number", f"{number} is the platform's own number, not a merged line")
    name, measure = f.text("name"), f.text("measure")
    department = f.get("department", lambda n, p: _department_ref(ctx, n, p))
    mode = f.choice("mode", Mode)
    volume = f.integer("annual_volume", low=0)
    staff = f.integer("seconded_staff", low=0)
    transition = _sub(f, "transition", TRANSITION, _transition)
    after_cancel = f.choice("after_cancel", AfterCancel)
    expert_group = f.get("expert_group", lambda n, p: _group_ref(ctx, n, p))
    ring_timeout = f.integer("ring_timeout", *RING_TIMEOUT_RANGE)
    if mode is not None:
        _check_mode_keys(f, mode)
        _check_staff(f, mode, volume, staff)
        _check_line(f, ctx, mode, department)
    if (
        number is None
        or name is None
        or department is None
        or mode is None
        or measure is None
        or volume is None
        or staff is None
    ):
        return None
    return Hotline(
        number=number,
        name=name,
        department=department,
        mode=mode,
        measure=measure,
        annual_volume=volume,
        seconded_staff=staff,
        transition=transition,
        after_cancel=after_cancel or AfterCancel.INTAKE,
        expert_group=expert_group,
        ring_timeout=ring_timeout,
    )


def _hotlines(top: Fields, ctx: _Context) -> dict[str, Hotline]:
    items = top.sequence("hotlines")
    if top.has("hotlines") and isinstance(top.values["hotlines"], yaml.SequenceNode) and not items:
        top.problem("hotlines", "lists no hotline")
    numbers = Unique("number")
    hotlines: dict[str, Hotline] = {}
    for node, path in items:
        hotline = _hotline(ctx, numbers, node, path)
        if hotline is not None:
            hotlines.setdefault(hotline.number, hotline)
    return hotlines


def _sub(f: Fields, key: str, keys: Keys, build: Callable[[Fields], T | None]) -> T | None:
    sub = f.mapping(key, keys)
    return None if sub is None else build(sub)


def _registry(r: Reader, root: yaml.Node, source: str) -> Registry | None:
    top = r.mapping(root, "", TOP)
    if top is None:
        return None
    ctx = _Context(r)
    platform = _sub(top, "platform", PLATFORM, _platform)
    ctx.platform_number = platform.number if platform else None
    defaults = top.mapping("defaults", DEFAULTS)
    ring_timeout = defaults.integer("department_ring_timeout", *RING_TIMEOUT_RANGE) if defaults else None
    samples = top.boolean("volumes_are_samples")
    _departments(top, ctx)
    _expert_groups(top, ctx)
    hotlines = _hotlines(top, ctx)
    if platform is None:
        return None
    return Registry(
        platform=platform,
        departments=ctx.departments,
        hotlines=hotlines,
        expert_groups=ctx.groups,
        department_ring_timeout=ring_timeout if ring_timeout is not None else DEFAULT_RING_TIMEOUT,
        volumes_are_samples=samples if samples is not None else True,
        source=source,
    )


# --- entry points ----------------------------------------------------------------------------------


def _compose(text: str, r: Reader) -> yaml.Node | None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at column {mark.column + 1}" if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        r.problem_at(mark.line + 1 if mark else 1, DOCUMENT, f"invalid YAML{where}: {exc.problem}{context}")
        return None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, int(exc.position)) + 1
        r.problem_at(line, DOCUMENT, f"invalid YAML: {exc.reason} character {exc.character!r}")
        return None
    except yaml.YAMLError as exc:
        r.problem_at(1, DOCUMENT, f"invalid YAML: {exc}")
        return None
    if root is None:
        r.problem_at(1, DOCUMENT, "the file is empty: expected the platform, departments and hotlines")
    return root


def parse_registry(text: str, source: str) -> Registry:
    """Build the registry from YAML text; ``source`` names the file in problems."""
    r = Reader(source)
    root = _compose(text, r)
    registry = _registry(r, root, source) if root is not None else None
    if r.problems or registry is None:
        raise RegistryError(r.problems)
    return registry


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file. OSError (missing, unreadable) propagates unchanged."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RegistryError([Problem(str(path), line, DOCUMENT, f"not UTF-8 text: {exc.reason}")]) from None
    return parse_registry(text, str(path))
