"""flows.common.make_bridge: a call's bridge is made under the first id Asterisk takes; an id it
still holds (409, or 500 "Possible duplicate") is passed over for the call's next one, never
destroyed; any other refusal is raised at once."""

from __future__ import annotations

from typing import Any

import pytest

from ari_app.ari.errors import AriError
from ari_app.ari.events import Channel
from ari_app.calls.legs import Bridge
from ari_app.calls.session import CallSession
from ari_app.flows.common import BRIDGE_TRIES, FlowContext, make_bridge


class Bridges:
    """Answers to bridge requests: the id is still taken for the first ``taken`` creations."""

    def __init__(self, taken: int, status: int = 409, detail: str = "Bridge with id '{}' already exists") -> None:
        self.taken, self.status, self.detail = taken, status, detail
        self.requests: list[tuple[str, str]] = []

    async def create_bridge(self, kind: str, bridge_id: str, name: str = "") -> dict[str, Any]:
        self.requests.append(("create", bridge_id))
        if self.taken:
            self.taken -= 1
            raise AriError("POST /bridges", self.status, self.detail.format(bridge_id))
        return {"id": bridge_id, "bridge_type": kind}

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.requests.append(("destroy", bridge_id))


def _ctx(bridges: Bridges) -> FlowContext:
    return FlowContext(ari=bridges, calls=None, acd=None, app="hotline", attach=lambda *_: None,  # type: ignore[arg-type]
                       registry=lambda: None)  # type: ignore[arg-type,return-value]


def _session() -> CallSession:
    return CallSession("17.0", Channel("17.0", "PJSIP/caller-1", "Up", "13900000000", "", "12345", "s", "zh"),
                       "12345", "intake")


async def test_each_conversation_of_a_call_gets_a_bridge_of_its_own() -> None:
    bridges, session = Bridges(taken=0), _session()
    made = [await make_bridge(_ctx(bridges), "mixing", lambda: session.new_bridge(Bridge.TALK)) for _ in range(3)]
    assert made == ["talk-17.0", "talk-17.0~2", "talk-17.0~3"]
    assert await make_bridge(_ctx(bridges), "holding", lambda: session.new_bridge(Bridge.TRANSFER_HOLD)) == "xfer-17.0"


@pytest.mark.parametrize(("status", "detail"), [
    (409, "Bridge with id '{}' already exists"),
    (500, "Unable to create bridge. Possible duplicate bridge id '{}'"),
])
async def test_an_id_asterisk_still_holds_is_passed_over_not_destroyed(status: int, detail: str) -> None:
    bridges, session = Bridges(taken=2, status=status, detail=detail), _session()
    made = await make_bridge(_ctx(bridges), "mixing", lambda: session.new_bridge(Bridge.TALK), name="call 12345")
    assert made == "talk-17.0~3"
    assert bridges.requests == [("create", "talk-17.0"), ("create", "talk-17.0~2"), ("create", "talk-17.0~3")]


async def test_gives_up_after_a_few_ids() -> None:
    bridges, session = Bridges(taken=BRIDGE_TRIES), _session()
    with pytest.raises(AriError) as refused:
        await make_bridge(_ctx(bridges), "mixing", lambda: session.new_bridge(Bridge.TALK))
    assert refused.value.status == 409
    assert len(bridges.requests) == BRIDGE_TRIES


@pytest.mark.parametrize(("status", "detail"), [(500, "Allocation failed"), (400, "Invalid bridge type")])
async def test_another_refusal_is_raised_at_once(status: int, detail: str) -> None:
    bridges, session = Bridges(taken=1, status=status, detail=detail), _session()
    with pytest.raises(AriError):
        await make_bridge(_ctx(bridges), "holding", lambda: session.new_bridge(Bridge.TRANSFER_HOLD))
    assert bridges.requests == [("create", "xfer-17.0")]
