"""The staffing report, pure: seconded staff per merged number by the plan's rule, against the seats.

The plan (菏政办字〔2021〕27号): a department seconds staff to 12345 by its old line's yearly volume,
年受理量500件以下至少1人, 500-2000件至少2人, 2000件以上至少3人 (:func:`required_seconded_staff`:
up to 499 calls a year 1, 500-1999 2, 2000 or more 3), and 市交通运输局 at least 3 for the 12328
expert seats. The merged numbers are the registry's lines with ``seconded_staff`` > 0 or a mode
whose seats moved into 12345 (``whole_merge_*``, ``dual_merged_seats``).

Yearly volume (the annualisation rule): where the call records hold calls to a number (``calls``
rows with that dialled ``hotline``), its volume is those calls / the covered span in days x 365,
rounded to the nearest whole call (halves up). The span runs from the first call record of any
number to now, and is at least 1 day. A number without a call record keeps the registry's sample
``annual_volume``.

Seats: a department's agents are those of ``config/seats.yaml`` ``seconded_by`` it, together with
the agents of its lines' expert groups (12328: ``transport-experts``), each agent once. A department
with several lines shows each line's own requirement and needs their sum; it is short by what its
agents lack of that sum, or by what an expert group lacks of its line's requirement if that is more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ari_app.registry.loader import DUAL_MERGED_MIN_STAFF, SECONDED_SEATS
from ari_app.registry.model import Hotline, Mode, Registry, required_seconded_staff
from ari_app.reports.orders import OrderFact, OrderFigures, order_figures
from ari_app.seats.model import Agent, Seats

SECONDS_A_DAY = 86400
DAYS_A_YEAR = 365
MIN_SPAN_DAYS = 1.0
ANNUALISATION = (
    "calls to the number / days from the first call record of any number to now (at least 1) x 365, "
    "rounded; the registry's sample annual_volume where the number has no call record"
)


@dataclass(frozen=True)
class ReportFacts:
    """What the database holds for the report (read by :mod:`ari_app.reports.queries`)."""

    now: datetime
    calls: Mapping[str, int]  # dialled number -> call records
    first_call: datetime | None  # the earliest call record of any number
    orders: Sequence[OrderFact] = ()
    returns: Mapping[str, int] = field(default_factory=dict)  # department id -> times it sent an order back
    manual_visits: Mapping[str, int] = field(default_factory=dict)  # department id -> visits on the manual list
    callbacks: Mapping[str, int] = field(default_factory=dict)  # requested, waiting, connected, failed


def span_days(first_call: datetime | None, now: datetime) -> float:
    """Days the call records cover: from the first one to now, at least 1."""
    if first_call is None:
        return MIN_SPAN_DAYS
    return max((now - first_call).total_seconds() / SECONDS_A_DAY, MIN_SPAN_DAYS)


def annualised(calls: int, days: float) -> int:
    """``calls`` over ``days`` as calls a year, rounded half up."""
    return math.floor(calls * DAYS_A_YEAR / days + 0.5)


def is_merged(line: Hotline) -> bool:
    """A number whose department seconds staff to 12345."""
    return line.seconded_staff > 0 or line.mode in SECONDED_SEATS


def line_requirement(line: Hotline, volume: int) -> int:
    """The least seconded staff for ``line`` at ``volume`` calls a year (12328's expert seats: at least 3)."""
    required = required_seconded_staff(volume)
    return max(required, DUAL_MERGED_MIN_STAFF) if line.mode is Mode.DUAL_MERGED_SEATS else required


def in_group(agents: Sequence[Agent], group: str) -> list[Agent]:
    return [agent for agent in agents if group in agent.groups]


@dataclass(frozen=True)
class LineStaffing:
    number: str
    name: str
    mode: Mode
    calls: int  # call records to the number
    volume: int  # calls a year: annualised from the records, or the registry's sample
    from_calls: bool  # False: the sample
    sample_volume: int
    required: int  # by the plan's rule, for this line alone
    registry_staff: int  # the registry's seconded_staff
    expert_group: str | None = None
    expert_seats: int | None = None  # agents in the expert group

    @property
    def expert_short(self) -> int:
        return 0 if self.expert_seats is None else max(self.required - self.expert_seats, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "name": self.name, "mode": self.mode.value, "calls": self.calls,
            "volume": self.volume, "volume_source": "calls" if self.from_calls else "sample",
            "sample_volume": self.sample_volume, "required": self.required, "registry_staff": self.registry_staff,
            "expert_group": self.expert_group, "expert_seats": self.expert_seats,
        }


@dataclass(frozen=True)
class DepartmentStaffing:
    department: str  # id
    name: str
    lines: tuple[LineStaffing, ...]
    agents: int  # seconded by it, or in its lines' expert groups, each once

    @property
    def required(self) -> int:
        return sum(line.required for line in self.lines)

    @property
    def registry_staff(self) -> int:
        return sum(line.registry_staff for line in self.lines)

    @property
    def short(self) -> int:
        return max(self.required - self.agents, *(line.expert_short for line in self.lines), 0)

    @property
    def status(self) -> str:
        return f"short by {self.short}" if self.short else "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "department": self.department, "name": self.name, "lines": [line.to_json() for line in self.lines],
            "required": self.required, "registry_staff": self.registry_staff, "agents": self.agents,
            "short": self.short, "status": self.status,
        }


def line_staffing(line: Hotline, calls: Mapping[str, int], days: float, agents: Sequence[Agent]) -> LineStaffing:
    count = calls.get(line.number, 0)
    volume = annualised(count, days) if count else line.annual_volume
    experts = None if line.expert_group is None else len(in_group(agents, line.expert_group))
    return LineStaffing(
        line.number, line.name, line.mode, count, volume, count > 0, line.annual_volume,
        line_requirement(line, volume), line.seconded_staff, line.expert_group, experts,
    )


def department_agents(department: str, lines: Sequence[Hotline], agents: Sequence[Agent]) -> set[str]:
    """Ids of the agents seconded by ``department`` or in an expert group of its lines."""
    groups = {line.expert_group for line in lines if line.expert_group}
    return {a.id for a in agents if a.seconded_by == department or groups.intersection(a.groups)}


def staffing(registry: Registry, seats: Seats, calls: Mapping[str, int], days: float) -> list[DepartmentStaffing]:
    """Per department with a merged number (in the registry's order of lines): its lines and its agents."""
    by_department: dict[str, list[Hotline]] = {}
    for line in registry.hotlines.values():
        if is_merged(line):
            by_department.setdefault(line.department, []).append(line)
    out: list[DepartmentStaffing] = []
    for department, lines in by_department.items():
        figures = tuple(line_staffing(line, calls, days, seats.agents) for line in lines)
        agents = len(department_agents(department, lines, seats.agents))
        out.append(DepartmentStaffing(department, registry.departments[department].name, figures, agents))
    return out


@dataclass(frozen=True)
class StaffingReport:
    now: datetime
    first_call: datetime | None
    days: float | None  # the span the call records cover; None without any
    total_calls: int
    departments: tuple[DepartmentStaffing, ...]
    orders: tuple[OrderFigures, ...]
    callbacks: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.now.isoformat(),
            "calls": {
                "total": self.total_calls,
                "first_call": self.first_call.isoformat() if self.first_call else None,
                "span_days": None if self.days is None else round(self.days, 3),
                "annualisation": ANNUALISATION,
            },
            "departments": [d.to_json() for d in self.departments],
            "work_orders": [o.to_json() for o in self.orders],
            "callbacks": dict(self.callbacks),
        }


def build_report(registry: Registry, seats: Seats, facts: ReportFacts) -> StaffingReport:
    """The whole report: staffing per merged department, work-order figures per registry department.
    Times are shown in the platform's timezone (Asia/Shanghai)."""
    total = sum(facts.calls.values())
    days = span_days(facts.first_call, facts.now)
    names = {d.id: d.name for d in registry.departments.values()}
    zone = ZoneInfo(registry.platform.timezone)
    first = facts.first_call.astimezone(zone) if facts.first_call is not None else None
    return StaffingReport(
        facts.now.astimezone(zone), first, days if total else None, total,
        tuple(staffing(registry, seats, facts.calls, days)),
        tuple(order_figures(names, facts.orders, facts.returns, facts.now, facts.manual_visits)),
        facts.callbacks,
    )
