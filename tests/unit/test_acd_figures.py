"""ari_app.acd.figures: queue figures from plain records, hand-computed numbers."""

from __future__ import annotations

import pytest

from ari_app.acd.figures import (
    CallOutcome,
    Figures,
    agent_state_counts,
    by_hotline,
    by_queue,
    compute,
    queue_of,
)
from ari_app.acd.model import AgentSeat, AgentState, QueuedCall

NOW = 10_000.0


def answered(wait: float, talk: float | None, hotline: str = "12345", queue: str = "intake") -> CallOutcome:
    start = 1_000.0
    ended = None if talk is None else start + wait + talk
    return CallOutcome(hotline, queue, start, start + wait, ended, abandoned=False)


def abandoned(wait: float | None, hotline: str = "12345", queue: str = "intake") -> CallOutcome:
    start = 2_000.0
    return CallOutcome(hotline, queue, start, None, None if wait is None else start + wait, abandoned=True)


def waiting(
    call_id: str, enqueued_at: float, hotline: str = "12345", group: str = "", widen_at: float = 0.0
) -> QueuedCall:
    return QueuedCall(call_id, f"ch-{call_id}", hotline, enqueued_at, seq=0, group=group, widen_at=widen_at)


def test_empty() -> None:
    assert compute([], [], NOW) == Figures(
        waiting_now=0,
        longest_wait=0.0,
        offered=0,
        answered=0,
        abandoned=0,
        abandoned_waits=(),
        service_level=None,
        average_wait_answered=None,
        average_handle_time=None,
    )


def test_service_level_hand_computed() -> None:
    outcomes = [
        answered(5.0, 100.0),
        answered(20.0, 200.0),  # exactly at the threshold: within
        answered(21.0, 300.0),  # late
        answered(60.0, None),  # late, still talking
        abandoned(3.0),  # short abandon: not in the denominator
        abandoned(20.0),  # abandoned at T: not "after T"
        abandoned(45.0),  # abandoned after T: counts against
    ]
    f = compute(outcomes, [], NOW, threshold=20.0)
    assert (f.offered, f.answered, f.abandoned) == (7, 4, 3)
    # within T: 2 (5 s, 20 s); denominator: 4 answered + 1 abandoned after T = 5.
    assert f.service_level == pytest.approx(2 / 5)
    assert f.abandoned_waits == (3.0, 20.0, 45.0)
    assert f.average_wait_answered == pytest.approx((5 + 20 + 21 + 60) / 4)
    # AHT over the three that ended: (100 + 200 + 300) / 3.
    assert f.average_handle_time == pytest.approx(200.0)


def test_threshold_changes_service_level() -> None:
    outcomes = [answered(5.0, 10.0), answered(30.0, 10.0), abandoned(25.0)]
    assert compute(outcomes, [], NOW, threshold=20.0).service_level == pytest.approx(1 / 3)
    assert compute(outcomes, [], NOW, threshold=30.0).service_level == pytest.approx(2 / 2)
    assert compute(outcomes, [], NOW, threshold=4.0).service_level == pytest.approx(0 / 3)


def test_service_level_none_when_only_short_abandons() -> None:
    f = compute([abandoned(2.0), abandoned(10.0)], [], NOW)
    assert f.service_level is None
    assert f.abandoned == 2
    assert f.average_wait_answered is None and f.average_handle_time is None


def test_abandoned_without_end_time_counts_but_has_no_wait() -> None:
    f = compute([abandoned(None), abandoned(50.0)], [], NOW)
    assert f.abandoned == 2
    assert f.abandoned_waits == (50.0,)
    assert f.service_level == 0.0  # 0 answered within / (0 + 1 abandoned after T)


def test_unanswered_not_abandoned_is_only_offered() -> None:
    # e.g. a call handed off or still open when the records were taken
    f = compute([CallOutcome("12345", "intake", 0.0, None, None, abandoned=False)], [], NOW)
    assert (f.offered, f.answered, f.abandoned, f.service_level) == (1, 0, 0, None)


def test_waiting_now_and_longest_wait_from_waiting_list() -> None:
    calls = [waiting("a", NOW - 30), waiting("b", NOW - 95.5), waiting("c", NOW - 1)]
    f = compute([answered(1.0, 1.0)], calls, NOW)
    assert f.waiting_now == 3
    assert f.longest_wait == pytest.approx(95.5)
    assert f.offered == 1  # waiting callers are not outcomes
    assert compute([], calls[2:], NOW).longest_wait == pytest.approx(1.0)


def test_by_hotline_splits_outcomes_and_waiting() -> None:
    outcomes = [
        answered(5.0, 60.0, hotline="12345"),
        answered(40.0, 120.0, hotline="12345"),
        abandoned(30.0, hotline="12328"),
        answered(10.0, 90.0, hotline="12328"),
    ]
    calls = [waiting("w1", NOW - 12, hotline="12345"), waiting("w2", NOW - 7, hotline="12315")]
    split = by_hotline(outcomes, calls, NOW)
    assert sorted(split) == ["12315", "12328", "12345"]
    a = split["12345"]
    assert (a.offered, a.answered, a.abandoned, a.waiting_now) == (2, 2, 0, 1)
    assert a.service_level == pytest.approx(1 / 2)
    assert a.average_handle_time == pytest.approx(90.0)
    assert a.longest_wait == pytest.approx(12.0)
    b = split["12328"]
    assert (b.offered, b.answered, b.abandoned, b.waiting_now) == (2, 1, 1, 0)
    assert b.service_level == pytest.approx(1 / 2)
    assert b.abandoned_waits == (30.0,)
    c = split["12315"]
    assert (c.offered, c.waiting_now, c.service_level) == (0, 1, None)
    assert c.longest_wait == pytest.approx(7.0)


def test_by_queue_uses_outcome_queue_and_waiting_restriction() -> None:
    outcomes = [answered(5.0, 60.0, queue="intake"), answered(50.0, 60.0, queue="expert:transport-experts")]
    calls = [
        waiting("plain", NOW - 10),
        waiting("expert", NOW - 20, group="transport-experts", widen_at=NOW + 30),
        waiting("widened", NOW - 40, group="transport-experts", widen_at=NOW),
        waiting("escalated", NOW - 5, group="transport-experts", widen_at=0.0),
    ]
    assert queue_of(calls[1], NOW) == "expert:transport-experts"
    assert queue_of(calls[2], NOW) == "intake"
    split = by_queue(outcomes, calls, NOW)
    assert sorted(split) == ["expert:transport-experts", "intake"]
    assert (split["intake"].offered, split["intake"].waiting_now) == (1, 2)
    assert split["intake"].longest_wait == pytest.approx(40.0)
    assert split["intake"].service_level == 1.0
    expert = split["expert:transport-experts"]
    assert (expert.offered, expert.waiting_now, expert.service_level) == (1, 2, 0.0)
    assert expert.longest_wait == pytest.approx(20.0)
    # A caller-supplied placement wins over the derived one.
    custom = by_queue([], calls, NOW, waiting_queue=lambda c: "intake")
    assert list(custom) == ["intake"] and custom["intake"].waiting_now == 4


def test_agent_state_counts_include_zeros() -> None:
    def seat(i: int, state: AgentState) -> AgentSeat:
        return AgentSeat(id=f"a{i}", endpoint=f"PJSIP/a{i}", state=state)

    agents = [seat(1, AgentState.READY), seat(2, AgentState.READY), seat(3, AgentState.BUSY)]
    counts = agent_state_counts(agents)
    assert counts == {
        "logged_out": 0,
        "ready": 2,
        "paused": 0,
        "ringing": 0,
        "busy": 1,
        "wrap_up": 0,
    }
    assert set(counts) == {s.value for s in AgentState}
    assert agent_state_counts([]) == {s.value: 0 for s in AgentState}
