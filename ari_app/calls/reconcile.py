"""After every (re)connect: bring the app's view in line with Asterisk.

Running calls are told of their channels that ended while the app was away (their events never
came); callers in the app that no task owns are adopted as :mod:`ari_app.calls.plan` decides (waiting
callers back into line at their old place, talking parties left talking with their agent and
department legs), legs nobody's call holds are hung up, and the records of calls that ended while
the app was away are closed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ari_app.acd.engine import Acd
from ari_app.acd.store import AcdStore, LiveCall
from ari_app.ari.errors import AriError
from ari_app.ari.events import Channel
from ari_app.ari.rest import AriRest
from ari_app.calls.dispatcher import CallDispatcher
from ari_app.calls.legs import DEPARTMENT_VARIABLE
from ari_app.calls.plan import Adopt, Found, plan
from ari_app.calls.session import ResumedTalk
from ari_app.logs import get_logger
from ari_app.store.calls import CallStore

log = get_logger("calls.reconcile")
CLOSE_WAIT = 30.0  # seconds to learn whether a record left open was closed now (the count in the log)


def endpoint_of(channel_name: str) -> str:
    """``PJSIP/agent-1001-0000002a`` -> ``agent-1001``."""
    resource = channel_name.partition("/")[2]
    return resource.rpartition("-")[0] or resource


def _everything(_call_id: str) -> bool:
    return True


class Reconciler:
    """``node``: with several Asterisk nodes, the one that (re)connected; ``mine`` tells its calls by
    call id (the other nodes' calls are left alone); ``nodes``: the session node names that are its."""

    def __init__(
        self, ari: AriRest, app: str, dispatcher: CallDispatcher, acd: Acd, acd_store: AcdStore, calls: CallStore,
        *, node: str = "", mine: Callable[[str], bool] = _everything, nodes: Collection[str] | None = None,
    ) -> None:
        self._ari, self._app, self._dispatcher = ari, app, dispatcher
        self._acd, self._acd_store, self._calls = acd, acd_store, calls
        self._node, self._mine, self._nodes = node, mine, nodes

    async def run(self) -> None:
        # read first: calls opened later are live
        open_before = [call_id for call_id in await self._calls.open_call_ids() if self._mine(call_id)]
        stored = {c.call.channel_id: c for c in await self._acd_store.live_calls() if self._mine(c.call.call_id)}
        application = await self._ari.application(self._app)
        # Held before the listing: a call that starts while it is read (the websocket is up) is not gone.
        held = self._dispatcher.channel_ids()
        channels = {c["id"]: c for c in await self._ari.channels()}
        bridges = {b["id"]: list(b.get("channels", [])) for b in await self._ari.bridges()}
        gone = self._dispatcher.vanished(channels.keys(), self._nodes, among=held)  # told of what ended meanwhile
        in_app = [cid for cid in application.get("channel_ids", []) if cid in channels]
        owned = frozenset(cid for cid in in_app if self._dispatcher.session_for(cid) is not None)
        surveying = await self._calls.surveying()
        decided = plan(Found(in_app, bridges, {k: (v.status, v.call.seq) for k, v in stored.items()}, owned,
                             surveying))
        for leg in decided.hang_up:
            await self._hang_up(leg)
        for bridge in decided.destroy:
            await self._destroy(bridge)
        adopted = 0
        for adopt in decided.adopt:
            adopted += await self._adopt(adopt, channels, stored.get(adopt.channel_id))
        closed = 0
        for call_id in open_before:
            if call_id not in channels and self._dispatcher.session_for(call_id) is None:
                if await self._calls.close(call_id, "ended_while_disconnected", wait=CLOSE_WAIT):
                    await self._calls.event(call_id, "closed_by_reconcile")
                    closed += 1
        for live in stored.values():
            if live.call.channel_id not in channels:
                await self._acd.ended_while_away(live.call.call_id, live.agent_id, live.status)
        log.info("reconciled", adopted=adopted, closed=closed, orphan_legs=len(decided.hang_up), channels=len(channels),
                 gone_while_disconnected=len(gone))

    async def _adopt(self, adopt: Adopt, channels: dict[str, Any], live: LiveCall | None) -> int:
        channel = Channel.from_json(channels[adopt.channel_id])
        route = await self._variable(channel.id, "HOTLINE_ROUTE") or "intake"
        tag = await self._variable(channel.id, "HOTLINE_TAG") or channel.exten
        group = await self._variable(channel.id, "HOTLINE_GROUP")
        if self._dispatcher.session_for(channel.id) is not None:
            return 0
        # Everything the flow starts from is settled before it starts: it runs from its first await on.
        resumed = await self._resumed_talk(adopt, channels, live) if adopt.resume == "talking" else None
        session = self._dispatcher.start(channel, args=(route, tag, "", group), adopted=True, node=self._node)
        if session is None:
            return 0
        session.resume = adopt.resume
        session.queued = live.call if live is not None else None
        session.resumed_talk = resumed
        return 1

    async def _resumed_talk(self, adopt: Adopt, channels: dict[str, Any], live: LiveCall | None) -> ResumedTalk:
        call_id = adopt.channel_id
        agent_id = ""
        if adopt.agent_channel:
            if live is not None and live.agent_channel == adopt.agent_channel:
                agent_id = live.agent_id
            else:
                agent = self._acd.agent_by_endpoint(endpoint_of(str(channels[adopt.agent_channel].get("name", ""))))
                agent_id = agent.id if agent is not None else ""
            if not agent_id:
                await self._hang_up(adopt.agent_channel)  # a leg to a phone that is no agent's any more
        if agent_id:
            await self._acd.adopt_talking(call_id, agent_id)
        elif live is not None and live.status == "talking":
            await self._acd.ended_while_away(call_id, live.agent_id, "talking")  # the agent left meanwhile
        department = await self._variable(adopt.party_channel, DEPARTMENT_VARIABLE) if adopt.party_channel else ""
        return ResumedTalk(agent_id, adopt.agent_channel if agent_id else "", adopt.party_channel, department,
                           adopt.holding, adopt.talk)

    async def _hang_up(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except AriError:
            pass

    async def _destroy(self, bridge_id: str) -> None:
        try:
            await self._ari.destroy_bridge(bridge_id)
        except AriError:
            pass

    async def _variable(self, channel_id: str, name: str) -> str:
        try:
            return await self._ari.get_variable(channel_id, name)
        except AriError:
            return ""
