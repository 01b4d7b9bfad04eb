"""Readable work-order numbers: ``YYYYMMDD-NNNNNN``, the Asia/Shanghai day of registration and a
six-digit sequence that starts at 1 every day (the sequence itself comes from PostgreSQL).

``20261130-000123`` is the 123rd order registered on 30 November 2026, Beijing time. HTTP paths
take numbers through :func:`parse_number`, which accepts only that exact form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Shanghai")
MAX_SEQUENCE = 999_999
_FORM = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})-([0-9]{6})")  # ASCII digits only: \d takes ４ and ٤ too


class InvalidNumber(ValueError):
    """Text that is not a work-order number, or a day and sequence that make none."""


@dataclass(frozen=True, order=True)
class OrderNumber:
    day: date
    seq: int

    def __str__(self) -> str:
        return format_number(self.day, self.seq)


def format_number(day: date, seq: int) -> str:
    """``(date(2026, 11, 30), 123)`` -> ``"20261130-000123"``. The day is already Beijing's (see :func:`day_of`)."""
    if isinstance(day, datetime):
        raise InvalidNumber(f"a work-order number takes a day, not a time ({day.isoformat()}): use day_of()")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQUENCE:
        raise InvalidNumber(f"sequence {seq!r} is outside 1..{MAX_SEQUENCE}")
    return f"{day.year:04d}{day.month:02d}{day.day:02d}-{seq:06d}"


def parse_number(text: str) -> OrderNumber:
    """``"20261130-000123"`` -> ``OrderNumber(date(2026, 11, 30), 123)``; anything else -> InvalidNumber."""
    match = _FORM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidNumber(f"{text!r} is not a work-order number (YYYYMMDD-NNNNNN, e.g. 20261130-000123)")
    year, month, day, seq = (int(part) for part in match.groups())
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise InvalidNumber(f"{text!r} is not a work-order number: {match.group(1)}{match.group(2)}"
                            f"{match.group(3)} is not a date") from None
    if seq == 0:
        raise InvalidNumber(f"{text!r} is not a work-order number: sequences start at 000001")
    return OrderNumber(parsed, seq)


def is_number(text: str) -> bool:
    try:
        parse_number(text)
    except InvalidNumber:
        return False
    return True


def day_of(at: datetime) -> date:
    """The Asia/Shanghai day of an instant: the day a number is issued for. A naive time is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone: which day it is in Beijing is unknown")
    return at.astimezone(TIMEZONE).date()
