"""Scale-out (issue 16), the rest of the calls: transfers on either node, the degraded calls'
spool of every node, and the calls the service places itself while the first node is down.

Kamailio and two Asterisk nodes, one `hotline serve` driving both (tests/harness/cluster.py). An
agent is on no node: the agents' SIPp phones register at Kamailio, and the node holding a caller
places the agent's leg (through Kamailio) and the department's leg of a transfer.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port_both
from tests.harness.agents import AgentSpec, agent_action, agents_state
from tests.harness.cluster import ClusterStack, start_cluster_stack, stop_cluster_stack
from tests.harness.prompts import past_prompts_ms
from tests.harness.records import calls_from
from tests.harness.services import Stack, registry_copy
from tests.harness.sipp import Account, place_authenticated_call, start_peer, start_phone
from tests.harness.wait import wait_for
from tests.integration.test_scaleout import POLICY, _caller, _place

pytestmark = pytest.mark.integration
_databases = itertools.count(1)
CITIZEN = "13912345678"


@pytest.fixture
def cluster(postgres: PostgresCluster, artifacts: Path) -> Iterator[Callable[..., ClusterStack]]:
    made: list[ClusterStack] = []

    def make(agents: list[AgentSpec], **more: Any) -> ClusterStack:
        c = start_cluster_stack(postgres, artifacts, agents, f"sc{os.getpid()}_{next(_databases)}", **more, **POLICY)
        made.append(c)
        return c

    yield make
    for c in made:
        stop_cluster_stack(c, artifacts)


def _send(c: ClusterStack, method: str, path: str, body: dict[str, Any] | None = None,
          token: str = "") -> tuple[int, Any]:
    return c.serve.send(method, path, body, token)


def _node_ari(c: ClusterStack, node: str) -> Any:
    return Stack(c.cluster.node(node), c.serve.stack.agi_port, "hotline").ari


def test_blind_and_attended_transfers_on_either_node(cluster: Callable[..., ClusterStack], artifacts: Path) -> None:
    """Two callers, one on each node, each answered by an agent whose phone is registered at
    Kamailio; the pbx1 caller is transferred blind to the 12366 sub-center, the pbx2 caller
    attended (held in pbx2's xfer- bridge while the agent talks to the sub-center, then handed
    over). Each node places its own department leg; caller and sub-center end up talking there."""
    port = free_port_both()
    subcenter = start_peer("answer-wait-bye", port=port, trace_dir=artifacts / "dept-12366")
    try:
        registry = registry_copy(artifacts / "hotlines.yaml", {"dept-12366": port})
        c = cluster([AgentSpec("1001", phone="answer-wait-bye"), AgentSpec("1002", phone="answer-wait-bye")],
                    registry=registry)
        for agent in ("1001", "1002"):
            assert agent_action(c.serve.http, agent, "login")["state"] == "ready"
        placed = _place(c, 2, listen_ms=60000)
        for caller, _ in placed:
            c.wait_event(caller, "agent_connected")
        by_node = {c.node_of(caller): (caller, sipp) for caller, sipp in placed}
        assert set(by_node) == {"pbx1", "pbx2"}, list(by_node)

        blind, _ = by_node["pbx1"]
        assert _send(c, "POST", f"/calls/{c.call_id(blind)}/party", {"action": "blind", "department": "06"})[0] == 202
        attended, _ = by_node["pbx2"]
        call_id = c.call_id(attended)
        assert _send(c, "POST", f"/calls/{call_id}/party", {"action": "attended", "department": "12366"})[0] == 202
        c.wait_event(attended, "caller_on_hold")
        joined = c.wait_event(attended, "department_joined")
        assert joined["detail"]["members"] == ["agent", "department"], joined  # the caller on hold meanwhile
        pbx2 = _node_ari(c, "pbx2")
        assert len(pbx2.get(f"/bridges/xfer-{call_id}")["channels"]) == 1
        assert any(ch["id"].startswith("dept-") for ch in pbx2.channels()), "pbx2 placed the department leg"
        assert _send(c, "POST", f"/calls/{call_id}/party", {"action": "complete"})[0] == 202

        left = c.wait_event(attended, "agent_left")
        assert left["detail"]["members"] == ["caller", "department"], left
        assert c.wait_event(blind, "agent_left")["detail"]["members"] == ["caller"]  # blind: the agent goes first
        for node, (caller, _) in by_node.items():
            ari = _node_ari(c, node)
            wait_for(lambda ari=ari, caller=caller: len(ari.get(f"/bridges/talk-{c.call_id(caller)}")["channels"]) == 2
                     or None, 10, f"the caller on {node} talking with the sub-center")
        mode = c.wait_event(blind, "department_joined")["detail"]
        assert mode["mode"] == "blind" and mode["members"] == ["caller", "department"], mode
        wait_for(lambda: all(a["state"] in ("wrap_up", "ready") for a in agents_state(c.serve.http).values()) or None,
                 15, "both agents free after handing their callers over")
        for node, (caller, sipp) in by_node.items():
            c.hang_up(caller)
            assert sipp.wait(60).returncode == 0, node
            assert c.record(caller)["outcome"] == "answered"
        print(f"\n[scaleout] blind transfer on pbx1 ({blind}), attended on pbx2 ({attended}): both callers "
              "handed to the 12366 sub-center, each department leg placed by the caller's node")
    finally:
        subcenter.stop()


def _visits_settings(path: Path) -> Path:
    path.write_text(
        "enabled: true\ntrunk: return-visit\ncaller_id: \"12345\"\ntimezone: Asia/Shanghai\n"
        "hours: \"00:00-24:00\"\nattempts: 1\nretry_minutes: [30]\nring_seconds: 10\nmax_channels: 5\n",
        encoding="utf-8")
    return path


def _registered_at_proxy(c: ClusterStack, user: str) -> bool:
    sock = c.cluster.proxy.run_dir / "kamailio_ctl"
    result = subprocess.run(["kamcmd", "-s", f"unix:{sock}", "ul.lookup", "location", user], capture_output=True,
                            text=True, timeout=10)
    return result.returncode == 0 and "Contact" in result.stdout


def test_spools_the_test_caller_and_a_return_visit_with_the_first_node_down(
    cluster: Callable[..., ClusterStack], artifacts: Path,
) -> None:
    """With `hotline serve` stopped, two callers through Kamailio (one per node) reach the degraded
    path and give up; back, the service imports both nodes' spools: one degraded record each, marked
    with its node. The test-caller account, registered at Kamailio, calls 12345 twice through it
    (Kamailio checks its password once, each node takes the call as the trunk's). Then pbx1 (the
    first node) is killed and a replied work order's return visit is placed through pbx2, its id
    naming pbx2, and rings the test caller through Kamailio (the sandbox's carrier stand-in)."""
    c = cluster([AgentSpec("1001")], env={
        "HOTLINE_RETURN_VISITS": str(_visits_settings(artifacts / "rv.yaml")), "HOTLINE_NODE_GRACE": "3"})
    test_caller = Account("test-caller", c.cluster.nodes[0].test_caller_password(), c.cluster.sip_port)
    c.phones.running["test-caller"] = start_phone("answer-then-bye", account=test_caller, port=free_port_both(),
                                                  trace_dir=artifacts / "test-caller-phone", route_set=True)

    c.serve.stop()
    callers = []
    for _ in range(2):  # one after the other: Kamailio's round robin puts them on the two nodes
        caller = _caller()
        sipp = c.call(caller, listen_ms=past_prompts_ms("greeting", "degraded", then_s=1.0))  # into app_queue
        result = sipp.wait(60)
        assert result.returncode == 0, result.output[-500:]
        callers.append(caller)
    assert not any(calls_from(c.dsn, caller) for caller in callers), "recorded while the service was down?"
    c.serve.start().wait_ready(30)
    records = [c.record(caller) for caller in callers]
    assert {r["node"] for r in records} == {"pbx1", "pbx2"}, records
    for r in records:
        assert r["degraded"] is True and r["outcome"].startswith("degraded_"), r
        assert r["call_id"].startswith(r["node"] + "-"), r  # the node that served it named the channel
    wait_for(lambda: all(c.nodes_ready().values()) or None, 30, "both nodes ready again")

    for n in range(2):
        call = place_authenticated_call(test_caller, service="12345", trace_dir=artifacts / f"test-caller-{n}",
                                        listen_ms=3000, route_set=True)
        ended = call.wait(60)
        assert ended.returncode == 0, ended.output[-800:]
        wait_for(lambda n=n: len([r for r in calls_from(c.dsn, "test-caller") if r["ended_at"]]) > n or None, 30,
                 f"the test caller's call {n + 1} recorded")
    tested = calls_from(c.dsn, "test-caller")
    assert sorted(r["call_id"].partition("-")[0] for r in tested) == ["pbx1", "pbx2"], tested

    c.cluster.node("pbx1").kill()
    wait_for(lambda: c.nodes_ready().get("pbx1") is False or None, 30, "the service to see pbx1 down")
    wait_for(lambda: _registered_at_proxy(c, "test-caller") or None, 30, "the test caller registered at Kamailio")
    tokens = {name: c.serve.login_as(name, *who) for name, who in
              {"agent-1001": ("agent", "", "1001"), "hr-li": ("department", "human-resources", "")}.items()}
    status, filed = _send(c, "POST", "/work-orders", {
        "category": "request", "content": "小区门口路灯不亮，请尽快维修。", "caller": CITIZEN, "hotline": "12345",
        "department": "human-resources"}, tokens["agent-1001"])
    assert status == 201, filed
    for action, fields in (("accept", {}), ("reply", {"reply": "已安排维修，三日内修复。"})):
        status, order = _send(c, "POST", f"/work-orders/{filed['number']}/{action}", fields, tokens["hr-li"])
        assert status == 200, (action, order)
    visit = wait_for(lambda: (lambda rows: rows[-1] if rows and rows[-1]["ended_at"] else None)(
        calls_from(c.dsn, CITIZEN)), 60, "the return visit placed and over")
    assert visit["route"] == "return_visit" and visit["call_id"].startswith("pbx2-visit-"), visit
    assert visit["answered_at"] is not None, visit  # the test caller's phone answered it, through pbx2 and Kamailio
    print(f"\n[scaleout] degraded calls recorded from both spools ({[r['node'] for r in records]}); the test "
          f"caller's calls through Kamailio on {sorted(r['call_id'].partition('-')[0] for r in tested)}; with pbx1 "
          f"down the return visit went through pbx2 ({visit['call_id']}, {visit['outcome']}) to the test caller")
