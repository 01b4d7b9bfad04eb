"""/metrics: the counters move where things happen, the live figures come from the ACD and the
readiness probe, the text parses as Prometheus' format, and who may read it."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from ari_app import logs
from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentState, QueuedCall, change_log_level
from ari_app.metrics import instruments
from ari_app.metrics.instruments import REGISTRY
from ari_app.metrics.routes import add_metrics_routes, allowed, exposition, metrics_token
from ari_app.seats.model import Agent, Seats, agent_seats
from tests.unit.fakes import FakeClock, MemoryStore

SEATS = Seats((Agent("1001", "一", "agent-1001"), Agent("1002", "二", "agent-1002"), Agent("1003", "三", "agent-1003")))


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def acd_with_callers(clock: FakeClock) -> Acd:
    acd = Acd(agent_seats(SEATS), SEATS.policy, MemoryStore(), clock=clock)
    acd.agents["1001"].state = AgentState.READY
    acd.agents["1002"].state = AgentState.BUSY
    for i, (hotline, since) in enumerate([("12345", 970.0), ("12345", 990.0), ("12328", 995.0)]):
        acd.queue[f"c{i}"] = QueuedCall(f"c{i}", f"ch{i}", hotline, since, i)
    return acd


def test_live_figures_from_the_acd_and_readiness() -> None:
    acd = acd_with_callers(FakeClock(1000.0))
    text = exposition(acd, {"ari": True, "database": True, "ari_connects": 3, "active_calls": 4}).decode()
    got = samples(text)
    assert got[("hotline_queue_waiting", (("hotline", "12345"),))] == 2
    assert got[("hotline_queue_longest_wait_seconds", (("hotline", "12345"),))] == 30.0
    assert got[("hotline_queue_longest_wait_seconds", (("hotline", "12328"),))] == 5.0
    assert got[("hotline_queue_waiting_total", ())] == 3
    assert got[("hotline_agents", (("state", "ready"),))] == 1
    assert got[("hotline_agents", (("state", "busy"),))] == 1
    assert got[("hotline_agents", (("state", "logged_out"),))] == 1
    assert got[("hotline_ari_reconnects_total", ())] == 2 and got[("hotline_ari_connected", ())] == 1
    assert got[("hotline_active_calls", ())] == 4 and got[("hotline_database_up", ())] == 1
    assert ("hotline_answer_latency_seconds_count", ()) in got  # the process's own instruments too
    before = exposition(None, {})  # before the database: no ACD, nothing known yet
    assert samples(before.decode())[("hotline_queue_waiting_total", ())] == 0


def test_counters_move() -> None:
    calls = value("hotline_calls_total", hotline="12349", route="intake")
    instruments.call_recorded("12349", "intake")
    assert value("hotline_calls_total", hotline="12349", route="intake") == calls + 1
    count = value("hotline_answer_latency_seconds_count")
    small = value("hotline_answer_latency_seconds_bucket", le="0.05")
    now = datetime(2026, 11, 30, 16, 3, 22, 150000, tzinfo=UTC)
    instruments.answered("2026-11-30T16:03:22.123+0000", now)  # 27 ms
    instruments.answered("not a time", now)
    instruments.answered("2026-11-30T16:03:22.123+0000", now + timedelta(days=1))  # implausible: skipped
    assert value("hotline_answer_latency_seconds_count") == count + 1
    assert value("hotline_answer_latency_seconds_bucket", le="0.05") == small + 1
    visits = value("hotline_return_visit_attempts_total", answered="true")
    rated = value("hotline_ratings_total", source="return_visit", rating="satisfied")
    instruments.visit_attempt(True, "satisfied")
    instruments.visit_attempt(False, None)
    assert value("hotline_return_visit_attempts_total", answered="true") == visits + 1
    assert value("hotline_ratings_total", source="return_visit", rating="satisfied") == rated + 1


def test_database_errors_are_counted_from_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    logs.configure("info")
    logs.observe(instruments.on_log_event)
    try:
        before = value("hotline_database_errors_total", event="call_record_write_failed")
        errors = value("hotline_errors_total", event="ari_disconnected")
        log = logs.get_logger("test")
        log.error("call_record_write_failed", error="ConnectionDoesNotExistError")
        log.error("ari_disconnected", error="ServerDisconnectedError")
        log.info("call_record_write_failed")  # not an error line: not counted
        assert value("hotline_database_errors_total", event="call_record_write_failed") == before + 1
        assert value("hotline_errors_total", event="ari_disconnected") == errors + 1
    finally:
        structlog.reset_defaults()


def test_who_may_read_it() -> None:
    assert allowed("127.0.0.1", "", "") and allowed("::1", "", "")
    assert not allowed("10.0.0.5", "", "")  # off this host, no token configured: nobody
    assert not allowed("10.0.0.5", "Bearer x", "")
    assert allowed("10.0.0.5", "Bearer s3cret-token", "s3cret-token")
    assert not allowed("10.0.0.5", "Bearer wrong", "s3cret-token")
    assert metrics_token({"HOTLINE_METRICS_TOKEN": "abcd", "HOTLINE_STATE_DIR": "/nonexistent"}) == "abcd"


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()

    async def readiness() -> dict[str, object]:
        return {"ari": False, "ari_connects": 0}

    add_metrics_routes(app, lambda: acd_with_callers(FakeClock(1000.0)), readiness, token="")
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_the_route_serves_the_text_format(client: TestClient[web.Request, web.Application]) -> None:
    async with client.get("/metrics") as response:  # the test client comes from 127.0.0.1
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    got: dict[Any, float] = samples(text)
    assert got[("hotline_queue_waiting_total", ())] == 3 and got[("hotline_ari_connected", ())] == 0
    assert {"hotline_calls", "hotline_database_errors", "hotline_agents"} <= {
        f.name for f in text_string_to_metric_families(text)}


def test_holding_entry_counts_the_apps_time_not_the_prompts() -> None:
    stasis_at = instruments.asterisk_time("2026-11-30T16:03:22.123+0000")
    assert stasis_at == datetime(2026, 11, 30, 16, 3, 22, 123000, tzinfo=UTC).timestamp()
    assert instruments.asterisk_time("yesterday") is None
    count = value("hotline_holding_entry_seconds_count")
    within_5ms = value("hotline_holding_entry_seconds_bucket", le="0.005")
    instruments.holding_entered(stasis_at, 7.2, now=stasis_at + 7.204)  # 7.2 s of greeting, 4 ms of the app's
    assert value("hotline_holding_entry_seconds_count") == count + 1
    assert value("hotline_holding_entry_seconds_bucket", le="0.005") == within_5ms + 1
    instruments.holding_entered(stasis_at, 0.0, now=stasis_at + 86400)  # a clock that jumped: not counted
    assert value("hotline_holding_entry_seconds_count") == count + 1


@pytest.mark.parametrize(("old", "new", "level"), [
    (AgentState.READY, AgentState.RINGING, logging.DEBUG),
    (AgentState.RINGING, AgentState.BUSY, logging.DEBUG),
    (AgentState.BUSY, AgentState.WRAP_UP, logging.DEBUG),
    (AgentState.WRAP_UP, AgentState.READY, logging.DEBUG),
    (AgentState.RINGING, AgentState.PAUSED, logging.INFO),  # a missed ring pauses the agent: worth a line
    (AgentState.PAUSED, AgentState.READY, logging.INFO),
    (AgentState.LOGGED_OUT, AgentState.READY, logging.INFO),
    (AgentState.READY, AgentState.LOGGED_OUT, logging.INFO),
])
def test_agent_changes_every_call_makes_are_logged_at_debug(old: AgentState, new: AgentState, level: int) -> None:
    assert change_log_level(old, new) == level
