"""flows.common.make_bridge: a call's bridge id that Asterisk still holds (409) is destroyed again and
the creation retried, a few times; any other refusal is raised at once."""

from __future__ import annotations

from typing import Any

import pytest

from ari_app.ari.errors import AriError, AriNotFound
from ari_app.flows import common
from ari_app.flows.common import BRIDGE_TRIES, FlowContext, make_bridge


class Bridges:
    """Answers to bridge requests: the id is still taken for the first ``taken`` creations."""

    def __init__(self, taken: int, status: int = 409) -> None:
        self.taken, self.status = taken, status
        self.requests: list[tuple[str, str]] = []

    async def create_bridge(self, kind: str, bridge_id: str, name: str = "") -> dict[str, Any]:
        self.requests.append(("create", bridge_id))
        if self.taken:
            self.taken -= 1
            raise AriError("POST /bridges", self.status, f"Bridge with id '{bridge_id}' already exists")
        return {"id": bridge_id, "bridge_type": kind}

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.requests.append(("destroy", bridge_id))
        raise AriNotFound("DELETE /bridges/{bridgeId}", 404, "Bridge not found")


def _ctx(bridges: Bridges) -> FlowContext:
    return FlowContext(ari=bridges, calls=None, acd=None, app="hotline", attach=lambda *_: None,  # type: ignore[arg-type]
                       registry=lambda: None)  # type: ignore[arg-type,return-value]


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "BRIDGE_RETRY", 0.001)


async def test_the_id_still_taken_is_destroyed_and_made_again() -> None:
    bridges = Bridges(taken=2)
    await make_bridge(_ctx(bridges), "mixing", "talk-17.0", name="call 12345")
    assert bridges.requests == [("create", "talk-17.0"), ("destroy", "talk-17.0")] * 2 + [("create", "talk-17.0")]


async def test_gives_up_after_a_few_tries() -> None:
    bridges = Bridges(taken=BRIDGE_TRIES)
    with pytest.raises(AriError) as refused:
        await make_bridge(_ctx(bridges), "mixing", "talk-17.0")
    assert refused.value.status == 409
    assert bridges.requests.count(("create", "talk-17.0")) == BRIDGE_TRIES


async def test_another_refusal_is_raised_at_once() -> None:
    bridges = Bridges(taken=1, status=500)
    with pytest.raises(AriError):
        await make_bridge(_ctx(bridges), "holding", "xfer-17.0")
    assert bridges.requests == [("create", "xfer-17.0")]
