"""What in a valid registry looks like an accident, for ``hotline check-config`` to warn about.

Pure: a loaded registry (and what is remembered of the last registry that passed) in, messages
out. The file is valid either way; a warning never changes the exit status.

- a department no line uses: no hotline names it as its ``department``, and it is in no expert
  group that a line answers with;
- an expert group whose dual-number line is missing: no ``dual_merged_seats`` line names it as
  its ``expert_group``;
- far fewer lines than last time: fewer than half the hotline lines of the last registry that
  passed (a truncated file, or the wrong one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ari_app.registry.model import Mode, Registry

SHRINK_RATIO = 2  # warn when the last good registry had more than this many times the lines


@dataclass(frozen=True)
class LastGood:
    """What ``hotline check-config`` remembers of the last registry that passed."""

    hotlines: int  # its number of hotline lines
    file: str  # its path

    def to_json(self) -> str:
        return json.dumps({"hotlines": self.hotlines, "file": self.file}, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LastGood | None:
        """The remembered registry, or None when ``text`` is not what :meth:`to_json` writes."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        hotlines, file = data.get("hotlines"), data.get("file")
        if type(hotlines) is not int or hotlines < 0 or not isinstance(file, str):
            return None
        return cls(hotlines, file)


def unused_departments(registry: Registry) -> list[str]:
    """Departments no line uses, neither as its department nor through its expert group."""
    used = {hotline.department for hotline in registry.hotlines.values()}
    for hotline in registry.hotlines.values():
        if hotline.expert_group is not None:
            used.update(registry.expert_groups.get(hotline.expert_group, ()))
    return [
        f"department {department.id!r} ({department.name}) is used by no line"
        for department in registry.departments.values()
        if department.id not in used
    ]


def groups_without_line(registry: Registry) -> list[str]:
    """Expert groups no dual-number (``dual_merged_seats``) line answers with."""
    named = {
        hotline.expert_group
        for hotline in registry.hotlines.values()
        if hotline.mode is Mode.DUAL_MERGED_SEATS and hotline.expert_group is not None
    }
    out: list[str] = []
    for group, members in registry.expert_groups.items():
        if group in named:
            continue
        names = "、".join(registry.departments[m].name for m in members if m in registry.departments)
        who = f" ({names})" if names else ""
        out.append(f"expert group {group!r}{who} has no line: no dual_merged_seats line names it as its expert_group")
    return out


def fewer_lines(registry: Registry, last: LastGood | None) -> list[str]:
    """Fewer than half the lines of the last registry that passed."""
    now = len(registry.hotlines)
    if last is None or now * SHRINK_RATIO >= last.hotlines:
        return []
    return [
        f"{last.hotlines} lines last time ({last.file}), {now} now: fewer than half; is this the whole file?"
    ]


def registry_warnings(registry: Registry, last: LastGood | None) -> list[str]:
    """Every warning about ``registry``, given what is remembered of the last one that passed."""
    return [*fewer_lines(registry, last), *unused_departments(registry), *groups_without_line(registry)]
