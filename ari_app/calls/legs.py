"""The names of the channels and bridges the app makes, in one place.

A call is keyed by its caller's channel id (``call_id``). Everything the app creates for it is
named from that id or carries a prefix, so that after a restart the reconcile step can tell a
caller from a leg the app originated, and find each call's bridges:

| name                 | what                                                              |
|----------------------|-------------------------------------------------------------------|
| ``agent-<random>``   | a leg originated to an agent's phone                              |
| ``dept-<random>``    | a leg originated to a department or sub-center line               |
| ``visit-<random>``   | a return-visit call to a citizen (ari_app.visits)                 |
| ``cbk-<random>``     | a queue callback to a caller who kept the place (ari_app.callbacks) |
| ``hold-queue``       | the holding bridge all queued callers of a node share (kept)      |
| ``talk-<call_id>``   | the mixing bridge of the conversation (caller, agent, department) |
| ``xfer-<call_id>``   | the caller's holding bridge during an attended transfer          |

A call's second conversation (after an escalation or a requeue) gets a bridge of its own,
``talk-<call_id>~2``, and so on; so does a second attended transfer. Asterisk refuses a bridge id
while the bridge it destroyed under that id still has references (its topic lingers, for a moment
or, on a busy machine, longer), so an id is never taken twice.

The holding bridge is made once per node and kept: a caller in it hears music on its own (the
holding bridge's participant idle mode) and announcements played to its channel. Older versions
gave each caller its own ``hold-<call_id>``; the reconcile step still reads and removes those.

With several Asterisk nodes, the calls the app places itself (return visits, callbacks: both their
legs) begin with the name of the node that places them (``pbx2-visit-<random>``,
``pbx2-agent-<random>``; ari_app.ari.nodes), so that the id says which node holds them.

Legs enter Stasis with ``LEG_MARK`` as their first argument (never a new call), and carry the
call they belong to (and, for departments, which department) in channel variables.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

LEG_MARK = "hotline-leg"  # Stasis args[0] of every leg the app originates
CALL_VARIABLE = "HOTLINE_CALL"  # on a leg: the call_id it belongs to
DEPARTMENT_VARIABLE = "HOTLINE_DEPARTMENT"  # on a department leg: the department id


class Leg(StrEnum):
    AGENT = "agent-"
    DEPARTMENT = "dept-"
    VISIT = "visit-"
    CALLBACK = "cbk-"


class Bridge(StrEnum):
    HOLDING = "hold-"  # the shared holding bridge (HOLDING_BRIDGE), or an older caller's own
    TALK = "talk-"
    TRANSFER_HOLD = "xfer-"


HOLDING_BRIDGE = "hold-queue"  # queued callers wait here, each hearing music (Asterisk's participant idle mode)


def is_holding(bridge: str) -> bool:
    """A holding bridge of queued callers: the shared one, or a caller's own from an older version."""
    return bridge.startswith(Bridge.HOLDING.value)


def new_leg(kind: Leg, node: str = "") -> str:
    """A new leg's channel id; ``node``: the node placing it, named first (several nodes)."""
    return f"{node}-{kind.value}{uuid.uuid4().hex[:16]}" if node else f"{kind.value}{uuid.uuid4().hex[:16]}"


def leg_kind(channel_id: str) -> Leg | None:
    """Which kind of leg the app originated as ``channel_id`` (with or without a node's name in
    front); None for anything else (a caller: ``1796066308.0``, ``pbx2-1796066308.0``)."""
    for rest in (channel_id, channel_id.partition("-")[2]):
        kind = next((kind for kind in Leg if rest.startswith(kind.value)), None)
        if kind is not None:
            return kind
    return None


COUNT_MARK = "~"  # talk-<call_id>~2: the call's second bridge of its kind


def bridge_id(kind: Bridge, call_id: str, number: int = 1) -> str:
    """The call's ``number``-th bridge of ``kind`` (the first has no number, as in older versions)."""
    return f"{kind.value}{call_id}" if number <= 1 else f"{kind.value}{call_id}{COUNT_MARK}{number}"


def parse_bridge(bridge: str) -> tuple[Bridge, str, int] | None:
    """(kind, call_id, number) of one of a call's talk- or xfer- bridges; None for any other bridge."""
    for kind in (Bridge.TALK, Bridge.TRANSFER_HOLD):
        if bridge.startswith(kind.value):
            call_id, mark, count = bridge.removeprefix(kind.value).partition(COUNT_MARK)
            if not mark:
                return kind, call_id, 1
            return (kind, call_id, int(count)) if count.isdigit() and int(count) > 1 else None
    return None


def new_playback() -> str:
    return f"pb-{uuid.uuid4().hex}"
