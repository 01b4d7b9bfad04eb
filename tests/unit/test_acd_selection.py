"""ari_app.acd.selection: queue order, eligibility, one dispatch round, widening, positions."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from typing import Any

import pytest

from ari_app.acd.model import AgentSeat, AgentState, QueuedCall
from ari_app.acd.selection import (
    assign,
    eligible,
    expected_wait,
    group_can_serve,
    next_widen_time,
    queue_order,
    queue_position,
    restricted_to_group,
)

NOW = 1_000.0
_seq = itertools.count(1)


def call(call_id: str, enqueued_at: float = 0.0, **kw: Any) -> QueuedCall:
    kw.setdefault("seq", next(_seq))
    return QueuedCall(call_id=call_id, channel_id=f"ch-{call_id}", hotline="12345", enqueued_at=enqueued_at, **kw)


def agent(agent_id: str, idle_since: float = 0.0, **kw: Any) -> AgentSeat:
    kw.setdefault("state", AgentState.READY)
    kw.setdefault("skills", {"general": 1})
    return AgentSeat(id=agent_id, endpoint=f"PJSIP/{agent_id}", idle_since=idle_since, **kw)


def ids(pairs: list[tuple[QueuedCall, AgentSeat]]) -> list[tuple[str, str]]:
    return [(c.call_id, a.id) for c, a in pairs]


# --- queue order ---------------------------------------------------------------------------------


def test_fcfs_several_callers_one_agent_becomes_ready() -> None:
    calls = [call("c3", 30.0), call("c1", 10.0), call("c2", 20.0)]
    off = agent("a1", state=AgentState.BUSY)
    assert assign(calls, [off], NOW) == []
    on = replace(off, state=AgentState.READY, idle_since=NOW)
    assert ids(assign(calls, [on], NOW)) == [("c1", "a1")]
    # After c1 is gone and the agent is ready again, c2 is next, then c3.
    assert ids(assign([calls[0], calls[2]], [on], NOW)) == [("c2", "a1")]
    assert ids(assign([calls[0]], [on], NOW)) == [("c3", "a1")]


def test_equal_enqueue_times_go_by_seq() -> None:
    calls = [call("late", 5.0, seq=9), call("early", 5.0, seq=2)]
    assert [c.call_id for c in queue_order(calls)] == ["early", "late"]


def test_priority_beats_arrival_time() -> None:
    calls = [call("old", 1.0), call("urgent", 50.0, priority=5), call("mid", 40.0, priority=1)]
    assert [c.call_id for c in queue_order(calls)] == ["urgent", "mid", "old"]
    assert ids(assign(calls, [agent("a1")], NOW)) == [("urgent", "a1")]


def test_escalated_ahead_of_everyone() -> None:
    calls = [call("vip", 1.0, priority=99), call("esc", 500.0, escalated=True), call("old", 0.0)]
    assert [c.call_id for c in queue_order(calls)] == ["esc", "vip", "old"]
    # Among escalated calls, priority then arrival still apply.
    more = [*calls, call("esc-hi", 600.0, escalated=True, priority=2), call("esc-old", 100.0, escalated=True)]
    assert [c.call_id for c in queue_order(more)][:3] == ["esc-hi", "esc-old", "esc"]


def test_queue_order_does_not_mutate_input() -> None:
    calls = [call("b", 2.0), call("a", 1.0)]
    before = list(calls)
    queue_order(calls)
    assert calls == before


# --- skills and idle time ------------------------------------------------------------------------


def test_agent_without_skill_never_chosen() -> None:
    c = call("c1", skill="legal")
    generalist = agent("a0", 0.0, skills={"general": 5})
    zero = agent("a1", 1.0, skills={"legal": 0, "general": 1})
    lawyer = agent("a9", 900.0, skills={"legal": 1})
    assert not eligible(generalist, c, NOW)
    assert not eligible(zero, c, NOW)  # level 0 = no skill
    assert eligible(lawyer, c, NOW)
    assert ids(assign([c], [generalist, zero, lawyer], NOW)) == [("c1", "a9")]
    assert assign([c], [generalist, zero], NOW) == []


def test_default_skill_is_general() -> None:
    c = call("c1")
    assert c.skill == "general"
    assert not eligible(agent("a1", skills={"legal": 3}), c, NOW)
    assert eligible(agent("a2", skills={"general": 1}), c, NOW)
    assert eligible(agent("a3", skills={"general": 1}), replace(c, skill=""), NOW)


def test_longest_idle_wins() -> None:
    agents = [agent("a1", 300.0), agent("a2", 100.0), agent("a3", 200.0)]
    assert ids(assign([call("c1")], agents, NOW)) == [("c1", "a2")]
    # Two calls: first in line gets the longest idle, second the next.
    assert ids(assign([call("x", 2.0), call("y", 1.0)], agents, NOW)) == [("y", "a2"), ("x", "a3")]


def test_tie_on_idle_since_goes_to_lower_id() -> None:
    agents = [agent("b", 100.0), agent("c", 100.0), agent("a", 100.0)]
    assert ids(assign([call("c1")], agents, NOW)) == [("c1", "a")]
    assert ids(assign([call("c1")], list(reversed(agents)), NOW)) == [("c1", "a")]


# --- expert / seconded preference ----------------------------------------------------------------


EXPERTS = frozenset({"transport-experts"})


def test_expert_only_before_widen_and_widened_from_widen_at() -> None:
    c = call("c1", group="transport-experts", widen_at=NOW)
    general = agent("gen", 0.0)
    expert = agent("exp", 500.0, groups=EXPERTS)
    busy_expert = agent("exp2", 0.0, groups=EXPERTS, state=AgentState.BUSY, call_id="other")
    before = NOW - 0.001
    assert not eligible(general, c, before)
    assert eligible(expert, c, before)
    assert ids(assign([c], [general, expert], before)) == [("c1", "exp")]
    # An expert is staffed but busy: the call waits for the group until widen_at.
    assert assign([c], [general, busy_expert], before) == []
    # Exactly at widen_at the call is widened; the longest idle (general) now wins.
    assert not restricted_to_group(c, NOW)
    assert eligible(general, c, NOW)
    assert ids(assign([c], [general, expert], NOW)) == [("c1", "gen")]


def test_widened_call_keeps_place_in_line() -> None:
    waiting = call("w", 1.0, group="g", widen_at=NOW)
    newer = call("n", 2.0)
    assert ids(assign([newer, waiting], [agent("gen")], NOW)) == [("w", "gen")]


def test_group_with_widen_at_zero_is_restricted_while_the_group_is_staffed() -> None:
    c = call("esc", 0.0, group="transport-experts", widen_at=0.0, escalated=True)
    general = agent("gen", 0.0)
    wrapping_expert = agent("exp9", 0.0, groups=EXPERTS, state=AgentState.WRAP_UP)
    assert restricted_to_group(c, 10**12)
    assert not eligible(general, c, 10**12)
    assert assign([c], [general, wrapping_expert], 10**12) == []
    # Nobody of the group staffed any more: the escalated caller is not left waiting for no one.
    assert ids(assign([c], [general], 10**12)) == [("esc", "gen")]
    expert = agent("exp", 5.0, groups=frozenset({"transport-experts"}))
    assert ids(assign([c], [general, expert], NOW)) == [("esc", "exp")]


@pytest.mark.parametrize(
    "absent",
    [
        {"state": AgentState.LOGGED_OUT},
        {"state": AgentState.PAUSED},
        {"reachable": False},
        {"skills": {"transport": 5}},  # staffed, but without the call's skill
    ],
    ids=["logged-out", "paused", "phone-unreachable", "lacks-skill"],
)
def test_a_preference_nobody_of_the_group_could_serve_costs_nothing(absent: dict[str, Any]) -> None:
    c = call("c1", group="civil-affairs", widen_at=NOW + 30)
    general = agent("gen")
    seconded = agent("sec", seconded_by="civil-affairs", **absent)
    assert not group_can_serve(c, [general, seconded])
    assert ids(assign([c], [general, seconded], NOW)) == [("c1", "gen")]


@pytest.mark.parametrize("state", [AgentState.READY, AgentState.RINGING, AgentState.BUSY, AgentState.WRAP_UP])
def test_a_staffed_group_member_keeps_the_preference(state: AgentState) -> None:
    c = call("c1", group="civil-affairs", widen_at=NOW + 30)
    seconded = agent("sec", seconded_by="civil-affairs", state=state, call_id="" if state is AgentState.READY else "x")
    assert group_can_serve(c, [seconded])
    expected = [("c1", "sec")] if state is AgentState.READY else []
    assert ids(assign([c], [agent("gen"), seconded], NOW)) == expected


def test_an_unreachable_phone_is_never_offered_a_call() -> None:
    away = agent("away", 0.0, reachable=False)
    here = agent("here", 10.0)
    assert not eligible(away, call("c1"), NOW)
    assert ids(assign([call("c1"), call("c2", 1.0)], [away, here], NOW)) == [("c1", "here")]


def test_no_group_means_anyone() -> None:
    c = call("c1", widen_at=NOW + 100)
    assert not restricted_to_group(c, NOW)
    assert eligible(agent("gen"), c, NOW)


def test_seconded_by_department_matches_group() -> None:
    c = call("c1", group="dept-housing", widen_at=NOW + 60)
    seconded = agent("sec", 500.0, seconded_by="dept-housing")
    other_dept = agent("oth", 0.0, seconded_by="dept-water")
    general = agent("gen", 0.0)
    assert eligible(seconded, c, NOW)
    assert not eligible(other_dept, c, NOW)
    assert not eligible(general, c, NOW)
    assert ids(assign([c], [general, other_dept, seconded], NOW)) == [("c1", "sec")]


def test_head_of_line_does_not_block() -> None:
    head = call("head", 0.0, group="transport-experts", widen_at=NOW + 60)
    nxt = call("next", 10.0)
    general = agent("gen")
    busy_expert = agent("exp2", 0.0, groups=EXPERTS, state=AgentState.BUSY, call_id="other")
    assert ids(assign([head, nxt], [general, busy_expert], NOW)) == [("next", "gen")]
    # With an expert ready too, the head goes to the expert and the next call to the generalist.
    expert = agent("exp", 999.0, groups=frozenset({"transport-experts"}))
    assert ids(assign([head, nxt], [general, expert], NOW)) == [("head", "exp"), ("next", "gen")]


def test_expert_may_take_general_calls_too() -> None:
    expert = agent("exp", groups=frozenset({"transport-experts"}))
    assert ids(assign([call("c1")], [expert], NOW)) == [("c1", "exp")]


# --- one offer at a time -------------------------------------------------------------------------


def test_offered_calls_are_not_candidates() -> None:
    ringing = call("ringing", 0.0, offered_to="a-other")
    free = agent("a1")
    assert not eligible(free, ringing, NOW)
    assert ids(assign([ringing, call("c2", 5.0)], [free], NOW)) == [("c2", "a1")]


@pytest.mark.parametrize("state", [s for s in AgentState if s is not AgentState.READY])
def test_non_ready_agents_are_not_candidates(state: AgentState) -> None:
    a = agent("a1", state=state)
    assert not eligible(a, call("c1"), NOW)
    assert assign([call("c1")], [a], NOW) == []


def test_agent_holding_an_offer_is_not_used() -> None:
    ringing = call("ringing", 0.0, offered_to="a1")
    # Even if its state still says READY, an agent that some call is ringing is not free.
    stale = agent("a1", 0.0)
    assert assign([ringing, call("c2")], [stale], NOW) == []
    with_call = agent("a2", 0.0, call_id="other")
    assert assign([call("c3")], [with_call], NOW) == []


def test_assign_does_not_mutate() -> None:
    calls = [call("c1", 1.0), call("c2", 2.0)]
    agents = [agent("a1", 1.0), agent("a2", 2.0)]
    snapshot = ([replace(c) for c in calls], [replace(a) for a in agents])
    pairs = assign(calls, agents, NOW)
    assert len(pairs) == 2
    assert (calls, agents) == snapshot


def test_each_agent_at_most_once_per_round() -> None:
    calls = [call(f"c{i}", float(i)) for i in range(5)]
    agents = [agent("a1", 1.0), agent("a2", 2.0)]
    assert ids(assign(calls, agents, NOW)) == [("c0", "a1"), ("c1", "a2")]


def _random_round(rng: random.Random) -> tuple[list[QueuedCall], list[AgentSeat], float]:
    groups = ["g1", "g2", "dept-a"]
    skills = ["general", "legal", "tax"]
    now = rng.uniform(100.0, 200.0)
    agents = []
    for i in range(rng.randint(0, 12)):
        agents.append(
            AgentSeat(
                id=f"a{i:02d}",
                endpoint=f"PJSIP/a{i}",
                groups=frozenset(rng.sample(groups, rng.randint(0, 2))),
                seconded_by=rng.choice([None, None, "dept-a"]),
                skills={s: rng.randint(0, 2) for s in rng.sample(skills, rng.randint(0, 3))},
                state=rng.choice([AgentState.READY] * 3 + list(AgentState)),
                idle_since=float(rng.randint(0, 5)),  # few values: plenty of ties
            )
        )
    calls = []
    for i in range(rng.randint(0, 15)):
        group = rng.choice(["", "", *groups])
        calls.append(
            QueuedCall(
                call_id=f"c{i:02d}",
                channel_id=f"ch{i}",
                hotline="12345",
                enqueued_at=float(rng.randint(0, 100)),
                seq=i,
                priority=rng.randint(0, 2),
                group=group,
                widen_at=rng.choice([0.0, now - 1, now, now + 1]) if group else 0.0,
                skill=rng.choice(skills),
                offered_to=rng.choice(["", "", "", f"a{rng.randint(0, 11):02d}"]),
                escalated=rng.random() < 0.1,
            )
        )
    return calls, agents, now


@pytest.mark.parametrize("seed", range(300))
def test_assign_invariants_random(seed: int) -> None:
    calls, agents, now = _random_round(random.Random(seed))
    pairs = assign(calls, agents, now)
    used_calls = [c.call_id for c, _ in pairs]
    used_agents = [a.id for _, a in pairs]
    assert len(set(used_calls)) == len(used_calls)
    assert len(set(used_agents)) == len(used_agents)
    holding = {c.offered_to for c in calls if c.offered_to}
    def ok(a: AgentSeat, c: QueuedCall) -> bool:
        return eligible(a, c, now, group_can_serve(c, agents))

    for c, a in pairs:
        assert ok(a, c)
        assert a.id not in holding
    # Pairs come in queue order.
    order = [c.call_id for c in queue_order(calls)]
    assert used_calls == sorted(used_calls, key=order.index)
    # Maximal: no unmatched waiting call has an eligible, unused, free agent.
    pool = [a for a in agents if a.id not in holding and not a.call_id]
    unused = [a for a in pool if a.id not in used_agents]
    for c in calls:
        if c.call_id in used_calls or c.offered_to:
            continue
        assert not [a.id for a in unused if ok(a, c)], c
    # Each call got the longest-idle agent that was still free when its turn came.
    taken: set[str] = set()
    for c, a in pairs:
        candidates = [x for x in pool if x.id not in taken and ok(x, c)]
        best = min(candidates, key=lambda x: (x.idle_since, x.id))
        assert a.id == best.id
        taken.add(a.id)


# --- widening timer ------------------------------------------------------------------------------


def test_next_widen_time() -> None:
    assert next_widen_time([], NOW) is None
    calls = [
        call("nogroup", widen_at=NOW + 5),  # no group: nothing to widen
        call("forever", group="g", widen_at=0.0),  # never widens
        call("past", group="g", widen_at=NOW - 1),  # already widened
        call("now", group="g", widen_at=NOW),  # widened at this instant
        call("offered", group="g", widen_at=NOW + 2, offered_to="a1"),  # ringing an agent
        call("later", group="g", widen_at=NOW + 30),
        call("soon", group="g", widen_at=NOW + 10),
    ]
    assert next_widen_time(calls, NOW) == NOW + 10
    assert next_widen_time(calls[:5], NOW) is None
    assert next_widen_time(calls, NOW + 10) == NOW + 30


# --- position and estimate -----------------------------------------------------------------------


def test_queue_position() -> None:
    calls = [
        call("c1", 10.0),
        call("ringing", 5.0, offered_to="a1"),
        call("c2", 20.0),
        call("vip", 30.0, priority=1),
    ]
    assert queue_position(calls, "vip") == 1
    assert queue_position(calls, "c1") == 2
    assert queue_position(calls, "c2") == 3
    assert queue_position(calls, "ringing") == 0
    assert queue_position(calls, "missing") == 0
    assert queue_position([], "c1") == 0


@pytest.mark.parametrize(
    ("position", "agents", "aht", "expected"),
    [
        (1, 1, 180.0, 180.0),
        (3, 1, 180.0, 540.0),
        (3, 2, 180.0, 360.0),
        (4, 2, 180.0, 360.0),
        (5, 2, 180.0, 540.0),
        (5, 0, 60.0, 300.0),  # no agents: treated as one
        (0, 3, 60.0, 0.0),  # not waiting
    ],
)
def test_expected_wait(position: int, agents: int, aht: float, expected: float) -> None:
    assert expected_wait(position, agents, aht) == pytest.approx(expected)
