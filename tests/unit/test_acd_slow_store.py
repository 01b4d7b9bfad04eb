"""The ACD on a slow database (every agent write 50 ms late): one dispatch round writes all its
ringing states together, and different agents' changes go on side by side, while the changes of
one agent stay in order. With one lock over every write (as before), the round of 3 offers took
3 round trips, and 20 agents' state changes queued behind each other: tests/integration/
test_database_slow.py saw about 1 offer a second at 200 ms per statement."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentSeat, AgentState, QueuePolicy
from tests.unit.fakes import FakeClock, MemoryStore

LATE = 0.05


@dataclass
class SlowStore(MemoryStore):
    in_flight: int = 0
    most: int = 0
    order: list[tuple[str, str]] = field(default_factory=list)  # (agent, state) as written

    async def save_agent(self, agent: AgentSeat) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(LATE)
        self.in_flight -= 1
        self.order.append((agent.id, agent.state.value))
        await super().save_agent(agent)


def _acd(store: SlowStore, *ids: str) -> Acd:
    agents = [AgentSeat(id=i, endpoint=f"agent-{i}", skills={"general": 1}) for i in ids]
    return Acd(agents, QueuePolicy(ring_timeout=15, wrap_up=0, widen_after=30), store, FakeClock(1000.0))


async def test_a_round_writes_its_offers_together_and_agents_change_side_by_side() -> None:
    store = SlowStore()
    acd = _acd(store, "1001", "1002", "1003")
    await asyncio.gather(*(acd.login(i) for i in ("1001", "1002", "1003")))
    assert store.most == 3  # three logins at once, not one after the other

    offered: list[str] = []
    for n in range(3):
        await acd.enqueue(acd.new_entry(f"c{n}", f"ch-c{n}", "12345", "", False), lambda o: offered.append(o.agent_id))
    store.most = 0
    await acd.dispatch()
    assert sorted(offered) == ["1001", "1002", "1003"] and store.most == 3
    assert all(a.state is AgentState.RINGING for a in acd.agents.values())


async def test_the_changes_of_one_agent_stay_in_order() -> None:
    store = SlowStore()
    acd = _acd(store, "1001")
    await acd.login("1001")
    await asyncio.gather(acd.pause("1001", "小休"), acd.ready("1001"), acd.pause("1001", "午饭"))
    assert [state for _, state in store.order] == ["ready", "paused", "ready", "paused"]
    assert acd.agents["1001"].state is AgentState.PAUSED and store.agents["1001"]["pause_reason"] == "午饭"


async def test_an_agent_being_changed_sits_the_round_out() -> None:
    store = SlowStore()
    acd = _acd(store, "1001", "1002")
    await asyncio.gather(acd.login("1001"), acd.login("1002"))
    offered: list[str] = []
    await acd.enqueue(acd.new_entry("c0", "ch-c0", "12345", "", False), lambda o: offered.append(o.agent_id))
    pausing = asyncio.create_task(acd.pause("1001", "小休"))  # 1001 has waited longest: it would be first
    await asyncio.sleep(0)
    await acd.dispatch()
    await pausing
    assert offered == ["1002"] and acd.agents["1001"].state is AgentState.PAUSED
