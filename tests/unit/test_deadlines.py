"""ari_app.workorders.deadlines: deadlines on the shipped calendar and limits, checked against dates
worked out by hand from the State Council's 2025 and 2026 arrangements (each case says how)."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ari_app.configcheck.problems import ConfigError, Problem
from ari_app.workorders.calendar import CalendarGap, load_calendar
from ari_app.workorders.deadlines import (
    Limits,
    TimeLimit,
    Unit,
    UnknownCategory,
    check_config,
    deadline,
    due_within,
    extended,
    is_overdue,
    load_limits,
    parse_limits,
    resumed,
)

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(ROOT / "config" / "calendar.yaml")
LIMITS = load_limits(ROOT / "config" / "workorders.yaml")
PAUSING = dataclasses.replace(LIMITS, pause_during_extension=True)
BEIJING = timezone(timedelta(hours=8))
SOURCE = "config/workorders.yaml"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BEIJING)


def end_of(year: int, month: int, day: int) -> datetime:
    return at(year, month, day, 23, 59, 59)


def test_the_shipped_limits() -> None:
    assert LIMITS.timezone == "Asia/Shanghai"
    assert LIMITS.pause_during_extension is False
    assert {c: (lim.name, str(lim)) for c, lim in LIMITS.time_limits.items()} == {
        "urgent": ("紧急", "2 hours"),
        "enquiry": ("咨询", "1 working day"),
        "request": ("求助", "5 working days"),
        "complaint": ("投诉", "5 working days"),
        "suggestion": ("建议", "5 working days"),
        "report": ("举报", "5 working days"),
    }


# hand-worked working-day deadlines: (registered, category, due, how)
HAND_WORKED = [
    (at(2026, 9, 25, 16), "complaint", end_of(2026, 10, 9),
     "Fri 25 Sep is 中秋节 (26-27 too); Mon 28, Tue 29, Wed 30 Sep; 1-7 Oct 国庆节; Thu 8, Fri 9 Oct"),
    (at(2026, 9, 30, 10), "complaint", end_of(2026, 10, 13),
     "1-7 Oct 国庆节; Thu 8, Fri 9, Sat 10 (make-up workday), Mon 12, Tue 13 Oct"),
    (at(2026, 9, 18, 16), "request", end_of(2026, 9, 24),
     "Fri 18 Sep; Sat 19 rests; Sun 20 (make-up workday), Mon 21, Tue 22, Wed 23, Thu 24"),
    (at(2026, 9, 30, 10), "enquiry", end_of(2026, 10, 8), "1-7 Oct 国庆节; Thu 8 Oct"),
    (at(2026, 2, 17, 10), "complaint", end_of(2026, 2, 28),
     "Tue 17 Feb is 春节 (15-23); Tue 24, Wed 25, Thu 26, Fri 27, Sat 28 (make-up workday)"),
    (at(2026, 2, 14, 9), "enquiry", end_of(2026, 2, 24),
     "Sat 14 Feb is a make-up workday, but the day of registration never counts; 15-23 春节; Tue 24"),
    (at(2026, 2, 14, 9), "suggestion", end_of(2026, 2, 28), "15-23 春节; 24, 25, 26, 27, Sat 28 (make-up workday)"),
    (at(2026, 3, 6, 17), "enquiry", end_of(2026, 3, 9), "Fri 6 Mar; the weekend rests; Mon 9"),
    (at(2026, 3, 7, 10), "enquiry", end_of(2026, 3, 9), "registered on an ordinary Saturday; Mon 9"),
    (at(2026, 3, 6, 17), "report", end_of(2026, 3, 13), "Mon 9 to Fri 13 Mar"),
    (at(2026, 4, 30, 11), "request", end_of(2026, 5, 11),
     "1-5 May 劳动节; Wed 6, Thu 7, Fri 8, Sat 9 (make-up workday), Mon 11"),
    (at(2025, 9, 30, 15), "complaint", end_of(2025, 10, 14),
     "1-8 Oct 2025 国庆节、中秋节; Thu 9, Fri 10, Sat 11 (make-up workday), Mon 13, Tue 14"),
    (at(2025, 12, 31, 9), "enquiry", end_of(2026, 1, 4),
     "1-3 Jan 2026 元旦; Sun 4 Jan is a make-up workday: across the year's end"),
    (at(2026, 12, 24, 9), "complaint", end_of(2026, 12, 31), "Fri 25, Mon 28, Tue 29, Wed 30, Thu 31 Dec"),
]


@pytest.mark.parametrize(("registered", "category", "due", "how"), HAND_WORKED, ids=[c[3][:40] for c in HAND_WORKED])
def test_hand_worked_working_day_deadlines(registered: datetime, category: str, due: datetime, how: str) -> None:
    result = deadline(registered, category, CALENDAR, LIMITS)
    assert result == due, how
    assert result.utcoffset() == timedelta(hours=8)
    assert str(result.tzinfo) == "Asia/Shanghai"


def test_the_day_counts_in_beijing_time_whatever_zone_registration_is_given_in() -> None:
    # 2026-09-29 17:00 UTC is 2026-09-30 01:00 in Beijing: the day of registration is 30 Sep
    registered = datetime(2026, 9, 29, 17, 0, tzinfo=UTC)
    assert deadline(registered, "enquiry", CALENDAR, LIMITS) == end_of(2026, 10, 8)
    # a second before midnight is still the day of registration
    assert deadline(at(2026, 9, 29, 23, 59, 59), "enquiry", CALENDAR, LIMITS) == end_of(2026, 9, 30)


def test_hours_are_wall_clock_and_cross_midnight() -> None:
    assert deadline(at(2026, 3, 6, 23), "urgent", CALENDAR, LIMITS) == at(2026, 3, 7, 1)
    assert deadline(at(2026, 10, 1, 12, 30), "urgent", CALENDAR, LIMITS) == at(2026, 10, 1, 14, 30)  # holidays too
    result = deadline(datetime(2026, 3, 6, 15, 30, tzinfo=UTC), "urgent", CALENDAR, LIMITS)
    assert result.isoformat() == "2026-03-07T01:30:00+08:00"
    # hours need no calendar: past the last year the calendar knows is fine
    assert deadline(at(2026, 12, 31, 23), "urgent", CALENDAR, LIMITS) == at(2027, 1, 1, 1)


def test_a_deadline_in_a_year_the_calendar_does_not_know_is_a_calendar_gap() -> None:
    # Mon 28 Dec 2026 + 5 working days: 29, 30, 31 Dec, then 2027, which the file does not list
    with pytest.raises(CalendarGap) as caught:
        deadline(at(2026, 12, 28, 10), "complaint", CALENDAR, LIMITS)
    assert caught.value.year == 2027
    assert "config/calendar.yaml" in str(caught.value)
    with pytest.raises(CalendarGap, match="2027"):
        deadline(at(2027, 1, 4, 10), "enquiry", CALENDAR, LIMITS)


def test_bad_arguments() -> None:
    with pytest.raises(UnknownCategory, match="'praise'; the categories are urgent, enquiry, request"):
        deadline(at(2026, 3, 6), "praise", CALENDAR, LIMITS)
    with pytest.raises(ValueError, match="registered_at must carry its time zone"):
        deadline(datetime(2026, 3, 6, 10), "enquiry", CALENDAR, LIMITS)


# extensions


def test_an_approved_extension_counts_working_days_after_the_deadlines_day() -> None:
    # due Wed 30 Sep 2026, extended by 5: Thu 8, Fri 9, Sat 10 (make-up), Mon 12, Tue 13 Oct
    assert extended(end_of(2026, 9, 30), 5, CALENDAR) == end_of(2026, 10, 13)
    # the same deadline as PostgreSQL hands it back, in UTC
    assert extended(datetime(2026, 9, 30, 15, 59, 59, tzinfo=UTC), 5, CALENDAR) == end_of(2026, 10, 13)
    # an urgent order's deadline at 01:00 on Saturday 7 Mar, extended by 1: Mon 9 Mar
    assert extended(at(2026, 3, 7, 1), 1, CALENDAR) == end_of(2026, 3, 9)
    with pytest.raises(ValueError, match="at least 1 working day"):
        extended(end_of(2026, 9, 30), 0, CALENDAR)
    with pytest.raises(CalendarGap, match="2027"):
        extended(end_of(2026, 12, 30), 5, CALENDAR)


def test_a_pending_extension_pauses_the_clock_only_when_configured() -> None:
    due = end_of(2026, 9, 24)
    requested, decided = at(2026, 9, 18, 16), at(2026, 9, 21, 10)
    assert resumed(due, requested, decided, "complaint", CALENDAR, LIMITS) == due  # pause_during_extension: false
    # pending after Fri 18 Sep up to Mon 21: Sun 20 (make-up workday) and Mon 21 are 2 working days;
    # due Thu 24 + 2: Fri 25-Sun 27 中秋节, Mon 28, Tue 29
    assert resumed(due, requested, decided, "complaint", CALENDAR, PAUSING) == end_of(2026, 9, 29)
    # decided on the day it was asked: no working day lost
    assert resumed(due, at(2026, 9, 21, 9), at(2026, 9, 21, 17), "complaint", CALENDAR, PAUSING) == due
    # pending over a weekend alone: Fri 6 Mar to Sun 8 Mar loses no working day
    assert resumed(due, at(2026, 3, 6, 9), at(2026, 3, 8, 9), "complaint", CALENDAR, PAUSING) == due
    # an hours limit gets the wall-clock time back
    urgent_due = at(2026, 3, 7, 1)
    pending = resumed(urgent_due, at(2026, 3, 6, 23, 30), at(2026, 3, 7, 0, 15), "urgent", CALENDAR, PAUSING)
    assert pending == at(2026, 3, 7, 1, 45)
    # a decision before the request changes nothing
    assert resumed(due, decided, requested, "complaint", CALENDAR, PAUSING) == due


# the configuration check


def test_the_config_check_tells_the_operator_in_december_to_add_next_year() -> None:
    assert check_config(CALENDAR, LIMITS, date(2026, 6, 1)) == []
    # Thu 24 Dec + 5 working days is Thu 31 Dec: still 2026
    assert check_config(CALENDAR, LIMITS, date(2026, 12, 24)) == []
    # Fri 25 Dec + 5 working days: 28, 29, 30, 31 Dec, then 2027
    (problem,) = check_config(CALENDAR, LIMITS, date(2026, 12, 25))
    assert problem.startswith(
        f"an order registered today (2026-12-25) as 求助 (request: 5 working days in {LIMITS.source})"
        " can fall due in 2027: "
    )
    assert "add the State Council's holiday arrangement for 2027" in problem
    assert "config/calendar.yaml" in problem


def test_the_config_check_needs_todays_year() -> None:
    (problem,) = check_config(CALENDAR, LIMITS, date(2027, 3, 1))
    assert problem.startswith("today (2027-03-01): the work calendar ")
    assert "does not know the year 2027 (it lists 2025, 2026)" in problem


def test_hours_limits_alone_need_no_calendar_ahead() -> None:
    urgent_only = Limits({"urgent": TimeLimit("urgent", "紧急", Unit.HOURS, 2)})
    assert check_config(CALENDAR, urgent_only, date(2026, 12, 31)) == []


# lists: overdue and due within a day


def test_overdue_and_due_within() -> None:
    due = end_of(2026, 10, 9)
    assert not is_overdue(due, due)
    assert is_overdue(due, due + timedelta(seconds=1))
    assert is_overdue(due, datetime(2026, 10, 9, 16, 0, tzinfo=UTC))  # 00:00 on 10 Oct in Beijing
    assert not is_overdue(due, datetime(2026, 10, 9, 15, 59, 59, tzinfo=UTC))
    assert due_within(due, at(2026, 10, 9, 0, 0))
    assert due_within(due, due)
    assert due_within(due, at(2026, 10, 8, 23, 59, 59))  # exactly 24 hours ahead
    assert not due_within(due, at(2026, 10, 8, 23, 59, 58))
    assert due_within(due, at(2026, 10, 8, 9), hours=48)
    assert not due_within(due, due + timedelta(seconds=1))  # overdue is not "due within"
    with pytest.raises(ValueError, match="now must carry its time zone"):
        is_overdue(due, datetime(2026, 10, 9, 12))


# problems in config/workorders.yaml, with their lines

BASE = textwrap.dedent(
    """\
    timezone: Asia/Shanghai
    pause_during_extension: true
    time_limits:
      urgent:
        name: 紧急
        hours: 2
      complaint:
        name: 投诉
        working_days: 5
    """
)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_limits(text, SOURCE)
    assert all(isinstance(p, Problem) and p.file == SOURCE for p in caught.value.problems)
    return [str(p) for p in caught.value.problems]


def test_base_limits() -> None:
    limits = parse_limits(BASE, SOURCE)
    assert limits.pause_during_extension is True
    assert limits.limit("complaint") == TimeLimit("complaint", "投诉", Unit.WORKING_DAYS, 5)
    assert limits.source == SOURCE


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("    working_days: 5\n", "    working_days: 5\n    hours: 48\n",
         "config/workorders.yaml:8: time_limits.complaint: give either hours (wall-clock) or working_days: not both"),
        ("    hours: 2\n", "",
         "config/workorders.yaml:5: time_limits.urgent: give either hours (wall-clock) or working_days: "
         "one is missing"),
        ("hours: 2", "hours: 0",
         "config/workorders.yaml:6: time_limits.urgent.hours: must be between 1 and 720, got 0"),
        ("working_days: 5", "working_days: five",
         "config/workorders.yaml:9: time_limits.complaint.working_days: expected an integer, got the string 'five'"),
        ("    working_days: 5", "    workdays: 5",
         "config/workorders.yaml:9: time_limits.complaint.workdays: unknown key (did you mean 'working_days'?)"),
        ("  complaint:", "  Complaint:",
         "config/workorders.yaml:7: time_limits.Complaint: a category id is lowercase a-z, 0-9 and -"),
        ("name: 投诉", "name: 紧急",
         "config/workorders.yaml:8: time_limits.complaint.name: duplicate category name '紧急' (first at line 5)"),
        ("timezone: Asia/Shanghai", "timezone: Beijing",
         "config/workorders.yaml:1: timezone: unknown time zone 'Beijing'"),
        ("pause_during_extension: true", "pause_during_extension: sometimes",
         "config/workorders.yaml:2: pause_during_extension: expected true or false, got the string 'sometimes'"),
        ("pause_during_extension: true\n", "",
         "config/workorders.yaml:1: pause_during_extension: missing required key"),
        ("    name: 紧急\n", "    name: ''\n", "config/workorders.yaml:5: time_limits.urgent.name: must not be empty"),
    ],
)
def test_limit_problems_with_line_and_path(old: str, new: str, problem: str) -> None:
    assert BASE.count(old) == 1, old
    problems = _problems(BASE.replace(old, new))
    assert any(p.startswith(problem) for p in problems), problems


def test_empty_limits_and_empty_file() -> None:
    (problem,) = _problems("timezone: Asia/Shanghai\npause_during_extension: false\ntime_limits: {}\n")
    assert problem == "config/workorders.yaml:3: time_limits: no category listed: give at least one time limit"
    (problem,) = _problems("")
    assert problem == "config/workorders.yaml:1: <document>: the file is empty: expected the time limits per category"
