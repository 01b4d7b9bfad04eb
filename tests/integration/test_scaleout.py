"""Scale-out (issue 16): Kamailio in front of two Asterisk nodes, one `hotline serve` driving both.

SIPp callers dial Kamailio, which spreads them over the nodes; the agents' SIPp phones register at
Kamailio, and whichever node holds a caller rings the agent through it. One queue: the callers
are served in the order they arrived, whatever node took them. Then a node is killed with calls
up: Kamailio stops sending it calls, the other node's calls go on, the lost calls' records close,
and every new call is answered.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port_both, new_password
from tests.harness.agents import AgentSpec, agent_action, agents_state
from tests.harness.auth import ensure_account
from tests.harness.cluster import ClusterStack, start_cluster_stack, stop_cluster_stack
from tests.harness.records import closed_call_from
from tests.harness.services import registry_copy
from tests.harness.sipp import SippCall, place_authenticated_call, start_peer
from tests.harness.wait import wait_for

pytestmark = pytest.mark.integration
POLICY = {"ring_timeout": 5, "wrap_up": 1, "widen_after": 4, "announce_every": 10, "rating_after_call": False}
_callers = itertools.count(100)
_databases = itertools.count(1)


def _caller() -> str:
    return f"1580{os.getpid() % 10000:04d}{next(_callers):03d}"


@pytest.fixture
def cluster_stack(postgres: PostgresCluster, artifacts: Path) -> Iterator[Callable[..., ClusterStack]]:
    made: list[ClusterStack] = []

    def make(agents: list[AgentSpec], env: dict[str, str] | None = None, registry: Path | None = None) -> ClusterStack:
        c = start_cluster_stack(postgres, artifacts, agents, f"so{os.getpid()}_{next(_databases)}", env, registry,
                                **POLICY)
        made.append(c)
        return c

    yield make
    for c in made:
        stop_cluster_stack(c, artifacts)


def test_calls_spread_over_both_nodes_and_keep_one_queue_order(cluster_stack: Callable[..., ClusterStack]) -> None:
    c = cluster_stack([AgentSpec("1001", hold_ms=1500), AgentSpec("1002", hold_ms=1500)])
    callers = _place(c, 4)  # nobody logged in: all four wait, on alternate nodes
    for caller, _ in callers:
        c.wait_event(caller, "queued")
    nodes = [c.node_of(caller) for caller, _ in callers]
    assert set(nodes) == {"pbx1", "pbx2"}, f"calls were not spread over both nodes: {nodes}"
    callers.sort(key=lambda placed: c.wait_event(placed[0], "queued")["at"])  # the queue's order

    # 1001 logs in from the phone (*72 through Kamailio, which checks the phone's password), 1002 over HTTP.
    login = place_authenticated_call(c.phones.account("1001"), service="*72", trace_dir=c.base / "star72",
                                    route_set=True)
    assert login.wait(30).returncode == 0, "the *72 call through the proxy failed"
    wait_for(lambda: agents_state(c.serve.http)["1001"]["state"] != "logged_out" or None, 15, "*72 logged 1001 in")
    assert agent_action(c.serve.http, "1002", "login")["state"] in ("ready", "ringing", "busy")

    for _caller_number, sipp in callers:
        assert sipp.wait(60).returncode == 0
    rows = {caller: wait_for(lambda caller=caller: closed_call_from(c.dsn, caller), 20, "record")
            for caller, _ in callers}
    assert all(row["outcome"] == "answered" for row in rows.values()), rows
    rung = [c.wait_event(caller, "agent_ringing")["at"] for caller, _ in callers]
    assert rung == sorted(rung), "callers offered out of their order in the queue across the nodes"
    answered_by = {(c.node_of(caller), str(c.wait_event(caller, "agent_connected")["detail"]["agent"]))
                   for caller, _ in callers}
    assert {node for node, _ in answered_by} == {"pbx1", "pbx2"}, answered_by  # both nodes placed agent legs
    print(f"\n[scaleout] 4 callers over nodes {nodes}; offered in queue order, (node, agent): {sorted(answered_by)}")
    _reload_and_doctor_every_node(c)


def _place(c: ClusterStack, count: int, listen_ms: int = 60000) -> list[tuple[str, SippCall]]:
    """``count`` callers, one after another as soon as the previous one has its record (Kamailio's
    round robin puts them on alternate nodes)."""
    placed = []
    for _ in range(count):
        caller = _caller()
        placed.append((caller, c.call(caller, listen_ms=listen_ms)))
        c.call_id(caller)
    return placed


def _reload_and_doctor_every_node(c: ClusterStack) -> None:
    """`hotline reload` renders and reloads every node (agents still reached through the proxy) and the
    service; `hotline doctor` checks every node, the proxy and the service."""
    second = c.cluster.node("pbx2").run_dir / "etc"
    (second / "hotline-numbers.conf").unlink()
    password = new_password()
    ensure_account(c.dsn, "reload-sup", "supervisor", password)
    reload = c.cli("reload", "--service", c.serve.http, HOTLINE_API_USER="reload-sup", HOTLINE_API_PASSWORD=password)
    assert reload.returncode == 0, reload.stderr
    for node in ("pbx1", "pbx2"):
        assert f"asterisk: {node}: dialplan reload: ok" in reload.stdout, reload.stdout
    assert "service: registry reloaded" in reload.stdout
    assert (second / "hotline-numbers.conf").exists()
    assert f"contact = sip:agent-1001@{c.cluster.proxy.address}" in (second / "hotline-agents.conf").read_text()

    doctor = c.cli("doctor", "--json")
    checks = {check["check"]: check for check in json.loads(doctor.stdout)["checks"]}
    for node in ("pbx1", "pbx2"):
        for name in ("ami", "ari", "modules", "dialplan", "dialplan globals", "agent phones", "include files"):
            assert checks[f"{node}: {name}"]["status"] == "OK", checks[f"{node}: {name}"]
        assert "2 of 2 phones registered" in checks[f"{node}: agent phones"]["detail"]
    for name in ("sip proxy", "fastagi", "database", "service http"):
        assert checks[name]["status"] == "OK", checks[name]


@pytest.fixture
def department(artifacts: Path) -> Iterator[Path]:
    """12333's department line answers (a SIPp peer); the registry copy that points at it."""
    port = free_port_both()
    phone = start_peer("answer-wait-bye", port=port, trace_dir=artifacts / "dept-12333")
    yield registry_copy(artifacts / "hotlines.yaml", {"dept-12333": port})
    phone.stop()


def test_a_node_killed_with_calls_up(cluster_stack: Callable[..., ClusterStack], department: Path) -> None:
    """Two agents talking, one caller on each node (pbx2's agent brings a department in: three
    parties there); two more callers waiting, one on each node. pbx2 is killed: its talking and
    waiting calls close (answered, node_lost), its agent is freed; pbx1's calls go on untouched;
    Kamailio marks pbx2 down and every new call after that goes to pbx1 and is answered."""
    c = cluster_stack([AgentSpec("1001", phone="answer-wait-bye"), AgentSpec("1002", phone="answer-wait-bye"),
                       AgentSpec("1003", hold_ms=1000)], env={"HOTLINE_NODE_GRACE": "3"}, registry=department)
    for agent in ("1001", "1002"):
        assert agent_action(c.serve.http, agent, "login")["state"] == "ready"
    talking = _place(c, 2, listen_ms=120000)  # one on each node, answered by the two agents
    for caller, _ in talking:
        c.wait_event(caller, "agent_connected")
    queued = _place(c, 2, listen_ms=120000)  # one on each node, waiting: nobody is free
    for caller, _ in queued:
        c.wait_event(caller, "queued")
    up = {c.node_of(caller): caller for caller, _ in talking}  # node -> caller talking there
    waiting = {c.node_of(caller): caller for caller, _ in queued}  # node -> caller waiting there
    assert set(up) == set(waiting) == {"pbx1", "pbx2"}, (up, waiting)
    sipps = dict(talking + queued)
    agent_on = {node: str(c.wait_event(caller, "agent_connected")["detail"]["agent"]) for node, caller in up.items()}
    # Three parties on the second node: its agent brings 12333's department line in.
    request = urllib.request.Request(f"{c.serve.http}/calls/{c.call_id(up['pbx2'])}/party", method="POST",
                                     data=json.dumps({"action": "add", "department": "01"}).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202
    joined = c.wait_event(up["pbx2"], "department_joined")
    assert joined["detail"]["members"] == ["caller", "agent", "department"], joined

    c.cluster.node("pbx2").kill()
    killed = time.monotonic()
    wait_for(lambda: "FLAGS: IP" in c.dispatcher_list() or None, 30, "Kamailio to mark pbx2 down")
    marked_down = time.monotonic() - killed
    talked = wait_for(lambda: closed_call_from(c.dsn, up["pbx2"]), 30, "the lost talking call's record closed")
    lost = wait_for(lambda: closed_call_from(c.dsn, waiting["pbx2"]), 30, "the lost waiting call's record closed")
    closed_after = time.monotonic() - killed
    assert talked["outcome"] == "answered" and lost["outcome"] == "node_lost", (talked, lost)
    assert any(e["kind"] == "node_lost" for e in c.events(up["pbx2"]))
    wait_for(lambda: agents_state(c.serve.http)[agent_on["pbx2"]]["state"] in ("ready", "busy") or None, 20,
             "the lost call's agent freed (and offered the next caller)")

    # pbx1's calls untouched: still talking / waiting, their callers' SIPp still in the call.
    for caller in (up["pbx1"], waiting["pbx1"]):
        assert closed_call_from(c.dsn, caller) is None, f"{caller} on pbx1 was ended"
        assert sipps[caller].process.poll() is None
    # The waiting caller on pbx1 is answered by the agent the lost call freed.
    c.wait_event(waiting["pbx1"], "agent_connected", 30)

    assert agent_action(c.serve.http, "1003", "login")["state"] == "ready"
    fresh = [_caller() for _ in range(4)]
    fresh_sipps = [c.call(caller, listen_ms=60000) for caller in fresh]
    for caller, sipp in zip(fresh, fresh_sipps, strict=True):
        assert sipp.wait(90).returncode == 0, f"new call {caller} failed after pbx2 was lost"
    records = [c.record(caller) for caller in fresh]
    assert [r["outcome"] for r in records] == ["answered"] * 4, records
    assert {c.node_of(caller) for caller in fresh} == {"pbx1"}
    for caller in (up["pbx1"], waiting["pbx1"]):  # the pbx1 calls end normally: hung up by the test
        c.hang_up(caller)
    for caller in (up["pbx1"], waiting["pbx1"]):
        assert c.record(caller)["outcome"] == "answered"
    print(f"\n[scaleout] pbx2 SIGKILLed with 2 calls up there and 2 on pbx1: Kamailio marked it down after "
          f"{marked_down:.1f} s; its calls' records closed after {closed_after:.1f} s (answered, node_lost); "
          "pbx1's 2 calls untouched; 4 new calls: 4 answered on pbx1")
