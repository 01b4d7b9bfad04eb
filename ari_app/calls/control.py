"""Call control from outside a call's task: who is on a live call, escalation to an expert group,
bringing a department in, a work-order request. Each request is checked here against the live
call and handed to the call's own task, which acts on it (see ari_app.flows.conversation)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import asyncpg

from ari_app.acd.engine import Acd
from ari_app.acd.model import AgentSeat, AgentState
from ari_app.calls.dispatcher import CallDispatcher
from ari_app.calls.session import CallSession, EscalateRequest, PartyRequest
from ari_app.registry.holder import RegistryHolder
from ari_app.registry.model import Department
from ari_app.store.calls import CallStore

AWAY = (AgentState.LOGGED_OUT, AgentState.PAUSED)
# Files a work order for a call: (call_id, department id, note, agent id) -> the order's number.
FileOrder = Callable[[str, str, str, str], Awaitable[str]]
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def staffed_groups(agents: Iterable[AgentSeat]) -> dict[str, int]:
    """Every group some agent serves (expert group or seconding department), with how many of its
    agents are logged in and not paused."""
    seats = list(agents)
    names = {g for a in seats for g in a.groups} | {a.seconded_by for a in seats if a.seconded_by}
    return {g: sum(1 for a in seats if a.serves_group(g) and a.state not in AWAY) for g in sorted(names)}


class CallControl:
    def __init__(
        self,
        registry: RegistryHolder,
        dispatcher: Callable[[], CallDispatcher | None],
        acd: Callable[[], Acd | None],
        calls: Callable[[], CallStore | None],
        file_order: Callable[[], FileOrder | None] = lambda: None,
    ) -> None:
        self.registry = registry
        self._dispatcher = dispatcher
        self._acd = acd
        self._calls = calls
        self._file_order = file_order

    @property
    def acd(self) -> Acd | None:
        return self._acd()

    def _session(self, call_id: str) -> CallSession | None:
        dispatcher = self._dispatcher()
        return dispatcher.session_for(call_id) if dispatcher is not None else None

    def escalate(self, call_id: str, group: str) -> bool:
        """Ask the call's task to take the caller from the agent to ``group``; False if no agent talks on it."""
        session, acd = self._session(call_id), self._acd()
        if session is None or acd is None:
            return False
        if not any(a.call_id == call_id and a.state is AgentState.BUSY for a in acd.agents.values()):
            return False
        session.deliver(EscalateRequest(group))
        return True

    def party(self, call_id: str, action: str, target: str) -> bool:
        """Hand a department request (add, drop, leave, transfers) to the call's task."""
        session = self._session(call_id)
        if session is None or session.talk is None:
            return False
        session.deliver(PartyRequest(action, target))
        return True

    def department(self, target: str) -> Department | None:
        return self.registry.current.department_for(target)

    def departments(self) -> list[Department]:
        return list(self.registry.current.departments.values())

    async def request_work_order(self, call_id: str, department: Department, note: str) -> str | None:
        """File a work order to a department for this call and note it on the call record; the
        order's number ("" while the work-order desk is not running), or None if there is no such call."""
        calls = self._calls()
        if calls is None or not await calls.exists(call_id):
            return None
        file_order = self._file_order()
        session = self._session(call_id)
        agent = session.talk.agent_id if session is not None and session.talk is not None else ""
        number = await file_order(call_id, department.id, note, agent) if file_order is not None else ""
        await calls.event(call_id, "work_order_requested", department=department.id, note=note, number=number)
        return number

    def call_state(self, call_id: str) -> dict[str, object] | None:
        """Who is on a live call now, and the last department failure the agent should know of."""
        session = self._session(call_id)
        if session is None:
            return None
        talk = session.talk
        state: dict[str, object] = {"call_id": call_id, "hotline": session.hotline, "route": session.route,
                                    "talking": talk is not None}
        if talk is not None:
            party = talk.party
            state.update(
                agent=talk.agent_id if talk.agent_present else None,
                caller_on_hold=bool(talk.holding),
                department=(
                    {"id": party.department.id, "mode": party.mode, "joined": party.joined} if party else None
                ),
                last_failure=talk.last_failure or None,
            )
        return state

    def screen(self, call_id: str) -> dict[str, object] | None:
        """What an agent's screen shows of a live call: who called which number, how it came, since when
        it waited, and who is on it now (:meth:`call_state`)."""
        session = self._session(call_id)
        if session is None:
            return None
        queued = session.queued
        return {**(self.call_state(call_id) or {}), "caller": session.channel.caller_number,
                "group": session.group, "overflow": session.overflow or None, "repeat_caller": session.repeat_caller,
                "enqueued_at": queued.enqueued_at if queued is not None else None}

    async def latest_calls(self, limit: int) -> list[dict[str, object]] | None:
        calls = self._calls()
        if calls is None:
            return None
        try:
            return [r.to_json() for r in await calls.latest(limit)]
        except DATABASE_ERRORS:
            return None
