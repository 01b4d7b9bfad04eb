"""The ACD engine: one owner of agent states and the queue, one dispatch task.

Every change goes through this object on the event loop, so two agents never get the same caller, no
caller is offered to two agents, and no agent rings for two callers: the matching is
:func:`ari_app.acd.selection.assign`, run by the single dispatch task. Each change is handed to the
store (queued behind the calls in order per call and agent: a slow database never slows a call, and a
restart finds it stored) and acted on at once. A call's own task rings the agent and bridges the call;
it learns of its agent through the ``deliver`` it hands :meth:`Acd.enqueue`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from ari_app.acd.entries import escalated_entry, new_entry, wait_announcement
from ari_app.acd.figures import queue_of
from ari_app.acd.model import AgentOffer, AgentSeat, AgentState, QueuedCall, QueuePolicy, change_log_level
from ari_app.acd.selection import assign, group_can_serve, next_widen_time
from ari_app.acd.store import AcdPersistence
from ari_app.logs import get_logger
from ari_app.pulse import Pulse

log = get_logger("acd")
RETRY_AFTER_FAILURE = 1.0  # seconds before a failed dispatch round is tried again
PERSISTED = ("state", "state_since", "pause_reason", "idle_since", "wrap_up_until", "call_id")
Pair = tuple[QueuedCall, AgentSeat, tuple[AgentState, float, str]]  # a match, with the agent's state as matched


def _apply(agent: AgentSeat, written: AgentSeat) -> None:
    """Copy what was written to the database into the agent the ACD holds in memory."""
    for name in PERSISTED:
        setattr(agent, name, getattr(written, name))


class AcdError(ValueError):
    """A request the ACD refuses (unknown agent, a state change that makes no sense now)."""


class Acd:
    def __init__(
        self,
        agents: Iterable[AgentSeat],
        policy: QueuePolicy,
        store: AcdPersistence,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._store = store
        self._clock = clock
        self.agents: dict[str, AgentSeat] = {a.id: a for a in agents}
        self._wrapping: set[str] = set()  # agents that went into wrap-up (some may have left): the timers' look
        self._by_endpoint = {a.endpoint: a for a in self.agents.values()}
        self.queue: dict[str, QueuedCall] = {}
        self._offers: dict[str, Callable[[AgentOffer], None]] = {}
        self._handle_times: list[float] = []
        self._seq = 0
        self._retry_at: float | None = None  # when to try again after a failed dispatch round
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one dispatch round at a time
        self._agent_locks: dict[str, asyncio.Lock] = {}  # one change of an agent at a time, in order
        self.changes = Pulse()  # bumped on every change of an agent or the line (live pages wait on it)

    def _poke(self) -> None:
        """Something changed: dispatch again, and tell whoever watches."""
        self._wake.set()
        self.changes.bump()

    # -- start-up ------------------------------------------------------------------------------
    async def load(self) -> None:
        """Agent states from the database (agents not seen before start logged out)."""
        saved = await self._store.load_agents()
        now = self._clock()
        for agent in self.agents.values():
            row = saved.get(agent.id)
            if row is None:
                agent.state_since = now
                continue
            agent.state = AgentState(row["state"])
            agent.state_since = row["state_since"]
            agent.pause_reason = row["pause_reason"]
            agent.idle_since = row["idle_since"]
            agent.wrap_up_until = row["wrap_up_until"]
            agent.call_id = row["call_id"]
            if agent.state is AgentState.RINGING:  # the ring died with the old process
                agent.state, agent.call_id = AgentState.READY, ""
        self._wrapping = {a.id for a in self.agents.values() if a.state is AgentState.WRAP_UP}
        self._seq = await self._store.max_seq()

    def _agent_lock(self, agent_id: str) -> asyncio.Lock:
        return self._agent_locks.setdefault(agent_id, asyncio.Lock())

    def agent_by_endpoint(self, endpoint: str) -> AgentSeat | None:
        return self._by_endpoint.get(endpoint)

    def agent(self, agent_id: str) -> AgentSeat:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise AcdError(f"no agent {agent_id!r}")
        return agent

    # -- agent state ---------------------------------------------------------------------------
    async def _set_state(self, agent: AgentSeat, state: AgentState, reason: str = "", keep_call: bool = False, *,
                         call_id: str | None = None, wrap_up_until: float | None = None) -> None:
        """Change an agent's state: handed to the store (queued behind the calls), then applied in memory
        (a store that raises leaves memory as it was). The changes of one agent are serialized with each
        other and with dispatch (the agent's lock; other agents' changes go on meanwhile); a change
        decided on a state that another change replaced while this one waited for its turn is dropped."""
        seen = (agent.state, agent.state_since, agent.call_id)
        async with self._agent_lock(agent.id):
            if (agent.state, agent.state_since, agent.call_id) != seen:
                log.info("agent_state_stale", agent=agent.id, state=state.value, now=agent.state.value)
                return
            await self._write_state(agent, state, reason, keep_call, call_id, wrap_up_until)

    async def _write_state(
        self,
        agent: AgentSeat,
        state: AgentState,
        reason: str,
        keep_call: bool,
        call_id: str | None = None,
        wrap_up_until: float | None = None,
    ) -> None:
        """The write itself; the caller holds the agent's lock."""
        now = self._clock()
        freed = state in (AgentState.READY, AgentState.PAUSED, AgentState.LOGGED_OUT) and not keep_call
        changed = replace(
            agent, state=state, state_since=now, pause_reason=reason,
            idle_since=now if state is AgentState.READY and agent.state is not AgentState.READY else agent.idle_since,
            call_id=call_id if call_id is not None else ("" if freed else agent.call_id),
            wrap_up_until=wrap_up_until if wrap_up_until is not None else agent.wrap_up_until,
        )
        await self._store.save_agent(changed)
        log.log(change_log_level(agent.state, state), "agent_state", agent=agent.id, state=state.value, reason=reason)
        _apply(agent, changed)
        if state is AgentState.WRAP_UP:
            self._wrapping.add(agent.id)
        self._poke()

    async def _change(self, agent_id: str, state: AgentState, reason: str = "", on_call: str | None = None,
                      logged_out: str = "", only: AgentState | None = None) -> AgentSeat:
        """An agent's own request: refused (saying why) on a call if ``on_call`` is given, logged out if
        ``logged_out`` is; ignored unless in state ``only`` (if given)."""
        agent = self.agent(agent_id)
        async with self._agent_lock(agent_id):
            if on_call is not None and agent.state in (AgentState.RINGING, AgentState.BUSY):
                raise AcdError(f"agent {agent_id} is on a call{on_call}")
            if logged_out and agent.state is AgentState.LOGGED_OUT:
                raise AcdError(f"agent {agent_id} {logged_out}")
            if only is None or agent.state is only:
                await self._write_state(agent, state, reason, False)
        return agent

    async def login(self, agent_id: str) -> AgentSeat:
        return await self._change(agent_id, AgentState.READY, only=AgentState.LOGGED_OUT)

    async def logout(self, agent_id: str) -> AgentSeat:
        return await self._change(agent_id, AgentState.LOGGED_OUT, on_call="; log out after it")

    async def pause(self, agent_id: str, reason: str) -> AgentSeat:
        return await self._change(agent_id, AgentState.PAUSED, reason or "paused", "; pause after it", "is logged out")

    async def ready(self, agent_id: str) -> AgentSeat:
        return await self._change(agent_id, AgentState.READY, on_call="")

    # -- the queue -----------------------------------------------------------------------------
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def now(self) -> float:
        return self._clock()

    async def enqueue(self, call: QueuedCall, deliver: Callable[[AgentOffer], None]) -> None:
        """Put a caller in line (or back in line at its old place); ``deliver`` receives the offers.

        A caller still in line (its agent hung up on answer: ``offer_failed`` has put it back) keeps an
        offer made since: that offer waits in the call's inbox, and forgetting it here would let the
        next round offer the caller to a second agent, who would then ring for a call that never comes
        to them and stay ringing after the call (the bench's overloaded ramp left such an agent)."""
        if self.queue.get(call.call_id) is not call:
            call.offered_to = ""
        staffed = bool(call.group) and group_can_serve(call, self.agents.values())
        await self._store.enqueue(call, queue_of(call, self._clock(), staffed))
        self.queue[call.call_id] = call
        self._offers[call.call_id] = deliver
        self._poke()

    async def offer_failed(self, call_id: str, agent_id: str, reason: str, pause: bool = True) -> None:
        """The agent did not take the call: pause them (so the next caller is not sent to an empty seat;
        ``pause=False``: not to blame, ready again) and put the call back in line at its old place."""
        agent = self.agent(agent_id)
        call = self.queue.get(call_id)
        if call is not None:
            call.offered_to = ""
        if agent.call_id == call_id:
            await self._set_state(agent, AgentState.PAUSED if pause else AgentState.READY,
                                  f"missed call ({reason})" if pause else "")
        self._poke()

    async def connected(self, call_id: str, agent_id: str, agent_channel: str, bridge_id: str) -> None:
        """Caller and agent talk: the agent is busy with the call, which leaves the line."""
        agent = self.agent(agent_id)
        await self._set_state(agent, AgentState.BUSY, keep_call=True, call_id=call_id)
        await self._store.talking(call_id, agent_id, agent_channel, bridge_id, self._clock())
        self.queue.pop(call_id, None)
        self._offers.pop(call_id, None)
        self.changes.bump()

    async def call_ended(self, call_id: str, agent_id: str) -> None:
        """The caller-agent conversation is over: wrap-up, then ready again."""
        await self._store.finish(call_id, "ended", self._clock())
        self._offers.pop(call_id, None)
        agent = self.agent(agent_id)
        if agent.call_id != call_id or agent.state is not AgentState.BUSY:
            return
        now, talked = self._clock(), self._clock() - agent.state_since
        await self._set_state(agent, AgentState.WRAP_UP, keep_call=True, wrap_up_until=now + self.policy.wrap_up)
        self._handle_times = [*self._handle_times[-99:], talked]

    async def abandon(self, call_id: str) -> None:
        """The caller hung up while waiting (or while an agent was ringing)."""
        call = self.queue.pop(call_id, None)
        self._offers.pop(call_id, None)
        await self._store.finish(call_id, "abandoned", self._clock())
        if call is not None and call.offered_to:
            agent = self.agents.get(call.offered_to)
            if agent is not None and agent.call_id == call_id and agent.state is AgentState.RINGING:
                await self._set_state(agent, AgentState.READY)
        self._poke()

    async def release_ring(self, call_id: str, agent_id: str) -> None:
        """The agent's phone stopped ringing because the caller left: the agent is free again."""
        agent = self.agent(agent_id)
        if agent.call_id == call_id and agent.state is AgentState.RINGING:
            await self._set_state(agent, AgentState.READY)

    async def adopt_talking(self, call_id: str, agent_id: str) -> None:
        """After a restart: the agent is still talking to this caller."""
        agent = self.agent(agent_id)
        if agent.state is not AgentState.BUSY or agent.call_id != call_id:
            await self._set_state(agent, AgentState.BUSY, keep_call=True, call_id=call_id)

    async def ended_while_away(self, call_id: str, agent_id: str, status: str) -> None:
        """After a restart: a stored waiting or talking call whose caller is gone."""
        self.queue.pop(call_id, None)
        self.changes.bump()
        await self._store.finish(call_id, "abandoned" if status == "waiting" else "ended", self._clock())
        agent = self.agents.get(agent_id)
        if agent is not None and agent.call_id == call_id and agent.state in (AgentState.BUSY, AgentState.RINGING):
            wrap_up_until = self._clock() + self.policy.wrap_up
            await self._set_state(agent, AgentState.WRAP_UP, keep_call=True, wrap_up_until=wrap_up_until)

    def hold_for_callback(self, call: QueuedCall, deliver: Callable[[AgentOffer], None]) -> None:
        """A callback entry (its caller hung up keeping the place; stored by ari_app.callbacks) is
        in line without a caller on the line: its offers go to ``deliver``."""
        call.offered_to = ""
        self.queue[call.call_id] = call
        self._offers[call.call_id] = deliver
        self._poke()

    def drop_callback(self, call_id: str) -> None:
        """A callback entry leaves the line (called back, or its attempts are spent; stored first)."""
        self.queue.pop(call_id, None)
        self._offers.pop(call_id, None)
        self._poke()

    def staffed_agents(self) -> int:
        staffed = (AgentState.READY, AgentState.RINGING, AgentState.BUSY, AgentState.WRAP_UP)
        return sum(1 for a in self.agents.values() if a.state in staffed)

    def average_handle(self, default: float) -> float:
        return sum(self._handle_times) / len(self._handle_times) if self._handle_times else default

    # -- dispatch ------------------------------------------------------------------------------
    async def run(self) -> None:
        """The dispatch task: a round on every change and at every timer (wrap-up end, widening).
        It never dies: a round that fails (the database is down, say) is retried a moment later."""
        while True:
            timeout = self._next_timer()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._end_wrap_ups()
                await self.dispatch()
                self._retry_at = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep distributing calls whatever one round met
                log.error("acd_round_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                self._retry_at = self._clock() + RETRY_AFTER_FAILURE  # or at the next change, if sooner

    def _next_timer(self) -> float | None:
        now = self._clock()
        times = [a.wrap_up_until for a in self._in_wrap_up()]
        if self._retry_at is not None:
            times.append(self._retry_at)
        widen = next_widen_time(list(self.queue.values()), now)
        if widen is not None:
            times.append(widen)
        return max(0.0, min(times) - now) + 0.01 if times else None

    def _in_wrap_up(self) -> list[AgentSeat]:  # those that have left it are forgotten
        self._wrapping = {i for i in self._wrapping if self.agents[i].state is AgentState.WRAP_UP}
        return [self.agents[i] for i in self._wrapping]

    async def _end_wrap_ups(self) -> None:
        now = self._clock()
        for agent in self._in_wrap_up():
            if agent.wrap_up_until <= now:
                await self._set_state(agent, AgentState.READY)

    async def dispatch(self) -> None:
        """One matching round: each pair an offer the call's task acts on. The ringing states are handed to
        the store together under the agents' locks; agents being changed sit it out."""
        async with self._lock:
            if all(call.offered_to for call in self.queue.values()):  # nobody waits for an offer
                return
            now = self._clock()
            free = [a for a in self.agents.values() if not self._agent_lock(a.id).locked()]
            pairs = [(call, agent, (agent.state, agent.state_since, agent.call_id))
                     for call, agent in assign(list(self.queue.values()), free, now)]
            if not pairs:
                return
            locks = [self._agent_lock(agent.id) for _, agent, _ in pairs]
            for lock in locks:  # free when matched: taken at once unless a waiter was just woken
                await lock.acquire()
            try:
                gone = await self._offer(pairs, now)
            finally:
                for lock in locks:
                    lock.release()
        for agent in gone:  # offered a caller who left while the offer was being written
            await self._set_state(agent, AgentState.READY)

    async def _offer(self, pairs: list[Pair], now: float) -> list[AgentSeat]:
        """Write and make the round's offers (the caller holds the agents' locks); return the agents whose
        caller left meanwhile. A failed write leaves its pair as it was and is raised after the others."""
        # Another change may have had its turn while the locks were taken: such pairs wait for the next round.
        valid = [(c, a, seen) for c, a, seen in pairs if (a.state, a.state_since, a.call_id) == seen
                 and c.call_id in self.queue and not c.offered_to]
        if len(valid) < len(pairs):
            self._poke()
        pairs = valid
        ringing = [replace(agent, state=AgentState.RINGING, state_since=now, call_id=call.call_id)
                   for call, agent, _ in pairs]
        results = await asyncio.gather(*(self._store.save_agent(r) for r in ringing), return_exceptions=True)
        failure: BaseException | None = None
        gone: list[AgentSeat] = []
        for (call, agent, _), written, result in zip(pairs, ringing, results, strict=True):
            if isinstance(result, BaseException):
                failure = failure or result
                continue
            _apply(agent, written)
            call.offered_to = agent.id
            self.changes.bump()
            log.debug("acd_offer", call_id=call.call_id, agent=agent.id, waited=round(now - call.enqueued_at, 2))
            deliver = self._offers.get(call.call_id)
            if deliver is not None:
                deliver(AgentOffer(agent.id, agent.endpoint))
            else:
                gone.append(agent)
        if failure is not None:
            raise failure
        return gone

    def waiting(self) -> list[QueuedCall]:
        return list(self.queue.values())

    # -- queue entries -------------------------------------------------------------------------
    def new_entry(self, call_id: str, channel_id: str, hotline: str, group: str, repeat_caller: bool) -> QueuedCall:
        """A caller's place in line as of now, with the policy's priority and preference time."""
        return new_entry(self.policy, self._clock(), self.next_seq(), call_id, channel_id, hotline, group,
                         repeat_caller)

    def escalated_entry(self, old: QueuedCall, group: str) -> QueuedCall:
        """The entry of a call an agent hands to ``group``: ahead of new arrivals, keeping its place."""
        return escalated_entry(self.policy, old, group)

    def announcement(self, call_id: str, average_handle_guess: float) -> tuple[int, int] | None:
        """(position, minutes) to tell a waiting caller, None when the caller is not waiting."""
        return wait_announcement(self.waiting(), call_id, self.staffed_agents(),
                                 self.average_handle(average_handle_guess))

    # -- phones --------------------------------------------------------------------------------
    def phone_state(self, endpoint: str, reachable: bool) -> None:
        """Asterisk says the phone of ``endpoint`` is registered and reachable, or not: only agents
        with a reachable phone are offered calls (no ring time is spent on an absent phone)."""
        agent = self._by_endpoint.get(endpoint)
        if agent is None or agent.reachable == reachable:
            return
        agent.reachable = reachable
        log.info("agent_phone", agent=agent.id, endpoint=endpoint, reachable=reachable)
        self._poke()
