"""The return-visit dialler on a real PostgreSQL with an injectable clock: nothing is dialled
outside the hours, a burst never takes more than its share of channels, retries follow the
policy, and visits a stopped node was dialling are counted and retried. The calls themselves are
made by a stand-in here (their telephony is test_return_visits.py's)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ari_app.visits.dialer import OrderSide, VisitDialer
from ari_app.visits.policy import AttemptResult, parse_visit_policy
from ari_app.visits.store import Visit, VisitStore
from tests.harness.wait import until

pytestmark = pytest.mark.integration

POLICY = parse_visit_policy(
    'trunk: return-visit\ncaller_id: "12345"\ntimezone: Asia/Shanghai\nhours: "08:30-20:00"\nattempts: 2\n'
    "retry_minutes: [30]\nring_seconds: 40\nmax_channels: 5\n", "rv.yaml")
NIGHT = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)  # 06:00 in Shanghai, 2 December: closed
MORNING = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai: open


DATABASE = "visit_dialer"  # a database of its own; these tables are emptied before each test (see conftest.py)
TRUNCATE = "work_orders, return_visits"


async def _orders(pool: asyncpg.Pool, count: int) -> list[str]:
    numbers = [f"20261201-{n:06d}" for n in range(1, count + 1)]
    for number in numbers:
        await pool.execute(
            "INSERT INTO work_orders (number, state, category, content, caller, department, registered_at,"
            " updated_at) VALUES ($1, 'replied', 'request', '路灯不亮', '13900000000', 'water', now(), now())", number)
    return numbers


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_nothing_is_dialled_before_the_hours_open(pool: asyncpg.Pool) -> None:
    clock = Clock(NIGHT)
    store = VisitStore(pool, "node1")
    dialled: list[str] = []

    async def place(visit: Visit) -> AttemptResult:
        dialled.append(visit.number)
        return AttemptResult(True, "satisfied")

    rated: list[tuple[str, str]] = []

    async def on_rated(number: str, rating: str) -> None:
        rated.append((number, rating))

    async def wanted(_number: str) -> bool:
        return True

    dialer = VisitDialer(store, POLICY, place, OrderSide(wanted, on_rated), clock)
    (number,) = await _orders(pool, 1)
    assert await store.schedule(number, "13900000000", "water", NIGHT) is not None
    assert await store.schedule(number, "13900000000", "water", NIGHT) is None  # one open visit per order
    for _ in range(3):
        await dialer.dial_due()  # rounds in the night: nothing is dialled
    assert dialled == [] and [v.state for v in await store.listing(None, 10)] == ["scheduled"]
    task = asyncio.create_task(dialer.run())
    try:
        clock.now = MORNING
        dialer.wake()
        await until(lambda: rated == [(number, "satisfied")], "the visit rated")
        await until(lambda: dialer.dialling == 0, "the attempt over")
    finally:
        task.cancel()
    (visit,) = await store.listing(None, 10)
    assert (visit.state, visit.attempts, visit.rating, visit.last_result) == ("done", 1, "satisfied", "rated")


async def test_a_burst_of_50_never_takes_more_than_5_channels_and_retries_then_goes_manual(
    pool: asyncpg.Pool,
) -> None:
    clock = Clock(MORNING)
    store = VisitStore(pool, "node1")
    numbers = await _orders(pool, 50)
    for number in numbers:
        await store.schedule(number, "13900000000", "water", MORNING)
    open_calls, most = 0, 0
    release = asyncio.Event()

    async def place(visit: Visit) -> AttemptResult:
        nonlocal open_calls, most
        open_calls += 1
        most = max(most, open_calls)
        await release.wait()
        open_calls -= 1
        return AttemptResult(False, None, "no answer")  # nobody answers any of them

    async def wanted(_number: str) -> bool:
        return True

    async def on_rated(_number: str, _rating: str) -> None:
        raise AssertionError("no visit was answered")

    dialer = VisitDialer(store, POLICY, place, OrderSide(wanted, on_rated), clock)
    task = asyncio.create_task(dialer.run())
    try:
        await until(lambda: open_calls == 5, "5 visits dialled")
        for _ in range(3):
            await dialer.dial_due()  # more rounds while 5 are on the line: no channel is free
        assert open_calls == 5 and dialer.dialling == 5
        release.set()
        async def first_attempts_over() -> bool:
            visits = await store.listing(None, 100)
            return {(v.state, v.attempts) for v in visits} == {("scheduled", 1)} and dialer.dialling == 0

        # every first attempt failed: all 50 wait 30 minutes for the second, none dialled again before
        await until(first_attempts_over, "every first attempt over", 30)
        assert open_calls == 0 and {v.next_at for v in await store.listing(None, 100)} == {
            MORNING + timedelta(minutes=30)}
        clock.now = MORNING + timedelta(minutes=31)
        dialer.wake()
        await until(lambda: dialer.peak == 5 and dialer.dialling == 0 and open_calls == 0,
                    "every second attempt over", 30)

        async def all_manual() -> bool:
            dialer.wake()
            return {v.state for v in await store.listing(None, 100)} == {"manual"}

        await until(all_manual, "every visit on the manual list", 30)
    finally:
        task.cancel()
    assert most == 5 and dialer.peak == 5
    visits = await store.listing("manual", 100)
    assert len(visits) == 50 and {v.attempts for v in visits} == {2} and {v.last_result for v in visits} == {
        "no answer"}


async def test_visits_a_stopped_node_was_dialling_count_as_an_attempt_and_are_retried(pool: asyncpg.Pool) -> None:
    store = VisitStore(pool, "node1")
    (number,) = await _orders(pool, 1)
    await store.schedule(number, "13900000000", "water", MORNING)
    (claimed,) = await store.claim_due(MORNING, 5)
    assert (claimed.state, claimed.attempts) == ("dialling", 1)
    other_node = VisitStore(pool, "node2")
    assert await other_node.claim_due(MORNING, 5) == [], "a claimed visit is never dialled twice"
    assert await other_node.interrupted() == []

    clock = Clock(MORNING + timedelta(minutes=1))

    async def place(_visit: Visit) -> AttemptResult:
        raise AssertionError("not due yet")

    async def wanted(_number: str) -> bool:
        return True

    dialer = VisitDialer(store, POLICY, place, OrderSide(wanted, wanted), clock)  # type: ignore[arg-type]
    task = asyncio.create_task(dialer.run())
    try:
        async def retried() -> bool:
            return [v.state for v in await store.listing(None, 10)] == ["scheduled"]

        await until(retried, "the interrupted visit scheduled again")
    finally:
        task.cancel()
    (visit,) = await store.listing(None, 10)
    assert visit.last_result == "interrupted" and visit.attempts == 1
    assert visit.next_at == clock.now + timedelta(minutes=30)
