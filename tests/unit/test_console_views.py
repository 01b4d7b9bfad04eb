"""The console's pure parts: how a dialed number is described, how urgent an order is and in which
order a department sees them, the CSRF token, the pulse live pages wait on, the start of the day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ari_app.accounts.cookies import csrf_matches, csrf_token
from ari_app.console.board import start_of_day
from ari_app.console.views import by_urgency, duration_text, line_description, urgency
from ari_app.pulse import Pulse
from ari_app.registry.loader import load_registry

REGISTRY = load_registry(Path(__file__).resolve().parents[2] / "config" / "hotlines.yaml")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_merged_number_is_described_with_its_name_mode_and_department() -> None:
    line = line_description(REGISTRY, "12349")
    assert (line["number"], line["name"], line["department"]) == ("12349", "全国统一民政服务电话", "civil-affairs")
    assert "整体并入12345" in line["mode"] and line["department_name"] == "市民政局"
    assert line_description(REGISTRY, "12345")["name"] == "12345政务服务便民热线"
    unknown = line_description(REGISTRY, "99999")
    assert unknown["name"] == "未登记号码" and unknown["department"] == ""


def test_every_mode_of_the_registry_has_a_chinese_description() -> None:
    for number in REGISTRY.hotlines:
        mode = line_description(REGISTRY, number)["mode"]
        assert mode and not mode.isascii(), (number, mode)


def test_urgency_is_overdue_past_the_deadline_and_today_until_midnight_in_the_centres_zone() -> None:
    now = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert urgency(now - timedelta(seconds=1), True, now, SHANGHAI) == "overdue"
    assert urgency(now, True, now, SHANGHAI) == "overdue"
    assert urgency(now + timedelta(minutes=59), True, now, SHANGHAI) == "today"  # 23:59 Shanghai
    assert urgency(now + timedelta(hours=1), True, now, SHANGHAI) == ""  # midnight: tomorrow
    assert urgency(now - timedelta(days=3), False, now, SHANGHAI) == ""  # a closed order is never late
    assert urgency(None, True, now, SHANGHAI) == ""


def test_a_department_sees_overdue_then_due_today_then_the_rest_each_by_deadline() -> None:
    orders = [
        {"number": "20261130-000005", "urgency": "", "deadline": None},
        {"number": "20261130-000004", "urgency": "", "deadline": "2026-12-03T23:59:59+08:00"},
        {"number": "20261130-000003", "urgency": "today", "deadline": "2026-11-30T23:59:59+08:00"},
        {"number": "20261130-000002", "urgency": "overdue", "deadline": "2026-11-29T23:59:59+08:00"},
        {"number": "20261130-000001", "urgency": "overdue", "deadline": "2026-11-28T23:59:59+08:00"},
        {"number": "20261130-000006", "urgency": "", "deadline": "2026-12-01T23:59:59+08:00"},
    ]
    assert [o["number"][-1] for o in by_urgency(orders)] == ["1", "2", "3", "6", "4", "5"]


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (65, "1:05"), (3723, "1:02:03"), (-5, "0:00")])
def test_durations_read_like_a_clock(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_csrf_token_belongs_to_its_session_only() -> None:
    token = csrf_token("session-a")
    assert len(token) == 64 and token == csrf_token("session-a")
    assert csrf_matches("session-a", token)
    assert not csrf_matches("session-b", token)
    assert not csrf_matches("session-a", "")
    assert not csrf_matches("session-a", token[:-1] + ("0" if token[-1] != "0" else "1"))


def test_the_day_starts_at_midnight_in_the_centres_zone() -> None:
    start = start_of_day(datetime(2026, 11, 30, 16, 30, tzinfo=UTC), SHANGHAI)  # 00:30 on 1 December
    assert start == datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)


async def test_a_pulse_wakes_waiters_on_a_change_and_lets_them_go_on_a_timeout() -> None:
    pulse = Pulse()
    assert await pulse.wait(-1, 5) == 0  # a version not seen: at once
    waiter = asyncio.create_task(pulse.wait(0, 5))
    await asyncio.sleep(0)
    assert not waiter.done()
    pulse.bump()
    assert await asyncio.wait_for(waiter, 1) == 1
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await pulse.wait(1, 0.05) == 1  # nothing changed: back after the timeout
    assert loop.time() - started >= 0.04
