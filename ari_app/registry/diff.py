"""What a reload would change: numbers added and removed, each line's mode, dates and routing,
the department lines. A pure function of two registries; a reload that removes numbers citizens
dial is refused unless forced (a truncated or half-edited file must never drop them silently)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ari_app.registry.model import Department, Hotline, Registry


@dataclass(frozen=True)
class Change:
    what: str  # a hotline number, "platform", or "line <department id>"
    field: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"~ {self.what} {self.field}: {self.old or '(none)'} -> {self.new or '(none)'}"


@dataclass(frozen=True)
class RegistryDiff:
    added: dict[str, str]  # number -> "mode name"
    removed: dict[str, str]
    changes: tuple[Change, ...] = ()

    @property
    def removes_numbers(self) -> bool:
        return bool(self.removed)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changes)

    def describe(self) -> list[str]:
        """One line per difference: ``+ number``, ``- number``, ``~ what field: old -> new``."""
        if self.empty:
            return ["no change"]
        return [*(f"+ {n} {d}" for n, d in self.added.items()), *(f"- {n} {d}" for n, d in self.removed.items()),
                *map(str, self.changes)]

    def to_json(self) -> dict[str, object]:
        return {"added": self.added, "removed": self.removed,
                "changes": [{"what": c.what, "field": c.field, "old": c.old, "new": c.new} for c in self.changes]}

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> RegistryDiff:
        """The diff a service answered with (``changes`` of POST /registry/reload)."""
        def mapping(key: str) -> dict[str, str]:
            raw = body.get(key)
            return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

        raw_changes = body.get("changes")
        items = raw_changes if isinstance(raw_changes, list) else []
        changes = tuple(Change(str(c.get("what", "")), str(c.get("field", "")), str(c.get("old", "")),
                               str(c.get("new", ""))) for c in items if isinstance(c, dict))
        return cls(mapping("added"), mapping("removed"), changes)


def _label(line: Hotline) -> str:
    return f"{line.mode.value} {line.name}"


def _line_fields(line: Hotline) -> dict[str, str]:
    """What decides where a call to the number goes, as text."""
    return {
        "mode": line.mode.value,
        "department": line.department,
        "transition start": str(line.transition.start) if line.transition else "",
        "transition end": str(line.transition.end) if line.transition else "",
        "after cancel": line.after_cancel.value,
        "expert group": line.expert_group or "",
        "ring timeout": "" if line.ring_timeout is None else str(line.ring_timeout),
        "name": line.name,
    }


def _department_line(department: Department) -> dict[str, str]:
    line = department.line
    if line is None:
        return {"endpoint": "", "contact": "", "short code": ""}
    return {"endpoint": line.endpoint, "contact": line.contact, "short code": line.short_code}


def _compare(what: str, old: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    return [Change(what, key, old.get(key, ""), new.get(key, "")) for key in dict.fromkeys([*old, *new])
            if old.get(key, "") != new.get(key, "")]


def diff_registries(old: Registry, new: Registry) -> RegistryDiff:
    """What changes when ``new`` replaces ``old``."""
    added = {n: _label(line) for n, line in new.hotlines.items() if n not in old.hotlines}
    removed = {n: _label(line) for n, line in old.hotlines.items() if n not in new.hotlines}
    changes: list[Change] = []
    if old.platform.number != new.platform.number:
        changes.append(Change("platform", "number", old.platform.number, new.platform.number))
    if old.department_ring_timeout != new.department_ring_timeout:
        changes.append(Change("departments", "ring timeout", str(old.department_ring_timeout),
                              str(new.department_ring_timeout)))
    for number, line in new.hotlines.items():
        if number in old.hotlines:
            changes += _compare(number, _line_fields(old.hotlines[number]), _line_fields(line))
    empty = {"endpoint": "", "contact": "", "short code": ""}
    for dept_id in dict.fromkeys([*old.departments, *new.departments]):
        before = _department_line(old.departments[dept_id]) if dept_id in old.departments else empty
        after = _department_line(new.departments[dept_id]) if dept_id in new.departments else empty
        changes += _compare(f"line {dept_id}", before, after)
    return RegistryDiff(added, removed, tuple(changes))


# A number's header comment in hotline-numbers.conf: "; 12349 市民政局... | 市民政局 | whole_merge_transition"
_RENDERED = re.compile(r"^; (\d+) (.*?) \| .*? \| ([a-z_]+)$", re.MULTILINE)


def rendered_numbers(text: str) -> dict[str, tuple[str, str]]:
    """number -> (mode, name) of a rendered hotline-numbers.conf (what Asterisk was last given)."""
    return {m.group(1): (m.group(3), m.group(2)) for m in _RENDERED.finditer(text)}


def diff_rendered(old: Mapping[str, tuple[str, str]], new: Registry) -> RegistryDiff:
    """The diff against a rendered numbers file (no service to ask): numbers and modes only."""
    added = {n: _label(line) for n, line in new.hotlines.items() if n not in old}
    removed = {n: f"{mode} {name}" for n, (mode, name) in old.items() if n not in new.hotlines}
    changes = tuple(Change(n, "mode", old[n][0], line.mode.value) for n, line in new.hotlines.items()
                    if n in old and old[n][0] != line.mode.value)
    return RegistryDiff(added, removed, changes)
