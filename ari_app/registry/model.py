"""The validated hotline registry (config/hotlines.yaml).

Plain frozen dataclasses; :mod:`ari_app.registry.loader` builds them from YAML and reports every
problem with file, line and field path. Nothing here touches Asterisk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Mode(StrEnum):
    """How a department line was merged, as the plan's attachment lists it."""

    WHOLE_MERGE_TRANSITION = "whole_merge_transition"  # seats merged, half-year transition, then cancelled (11)
    WHOLE_MERGE_CANCELLED = "whole_merge_cancelled"  # number cancelled directly, calls already forwarded (4)
    DUAL_MERGED_SEATS = "dual_merged_seats"  # 12328: number kept, seats in 12345 with an expert group (1)
    DUAL_DEPARTMENT_SEATS = "dual_department_seats"  # number and seats kept by the department (5)
    SUBCENTER = "subcenter"  # vertically managed agency: number and seats kept, 7x24 (3)


class AfterCancel(StrEnum):
    """What a call to a cancelled (after transition) number does after the intercept notice."""

    INTAKE = "intake"
    HANGUP = "hangup"


@dataclass(frozen=True)
class Liaison:
    name: str
    title: str
    phone: str


@dataclass(frozen=True)
class DepartmentLine:
    """The SIP line to seats a department (or sub-center) keeps."""

    endpoint: str  # PJSIP endpoint name, e.g. dept-12333
    contact: str  # SIP URI of the department's PBX or phone, e.g. sip:12333@10.1.2.3:5060
    short_code: str  # two digits an agent dials after *3 to bring this department in


@dataclass(frozen=True)
class Department:
    id: str
    name: str  # the responsible unit, as the plan names it (市民政局 ...)
    liaison: Liaison
    line: DepartmentLine | None = None
    record_calls: bool = False  # record three-party calls with this department


@dataclass(frozen=True)
class Transition:
    start: date
    end: date


@dataclass(frozen=True)
class Hotline:
    number: str
    name: str
    department: str  # Department.id
    mode: Mode
    measure: str  # 归并措施, the plan's words
    annual_volume: int  # calls a year (sample values, see Registry.volumes_are_samples)
    seconded_staff: int  # staff the department seconds to 12345 (0 where seats are kept)
    transition: Transition | None = None  # WHOLE_MERGE_TRANSITION only
    after_cancel: AfterCancel = AfterCancel.INTAKE  # WHOLE_MERGE_TRANSITION only
    expert_group: str | None = None  # DUAL_MERGED_SEATS: the group that answers first
    ring_timeout: int | None = None  # DUAL_DEPARTMENT_SEATS / SUBCENTER: seconds before 12345 takes over


@dataclass(frozen=True)
class Platform:
    number: str
    name: str
    timezone: str
    service_hours: str
    plan: str
    merger_deadline: date


@dataclass(frozen=True)
class Registry:
    platform: Platform
    departments: dict[str, Department]
    hotlines: dict[str, Hotline]  # by number, in file order
    expert_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> department ids
    department_ring_timeout: int = 20
    volumes_are_samples: bool = True
    source: str = ""  # the file it was loaded from

    def hotline(self, number: str) -> Hotline | None:
        return self.hotlines.get(number)

    def department_of(self, hotline: Hotline) -> Department:
        return self.departments[hotline.department]

    def department_for(self, target: str) -> Department | None:
        """The department an agent names: by the two-digit short code of a department that keeps
        its seats, by department id, or by a hotline number it answers for."""
        for department in self.departments.values():
            if department.line is not None and department.line.short_code == target:
                return department
        if target in self.departments:
            return self.departments[target]
        line = self.hotlines.get(target)
        return self.departments.get(line.department) if line is not None else None

    def count_by_mode(self) -> dict[Mode, int]:
        counts = {mode: 0 for mode in Mode}
        for line in self.hotlines.values():
            counts[line.mode] += 1
        return counts


def required_seconded_staff(annual_volume: int) -> int:
    """The least staff a department seconds to 12345 for a line with this many calls a year.

    The plan: "年受理量500件以下的至少选派1人;年受理量500-2000件的至少选派2人;年受理量在2000件
    以上的至少选派3人". Read as Chinese rules are, 以上 and 以下 include the stated figure, so two
    bands share 500 and two share 2000, and there the stricter applies: up to 499 calls a year at
    least 1, 500 to 1999 at least 2, 2000 or more at least 3.
    """
    if annual_volume >= 2000:
        return 3
    if annual_volume >= 500:
        return 2
    return 1
