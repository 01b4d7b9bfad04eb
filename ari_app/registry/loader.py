"""Read config/hotlines.yaml into the registry model, reporting every problem with file, line and path.

The file is read with :mod:`ari_app.configcheck`: every value keeps its line, and anything wrong
becomes a :class:`~ari_app.configcheck.problems.Problem` while the reading goes on, so one pass
finds all problems; the builders below then check the plan's rules on the values that did read.
The model is returned only when no problem was found, otherwise
:class:`~ari_app.configcheck.problems.ConfigError` lists them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ari_app.configcheck.problems import ConfigError, child_path, did_you_mean
from ari_app.configcheck.reader import SLUG, Fields, Keys, Reader, Unique
from ari_app.configcheck.yamlnodes import read_utf8
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

_ENDPOINT = re.compile(r"[a-z0-9-]+")
_SHORT_CODE = re.compile(r"[0-9]{2}")

RING_TIMEOUT_RANGE = (5, 120)  # seconds
DEFAULT_RING_TIMEOUT = 20  # seconds, when defaults.department_ring_timeout is not given
DUAL_MERGED_MIN_STAFF = 3  # the plan: 市交通运输局至少选派3名接听人员 for the 12328 expert seats
STAFF_RULE = "the plan: under 500 calls a year at least 1, 500-2000 at least 2, over 2000 at least 3"
EXPECTED = "the platform, departments and hotlines"  # what an empty file lacks

KEPT_SEATS = frozenset({Mode.DUAL_DEPARTMENT_SEATS, Mode.SUBCENTER})
SECONDED_SEATS = frozenset({Mode.WHOLE_MERGE_TRANSITION, Mode.WHOLE_MERGE_CANCELLED, Mode.DUAL_MERGED_SEATS})


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
        dep_id = f.matching("id", SLUG, "a lowercase slug of a-z, 0-9 and -")
        name = f.text("name")
        names.check(f, "name", name)
        liaison = f.sub("liaison", LIAISON, _liaison)
        line = f.sub("line", LINE, lambda sub: _line(sub, endpoints, codes))
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
        path = child_path("expert_groups", group)
        if not SLUG.fullmatch(group):
            r.problem(key_node, path, "a group id must be a lowercase slug of a-z, 0-9 and -")
        ctx.group_ids.add(group)
        members = [(item, child_path(path, index)) for index, item in enumerate(r.sequence(node, path) or [])]
        if not members and isinstance(node, yaml.SequenceNode):
            r.problem(node, path, "names no department")
        ids = [_department_ref(ctx, item, item_path) for item, item_path in members]
        ctx.groups[group] = tuple(dep_id for dep_id in ids if dep_id is not None)


def _department_ref(ctx: _Context, node: yaml.Node, path: str) -> str | None:
    dep_id = ctx.reader.text(node, path)
    if dep_id is not None and dep_id not in ctx.department_has_line:
        ctx.reader.problem(node, path, f"unknown department {dep_id!r}{did_you_mean(dep_id, ctx.department_has_line)}")
        return None
    return dep_id


def _group_ref(ctx: _Context, node: yaml.Node, path: str) -> str | None:
    group = ctx.reader.text(node, path)
    if group is not None and group not in ctx.group_ids:
        ctx.reader.problem(node, path, f"unknown expert group {group!r}{did_you_mean(group, ctx.group_ids)}")
        return None
    return group


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
    transition = f.sub("transition", TRANSITION, _transition)
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


def _registry(r: Reader, root: yaml.Node, source: str) -> Registry | None:
    top = r.mapping(root, "", TOP)
    if top is None:
        return None
    ctx = _Context(r)
    platform = top.sub("platform", PLATFORM, _platform)
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


def parse_registry(text: str, source: str) -> Registry:
    """Build the registry from YAML text; ``source`` names the file in problems."""
    r = Reader(source)
    root = r.document(text, EXPECTED)
    registry = _registry(r, root, source) if root is not None else None
    if r.problems or registry is None:
        raise ConfigError(r.problems)
    return registry


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file. OSError (missing, unreadable) propagates unchanged."""
    return parse_registry(read_utf8(path), str(path))
