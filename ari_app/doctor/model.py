"""One check's result, and the report: a table or JSON, and the exit status for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"  # works, but something will bite (a phone not registered, a pinned date)
    FAIL = "FAIL"  # callers are affected: fix it
    SKIP = "SKIP"  # not checked: what it needs failed (see that check's FAIL)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str  # what was found
    fix: str = ""  # what to do; empty when there is nothing to do

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix}


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def warn(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.WARN, detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.FAIL, detail, fix)


def skip(name: str, because: str) -> Check:
    return Check(name, Status.SKIP, f"not checked: {because}")


def exit_code(checks: Sequence[Check]) -> int:
    """1 when any check failed, else 0 (warnings do not fail a script)."""
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def to_json(checks: Sequence[Check]) -> str:
    counts = {status.value: sum(1 for c in checks if c.status is status) for status in Status}
    body = {"ok": exit_code(checks) == 0, "counts": counts, "checks": [c.to_json() for c in checks]}
    return json.dumps(body, ensure_ascii=False, indent=2)


def format_table(checks: Sequence[Check]) -> str:
    """A fixed-width table: status, check, what was found; the fix on the line below, indented."""
    width = max((len(c.name) for c in checks), default=5)
    lines = [f"{'status':<6}  {'check':<{width}}  detail"]
    for c in checks:
        lines.append(f"{c.status.value:<6}  {c.name:<{width}}  {c.detail}")
        if c.fix:
            lines.append(f"{'':<6}  {'':<{width}}  fix: {c.fix}")
    counts = ", ".join(f"{sum(1 for c in checks if c.status is s)} {s.value}" for s in Status)
    lines.append(f"{len(checks)} checks: {counts}")
    return "\n".join(lines)
