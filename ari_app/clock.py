"""What day it is, for decisions that depend on the date (number lifecycle, deadlines).

``HOTLINE_TODAY=YYYY-MM-DD`` pins the date, so a tester or an operator can rehearse how calls
route on a given day (before and after a transition ends) without touching the system clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def today(self, timezone: str) -> date: ...


class SystemClock:
    def today(self, timezone: str) -> date:
        return datetime.now(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class FixedClock:
    day: date

    def today(self, timezone: str) -> date:
        return self.day


def clock_from_setting(value: str) -> Clock:
    """``""`` -> the system clock; ``YYYY-MM-DD`` -> that day. ValueError otherwise."""
    if not value:
        return SystemClock()
    return FixedClock(date.fromisoformat(value))
