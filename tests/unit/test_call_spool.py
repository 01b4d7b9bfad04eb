"""ari_app.store.spool: the lines the dialplan's hang-up handler appends to the call spool."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ari_app.store.spool import FIELDS, parse_line

LINE = ("2,1796054980.12,12345,1390000%2C1,degraded,2026-11-30 08:01:02.345,2026-11-30 08:01:02.400,"
        "2026-11-30 08:01:30.000,,CONNECTED,16,FAILURE,\n")


def test_a_line_of_a_degraded_call() -> None:
    call = parse_line(LINE)
    assert call is not None
    assert (call.call_id, call.hotline, call.caller, call.route, call.outcome) == (
        "1796054980.12", "12345", "1390000,1", "degraded", "degraded_answered")
    assert call.started_at == datetime(2026, 11, 30, 8, 1, 2, 345000, tzinfo=UTC)
    assert call.answered_at == datetime(2026, 11, 30, 8, 1, 2, 400000, tzinfo=UTC)
    assert call.ended_at == datetime(2026, 11, 30, 8, 1, 30, tzinfo=UTC)


def test_an_unanswered_unknown_number_and_an_unknown_caller() -> None:
    line = "2,17.3,0088213,unknown,unknown,2026-11-30 08:01:02.345,,2026-11-30 08:01:03.000,,,16,FAILURE,"
    call = parse_line(line)
    assert call is not None and call.answered_at is None and call.caller == "" and call.outcome == "unknown_number"


def test_an_abandoned_degraded_call() -> None:
    call = parse_line(LINE.replace(",CONNECTED,", ",,"))
    assert call is not None and call.outcome == "degraded_abandoned"


def test_a_caller_who_hung_up_during_the_greeting_and_a_line_an_older_dialplan_wrote() -> None:
    greeting = ("2,17.4,12345,13900001111,intake,2026-11-30 08:01:02.345,2026-11-30 08:01:02.360,"
                "2026-11-30 08:01:04.000,,,16,,1")
    call = parse_line(greeting)
    assert call is not None and (call.route, call.outcome) == ("intake", "caller_hangup")
    older = parse_line(LINE.replace("2,", "1,", 1).rstrip().removesuffix(","))  # version 1: 12 fields
    assert older is not None and older.outcome == "degraded_answered"
    after = parse_line(greeting.removesuffix("1"))  # the greeting was over: not a hang-up in it
    assert after is not None and after.outcome == "ended_outside_app"


@pytest.mark.parametrize("line", [
    "", "\n", LINE.replace("2,", "3,", 1), LINE.replace("2,", "1,", 1), LINE.rstrip().rsplit(",", 1)[0],
    LINE.strip() + ",extra",
    LINE.replace("1796054980.12", ""), LINE.replace("2026-11-30 08:01:02.345", "yesterday"),
    LINE.replace("2026-11-30 08:01:30.000", ""),
])
def test_what_is_not_a_complete_line_is_refused(line: str) -> None:
    assert parse_line(line) is None


def test_the_dialplan_writes_as_many_fields_as_are_read() -> None:
    from ari_app.settings import REPO_ROOT

    text = (REPO_ROOT / "dialplan" / "hotline.conf").read_text(encoding="utf-8")
    written = next(line for line in text.splitlines() if "Set(FILE(${HOTLINE_CALL_SPOOL}" in line)
    value = written.split(")=", 1)[1].rstrip(")")
    assert value.count(",") + 1 == FIELDS and value.startswith("2,${UNIQUEID},")
