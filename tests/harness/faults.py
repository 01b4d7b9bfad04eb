"""The fault suite's combined report (issue 14): every fault test records its figures here, one JSON
line per case, and the session ends with one table of them all.

Where: ``HOTLINE_FAULT_REPORT`` (a file; ``scripts/faults`` sets a fresh one per run), else
``test-artifacts/fault-report.jsonl``. Lines are appended; each carries the pytest session's id, so
the table at the end of a session shows that session's cases only. ``render`` (pure) turns lines
into a markdown table; ``python -m tests.harness.faults FILE`` prints it for a file.

The load cases have two profiles (``HOTLINE_FAULT_PROFILE``): ``ci`` (the default, short, inside
``scripts/test``'s time budget) and ``long`` (``scripts/faults --long``).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
REPORT_ENV = "HOTLINE_FAULT_REPORT"
PROFILE_ENV = "HOTLINE_FAULT_PROFILE"
DEFAULT_REPORT = REPO / "test-artifacts" / "fault-report.jsonl"
# This pytest session: set in the environment by the first process, so that the worker processes
# of a run in several processes (pytest-xdist, which scripts/test uses) share it with their controller.
SESSION = os.environ.setdefault("HOTLINE_FAULT_SESSION", uuid.uuid4().hex[:12])
# The columns every case fills (None when they do not apply to it), in the table's order.
COLUMNS = ("placed", "answered", "dropped", "records_lost", "duplicates", "recovery_s")


@dataclass(frozen=True)
class LoadProfile:
    """How hard and how long a load case runs."""

    name: str
    rate: int  # calls per second
    seconds: float  # of arrivals
    hammer_rate: int  # HTTP requests per second (the hammering case)

    @property
    def calls(self) -> int:
        return int(self.rate * self.seconds)


PROFILES = {
    "ci": LoadProfile("ci", rate=20, seconds=8, hammer_rate=100),
    "long": LoadProfile("long", rate=20, seconds=30, hammer_rate=100),
}


def profile() -> LoadProfile:
    name = os.environ.get(PROFILE_ENV, "").strip() or "ci"
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r}: expected one of {', '.join(PROFILES)}")
    return PROFILES[name]


def report_path() -> Path:
    return Path(os.environ.get(REPORT_ENV, "").strip() or DEFAULT_REPORT)


def record_fault(case: str, *, placed: int | None = None, answered: int | None = None, dropped: int | None = None,
                 records_lost: int | None = None, duplicates: int | None = None, recovery_s: float | None = None,
                 echo: bool = True, **figures: Any) -> dict[str, Any]:
    """Append one case's figures to the report (``figures``: the case's own, e.g. latencies) and,
    with ``echo``, print them, as the fault tests always did. Returns the line written."""
    line = {"case": case, "session": SESSION, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "placed": placed, "answered": answered, "dropped": dropped, "records_lost": records_lost,
            "duplicates": duplicates, "recovery_s": None if recovery_s is None else round(recovery_s, 2),
            "figures": figures}
    path = report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    if echo:
        print(f"\n[fault] {case}: " + ", ".join(f"{k} {v}" for k, v in _cells(line).items() if v != ""))
    return line


def read_lines(path: Path, session: str | None = None) -> list[dict[str, Any]]:
    """The report's lines (of ``session`` only, if given); torn or foreign lines are skipped."""
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and "case" in line and (session is None or line.get("session") == session):
            lines.append(line)
    return lines


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return " ".join(f"{k}={_value(v)}" for k, v in value.items())
    return str(value)


def _cells(line: Mapping[str, Any]) -> dict[str, str]:
    cells = {column: _value(line.get(column)) for column in COLUMNS}
    cells["figures"] = "; ".join(f"{k} {_value(v)}" for k, v in (line.get("figures") or {}).items())
    return cells


def render(lines: Iterable[Mapping[str, Any]]) -> str:
    """A markdown table: one row per case, the common columns, then the case's own figures."""
    header = ["case", *COLUMNS, "figures"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    count = 0
    for line in lines:
        cells = _cells(line)
        row = [str(line.get("case", "")), *(cells[c] for c in COLUMNS), cells["figures"]]
        rows.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        count += 1
    if not count:
        return "no fault case recorded\n"
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.harness.faults REPORT.jsonl", file=sys.stderr)
        return 2
    print(render(read_lines(Path(argv[0]))), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
