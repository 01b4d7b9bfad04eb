"""ari_app.workorders.calendar: config/calendar.yaml against the chinesecalendar package day by day,
the gap for a year the file does not list, and every kind of problem in the file with its line."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from ari_app.configcheck.problems import ConfigError, Problem
from ari_app.workorders.calendar import CalendarGap, WorkCalendar, load_calendar, parse_calendar

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(ROOT / "config" / "calendar.yaml")
SOURCE = "config/calendar.yaml"


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


# the shipped file against the State Council data carried by chinesecalendar


def test_the_file_knows_2025_and_2026() -> None:
    assert CALENDAR.years == (2025, 2026)
    assert CALENDAR.source.endswith("config/calendar.yaml")


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_agrees_with_chinesecalendar(year: int) -> None:
    days = _days(year)
    assert len(days) == 365
    wrong = [(d, CALENDAR.is_workday(d)) for d in days if CALENDAR.is_workday(d) != chinese_calendar.is_workday(d)]
    assert wrong == []


@pytest.mark.parametrize("year", [2025, 2026])
def test_holidays_and_make_up_workdays_are_exactly_chinesecalendars(year: int) -> None:
    ours = {d for d in _days(year) if CALENDAR.holiday(d) is not None}
    theirs = {d for d in chinese_calendar.holidays if d.year == year}
    assert ours == theirs
    make_up = {d for d in _days(year) if d.weekday() >= 5 and CALENDAR.is_workday(d)}
    assert make_up == {d for d in chinese_calendar.workdays if d.year == year}


@pytest.mark.parametrize("year", [2025, 2026])
def test_holiday_names_are_the_festivals_of_chinesecalendar(year: int) -> None:
    for day in _days(year):
        name = CALENDAR.holiday(day)
        if name is None:
            continue
        on_holiday, festival = chinese_calendar.get_holiday_detail(day)
        assert on_holiday
        # chinesecalendar's short names: 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆节
        assert chinese_calendar.Holiday(festival).chinese in name, (day, name, festival)


def test_known_days_of_2026() -> None:
    assert CALENDAR.is_workday(date(2026, 2, 14))  # Saturday, 春节 make-up workday
    assert CALENDAR.is_workday(date(2026, 10, 10))  # Saturday, 国庆节 make-up workday
    assert CALENDAR.is_workday(date(2026, 9, 20))  # Sunday, 国庆节 make-up workday
    assert CALENDAR.is_workday(date(2026, 1, 4))  # Sunday, 元旦 make-up workday
    assert not CALENDAR.is_workday(date(2026, 10, 1))
    assert CALENDAR.holiday(date(2026, 10, 1)) == "国庆节"
    assert CALENDAR.holiday(date(2026, 9, 25)) == "中秋节"  # a Friday
    assert CALENDAR.holiday(date(2026, 2, 17)) == "春节"
    assert not CALENDAR.is_workday(date(2026, 3, 7))  # an ordinary Saturday
    assert CALENDAR.holiday(date(2026, 3, 7)) is None
    assert CALENDAR.is_workday(date(2026, 3, 9))  # an ordinary Monday
    assert CALENDAR.holiday(date(2025, 10, 6)) == "国庆节、中秋节"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 6), date(2026, 3, 9)),  # Friday -> Monday
        (date(2026, 3, 7), date(2026, 3, 9)),  # Saturday -> Monday
        (date(2026, 9, 30), date(2026, 10, 8)),  # over 国庆节
        (date(2026, 10, 9), date(2026, 10, 10)),  # Friday -> the make-up Saturday
        (date(2026, 2, 13), date(2026, 2, 14)),  # Friday -> the make-up Saturday before 春节
        (date(2026, 2, 14), date(2026, 2, 24)),  # over 春节
        (date(2025, 12, 31), date(2026, 1, 4)),  # over the year's end and 元旦, to a make-up Sunday
    ],
)
def test_next_workday(day: date, expected: date) -> None:
    assert CALENDAR.next_workday(day) == expected


def test_add_workdays_and_workdays_between() -> None:
    assert CALENDAR.add_workdays(date(2026, 9, 30), 0) == date(2026, 9, 30)
    assert CALENDAR.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert CALENDAR.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert CALENDAR.workdays_between(date(2026, 10, 10), date(2026, 9, 30)) == 0
    with pytest.raises(ValueError):
        CALENDAR.add_workdays(date(2026, 9, 30), -1)
    with pytest.raises(TypeError, match="expected a date, got the datetime"):
        CALENDAR.is_workday(datetime(2026, 10, 10, 9))


# a year the file does not list


def test_a_year_not_listed_is_a_calendar_gap_naming_year_and_file() -> None:
    with pytest.raises(CalendarGap) as caught:
        CALENDAR.is_workday(date(2027, 1, 4))  # a Monday, but nobody knows 2027's holidays yet
    gap = caught.value
    assert gap.year == 2027
    assert gap.source == CALENDAR.source
    assert "2027" in str(gap) and "config/calendar.yaml" in str(gap)
    assert "国务院办公厅关于2027年部分节假日安排的通知" in str(gap)
    with pytest.raises(CalendarGap, match="2024"):
        CALENDAR.holiday(date(2024, 12, 31))
    with pytest.raises(CalendarGap, match="2027"):
        CALENDAR.next_workday(date(2026, 12, 31))  # Thursday; the next day is in 2027


def test_an_operator_adds_a_year_by_adding_its_block() -> None:
    text = (ROOT / "config" / "calendar.yaml").read_text(encoding="utf-8") + (
        "  - year: 2027  # made up for this test, not the State Council's arrangement\n"
        "    holidays:\n"
        "      - {name: 元旦, from: 2027-01-01}\n"
    )
    calendar = parse_calendar(text, SOURCE)
    assert calendar.years == (2025, 2026, 2027)
    assert calendar.next_workday(date(2026, 12, 31)) == date(2027, 1, 4)
    assert calendar.is_workday(date(2026, 10, 10))


# problems in the file, with their lines

BASE = textwrap.dedent(
    """\
    years:
      - year: 2026
        notice: 国务院办公厅关于2026年部分节假日安排的通知
        holidays:
          - {name: 元旦, from: 2026-01-01, to: 2026-01-03}
          - {name: 国庆节, from: 2026-10-01, to: 2026-10-07}
        make_up_workdays:
          - {date: 2026-01-04, name: 元旦}
          - {date: 2026-10-10, name: 国庆节}
    """
)


@dataclass(frozen=True)
class Case:
    id: str
    old: str
    new: str
    line: int
    path: str
    message: str  # a substring of the problem's message


CASES = [
    Case("yaml-syntax", "  - year: 2026", "  - year: [2026", 3, "<document>", "invalid YAML"),
    Case("unknown-key", "    notice:", "    notise:", 3, "years[0].notise", "unknown key (did you mean 'notice'?)"),
    Case("year-not-an-integer", "  - year: 2026", '  - year: "2026"', 2, "years[0].year",
         "expected an integer, got the string '2026'"),
    Case("holiday-outside-its-year", "from: 2026-10-01", "from: 2025-10-01", 6, "years[0].holidays[1].from",
         "2025-10-01 is not in 2026: list it in the block of 2025"),
    Case("make-up-outside-its-year", "{date: 2026-10-10", "{date: 2027-10-09", 9,
         "years[0].make_up_workdays[1].date", "2027-10-09 is not in 2026"),
    Case("both-holiday-and-make-up", "{date: 2026-10-10", "{date: 2026-10-03", 9,
         "years[0].make_up_workdays[1].date", "2026-10-03 is both a holiday (国庆节, line 6) and a make-up workday"),
    Case("make-up-on-a-weekday", "{date: 2026-10-10", "{date: 2026-10-09", 9, "years[0].make_up_workdays[1].date",
         "2026-10-09 is a Friday: a make-up workday must be a Saturday or Sunday"),
    Case("holiday-name-empty", "{name: 国庆节, from", '{name: "", from', 6, "years[0].holidays[1].name",
         "must not be empty"),
    Case("make-up-name-missing", "{date: 2026-10-10, name: 国庆节}", "{date: 2026-10-10}", 9,
         "years[0].make_up_workdays[1].name", "missing required key"),
    Case("to-before-from", "to: 2026-10-07", "to: 2026-09-07", 6, "years[0].holidays[1].to",
         "2026-09-07 is before from (2026-10-01)"),
    Case("range-too-long", "to: 2026-01-03", "to: 2026-12-03", 5, "years[0].holidays[0].to",
         "the holiday spans 337 days"),
    Case("overlapping-holidays", "from: 2026-10-01, to: 2026-10-07", "from: 2026-01-03, to: 2026-01-05", 6,
         "years[0].holidays[1].from",
         "2026-01-03 is already a holiday (元旦, line 5)"),
    Case("not-a-date", "from: 2026-10-01", "from: 2026-10-32", 6, "years[0].holidays[1].from",
         "not a valid date (YYYY-MM-DD): '2026-10-32'"),
    Case("holidays-not-a-list", "    holidays:\n", "    holidays: 春节\n    old_holidays:\n", 4,
         "years[0].holidays", "expected a list, got the string '春节'"),
]


def _problems(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        parse_calendar(text, SOURCE)
    return caught.value.problems


def test_base_is_valid() -> None:
    calendar = parse_calendar(BASE, SOURCE)
    assert calendar.years == (2026,)
    assert calendar.is_workday(date(2026, 10, 10))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_problem_with_line_and_path(case: Case) -> None:
    assert BASE.count(case.old) == 1, case.old
    problems = _problems(BASE.replace(case.old, case.new))
    found = [p for p in problems if p.line == case.line and p.path == case.path and case.message in p.message]
    assert found, "\n".join(str(p) for p in problems)
    assert all(p.file == SOURCE for p in problems)


def test_duplicate_year_names_the_first() -> None:
    text = BASE + "  - year: 2026\n    holidays: []\n"
    (problem,) = _problems(text)
    assert str(problem) == "config/calendar.yaml:10: years[1].year: duplicate year '2026' (first at line 2)"


def test_every_problem_is_reported_at_once() -> None:
    text = BASE.replace("{date: 2026-10-10", "{date: 2026-10-09").replace("{name: 元旦, from", '{name: "", from')
    problems = _problems(text)
    assert [(p.line, p.path) for p in problems] == [
        (5, "years[0].holidays[0].name"),
        (9, "years[0].make_up_workdays[1].date"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty: expected the years with their holidays"),
        ("years: []\n", "years: no year listed"),
        ("year: 2026\n", "year: unknown key (did you mean 'years'?)"),
    ],
)
def test_file_level_problems(text: str, message: str) -> None:
    assert any(message in str(p) for p in _problems(text))


def test_load_reports_the_path_and_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_bytes(BASE.replace("元旦, from", "x, from").encode("utf-8") + "    # 注释\n".encode("gbk"))
    with pytest.raises(ConfigError) as caught:
        load_calendar(path)
    assert str(caught.value).startswith(f"{path}:10: <document>: not UTF-8 text: invalid")
    path.write_text(BASE.replace("{date: 2026-10-10", "{date: 2026-10-09"), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}:9: "):
        load_calendar(path)


def test_a_calendar_is_built_from_plain_maps_too() -> None:
    calendar = WorkCalendar(frozenset({2026}), {date(2026, 10, 1): "国庆节"}, {date(2026, 10, 10): "国庆节"}, "x.yaml")
    assert not calendar.is_workday(date(2026, 10, 1))
    assert calendar.is_workday(date(2026, 10, 10))
    with pytest.raises(CalendarGap, match=r"x\.yaml"):
        calendar.is_workday(date(2025, 10, 1))
