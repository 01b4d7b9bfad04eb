"""Several Asterisk nodes: HOTLINE_ARI_NODES / HOTLINE_AMI_NODES parsing, which node a channel id
is on, when a node whose link is down counts as lost, and the dispatcher telling only a lost node's
calls that their channels are gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.ami.nodes import AmiNode, ami_nodes_setting, parse_ami_nodes
from ari_app.ari.cluster import due_lost
from ari_app.ari.nodes import NodeSpec, node_of, parse_nodes
from ari_app.calls.dispatcher import CallDispatcher
from ari_app.settings import Settings, SettingsError
from tests.harness.wait import until
from tests.unit.test_call_dispatcher import AGENT_LEG, FakeFlow, stasis_start

ENV = {"HOTLINE_ARI_PASSWORD": "x", "HOTLINE_DSN": "postgresql://h/db", "HOTLINE_STATE_DIR": "/nonexistent"}


def test_nodes_are_read_in_order() -> None:
    assert parse_nodes(" pbx1=http://127.0.0.1:8088/ , pbx2=http://10.0.0.2:8088,") == (
        NodeSpec("pbx1", "http://127.0.0.1:8088"), NodeSpec("pbx2", "http://10.0.0.2:8088"))
    assert parse_nodes("") == ()


@pytest.mark.parametrize(("raw", "says"), [
    ("pbx1", "NAME=URL"),
    ("1pbx=http://h:1", "NAME=URL"),
    ("pbx-1=http://h:1", "NAME=URL"),  # a dash would make the channel-id prefix ambiguous
    ("pbx1=ftp://h:1", "http://host:port"),
    ("pbx1=http://", "http://host:port"),
    ("pbx1=http://h:1,pbx1=http://h:2", "named twice"),
])
def test_a_bad_node_list_is_refused_with_the_item(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_nodes(raw)


def test_settings_one_node_unless_several_are_named() -> None:
    one = Settings.from_env({**ENV, "HOTLINE_ARI_URL": "http://127.0.0.1:9000"})
    assert one.nodes() == (NodeSpec("", "http://127.0.0.1:9000"),)
    two = Settings.from_env({**ENV, "HOTLINE_ARI_NODES": "a=http://h:1,b=http://h:2", "HOTLINE_NODE_GRACE": "2.5"})
    assert [n.name for n in two.nodes()] == ["a", "b"] and two.node_grace == 2.5
    with pytest.raises(SettingsError, match="HOTLINE_ARI_NODES: 'b': expected"):
        Settings.from_env({**ENV, "HOTLINE_ARI_NODES": "a=http://h:1,b"})


def test_the_channel_id_says_the_node() -> None:
    names = ("pbx1", "pbx10", "pbx2")
    assert node_of("pbx2-1796066308.0", names) == "pbx2"
    assert node_of("pbx10-1796066308.4", names) == "pbx10"  # not pbx1
    assert node_of("agent-0f3c9a1b2d4e5f60", names) == "pbx1"  # made by the app: the first node
    assert node_of("1796066308.0", ("",)) == ""  # one node, no systemname


def test_ami_nodes() -> None:
    assert parse_ami_nodes("pbx1=5038=/etc/asterisk/hotline, pbx2=10.0.0.2:5039=/mnt/pbx2") == (
        AmiNode("pbx1", "127.0.0.1", 5038, Path("/etc/asterisk/hotline")),
        AmiNode("pbx2", "10.0.0.2", 5039, Path("/mnt/pbx2")))
    for bad, says in (("pbx1=5038", "NAME="), ("pbx1=99999=/x", "host:]port"), ("pbx1=5038=rel", "absolute"),
                      ("a=1=/x,a=2=/y", "twice")):
        with pytest.raises(SettingsError, match=says):
            ami_nodes_setting(bad)


def test_a_node_is_lost_once_its_link_stays_down_the_grace_period() -> None:
    assert not due_lost(None, 100.0, 5.0, False)  # up
    assert not due_lost(96.0, 100.0, 5.0, False)  # down 4 s
    assert due_lost(95.0, 100.0, 5.0, False)
    assert not due_lost(90.0, 100.0, 5.0, True)  # already taken for lost in this outage


async def test_only_the_lost_nodes_calls_are_told_their_channels_are_gone() -> None:
    flow = FakeFlow()
    dispatcher = CallDispatcher(flow)
    dispatcher.on_event(stasis_start("pbx1-1796066308.0"), "pbx1")
    dispatcher.on_event(stasis_start("pbx2-1796066308.0"), "pbx2")
    await until(lambda: len(flow.sessions) == 2, "both flows started")
    lost = dispatcher.session_for("pbx2-1796066308.0")
    kept = dispatcher.session_for("pbx1-1796066308.0")
    assert lost is not None and kept is not None and (lost.node, kept.node) == ("pbx2", "pbx1")
    dispatcher.attach(AGENT_LEG, lost)

    gone = dispatcher.vanished((), frozenset({"pbx2"}), lost="pbx2")
    assert sorted(gone) == sorted(["pbx2-1796066308.0", AGENT_LEG])
    assert lost.lost_node == "pbx2" and lost.inbox.qsize() == 4  # StasisEnd + ChannelDestroyed per channel
    assert kept.lost_node == "" and kept.inbox.empty()
    await dispatcher.shutdown()
