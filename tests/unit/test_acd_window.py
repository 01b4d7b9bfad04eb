"""ari_app.acd.window: the in-memory 24-hour window gives, call for call, what the reference
(ari_app.acd.figures.compute, by_hotline, by_queue over the rows of the last 24 hours) gives, at
every ``now`` asked, as calls come, change and age out; and a window loaded from the stored rows
(a restart) gives the same as the one kept up to date."""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, replace
from typing import Any

import pytest

from ari_app.acd.engine import Acd
from ari_app.acd.figures import CallOutcome, Figures, by_hotline, by_queue, compute
from ari_app.acd.model import AgentSeat, AgentState, QueuedCall, QueuePolicy
from ari_app.acd.report import group_json, queue_report
from ari_app.acd.store import AcdStore, outcome_of
from ari_app.acd.window import DAY, Group, OutcomeWindow, exact, exact_mean, wait_json
from tests.unit.fakes import FakeClock, MemoryStore

T0 = 1_767_225_600.125  # epoch seconds: waits are differences of large floats, as in production
HOTLINES = ("12345", "12328", "12349")
QUEUES = ("intake", "expert:transport-experts", "expert:civil-affairs")
Split = tuple[Figures, dict[str, Figures], dict[str, Figures]]


def reference(outcomes: list[CallOutcome], waiting: list[QueuedCall], now: float, threshold: float) -> Split:
    """What GET /queues computed before the window: every row with enqueued_at >= now - 24 h, recomputed."""
    recent = [o for o in outcomes if o.enqueued_at >= now - DAY]
    return (compute(recent, waiting, now, threshold), by_hotline(recent, waiting, now, threshold),
            by_queue(recent, waiting, now, threshold))


def comparable(figures: Figures) -> Figures:
    """The window lists abandoned waits in the order of abandonment, the reference in record order."""
    return replace(figures, abandoned_waits=tuple(sorted(figures.abandoned_waits)))


def assert_same(got: tuple[Group, dict[str, Group], dict[str, Group]], expected: Split) -> None:
    """The same figures (and each group's abandoned waits as JSON are its abandoned waits)."""
    assert comparable(got[0].figures) == comparable(expected[0])
    assert json.loads(got[0].waits_json) == list(got[0].figures.abandoned_waits)
    for got_groups, expected_groups in zip(got[1:], expected[1:], strict=True):
        assert list(got_groups) == list(expected_groups)  # the same keys, in the same (sorted) order
        for key, value in expected_groups.items():
            assert comparable(got_groups[key].figures) == comparable(value), key
            assert json.loads(got_groups[key].waits_json) == list(got_groups[key].figures.abandoned_waits)


def random_outcome(rng: random.Random, now: float) -> CallOutcome:
    """Any outcome a row can hold, odd ones too (answered before it was queued, abandoned without
    an end, answered and flagged abandoned), and waits of exactly the thresholds (20 s, 30 s)."""
    enqueued = now - rng.uniform(0, 600)
    answer_wait = rng.choice((20.0, 30.0)) if rng.random() < 0.2 else rng.uniform(-2, 90)
    answered = enqueued + answer_wait if rng.random() < 0.6 else None
    end_wait = rng.choice((20.0, 30.0)) if rng.random() < 0.2 else rng.uniform(-1, 400)
    ended = (answered or enqueued) + end_wait if rng.random() < 0.7 else None
    return CallOutcome(rng.choice(HOTLINES), rng.choice(QUEUES), enqueued, answered, ended, rng.random() < 0.4)


def waiting_calls(rng: random.Random, now: float, count: int) -> list[QueuedCall]:
    return [
        QueuedCall(f"w{i}", f"ch-w{i}", rng.choice(HOTLINES), now - rng.uniform(0, 120), seq=i,
                   group=rng.choice(("", "transport-experts")), widen_at=now + rng.uniform(-30, 30))
        for i in range(count)
    ]


@pytest.mark.parametrize("seed", range(6))
def test_random_outcomes_equal_the_full_recomputation_at_every_now(seed: int) -> None:
    rng = random.Random(seed)
    window, rows = OutcomeWindow(20.0), dict[str, CallOutcome]()
    now, threshold = T0, 20.0
    for step in range(1500):
        now += rng.expovariate(1 / 300)  # some 5 days in all: calls age out all along
        call_id = f"c{rng.randrange(400)}" if rng.random() < 0.4 else f"c{step + 1000}"  # changes, and new calls
        outcome = random_outcome(rng, now)
        if call_id in rows and rng.random() < 0.8:  # the row keeps its place in line
            outcome = replace(outcome, enqueued_at=rows[call_id].enqueued_at)
        rows[call_id] = outcome
        window.put(call_id, outcome)
        if step % 7 == 0:
            if step == 700:
                threshold = 30.0  # the policy's service level changed: tallies recounted
            waiting = waiting_calls(rng, now, rng.randrange(4))
            expected = reference(list(rows.values()), waiting, now, threshold)
            assert_same(window.figures(now, waiting, threshold), expected)
    # Nothing new for a day: everything ages out, groups disappear.
    for later in (now + DAY / 2, now + DAY - 1, now + DAY + 601):
        assert_same(window.figures(later, [], threshold), reference(list(rows.values()), [], later, threshold))
    assert len(window) == 0


class RecordingStore(MemoryStore):
    """The in-memory store, telling the window of each row as written, as AcdStore does (RETURNING:
    an UPDATE that matched no row tells nothing)."""

    def __init__(self, window: OutcomeWindow) -> None:
        super().__init__()
        self.window = window

    def _tell(self, call_id: str) -> None:
        if call_id in self.calls:
            self.window.put(call_id, outcome_of(self.calls[call_id]))

    async def enqueue(self, call: QueuedCall, queue: str) -> None:
        await super().enqueue(call, queue)
        self._tell(call.call_id)

    async def talking(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str, at: float) -> None:
        await super().talking(call_id, agent_id, agent_channel, bridge_id, at)
        self._tell(call_id)

    async def finish(self, call_id: str, status: str, at: float) -> None:
        changes = call_id in self.calls and self.calls[call_id]["ended_at"] is None
        await super().finish(call_id, status, at)
        if changes:
            self._tell(call_id)

    def outcomes(self, since: float) -> list[tuple[str, CallOutcome]]:
        """As AcdStore.outcomes reads them at start-up."""
        rows = sorted(self.calls.values(), key=lambda r: (r["enqueued_at"], r["seq"]))
        return [(r["call_id"], outcome_of(r)) for r in rows if r["enqueued_at"] >= since]


@pytest.mark.parametrize("seed", range(4))
async def test_calls_through_the_store_then_a_restart_give_the_same_figures(seed: int) -> None:
    """Calls go through the store's writes as the ACD makes them (queued, answered or abandoned,
    ended; requeued, escalated after talking, finished twice), over three days; at every step the
    window equals the full recomputation over the store's rows, and a window loaded from those rows
    (``hotline serve`` restarted) equals both."""
    rng = random.Random(100 + seed)
    window = OutcomeWindow(20.0)
    store = RecordingStore(window)
    now, live = T0, dict[str, tuple[QueuedCall, str]]()  # call id -> (entry, status)
    for step in range(2500):
        now += rng.expovariate(1 / 100)
        choice = rng.random()
        if choice < 0.3 or not live:
            hotline = rng.choice(HOTLINES)
            entry = QueuedCall(f"s{step}", f"ch{step}", hotline, now, seq=step, group=rng.choice(("", "transport")))
            await store.enqueue(entry, rng.choice(QUEUES))
            live[entry.call_id] = (entry, "waiting")
            continue
        call_id = rng.choice(sorted(live))
        entry, status = live[call_id]
        if status == "waiting":
            if rng.random() < 0.3:
                await store.finish(call_id, "abandoned", now)
                del live[call_id]
            else:
                await store.talking(call_id, "1001", "agent-ch", "bridge", now)
                live[call_id] = (entry, "talking")
        elif rng.random() < 0.15:  # escalated (the talk ends first) or requeued: in line again, same place
            if rng.random() < 0.5:
                await store.finish(call_id, "ended", now)
            await store.enqueue(replace(entry, group="transport", escalated=True), "expert:transport-experts")
            live[call_id] = (entry, "waiting")
        else:
            await store.finish(call_id, "ended", now)
            await store.finish(call_id, "ended", now + 1)  # a second end changes nothing
            del live[call_id]
        if step % 11 == 0:
            waiting = [entry for entry, status in live.values() if status == "waiting"]
            rows = [outcome_of(r) for r in store.calls.values()]
            expected = reference(rows, waiting, now, 20.0)
            assert_same(window.figures(now, waiting, 20.0), expected)
            if step % 121 == 0:
                restarted = OutcomeWindow(20.0)
                restarted.load(store.outcomes(since=now - DAY))
                assert_same(restarted.figures(now, waiting, 20.0), expected)
    await store.talking("never-queued", "1001", "agent-ch", "bridge", now)  # no row: nothing changes
    assert "never-queued" not in store.calls


def test_a_call_leaves_when_it_joined_more_than_24_hours_ago() -> None:
    window = OutcomeWindow()
    window.put("a", CallOutcome("12345", "intake", T0, T0 + 5.0, T0 + 60.0, False))
    window.put("b", CallOutcome("12328", "expert:transport-experts", T0 + 10.0, None, T0 + 40.0, True))
    total, hotlines, queues = window.figures(T0 + DAY, [], 20.0)  # joined exactly 24 h ago: still counted
    assert (total.figures.offered, list(hotlines)) == (2, ["12328", "12345"])
    assert list(queues) == ["expert:transport-experts", "intake"]
    total, hotlines, queues = window.figures(T0 + DAY + 5.0, [], 20.0)
    figures = total.figures
    assert (figures.offered, figures.answered, figures.abandoned, figures.abandoned_waits) == (1, 0, 1, (30.0,))
    assert total.waits_json == "[30.0]"
    assert (list(hotlines), list(queues)) == (["12328"], ["expert:transport-experts"])
    total, hotlines, queues = window.figures(T0 + DAY + 10.5, [], 20.0)
    assert total.figures == compute([], [], T0 + DAY + 10.5) and hotlines == {} and queues == {}
    assert total.waits_json == "[]"


def test_an_outcome_replaced_with_another_time_in_line_leaves_by_its_new_time() -> None:
    window = OutcomeWindow()
    window.put("a", CallOutcome("12345", "intake", T0, None, None, False))
    window.put("a", CallOutcome("12345", "intake", T0 + 100.0, None, None, False))
    assert window.figures(T0 + DAY + 50.0, [], 20.0)[0].figures.offered == 1  # the stale time keeps it
    assert window.figures(T0 + DAY + 101.0, [], 20.0)[0].figures.offered == 0


def test_exact_sums_give_the_correctly_rounded_mean() -> None:
    rng = random.Random(5)
    values = [rng.uniform(0, 1e4) * 10.0 ** rng.randrange(-8, 3) for _ in range(5000)]
    total = sum(exact(v) for v in values)
    assert exact_mean(total, len(values)) == math.fsum(values) / len(values)
    total -= sum(exact(v) for v in values[:2500])  # taking away is exact too
    assert exact_mean(total, 2500) == math.fsum(values[2500:]) / 2500
    assert exact(5e-324) == 1 and exact(0.0) == 0 and exact_mean(0, 0) is None


def test_the_response_is_the_json_of_the_full_recomputation() -> None:
    """GET /queues' body: the object the route made before with json.dumps, byte for byte (outcomes
    put in the order they are listed, so abandoned waits come in the same order)."""
    rng = random.Random(9)
    clock = FakeClock(T0 + 3 * DAY)
    agents = [AgentSeat("1001", "agent-1001", state=AgentState.READY), AgentSeat("1002", "agent-1002")]
    acd = Acd(agents, QueuePolicy(service_level_seconds=25), MemoryStore(), clock)
    window = OutcomeWindow(25.0)
    outcomes = [random_outcome(rng, T0 + DAY * rng.uniform(1.5, 3)) for _ in range(300)]
    for i, outcome in enumerate(outcomes):
        window.put(f"c{i}", outcome)
    for entry in waiting_calls(rng, clock(), 5):
        acd.queue[entry.call_id] = entry
    waiting, now = acd.waiting(), clock()
    total, hotlines, queues = reference(outcomes, waiting, now, 25.0)
    before = {
        "now": now, "service_level_seconds": 25.0, "total": asdict(total),
        "by_hotline": {k: asdict(v) for k, v in hotlines.items()},
        "by_queue": {k: asdict(v) for k, v in queues.items()},
        "agents": {"logged_out": 1, "ready": 1, "paused": 0, "ringing": 0, "busy": 0, "wrap_up": 0},
    }
    assert total.offered < 300 and total.abandoned_waits  # some aged out; some waits to list
    assert queue_report(acd, window) == json.dumps(before)


def test_group_json_is_asdict() -> None:
    figures = compute([CallOutcome("12345", "intake", T0, None, T0 + 25.0, True)], [], T0 + 30.0)
    assert group_json(Group(figures, "[25.0]")) == json.dumps(asdict(figures))
    odd = replace(figures, longest_wait=math.inf, service_level=math.nan, average_wait_answered=-0.0,
                  average_handle_time=1e-7, abandoned_waits=())
    assert group_json(Group(odd, "[]")) == json.dumps(asdict(odd))
    for wait in (0.1, 1e-7, 1e22, 123456.789, -0.0, math.inf, math.nan):
        assert wait_json(wait) == json.dumps(wait)


class OneRowPool:
    """Answers every fetchrow with the same row, as PostgreSQL's RETURNING would."""

    def __init__(self, row: dict[str, Any] | None) -> None:
        self.row = row

    async def fetchrow(self, sql: str, *args: object) -> dict[str, Any] | None:
        assert "RETURNING" in sql
        return self.row


async def test_the_store_tells_this_nodes_rows_and_a_failing_listener_fails_no_write() -> None:
    row = {"hotline": "12345", "queue": "intake", "enqueued_at": T0, "answered_at": T0 + 3.0, "ended_at": None,
           "status": "talking", "node": "node1"}
    told: list[tuple[str, CallOutcome]] = []

    def listen(call_id: str, outcome: CallOutcome) -> None:
        told.append((call_id, outcome))

    await AcdStore(OneRowPool(row), "node1", on_outcome=listen).talking("c1", "1001", "agent-ch", "bridge", T0 + 3.0)
    assert told == [("c1", CallOutcome("12345", "intake", T0, T0 + 3.0, None, False))]
    await AcdStore(OneRowPool({**row, "node": "node2"}), "node1", on_outcome=listen).finish("c1", "ended", T0 + 9.0)
    await AcdStore(OneRowPool(None), "node1", on_outcome=listen).finish("c1", "ended", T0 + 9.0)  # matched no row
    assert len(told) == 1  # another node's row, and no row, tell nothing

    def broken(call_id: str, outcome: CallOutcome) -> None:
        raise ValueError("a bug in the figures")

    await AcdStore(OneRowPool(row), "node1", on_outcome=broken).talking("c1", "1001", "agent-ch", "bridge", T0)
