"""The holding bridge queued callers share (``hold-queue``, one per Asterisk node).

Made on first use and kept, so that a caller's wait costs one request (join) instead of four
(create a bridge, join it, start its music, destroy it), and Asterisk runs no music channel per
caller: each caller hears music on its own channel (a holding bridge participant's idle mode, the
way app_queue plays it; the caller joins with the participant role, see ``PARTICIPANT``). A caller
moves straight from here into the conversation's mixing bridge (Asterisk takes a channel out of its
bridge when it is added to another).

If Asterisk lost the bridge (it restarted), the join answers 404 and the bridge is made again.

A join Asterisk does not answer in time (an overloaded Asterisk: the bench's hold run on a slow
machine saw joins answered after more than 10 s) is taken as made: the request is queued on the
caller's channel and Asterisk carries out a channel's commands in order, so the caller joins before
any later move (to an agent's conversation) and meanwhile stays on the line and in the queue, instead
of being hung up on for Asterisk's slowness.
"""

from __future__ import annotations

import weakref

from ari_app.ari.errors import AriError, AriNotFound, AriTimeout
from ari_app.ari.rest import AriRest
from ari_app.calls.legs import HOLDING_BRIDGE
from ari_app.logs import get_logger

BRIDGE_NAME = "queue"
# Joined with this role, a caller keeps the holding bridge's default idle mode, music on hold (its
# channel's class). Without it, Asterisk's Stasis bridge sets the idle mode to "none" for a channel an
# ARI app adds (res/stasis/stasis_bridge.c): the caller would wait in silence.
PARTICIPANT = "holding_participant"

log = get_logger("flows")
_made: weakref.WeakKeyDictionary[AriRest, bool] = weakref.WeakKeyDictionary()  # nodes where it is known to exist


async def enter(ari: AriRest, channel_id: str) -> None:
    """Put the caller into the node's holding bridge (making the bridge if needed).

    Raises AriNotFound when the caller's channel is gone, AriError when Asterisk refuses otherwise
    or cannot be reached; returns when Asterisk does not answer in time (see above)."""
    for last in (False, True):
        if not _made.get(ari):
            await _make(ari)
        try:
            await ari.add_to_bridge(HOLDING_BRIDGE, channel_id, role=PARTICIPANT)
            return
        except AriTimeout:
            log.warning("holding_join_late", detail="Asterisk did not answer in time; the join is left queued")
            return
        except AriNotFound as exc:
            # 404 names the bridge (gone with an Asterisk restart); 400/422 the channel (the caller left).
            if exc.status != 404 or last:
                raise
            _made.pop(ari, None)


async def _make(ari: AriRest) -> None:
    try:
        await ari.create_bridge("holding", HOLDING_BRIDGE, name=BRIDGE_NAME)
    except AriError as exc:
        if exc.status != 409 and "already exists" not in exc.detail:
            raise  # 409: made already (by this service before a restart, or by a flow meanwhile)
    _made[ari] = True

