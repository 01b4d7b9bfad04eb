"""The working-day calendar of mainland China, read from config/calendar.yaml.

A day is a workday when it is a Monday to Friday that is not a public holiday, or a Saturday or
Sunday listed as a make-up workday (调休上班). The file holds one block per year, as the State
Council publishes them (see the file's header). A question about a year the file has no block for
raises :class:`CalendarGap`: the calendar never guesses.

Problems in the file raise :class:`~ari_app.configcheck.problems.ConfigError` with file, line and
field path, like the registry's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path

from ari_app.configcheck.problems import ConfigError
from ari_app.configcheck.reader import Fields, Keys, Reader, Unique
from ari_app.configcheck.yamlnodes import line_of, read_utf8

DEFAULT_SOURCE = "config/calendar.yaml"
TOP = Keys(("years",))
YEAR = Keys(("year", "holidays"), ("notice", "make_up_workdays"))
HOLIDAY = Keys(("name", "from"), ("to",))
MAKE_UP = Keys(("date", "name"))
EXPECTED = "the years with their holidays"  # what an empty file lacks
FIRST_YEAR, LAST_YEAR = 2000, 2100
LONGEST_HOLIDAY = 31  # days: a longer range is a typo (a month or a year written wrong)
SATURDAY, SUNDAY = 5, 6
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class CalendarGap(LookupError):
    """A date in a year the calendar has no block for: the operator must add that year."""

    def __init__(self, year: int, source: str, known: tuple[int, ...]) -> None:
        self.year = year
        self.source = source
        self.known = known
        listed = ", ".join(str(y) for y in known) or "none"
        super().__init__(
            f"the work calendar {source} does not know the year {year} (it lists {listed}): add the State "
            f"Council's holiday arrangement for {year} (国务院办公厅关于{year}年部分节假日安排的通知) "
            f"as a year block to {source}"
        )


class WorkCalendar:
    """Workdays and rest days for the years the calendar knows; any other year is a CalendarGap."""

    def __init__(
        self,
        years: frozenset[int],
        holidays: Mapping[date, str],
        make_up_workdays: Mapping[date, str],
        source: str = DEFAULT_SOURCE,
    ) -> None:
        self._years = years
        self._holidays = dict(holidays)
        self._make_up = dict(make_up_workdays)
        self.source = source

    @property
    def years(self) -> tuple[int, ...]:
        """The years the calendar knows, in order."""
        return tuple(sorted(self._years))

    def covers(self, day: date) -> bool:
        return day.year in self._years

    def require(self, day: date) -> None:
        """Raise :class:`CalendarGap` unless the calendar knows the year of ``day``."""
        if isinstance(day, datetime):  # a datetime is a date too, but would never match a listed day
            raise TypeError(f"expected a date, got the datetime {day.isoformat()}: take its .date() in Asia/Shanghai")
        if not self.covers(day):
            raise CalendarGap(day.year, self.source, self.years)

    def is_workday(self, day: date) -> bool:
        self.require(day)
        if day in self._make_up:
            return True
        return day.weekday() < SATURDAY and day not in self._holidays

    def holiday(self, day: date) -> str | None:
        """The festival a day off belongs to (春节, ...), or None for any other day."""
        self.require(day)
        return self._holidays.get(day)

    def next_workday(self, day: date) -> date:
        """The first workday after ``day`` (never ``day`` itself)."""
        return self.add_workdays(day, 1)

    def add_workdays(self, day: date, count: int) -> date:
        """The ``count``-th workday after ``day`` (``day`` itself is not counted); ``day`` for 0."""
        if count < 0:
            raise ValueError(f"count must be at least 0, got {count}")
        found = 0
        while found < count:
            day += timedelta(days=1)
            if self.is_workday(day):
                found += 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """How many workdays lie after ``start`` up to and including ``end`` (0 when end <= start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count


def parse_calendar(text: str, source: str = DEFAULT_SOURCE) -> WorkCalendar:
    """The calendar in ``text``; every problem in it raises one ConfigError that lists them all."""
    r = Reader(source)
    root = r.document(text, EXPECTED)
    top = r.mapping(root, "", TOP) if root is not None else None
    years: set[int] = set()
    holidays: dict[date, str] = {}
    make_up: dict[date, str] = {}
    if top is not None:
        unique_years = Unique("year")
        for node, path in top.sequence("years"):
            f = r.mapping(node, path, YEAR)
            if f is None:
                continue
            year = f.integer("year", FIRST_YEAR, LAST_YEAR)
            if year is None:
                continue
            unique_years.check(f, "year", str(year))
            if year in years:
                continue
            years.add(year)
            if f.has("notice"):
                f.text("notice")
            _Block(r, year, holidays, make_up).read(f)
        if top.has("years") and not years and not r.problems:
            top.problem("years", "no year listed: give at least one year block")
    if r.problems:
        raise ConfigError(r.problems)
    return WorkCalendar(frozenset(years), holidays, make_up, source)


def load_calendar(path: Path) -> WorkCalendar:
    return parse_calendar(read_utf8(path), str(path))


class _Block:
    """Reads one year's holidays and make-up workdays into the calendar's maps, checking each date."""

    def __init__(self, r: Reader, year: int, holidays: dict[date, str], make_up: dict[date, str]) -> None:
        self.r = r
        self.year = year
        self.holidays = holidays
        self.make_up = make_up
        self.holiday_lines: dict[date, int] = {}
        self.make_up_lines: dict[date, int] = {}

    def read(self, f: Fields) -> None:
        for node, path in f.sequence("holidays"):
            entry = self.r.mapping(node, path, HOLIDAY)
            if entry is not None:
                self._holiday(entry)
        for node, path in f.sequence("make_up_workdays"):
            entry = self.r.mapping(node, path, MAKE_UP)
            if entry is not None:
                self._make_up(entry)

    def _in_year(self, f: Fields, key: str) -> date | None:
        day = f.date(key)
        if day is not None and day.year != self.year:
            f.problem(key, f"{day} is not in {self.year}: list it in the block of {day.year}")
            return None
        return day

    def _holiday(self, f: Fields) -> None:
        name = f.text("name")
        first = self._in_year(f, "from")
        last = self._in_year(f, "to") if f.has("to") else first
        if first is None or last is None:
            return
        if last < first:
            f.problem("to", f"{last} is before from ({first})")
            return
        days = (last - first).days + 1
        if days > LONGEST_HOLIDAY:
            f.problem("to", f"the holiday spans {days} days ({first} to {last}); more than {LONGEST_HOLIDAY} is a typo")
            return
        line = line_of(f.node)
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day in self.holiday_lines:
                f.problem("from", f"{day} is already a holiday ({self._where(day)})")
                continue
            self.holiday_lines[day] = line
            if name is not None:
                self.holidays[day] = name

    def _make_up(self, f: Fields) -> None:
        name = f.text("name")
        day = self._in_year(f, "date")
        if day is None:
            return
        if day in self.holiday_lines:
            f.problem("date", f"{day} is both a holiday ({self._where(day)}) and a make-up workday")
            return
        if day.weekday() not in (SATURDAY, SUNDAY):
            f.problem("date", f"{day} is a {_WEEKDAYS[day.weekday()]}: a make-up workday must be a Saturday or Sunday")
            return
        if day in self.make_up_lines:
            f.problem("date", f"{day} is already a make-up workday (line {self.make_up_lines[day]})")
            return
        self.make_up_lines[day] = line_of(f.node)
        if name is not None:
            self.make_up[day] = name

    def _where(self, day: date) -> str:
        name = self.holidays.get(day)
        return f"{name}, line {self.holiday_lines[day]}" if name else f"line {self.holiday_lines[day]}"
