"""Work-order numbers: YYYYMMDD-NNNNNN on the Beijing day, and nothing else parses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ari_app.workorders.numbers import InvalidNumber, OrderNumber, day_of, format_number, is_number, parse_number


@pytest.mark.parametrize(("day", "seq", "text"), [
    (date(2026, 11, 30), 123, "20261130-000123"),
    (date(2026, 1, 5), 1, "20260105-000001"),
    (date(2025, 12, 31), 999_999, "20251231-999999"),
    (date(2028, 2, 29), 42, "20280229-000042"),
])
def test_format_and_parse_are_inverse(day: date, seq: int, text: str) -> None:
    assert format_number(day, seq) == text
    assert parse_number(text) == OrderNumber(day, seq)
    assert str(parse_number(text)) == text


@pytest.mark.parametrize("seq", [0, -1, 1_000_000, True])
def test_format_refuses_a_sequence_outside_six_digits(seq: int) -> None:
    with pytest.raises(InvalidNumber, match=r"outside 1\.\.999999"):
        format_number(date(2026, 11, 30), seq)


def test_format_refuses_a_time_whose_day_depends_on_the_zone() -> None:
    with pytest.raises(InvalidNumber, match="use day_of"):
        format_number(datetime(2026, 11, 30, 1, 0, tzinfo=UTC), 1)


@pytest.mark.parametrize("text", [
    "",
    "20261130-00123",  # five digits
    "20261130-0000123",  # seven digits
    "20261130000123",  # no dash
    "2026113-0000123",
    "20261130_000123",
    " 20261130-000123",
    "20261130-000123\n",
    "20261130-000123/",
    "２０２６１１３０-０００１２３",  # full-width digits are digits to \d, not to a number
    "٢٠٢٦١١٣٠-٠٠٠١٢٣",  # Arabic-Indic digits likewise
    "abcdefgh-000123",
])
def test_parse_refuses_anything_but_the_exact_form(text: str) -> None:
    with pytest.raises(InvalidNumber, match=r"is not a work-order number \(YYYYMMDD-NNNNNN"):
        parse_number(text)
    assert not is_number(text)


@pytest.mark.parametrize(("text", "why"), [
    ("20261131-000001", "20261131 is not a date"),
    ("20260229-000001", "20260229 is not a date"),  # 2026 is no leap year
    ("20261300-000001", "20261300 is not a date"),
    ("00000101-000001", "00000101 is not a date"),
    ("20261130-000000", "sequences start at 000001"),
])
def test_parse_refuses_days_that_do_not_exist_and_sequence_zero(text: str, why: str) -> None:
    with pytest.raises(InvalidNumber) as refused:
        parse_number(text)
    assert str(refused.value) == f"{text!r} is not a work-order number: {why}"


def test_parse_refuses_what_is_not_text() -> None:
    with pytest.raises(InvalidNumber):
        parse_number(20261130000123)  # type: ignore[arg-type]


def test_numbers_sort_by_day_then_sequence() -> None:
    texts = ["20261201-000001", "20261130-000200", "20261130-000123"]
    assert [str(n) for n in sorted(map(parse_number, texts))] == [
        "20261130-000123", "20261130-000200", "20261201-000001"]
    assert is_number("20261130-000123")


def test_the_day_is_beijings() -> None:
    # 16:30 UTC on 29 November is 00:30 on 30 November in Beijing: the order is numbered for the 30th
    assert day_of(datetime(2026, 11, 29, 16, 30, tzinfo=UTC)) == date(2026, 11, 30)
    assert day_of(datetime(2026, 11, 29, 15, 59, 59, tzinfo=UTC)) == date(2026, 11, 29)
    new_york = timezone(timedelta(hours=-5))
    assert day_of(datetime(2026, 11, 30, 20, 0, tzinfo=new_york)) == date(2026, 12, 1)
    assert format_number(day_of(datetime(2026, 11, 29, 16, 30, tzinfo=UTC)), 123) == "20261130-000123"


def test_a_naive_time_has_no_day() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        day_of(datetime(2026, 11, 30, 9, 0))
