"""Several Asterisk nodes: the calls the service places itself go through a live node in turn,
with ids that name it, and every node's call spool is read (HOTLINE_CALL_SPOOLS)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ari_app.ari.cluster import AriNodes
from ari_app.ari.nodes import NodeSpec, node_of, parse_nodes, parse_spools, pick_outbound
from ari_app.calls.legs import Leg, leg_kind, new_leg
from ari_app.calls.plan import Found, plan
from ari_app.settings import Settings, SettingsError

ENV = {"HOTLINE_ARI_PASSWORD": "x", "HOTLINE_DSN": "postgresql://h/db", "HOTLINE_STATE_DIR": "/nonexistent"}
TWO = "pbx1=http://127.0.0.1:1,pbx2=http://127.0.0.1:2"


def test_outbound_calls_go_round_the_live_nodes() -> None:
    assert [pick_outbound([True, True, True], turn) for turn in range(4)] == [0, 1, 2, 0]
    assert pick_outbound([False, True, True], 0) == 1  # the first node is down: the next live one
    assert pick_outbound([True, False, True], 1) == 2
    assert pick_outbound([True, False, False], 2) == 0
    assert pick_outbound([False, False], 0) is None
    assert pick_outbound([], 0) is None


def _nodes(ready: dict[str, bool]) -> AriNodes:
    nodes = AriNodes(parse_nodes(TWO), "u", "p")
    for node in nodes.nodes:
        node.stream = SimpleNamespace(ready=ready[node.name])  # type: ignore[assignment]
    return nodes


def test_the_cluster_picks_live_nodes_in_turn_and_the_first_when_none_is() -> None:
    both = _nodes({"pbx1": True, "pbx2": True})
    assert [both.outbound().name for _ in range(4)] == ["pbx1", "pbx2", "pbx1", "pbx2"]
    first_down = _nodes({"pbx1": False, "pbx2": True})
    assert [first_down.outbound().name for _ in range(3)] == ["pbx2"] * 3
    none = _nodes({"pbx1": False, "pbx2": False})
    assert none.outbound().name == "pbx1"  # its originate fails, as with one node that is down
    one = AriNodes((NodeSpec("", "http://127.0.0.1:1"),), "u", "p")
    assert one.outbound().name == ""


def test_legs_placed_by_a_node_name_it_and_are_still_legs() -> None:
    visit, agent = new_leg(Leg.VISIT, "pbx2"), new_leg(Leg.AGENT, "pbx2")
    assert visit.startswith("pbx2-visit-") and agent.startswith("pbx2-agent-")
    assert node_of(visit, ("pbx1", "pbx2")) == "pbx2"
    assert (leg_kind(visit), leg_kind(agent), leg_kind(new_leg(Leg.CALLBACK, "pbx1"))) == (
        Leg.VISIT, Leg.AGENT, Leg.CALLBACK)
    assert new_leg(Leg.VISIT).startswith("visit-") and leg_kind(new_leg(Leg.VISIT)) is Leg.VISIT  # one node
    for caller in ("pbx2-1796066308.0", "1796066308.0", "pbx1-1796066308.12"):
        assert leg_kind(caller) is None
    # After a reconnect, a callback's legs are legs (hung up unless a call holds them), never callers.
    found = plan(Found(in_app=[visit, agent, "pbx2-1796066308.0"], bridges={}, stored={}))
    assert [a.channel_id for a in found.adopt] == ["pbx2-1796066308.0"] and sorted(found.hang_up) == sorted(
        [visit, agent])


@pytest.mark.parametrize("name", ["agent", "visit", "dept", "cbk"])
def test_a_node_may_not_be_named_like_the_apps_own_ids(name: str) -> None:
    with pytest.raises(ValueError, match="prefix of the app's own channel ids"):
        parse_nodes(f"{name}=http://127.0.0.1:1")


def test_every_nodes_call_spool() -> None:
    assert parse_spools(" pbx1=/a/s.csv, pbx2=/b/s.csv ,", ["pbx1", "pbx2"]) == (
        ("pbx1", "/a/s.csv"), ("pbx2", "/b/s.csv"))
    for raw, says in (("pbx1", "NODE=/absolute"), ("pbx1=rel.csv", "NODE=/absolute"),
                      ("pbx3=/c.csv", "pbx3 is not a node of HOTLINE_ARI_NODES"),
                      ("pbx1=/a,pbx1=/b", "named twice")):
        with pytest.raises(ValueError, match=says):
            parse_spools(raw, ["pbx1", "pbx2"])
    with pytest.raises(ValueError, match="none: set HOTLINE_ARI_NODES"):
        parse_spools("pbx1=/a", [])


def test_settings_read_every_spool_else_the_one() -> None:
    spools = Settings.from_env({**ENV, "HOTLINE_ARI_NODES": TWO, "HOTLINE_CALL_SPOOL": "/x/first.csv",
                                "HOTLINE_CALL_SPOOLS": "pbx1=/a/s.csv,pbx2=/b/s.csv"}).spools()
    assert spools == (("pbx1", Path("/a/s.csv")), ("pbx2", Path("/b/s.csv")))  # HOTLINE_CALL_SPOOL left aside
    one = Settings.from_env({**ENV, "HOTLINE_CALL_SPOOL": "/x/s.csv", "HOTLINE_NODE": "n7"})
    assert one.spools() == (("n7", Path("/x/s.csv")),)
    assert Settings.from_env(ENV).spools() == ()
    with pytest.raises(SettingsError, match="HOTLINE_CALL_SPOOLS: 'pbx9=/a': pbx9 is not a node"):
        Settings.from_env({**ENV, "HOTLINE_ARI_NODES": TWO, "HOTLINE_CALL_SPOOLS": "pbx9=/a"})
