"""ari_app.calls.legs: a call's bridges are numbered, so that no id is taken twice (Asterisk refuses
an id while the bridge destroyed under it lingers), and read back after a restart."""

from __future__ import annotations

import pytest

from ari_app.ari.events import Channel
from ari_app.calls.legs import Bridge, bridge_id, parse_bridge
from ari_app.calls.session import CallSession


@pytest.mark.parametrize(("kind", "call_id", "number", "name"), [
    (Bridge.TALK, "1796030000.1", 1, "talk-1796030000.1"),
    (Bridge.TALK, "1796030000.1", 2, "talk-1796030000.1~2"),
    (Bridge.TRANSFER_HOLD, "pbx2-1796030000.12", 1, "xfer-pbx2-1796030000.12"),
    (Bridge.TRANSFER_HOLD, "pbx2-1796030000.12", 11, "xfer-pbx2-1796030000.12~11"),
])
def test_names_read_back(kind: Bridge, call_id: str, number: int, name: str) -> None:
    assert bridge_id(kind, call_id, number) == name
    assert parse_bridge(name) == (kind, call_id, number)


@pytest.mark.parametrize("name", ["hold-queue", "hold-1796030000.1", "talk-1796030000.1~", "talk-1796030000.1~1",
                                  "talk-1796030000.1~x", "c6a3a0e4-1b7f-4d0b-8d53-0f5b8c6f9e11", ""])
def test_other_bridges_are_no_calls(name: str) -> None:
    assert parse_bridge(name) is None


def test_after_a_restart_the_next_bridge_is_numbered_after_the_ones_found() -> None:
    channel = Channel("17.0", "PJSIP/caller-1", "Up", "139", "", "12345", "s", "zh")
    session = CallSession("17.0", channel, "12345", "intake")
    for found in ("talk-17.0~3", "xfer-17.0", "talk-18.0~9", "hold-queue"):
        session.found_bridge(found)
    assert session.new_bridge(Bridge.TALK) == "talk-17.0~4"
    assert session.new_bridge(Bridge.TRANSFER_HOLD) == "xfer-17.0~2"
