"""The Asterisk nodes one ``hotline serve`` drives: a REST client and an events stream per node.

Every node's events go to the one dispatcher (and ACD), tagged with the node; a call's flow
talks to the node holding its caller. A node whose link stays down longer than the grace period
is taken for lost: its calls are told their channels are gone (their records close, their agents
are freed), so that the queue does not wait for a node that may never come back. With one node
nothing of that applies (a restart of Asterisk is reconciled when it is back, as before).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ari_app.ari.nodes import NodeSpec, node_of, pick_outbound
from ari_app.ari.rest import AriRest
from ari_app.ari.stream import AriEventStream
from ari_app.logs import get_logger

log = get_logger("ari.cluster")
WATCH_EVERY = 0.25  # seconds between looks at the nodes' links


@dataclass
class AriNode:
    name: str  # "" for the only node
    rest: AriRest
    first: bool
    stream: AriEventStream | None = None
    down_since: float | None = None  # monotonic time the link was last seen down (None: up)
    lost: bool = False  # taken for lost in this outage (its calls ended)
    losses: int = 0

    @property
    def ready(self) -> bool:
        return self.stream is not None and self.stream.ready

    @property
    def session_nodes(self) -> frozenset[str]:
        """The session node names that are this node's ("" belongs to the first node)."""
        return frozenset({self.name, ""}) if self.first else frozenset({self.name})

    def summary(self) -> dict[str, object]:
        return {"name": self.name, "ready": self.ready, "url": self.rest.base_url.removesuffix("/ari"),
                "error": self.stream.last_error if self.stream else "waiting for the database",
                "connects": self.stream.connects if self.stream else 0, "lost": self.losses}


class AriNodes:
    def __init__(self, specs: tuple[NodeSpec, ...], user: str, password: str) -> None:
        if not specs:
            raise ValueError("no Asterisk node")
        self.nodes = [AriNode(s.name, AriRest(s.ari_url, user, password), first=i == 0) for i, s in enumerate(specs)]
        self.names = tuple(n.name for n in self.nodes)
        self._turn = 0  # the node the next outbound call tries first

    @property
    def first(self) -> AriNode:
        return self.nodes[0]

    @property
    def several(self) -> bool:
        return len(self.nodes) > 1

    def get(self, name: str) -> AriNode:
        """The node of that name; "" (or an unknown name) is the first node."""
        return next((n for n in self.nodes if n.name == name), self.first)

    def of_call(self, call_id: str) -> str:
        return node_of(call_id, self.names)

    def any_ready(self) -> bool:
        return any(n.ready for n in self.nodes)

    def outbound(self) -> AriNode:
        """The node that places the next call the service makes itself (a return visit, a callback):
        the live nodes in turn; the first node when none is live (its originate then fails)."""
        index = pick_outbound([n.ready for n in self.nodes], self._turn)
        if index is None:
            return self.first
        self._turn = index + 1
        return self.nodes[index]

    async def close(self) -> None:
        for node in self.nodes:
            await node.rest.close()

    async def watch(self, grace: float, on_lost: Callable[[AriNode], Awaitable[None]],
                    clock: Callable[[], float] = time.monotonic) -> None:
        """Forever: a node whose link has been down ``grace`` seconds is lost (``on_lost``, once per outage)."""
        while True:
            now = clock()
            for node in self.nodes:
                if node.stream is not None and node.stream.connected:
                    node.down_since, node.lost = None, False
                    continue
                if node.down_since is None:
                    node.down_since = now
                if due_lost(node.down_since, now, grace, node.lost):
                    node.lost = True
                    node.losses += 1
                    log.warning("ari_node_lost", node=node.name, down_for=round(now - node.down_since, 2))
                    try:
                        await on_lost(node)
                    except Exception:
                        log.exception("ari_node_lost_failed", node=node.name)
            await asyncio.sleep(WATCH_EVERY)


def due_lost(down_since: float | None, now: float, grace: float, already: bool) -> bool:
    """Is a node whose link went down at ``down_since`` lost now (and not already taken so)?"""
    return down_since is not None and not already and now - down_since >= grace
