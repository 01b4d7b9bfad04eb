"""Return-visit settings and the pure decisions: hours, next opening, what an attempt leads to."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from ari_app.configcheck.problems import ConfigError
from ari_app.visits.policy import (
    AttemptResult,
    Next,
    after_attempt,
    free_channels,
    next_opening,
    parse_visit_policy,
    within_hours,
)

GOOD = """enabled: true
trunk: return-visit
caller_id: "12345"
timezone: Asia/Shanghai
hours: "08:30-20:00"
attempts: 3
retry_minutes: [30, 120]
ring_seconds: 40
max_channels: 5
"""
POLICY = parse_visit_policy(GOOD, "rv.yaml")
SHANGHAI_0829 = datetime(2026, 12, 1, 0, 29, tzinfo=UTC)  # 08:29 in Shanghai


def test_the_settings_read() -> None:
    assert (POLICY.trunk, POLICY.caller_id, POLICY.opens, POLICY.closes) == ("return-visit", "12345", time(8, 30),
                                                                            time(20, 0))
    assert (POLICY.attempts, POLICY.retry_minutes, POLICY.max_channels) == (3, (30, 120), 5)
    assert parse_visit_policy(GOOD.replace("08:30-20:00", "00:00-24:00"), "x").closes == time.max


@pytest.mark.parametrize(("change", "message"), [
    (("08:30-20:00", "20:00-08:30"), "open before they close"),
    (("08:30-20:00", "8.30"), "HH:MM-HH:MM"),
    (("attempts: 3", "attempts: 0"), "attempts"),
    (("max_channels: 5", "max_channels: many"), "max_channels"),
    (("retry_minutes: [30, 120]", "retry_minutes: []"), "retry_minutes"),
    (("trunk: return-visit", "trunk: 'bad trunk!'"), "trunk"),
    (("timezone: Asia/Shanghai", "timezone: Mars/Base"), "timezone"),
    (("ring_seconds: 40\n", ""), "ring_seconds"),
])
def test_mistakes_are_named(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_visit_policy(GOOD.replace(*change), "rv.yaml")


def test_hours_and_the_next_opening_in_shanghai_time() -> None:
    assert not within_hours(POLICY, SHANGHAI_0829)
    assert next_opening(POLICY, SHANGHAI_0829) == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    open_now = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 13:00 in Shanghai
    assert within_hours(POLICY, open_now) and next_opening(POLICY, open_now) == open_now
    evening = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai: closed, opens tomorrow
    assert not within_hours(POLICY, evening)
    assert next_opening(POLICY, evening) == datetime(2026, 12, 2, 0, 30, tzinfo=UTC)


def test_attempts_retry_with_the_pauses_then_go_to_the_manual_list() -> None:
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    busy = AttemptResult(False, None, "busy")
    assert after_attempt(POLICY, 1, busy, now) == Next("scheduled", datetime(2026, 12, 1, 2, 30, tzinfo=UTC))
    assert after_attempt(POLICY, 2, busy, now) == Next("scheduled", datetime(2026, 12, 1, 4, 0, tzinfo=UTC))
    assert after_attempt(POLICY, 3, busy, now) == Next("manual")
    assert after_attempt(POLICY, 1, AttemptResult(True, "unsatisfied"), now) == Next("done")
    assert after_attempt(POLICY, 3, AttemptResult(True, "satisfied"), now) == Next("done")
    late = datetime(2026, 12, 1, 11, 45, tzinfo=UTC)  # 19:45: the retry falls after closing
    assert after_attempt(POLICY, 1, AttemptResult(True, None, "no key"), late) == Next(
        "scheduled", datetime(2026, 12, 2, 0, 30, tzinfo=UTC))


def test_free_channels() -> None:
    assert [free_channels(POLICY, n) for n in (0, 4, 5, 9)] == [5, 1, 0, 0]
