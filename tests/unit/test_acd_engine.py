"""ari_app.acd.engine.Acd without Asterisk or PostgreSQL: an in-memory store, a settable clock, and
offers collected from the deliver callbacks. dispatch() is called directly; run() runs as a task
only where its timers (end of wrap-up, widening) or its wake-ups are what is tested."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ari_app.acd.engine import Acd, AcdError
from ari_app.acd.model import AgentOffer, AgentSeat, AgentState, QueuedCall, QueuePolicy
from tests.harness.wait import until
from tests.unit.fakes import FakeClock, MemoryStore, StoreDown

T0 = 1_000.0
EXPERTS = "transport-experts"
CIVIL = "civil-affairs"  # a department that seconds staff to 12345
POLICY = QueuePolicy(ring_timeout=15, wrap_up=5, widen_after=30, repeat_caller_priority=1, escalation_priority=10,
                     hotline_priority={"12328": 3})
WAIT = 2.0  # deadline (s) for what run() must do; the timers under test fire after about 0.1 s


def seat(agent_id: str, **kw: Any) -> AgentSeat:
    kw.setdefault("skills", {"general": 1})
    return AgentSeat(id=agent_id, endpoint=f"agent-{agent_id}", **kw)


class Offers:
    """A call's deliver callback: keeps every offer with the (fake) time it was made."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.received: list[tuple[float, AgentOffer]] = []
        self._queue: asyncio.Queue[AgentOffer] = asyncio.Queue()

    def __call__(self, offer: AgentOffer) -> None:
        self.received.append((self._clock(), offer))
        self._queue.put_nowait(offer)

    @property
    def agents(self) -> list[str]:
        return [offer.agent_id for _, offer in self.received]

    async def next(self, timeout: float = WAIT) -> AgentOffer:
        return await asyncio.wait_for(self._queue.get(), timeout)


class Harness:
    """An Acd on a MemoryStore and a FakeClock, with one Offers per enqueued call."""

    def __init__(self, *agents: AgentSeat, policy: QueuePolicy = POLICY, store: MemoryStore | None = None) -> None:
        self.clock = FakeClock(T0)
        self.store = store if store is not None else MemoryStore()
        self.acd = Acd(agents, policy, self.store, self.clock)
        self.offers: dict[str, Offers] = {}

    async def login(self, *agent_ids: str) -> None:
        """Log agents in one second apart: the first one named has been idle longest."""
        for agent_id in agent_ids:
            await self.acd.login(agent_id)
            self.clock.advance(1)

    def entry(self, call_id: str, hotline: str = "12345", group: str = "", repeat_caller: bool = False) -> QueuedCall:
        return self.acd.new_entry(call_id, f"ch-{call_id}", hotline, group, repeat_caller)

    async def enqueue(self, call: QueuedCall) -> Offers:
        offers = self.offers.setdefault(call.call_id, Offers(self.clock))
        await self.acd.enqueue(call, offers)
        return offers

    async def arrive(self, call_id: str, **kw: Any) -> Offers:
        """A new caller joins the line now (and the clock moves on a little)."""
        offers = await self.enqueue(self.entry(call_id, **kw))
        self.clock.advance(0.5)
        return offers

    async def answered(self, call_id: str, agent_id: str) -> QueuedCall:
        """``call_id`` arrives, is offered to ``agent_id`` (the caller makes sure it is the only free
        agent) and the agent answers. Returns the call's entry in line."""
        entry = self.entry(call_id)
        offers = await self.enqueue(entry)
        self.clock.advance(0.5)
        await self.acd.dispatch()
        assert offers.agents == [agent_id]
        await self.acd.connected(call_id, agent_id, f"agent-leg-{call_id}", f"talk-{call_id}")
        return entry

    def offered(self) -> dict[str, list[str]]:
        """Every offer made so far: call id -> agent ids."""
        return {call_id: o.agents for call_id, o in self.offers.items() if o.agents}


def assert_memory_matches_store(acd: Acd, store: MemoryStore) -> None:
    """What the engine holds is what PostgreSQL would hold: every agent's stored columns, and the
    set of waiting calls with their place in line."""
    for agent in acd.agents.values():
        row = store.agents.get(agent.id)
        if row is None:
            assert agent.state is AgentState.LOGGED_OUT and not agent.call_id, f"{agent.id} changed but never saved"
            continue
        memory = {"agent_id": agent.id, "state": agent.state.value, "state_since": agent.state_since,
                  "pause_reason": agent.pause_reason, "idle_since": agent.idle_since,
                  "wrap_up_until": agent.wrap_up_until, "call_id": agent.call_id}
        assert memory == row, agent.id
    assert set(acd.queue) == store.waiting_ids()
    for call in acd.queue.values():
        row = store.calls[call.call_id]
        assert (row["enqueued_at"], row["seq"], row["priority"], row["grp"], row["escalated"], row["widen_at"]) == (
            call.enqueued_at, call.seq, call.priority, call.group, call.escalated, call.widen_at), call.call_id


@contextlib.asynccontextmanager
async def running(acd: Acd) -> AsyncIterator[asyncio.Task[None]]:
    """``acd.run()`` as a task for the duration of the block; a crash of the task fails the test."""
    task = asyncio.create_task(acd.run(), name="acd-under-test")
    try:
        yield task
    finally:
        crashed = task.done() and not task.cancelled() and task.exception() is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    assert not crashed, "acd.run() ended with an exception"


# --- dispatch ------------------------------------------------------------------------------------


async def test_a_call_goes_to_the_longest_idle_ready_agent() -> None:
    h = Harness(seat("1001"), seat("1002"), seat("1003"))
    await h.login("1002", "1003", "1001")  # 1002 has waited longest
    offers = await h.arrive("c1")
    await h.acd.dispatch()

    assert [o for _, o in offers.received] == [AgentOffer("1002", "agent-1002")]
    agent = h.acd.agents["1002"]
    assert (agent.state, agent.call_id) == (AgentState.RINGING, "c1")
    assert h.acd.queue["c1"].offered_to == "1002"
    assert h.store.agents["1002"]["state"] == "ringing"
    assert_memory_matches_store(h.acd, h.store)


async def test_one_offer_per_agent_and_per_call() -> None:
    h = Harness(seat("1001"), seat("1002"))
    await h.login("1001", "1002")
    for call_id in ("c1", "c2", "c3"):
        await h.arrive(call_id)
    await h.acd.dispatch()
    await h.acd.dispatch()  # a second round changes nothing: both agents are ringing

    assert h.offered() == {"c1": ["1001"], "c2": ["1002"]}
    assert h.acd.queue["c3"].offered_to == ""
    assert {a.call_id for a in h.acd.agents.values()} == {"c1", "c2"}
    assert_memory_matches_store(h.acd, h.store)


async def test_only_ready_agents_with_the_skill_are_offered() -> None:
    h = Harness(seat("1001"), seat("1002"), seat("1003", skills={"tax": 3}), seat("1004"))
    await h.login("1001", "1002", "1003")  # 1004 stays logged out
    await h.acd.pause("1001", "lunch")
    offers = await h.arrive("c1")
    await h.acd.dispatch()
    assert offers.agents == ["1002"]
    await h.arrive("c2")
    await h.acd.dispatch()  # 1003 is ready but has no "general" skill
    assert h.offered() == {"c1": ["1002"]}


async def test_higher_priority_is_offered_first() -> None:
    h = Harness(seat("1001"))
    early = await h.arrive("early")
    urgent = await h.arrive("urgent", hotline="12328")
    await h.login("1001")
    await h.acd.dispatch()
    assert (early.agents, urgent.agents) == ([], ["1001"])


async def test_agent_state_changes_are_refused_when_they_make_no_sense() -> None:
    h = Harness(seat("1001"))
    with pytest.raises(AcdError):
        await h.acd.pause("1001", "lunch")  # logged out
    with pytest.raises(AcdError):
        await h.acd.login("nobody")
    await h.login("1001")
    await h.answered("c1", "1001")
    for change in (h.acd.pause("1001", ""), h.acd.logout("1001"), h.acd.ready("1001")):
        with pytest.raises(AcdError):
            await change
    assert h.acd.agents["1001"].state is AgentState.BUSY
    assert_memory_matches_store(h.acd, h.store)


# --- rollover --------------------------------------------------------------------------------------


async def test_a_missed_offer_pauses_the_agent_and_the_call_keeps_its_place() -> None:
    h = Harness(seat("1001"), seat("1002"), seat("1003"))
    await h.login("1001", "1002")
    first = await h.arrive("c1")
    await h.acd.dispatch()
    assert first.agents == ["1001"]
    await h.arrive("c2")  # arrives while c1 rings 1001

    await h.acd.offer_failed("c1", "1001", "no answer")
    missed = h.acd.agents["1001"]
    assert (missed.state, missed.pause_reason, missed.call_id) == (AgentState.PAUSED, "missed call (no answer)", "")
    assert h.acd.queue["c1"].offered_to == ""
    assert h.acd.announcement("c1", 60) == (1, 1)  # still ahead of c2

    await h.acd.dispatch()
    assert h.offered() == {"c1": ["1001", "1002"]}  # the next agent, for the same caller first
    await h.login("1003")
    await h.acd.dispatch()
    assert h.offered() == {"c1": ["1001", "1002"], "c2": ["1003"]}
    assert_memory_matches_store(h.acd, h.store)


async def test_requeued_after_the_agent_hung_up_on_answer_keeps_the_old_place() -> None:
    """The flow's path when the agent's leg is gone on answer: offer_failed, then enqueue again."""
    h = Harness(seat("1001"), seat("1002"))
    await h.login("1001")
    entry = h.entry("c1")
    place = (entry.enqueued_at, entry.seq)
    offers = await h.enqueue(entry)
    h.clock.advance(10)
    await h.acd.dispatch()
    await h.arrive("c2")
    await h.acd.offer_failed("c1", "1001", "hung up on answer")
    await h.acd.enqueue(entry, offers)
    await h.login("1002")
    await h.acd.dispatch()
    assert h.offered() == {"c1": ["1001", "1002"]}
    assert (h.store.calls["c1"]["enqueued_at"], h.store.calls["c1"]["seq"]) == place
    assert h.store.writes_of("enqueue") == ["c1", "c2", "c1"]
    assert_memory_matches_store(h.acd, h.store)


async def test_an_offer_made_before_the_requeue_is_kept_and_no_second_agent_is_offered_the_caller() -> None:
    """The agent hung up on answer; the next round offers the caller to another agent before the flow
    puts the caller back in line: that offer stands (it waits in the call's inbox), and nobody else
    rings for the caller meanwhile."""
    h = Harness(seat("1001"), seat("1002"), seat("1003"))
    await h.login("1001")
    entry = h.entry("c1")
    offers = await h.enqueue(entry)
    await h.acd.dispatch()
    await h.acd.offer_failed("c1", "1001", "hung up on answer")
    await h.login("1002")
    await h.acd.dispatch()  # before the flow's enqueue below
    await h.acd.enqueue(entry, offers)
    await h.login("1003")
    await h.acd.dispatch()
    assert h.offered() == {"c1": ["1001", "1002"]}
    assert h.acd.agents["1003"].state is AgentState.READY
    assert entry.offered_to == "1002"
    assert_memory_matches_store(h.acd, h.store)


async def test_a_late_offer_failure_does_not_pause_an_agent_who_moved_on() -> None:
    h = Harness(seat("1001"))
    await h.login("1001")
    await h.arrive("c1")
    await h.acd.dispatch()
    await h.acd.abandon("c1")  # the caller hung up while 1001 rang: 1001 is free again
    assert h.acd.agents["1001"].state is AgentState.READY
    await h.acd.offer_failed("c1", "1001", "no answer")
    assert h.acd.agents["1001"].state is AgentState.READY
    assert h.store.calls["c1"]["status"] == "abandoned"
    assert_memory_matches_store(h.acd, h.store)


# --- wrap-up -------------------------------------------------------------------------------------


async def test_call_ended_starts_wrap_up_and_the_agent_gets_no_call_meanwhile() -> None:
    h = Harness(seat("1001"))
    await h.login("1001")
    await h.answered("c1", "1001")
    assert h.store.calls["c1"]["status"] == "talking" and h.store.calls["c1"]["agent_id"] == "1001"
    h.clock.advance(120)
    await h.acd.call_ended("c1", "1001")

    agent = h.acd.agents["1001"]
    assert (agent.state, agent.call_id) == (AgentState.WRAP_UP, "c1")
    assert agent.wrap_up_until == h.clock() + POLICY.wrap_up
    assert h.store.calls["c1"]["status"] == "ended"
    assert h.acd.average_handle(60) == 120
    offers = await h.arrive("c2")
    await h.acd.dispatch()
    assert offers.agents == []
    assert_memory_matches_store(h.acd, h.store)


async def test_call_ended_for_another_call_leaves_the_agent_alone() -> None:
    h = Harness(seat("1001"))
    await h.login("1001")
    await h.answered("c1", "1001")
    await h.acd.call_ended("c0", "1001")
    assert h.acd.agents["1001"].state is AgentState.BUSY


async def test_run_makes_the_agent_ready_when_wrap_up_ends() -> None:
    h = Harness(seat("1001"))
    await h.login("1001")
    await h.answered("c1", "1001")
    await h.acd.call_ended("c1", "1001")
    end = h.acd.agents["1001"].wrap_up_until
    offers = await h.arrive("c2")
    h.clock.set(end - 0.1)  # 0.1 s of wrap-up left, on a clock that now runs
    h.clock.tick()
    async with running(h.acd):
        offer = await offers.next()
        assert offer.agent_id == "1001"
    when = offers.received[0][0]
    assert when >= end
    assert h.acd.agents["1001"].idle_since >= end
    assert_memory_matches_store(h.acd, h.store)


# --- widening ------------------------------------------------------------------------------------


async def test_a_group_call_waits_for_its_busy_expert_until_widen_at() -> None:
    h = Harness(seat("e1", groups=frozenset({EXPERTS})), seat("1001"))
    await h.login("e1")
    await h.answered("c0", "e1")  # the only expert is busy, but staffed
    await h.login("1001")
    call = h.entry("c1", hotline="12328", group=EXPERTS)
    assert call.widen_at == h.clock() + POLICY.widen_after
    offers = await h.enqueue(call)
    assert h.store.calls["c1"]["queue"] == f"expert:{EXPERTS}"

    await h.acd.dispatch()
    h.clock.set(call.widen_at - 0.001)
    await h.acd.dispatch()
    assert offers.agents == []
    h.clock.set(call.widen_at)
    await h.acd.dispatch()
    assert offers.agents == ["1001"]


async def test_a_group_call_goes_to_its_group_first() -> None:
    h = Harness(seat("1001"), seat("s1", seconded_by=CIVIL))
    await h.login("1001", "s1")  # 1001 has been idle longer
    offers = await h.arrive("c1", hotline="12349", group=CIVIL)
    await h.acd.dispatch()
    assert offers.agents == ["s1"]


@pytest.mark.parametrize("absent", ["logged_out", "paused", "phone_unreachable", "no_skill"])
async def test_a_group_call_with_nobody_of_the_group_staffed_goes_at_once(absent: str) -> None:
    expert = seat("e1", groups=frozenset({EXPERTS}), skills={} if absent == "no_skill" else {"general": 1})
    h = Harness(expert, seat("1001"))
    if absent != "logged_out":
        await h.login("e1")
    if absent == "paused":
        await h.acd.pause("e1", "meeting")
    if absent == "phone_unreachable":
        h.acd.phone_state("agent-e1", False)
    await h.login("1001")
    offers = await h.arrive("c1", hotline="12328", group=EXPERTS)
    assert h.store.calls["c1"]["queue"] == "intake"
    await h.acd.dispatch()
    assert offers.agents == ["1001"]


async def test_run_widens_a_group_call_on_time() -> None:
    h = Harness(seat("e1", groups=frozenset({EXPERTS})), seat("1001"))
    await h.login("e1")
    await h.answered("c0", "e1")
    await h.login("1001")
    call = h.entry("c1", hotline="12328", group=EXPERTS)
    h.clock.set(call.widen_at - 0.1)
    h.clock.tick()
    offers = await h.enqueue(call)
    async with running(h.acd):
        offer = await offers.next()
    assert offer.agent_id == "1001"
    assert offers.received[0][0] >= call.widen_at


# --- escalation ----------------------------------------------------------------------------------


async def test_an_escalated_call_goes_ahead_of_new_arrivals() -> None:
    h = Harness(seat("1001"), seat("e1", groups=frozenset({EXPERTS})))
    await h.login("1001")
    old = await h.answered("c1", "1001")  # c1 talks to 1001 ...
    # ... while others wait: one even earlier and with a high priority, one new arrival.
    earlier = await h.enqueue(QueuedCall("c0", "ch-c0", "12328", enqueued_at=T0 - 100, seq=0, priority=9))
    waiting = await h.arrive("c2")
    escalated = h.acd.escalated_entry(old, EXPERTS)  # 1001 hands c1 to the experts
    assert (escalated.priority, escalated.group, escalated.widen_at, escalated.escalated) == (10, EXPERTS, 0.0, True)
    assert (escalated.enqueued_at, escalated.seq) == (old.enqueued_at, old.seq)
    await h.acd.call_ended("c1", "1001")
    offers = await h.enqueue(escalated)
    assert h.store.calls["c1"]["escalated"] is True
    told = [h.acd.announcement(c, 60) for c in ("c1", "c0", "c2")]
    assert [t[0] if t else 0 for t in told] == [1, 2, 3]  # positions

    await h.login("e1")
    await h.acd.dispatch()
    assert (offers.agents, earlier.agents, waiting.agents) == (["1001", "e1"], [], [])  # 1001: its first offer
    assert_memory_matches_store(h.acd, h.store)


async def test_an_escalated_call_stays_with_its_group_while_the_group_is_staffed() -> None:
    h = Harness(seat("e1", groups=frozenset({EXPERTS})), seat("1001"))
    await h.login("e1")
    await h.answered("c0", "e1")
    await h.login("1001")
    escalated = h.acd.escalated_entry(h.entry("c1"), EXPERTS)
    offers = await h.enqueue(escalated)
    await h.acd.dispatch()
    h.clock.advance(3600)  # no widening for an escalation
    await h.acd.dispatch()
    assert offers.agents == []

    await h.acd.call_ended("c0", "e1")  # wrap-up: still staffed
    await h.acd.dispatch()
    assert offers.agents == []
    await h.acd.pause("e1", "end of shift")  # nobody of the group is staffed any more
    await h.acd.dispatch()
    assert offers.agents == ["1001"]


# --- readoption after a restart --------------------------------------------------------------------


def _row(agent_id: str, state: str, call_id: str = "", **kw: Any) -> dict[str, Any]:
    return {"agent_id": agent_id, "state": state, "state_since": 500.0, "pause_reason": kw.get("reason", ""),
            "idle_since": kw.get("idle_since", 400.0), "wrap_up_until": 0.0, "call_id": call_id}


async def test_load_restores_agent_states_and_a_ring_is_over() -> None:
    store = MemoryStore(agents={
        "1001": _row("1001", "ready", idle_since=450.0),
        "1002": _row("1002", "ringing", "c9"),
        "1003": _row("1003", "busy", "c8"),
        "1004": _row("1004", "paused", reason="lunch"),
    })
    store.calls["c8"] = {"call_id": "c8", "seq": 41, "status": "talking", "ended_at": None}
    h = Harness(seat("1001"), seat("1002"), seat("1003"), seat("1004"), seat("1005"), store=store)
    await h.acd.load()

    states = {a.id: (a.state, a.call_id) for a in h.acd.agents.values()}
    assert states == {
        "1001": (AgentState.READY, ""), "1002": (AgentState.READY, ""), "1003": (AgentState.BUSY, "c8"),
        "1004": (AgentState.PAUSED, ""), "1005": (AgentState.LOGGED_OUT, ""),
    }
    assert h.acd.agents["1004"].pause_reason == "lunch"
    assert h.acd.agents["1001"].idle_since == 450.0
    assert h.acd.agents["1005"].state_since == T0
    assert h.entry("c10").seq == 42  # numbering goes on after the stored calls

    offers = await h.arrive("c10")
    await h.acd.dispatch()
    assert offers.agents == ["1002"]  # idle since 400: longer than 1001


async def test_adopt_talking_makes_the_agent_busy_on_the_adopted_call() -> None:
    store = MemoryStore(agents={"1001": _row("1001", "ready"), "1002": _row("1002", "busy", "c2")})
    h = Harness(seat("1001"), seat("1002"), store=store)
    await h.acd.load()
    await h.acd.adopt_talking("c1", "1001")
    assert (h.acd.agents["1001"].state, h.acd.agents["1001"].call_id) == (AgentState.BUSY, "c1")
    assert h.store.agents["1001"]["state"] == "busy" and h.store.agents["1001"]["call_id"] == "c1"

    writes = len(h.store.writes)
    await h.acd.adopt_talking("c2", "1002")  # already as stored: nothing to write
    assert len(h.store.writes) == writes
    offers = await h.arrive("c3")
    await h.acd.dispatch()
    assert offers.agents == []
    assert_memory_matches_store(h.acd, h.store)


async def test_ended_while_away_closes_the_stored_calls_and_frees_the_agent() -> None:
    store = MemoryStore(agents={"1001": _row("1001", "busy", "c1")})
    h = Harness(seat("1001"), store=store)
    await h.acd.load()
    for call_id, status in (("c1", "talking"), ("c2", "waiting")):
        h.store.calls[call_id] = {"call_id": call_id, "seq": 1, "status": status, "ended_at": None}

    await h.acd.ended_while_away("c2", "", "waiting")
    await h.acd.ended_while_away("c1", "1001", "talking")
    assert (h.store.calls["c1"]["status"], h.store.calls["c2"]["status"]) == ("ended", "abandoned")
    agent = h.acd.agents["1001"]
    assert (agent.state, agent.wrap_up_until) == (AgentState.WRAP_UP, T0 + POLICY.wrap_up)
    assert_memory_matches_store(h.acd, h.store)


async def test_readopted_waiting_callers_keep_their_order() -> None:
    h = Harness(seat("1001"))
    late = QueuedCall("late", "ch-late", "12345", enqueued_at=900.0, seq=7)
    early = QueuedCall("early", "ch-early", "12345", enqueued_at=800.0, seq=3)
    late_offers, early_offers = await h.enqueue(late), await h.enqueue(early)
    await h.login("1001")
    await h.acd.dispatch()
    assert (early_offers.agents, late_offers.agents) == (["1001"], [])


# --- phones --------------------------------------------------------------------------------------


async def test_an_unreachable_agent_is_never_offered() -> None:
    h = Harness(seat("1001"), seat("1002"))
    await h.login("1001", "1002")
    h.acd.phone_state("agent-1001", False)
    h.acd.phone_state("agent-unknown", False)  # not an agent: ignored
    first = await h.arrive("c1")
    second = await h.arrive("c2")
    await h.acd.dispatch()
    await h.acd.dispatch()
    assert (first.agents, second.agents) == (["1002"], [])

    h.acd.phone_state("agent-1001", True)
    await h.acd.dispatch()
    assert second.agents == ["1001"]


async def test_agents_start_with_an_unregistered_phone_until_asterisk_says_otherwise() -> None:
    h = Harness(seat("1001", reachable=False))
    await h.login("1001")
    offers = await h.arrive("c1")
    async with running(h.acd):
        await h.acd.dispatch()
        assert offers.agents == []
        h.acd.phone_state("agent-1001", True)  # wakes the dispatch task
        assert (await offers.next()).agent_id == "1001"


# --- a failed write ------------------------------------------------------------------------------


async def scenario() -> Harness:
    """An engine in a known state: 1001 busy on c1, 1002 ringing for c2, 1003 in wrap-up after c0,
    1004 ready, 1005 paused, 1006 logged out; c3 waiting (1004, the only free agent, has no general skill)."""
    h = Harness(seat("1001"), seat("1002"), seat("1003"), seat("1004", skills={"tax": 1}), seat("1005"), seat("1006"))
    await h.login("1001")
    await h.answered("c1", "1001")
    await h.login("1003")
    await h.answered("c0", "1003")
    await h.acd.call_ended("c0", "1003")
    await h.login("1002")
    await h.arrive("c2")
    await h.acd.dispatch()
    assert h.offered()["c2"] == ["1002"]
    await h.login("1004", "1005")
    await h.acd.pause("1005", "lunch")
    await h.arrive("c3")
    await h.acd.dispatch()
    assert_memory_matches_store(h.acd, h.store)
    return h


OPERATIONS: dict[str, tuple[str, Callable[[Harness], Awaitable[object]]]] = {
    # name: (store operation that fails, what the engine is asked to do)
    "login": ("save_agent", lambda h: h.acd.login("1006")),
    "logout": ("save_agent", lambda h: h.acd.logout("1004")),
    "pause": ("save_agent", lambda h: h.acd.pause("1004", "lunch")),
    "ready": ("save_agent", lambda h: h.acd.ready("1005")),
    "ready_after_wrap_up": ("save_agent", lambda h: h.acd.ready("1003")),
    "enqueue": ("enqueue", lambda h: h.acd.enqueue(h.entry("c9"), Offers(h.clock))),
    "offer_failed": ("save_agent", lambda h: h.acd.offer_failed("c2", "1002", "no answer")),
    "release_ring": ("save_agent", lambda h: h.acd.release_ring("c2", "1002")),
    "adopt_talking": ("save_agent", lambda h: h.acd.adopt_talking("c8", "1004")),
    "connected": ("save_agent", lambda h: h.acd.connected("c2", "1002", "agent-leg-c2", "talk-c2")),
    "call_ended": ("save_agent", lambda h: h.acd.call_ended("c1", "1001")),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
async def test_a_failed_write_leaves_memory_as_the_store_has_it(name: str) -> None:
    operation, action = OPERATIONS[name]
    h = await scenario()
    h.store.failing.add(operation)
    with pytest.raises(StoreDown):
        await action(h)
    assert_memory_matches_store(h.acd, h.store)


async def test_a_failed_write_in_dispatch_strands_neither_caller_nor_agent() -> None:
    h = Harness(seat("1001"))
    await h.login("1001")
    offers = await h.arrive("c1")
    h.store.failing.add("save_agent")
    with contextlib.suppress(StoreDown):
        await h.acd.dispatch()
    assert offers.agents == []
    assert_memory_matches_store(h.acd, h.store)
    h.store.failing.clear()  # the database is back
    await h.acd.dispatch()
    assert offers.agents == ["1001"]


async def test_run_goes_on_after_a_failed_write() -> None:
    h = Harness(seat("1001"), seat("1002"))
    await h.login("1001")
    h.store.failing.add("save_agent")
    async with running(h.acd) as task:
        first = await h.arrive("c1")
        await until(lambda: ("save_agent", "1001") in h.store.refused, "the dispatch round whose write fails")
        h.store.failing.clear()  # the database is back
        await h.login("1002")  # a state change wakes dispatch
        second = await h.arrive("c2")
        await until(lambda: bool(first.agents or second.agents), "an offer after the database came back", 0.5)
        assert not task.done()


# --- queue entries and announcements ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("hotline", "group", "repeat_caller", "priority"),
    [("12345", "", False, 0), ("12345", "", True, 1), ("12328", EXPERTS, False, 3), ("12328", EXPERTS, True, 4)],
)
async def test_new_entry_priority_and_preference(hotline: str, group: str, repeat_caller: bool, priority: int) -> None:
    h = Harness()
    before = h.entry("before")
    call = h.entry("c1", hotline=hotline, group=group, repeat_caller=repeat_caller)
    assert (call.priority, call.group, call.enqueued_at, call.seq) == (priority, group, T0, before.seq + 1)
    assert call.widen_at == (T0 + POLICY.widen_after if group else 0.0)
    assert (call.hotline, call.channel_id, call.offered_to, call.escalated) == (hotline, "ch-c1", "", False)


async def test_a_repeat_caller_goes_ahead_of_an_earlier_first_caller() -> None:
    h = Harness(seat("1001"))
    first_time = await h.arrive("c1")
    again = await h.arrive("c2", repeat_caller=True)
    await h.login("1001")
    await h.acd.dispatch()
    assert (first_time.agents, again.agents) == ([], ["1001"])


async def test_announcement_gives_position_and_minutes() -> None:
    h = Harness(seat("1001"), seat("1002"))
    await h.login("1001", "1002")
    await h.answered("c0", "1001")
    await h.arrive("c1")
    await h.acd.dispatch()  # c1 rings 1002: no longer told a position
    for call_id in ("c2", "c3", "c4"):
        await h.arrive(call_id)

    assert h.acd.announcement("c1", 180) is None
    assert h.acd.announcement("nobody", 180) is None
    # 2 staffed agents, 180 s per call: positions 1-2 wait one round, 3 waits two.
    assert [h.acd.announcement(c, 180) for c in ("c2", "c3", "c4")] == [(1, 3), (2, 3), (3, 6)]
    assert h.acd.announcement("c2", 10) == (1, 1)  # at least one minute

    h.clock.advance(240 - (h.clock() - h.acd.agents["1001"].state_since))  # c0 lasted 240 s
    await h.acd.call_ended("c0", "1001")
    assert h.acd.announcement("c4", 180) == (3, 8)  # measured handle time replaces the guess


async def test_every_change_of_an_agent_or_the_line_bumps_the_pulse_live_pages_wait_on() -> None:
    h = Harness(seat("1001"))
    seen = h.acd.changes.version
    await h.login("1001")
    assert h.acd.changes.version > seen, "a login"
    seen = h.acd.changes.version
    await h.arrive("c1")
    assert h.acd.changes.version > seen, "a caller in line"
    seen = h.acd.changes.version
    await h.acd.dispatch()
    assert h.acd.changes.version > seen, "an offer"
    seen = h.acd.changes.version
    await h.acd.connected("c1", "1001", "agent-chan", "talk-c1")
    assert h.acd.changes.version > seen and "c1" not in h.acd.queue, "answered: the caller left the line"
    seen = h.acd.changes.version
    await h.acd.call_ended("c1", "1001")
    assert h.acd.changes.version > seen and h.acd.agents["1001"].state is AgentState.WRAP_UP
