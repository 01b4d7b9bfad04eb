"""Work-order deadlines: time limits per category from config/workorders.yaml, on the work calendar.

The rule (also in the README):

- ``hours: N``: wall-clock, the deadline is registration plus N hours.
- ``working_days: N``: whole working days after the day of registration (in the configured time
  zone, Asia/Shanghai); the day of registration never counts, whether or not it is a workday, and
  the deadline is 23:59:59 of the N-th working day. Registered on Friday 2026-09-25 (中秋节) at
  16:00 with 5 working days: Monday 28, Tuesday 29 and Wednesday 30 September count, 1 to 7
  October are 国庆节, Thursday 8 and Friday 9 October count: due 2026-10-09 23:59:59.
- An approved extension of N working days moves the deadline to 23:59:59 of the N-th working day
  after the day it fell on (:func:`extended`).
- With ``pause_during_extension: true`` the clock stops while an extension request is pending:
  :func:`resumed` moves the deadline by the working days after the day of the request up to and
  including the day of the decision (by the wall-clock time pending, for hours limits).

Every function is pure: the calendar, the limits and the current time are arguments. A working-day
deadline that reaches a year the calendar does not know raises
:class:`~ari_app.workorders.calendar.CalendarGap`; :func:`check_config` finds that at configuration
time, before any order is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo

from ari_app.configcheck.problems import ConfigError
from ari_app.configcheck.reader import SLUG, Fields, Keys, Reader, Unique
from ari_app.configcheck.yamlnodes import read_utf8
from ari_app.workorders.calendar import CalendarGap, WorkCalendar

DEFAULT_SOURCE = "config/workorders.yaml"
DEFAULT_TIMEZONE = "Asia/Shanghai"
END_OF_DAY = time(23, 59, 59)
TOP = Keys(("time_limits", "timezone", "pause_during_extension"))
LIMIT = Keys(("name",), ("hours", "working_days"))
EXPECTED = "the time limits per category"  # what an empty file lacks
MAX_HOURS = 24 * 30
MAX_WORKING_DAYS = 60


class Unit(Enum):
    HOURS = "hours"
    WORKING_DAYS = "working_days"


@dataclass(frozen=True)
class TimeLimit:
    """How long a category of work order may take: ``amount`` wall-clock hours or working days."""

    category: str
    name: str
    unit: Unit
    amount: int

    def __str__(self) -> str:
        what = "hour" if self.unit is Unit.HOURS else "working day"
        return f"{self.amount} {what}{'' if self.amount == 1 else 's'}"


class UnknownCategory(LookupError):
    def __init__(self, category: str, known: tuple[str, ...]) -> None:
        self.category = category
        super().__init__(f"no time limit for category {category!r}; the categories are {', '.join(known)}")


@dataclass(frozen=True)
class Limits:
    """The time limits per category, the time zone they count in, and whether extensions pause."""

    time_limits: Mapping[str, TimeLimit]
    timezone: str = DEFAULT_TIMEZONE
    pause_during_extension: bool = False
    source: str = DEFAULT_SOURCE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def limit(self, category: str) -> TimeLimit:
        try:
            return self.time_limits[category]
        except KeyError:
            raise UnknownCategory(category, tuple(self.time_limits)) from None


def deadline(registered_at: datetime, category: str, calendar: WorkCalendar, limits: Limits) -> datetime:
    """When an order of ``category`` registered at ``registered_at`` (aware) is due, in the limits' zone."""
    _require_aware(registered_at, "registered_at")
    limit = limits.limit(category)
    zone = limits.zone
    if limit.unit is Unit.HOURS:
        return (registered_at.astimezone(UTC) + timedelta(hours=limit.amount)).astimezone(zone)
    day = calendar.add_workdays(registered_at.astimezone(zone).date(), limit.amount)
    return datetime.combine(day, END_OF_DAY, tzinfo=zone)


def extended(
    deadline: datetime, working_days: int, calendar: WorkCalendar, *, timezone: str = DEFAULT_TIMEZONE
) -> datetime:
    """The deadline after an approved extension: 23:59:59 of the N-th working day after its day."""
    _require_aware(deadline, "deadline")
    if working_days < 1:
        raise ValueError(f"an extension is at least 1 working day, got {working_days}")
    zone = ZoneInfo(timezone)
    day = calendar.add_workdays(deadline.astimezone(zone).date(), working_days)
    return datetime.combine(day, END_OF_DAY, tzinfo=zone)


def resumed(
    deadline: datetime,
    requested_at: datetime,
    decided_at: datetime,
    category: str,
    calendar: WorkCalendar,
    limits: Limits,
) -> datetime:
    """The deadline once an extension request made at ``requested_at`` is decided at ``decided_at``.

    Unchanged unless ``pause_during_extension`` is on. Then a working-day order gets the working
    days after the day of the request up to and including the day of the decision (none when both
    are the same day); an hours order gets the wall-clock time the request waited. Apply the approved
    extension itself with :func:`extended`.
    """
    for value, what in ((deadline, "deadline"), (requested_at, "requested_at"), (decided_at, "decided_at")):
        _require_aware(value, what)
    if not limits.pause_during_extension or decided_at <= requested_at:
        return deadline
    limit = limits.limit(category)
    zone = limits.zone
    if limit.unit is Unit.HOURS:
        return deadline + (decided_at - requested_at)
    days = calendar.workdays_between(requested_at.astimezone(zone).date(), decided_at.astimezone(zone).date())
    return extended(deadline, days, calendar, timezone=limits.timezone) if days else deadline


def check_config(calendar: WorkCalendar, limits: Limits, today: date) -> list[str]:
    """What stops deadlines being set from ``today`` on: empty when the calendar covers them.

    The calendar must know today's year and every working day up to today plus the longest
    working-day limit; in late December that means next year's block (the State Council
    publishes it in the autumn). Hours limits need no calendar.
    """
    if not calendar.covers(today):
        return [f"today ({today}): {CalendarGap(today.year, calendar.source, calendar.years)}"]
    longest = max(
        (limit for limit in limits.time_limits.values() if limit.unit is Unit.WORKING_DAYS),
        key=lambda limit: limit.amount,
        default=None,
    )
    if longest is None:
        return []
    try:
        calendar.add_workdays(today, longest.amount)
    except CalendarGap as gap:
        return [
            f"an order registered today ({today}) as {longest.name} ({longest.category}: {longest} in "
            f"{limits.source}) can fall due in {gap.year}: {gap}"
        ]
    return []


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """Past its deadline: ``now`` is later than ``deadline``."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return now > deadline


def due_within(deadline: datetime, now: datetime, hours: float = 24) -> bool:
    """Not yet overdue, and due at most ``hours`` from ``now``."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return now <= deadline <= now + timedelta(hours=hours)


def parse_limits(text: str, source: str = DEFAULT_SOURCE) -> Limits:
    """The limits in ``text``; every problem in it raises one ConfigError that lists them all."""
    r = Reader(source)
    root = r.document(text, EXPECTED)
    top = r.mapping(root, "", TOP) if root is not None else None
    limits: dict[str, TimeLimit] = {}
    timezone = pause = None
    if top is not None:
        timezone = top.timezone("timezone")
        pause = top.boolean("pause_during_extension")
        names = Unique("category name")
        for category, key_node, node in top.get("time_limits", r.entries) or []:
            path = top.at("time_limits") + f".{category}"
            if not SLUG.fullmatch(category):
                r.problem(key_node, path, "a category id is lowercase a-z, 0-9 and -, e.g. complaint")
                continue
            f = r.mapping(node, path, LIMIT)
            if f is None:
                continue
            name = f.text("name")
            names.check(f, "name", name)
            limit = _limit(category, name, f)
            if limit is not None:
                limits[category] = limit
        if top.has("time_limits") and not limits and not r.problems:
            top.problem("time_limits", "no category listed: give at least one time limit")
    if r.problems or timezone is None or pause is None:
        raise ConfigError(r.problems)
    return Limits(limits, timezone, pause, source)


def load_limits(path: Path) -> Limits:
    return parse_limits(read_utf8(path), str(path))


def _limit(category: str, name: str | None, f: Fields) -> TimeLimit | None:
    given = [unit for unit in Unit if f.has(unit.value)]
    if len(given) != 1:
        both = "not both" if given else "one is missing"
        f.reader.problem(f.node, f.path, f"give either hours (wall-clock) or working_days: {both}")
        return None
    unit = given[0]
    high = MAX_HOURS if unit is Unit.HOURS else MAX_WORKING_DAYS
    amount = f.integer(unit.value, 1, high)
    if name is None or amount is None:
        return None
    return TimeLimit(category, name, unit, amount)


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must carry its time zone (an aware datetime), got {value.isoformat()}")
