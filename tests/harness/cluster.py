"""Two Asterisk nodes behind Kamailio, agent phones registered at Kamailio, one `hotline serve`
driving both nodes (ari_app.sandbox.cluster), for the scale-out tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.sandbox.cluster import Cluster, make_cluster
from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port, new_password
from tests.harness.agents import AgentSpec, Phones, agents_state, write_seats
from tests.harness.records import calls_from, closed_call_from, timed_events
from tests.harness.services import REPO, ServeProcess, Stack, assert_no_leaks
from tests.harness.sipp import SippCall, place_call
from tests.harness.wait import wait_for


@dataclass
class ClusterStack:
    cluster: Cluster
    serve: ServeProcess
    phones: Phones
    dsn: str
    base: Path

    def stacks(self) -> list[Stack]:
        return [Stack(node, self.serve.stack.agi_port, self.serve.stack.ari_app) for node in self.cluster.nodes]

    def call(self, caller: str, listen_ms: int = 60000, number: str = "12345") -> SippCall:
        """A citizen's call to the proxy (Kamailio picks the node)."""
        return place_call("greeting-12345", target_port=self.cluster.sip_port, caller=caller, service=number,
                          trace_dir=self.base / f"caller-{caller}", listen_ms=listen_ms, route_set=True)

    def call_id(self, caller: str, timeout: float = 30) -> str:
        rows = wait_for(lambda: calls_from(self.dsn, caller), timeout, f"a record of the call from {caller}")
        return str(rows[-1]["call_id"])

    def node_of(self, caller: str) -> str:
        """The node that took the call: its systemname begins the call id."""
        return self.call_id(caller).partition("-")[0]

    def wait_event(self, caller: str, kind: str, timeout: float = 30) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            rows = calls_from(self.dsn, caller)
            if not rows:
                return None
            return next((e for e in timed_events(self.dsn, rows[-1]["call_id"]) if e["kind"] == kind), None)

        return wait_for(found, timeout, f"{kind} on the call from {caller}")

    def events(self, caller: str) -> list[dict[str, Any]]:
        return timed_events(self.dsn, self.call_id(caller))

    def record(self, caller: str, timeout: float = 30) -> dict[str, Any]:
        result: dict[str, Any] = wait_for(lambda: closed_call_from(self.dsn, caller), timeout, f"record of {caller}")
        return result

    def hang_up(self, caller: str) -> None:
        """Hang the caller's channel up on its node (the flow ends the call as when a caller hangs up)."""
        call_id = self.call_id(caller)
        node = self.cluster.node(call_id.partition("-")[0])
        Stack(node, self.serve.stack.agi_port, "hotline").ari.delete(f"/channels/{call_id}")

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`hotline ARGS` with the service's environment (every node's AMI, the proxy) and ``env``."""
        full = {**self.serve.env(), **env}
        result = subprocess.run([sys.executable, "-m", "ari_app.cli", *args], capture_output=True, text=True,
                                env=full, cwd=REPO, timeout=90)
        (self.base / f"hotline-{args[0]}.out").write_text(f"exit {result.returncode}\n{result.stdout}\n"
                                                          f"--- stderr\n{result.stderr}")
        return result

    def nodes_ready(self) -> dict[str, bool]:
        _, body = self.serve.get("/readyz")
        return {n["name"]: n["ready"] for n in body.get("nodes", [])}

    def dispatcher_list(self) -> str:
        sock = self.cluster.proxy.run_dir / "kamailio_ctl"
        result = subprocess.run(["kamcmd", "-s", f"unix:{sock}", "dispatcher.list"], capture_output=True, text=True,
                                timeout=10)
        return result.stdout


def start_cluster_stack(postgres: PostgresCluster, artifacts: Path, agents: list[AgentSpec], database: str,
                        env: dict[str, str] | None = None, registry: Path | None = None,
                        peers: tuple[SipPeer, ...] = (), **policy: int) -> ClusterStack:
    """Kamailio, then the phones (registered at Kamailio), then two nodes, then `hotline serve`
    (``registry``: a registry copy, say with department lines pointing at test peers; ``peers``:
    static SIP peers on every node, a return-visit trunk say)."""
    seats = write_seats(artifacts / "seats.yaml", agents, **policy)
    state_dir = Path(tempfile.mkdtemp(prefix="hotline-test-state-"))
    agi_port = free_port()
    cluster = make_cluster(f"so{os.getpid() % 10000}", 2, run_dir=artifacts / "cluster", state_dir=state_dir,
                           seats_path=seats, agi_port=agi_port, ari_password=new_password(),
                           ami_password=new_password(), rtp_start=20000 + (os.getpid() * 7) % 6000,
                           registry_path=registry, peers=peers)
    phones = Phones(agents, artifacts / "phones")
    serve: ServeProcess | None = None
    try:
        cluster.proxy.start()
        phones.start(cluster.sip_port, state_dir, route_set=True)
        for node in cluster.nodes:
            node.start()
        dsn = postgres.create_database(database)
        stack = Stack(cluster.nodes[0], agi_port, "hotline")
        serve = ServeProcess(stack, dsn, artifacts / "serve.log", extra_env={
            "HOTLINE_SEATS": str(seats), "HOTLINE_ARI_NODES": cluster.ari_nodes(),
            "HOTLINE_CALL_SPOOLS": cluster.call_spools(),
            "HOTLINE_AMI_NODES": cluster.ami_nodes(), "HOTLINE_SIP_PROXY": cluster.proxy.address,
            **({"HOTLINE_REGISTRY": str(registry)} if registry else {}), **(env or {})})
        for s in [Stack(node, agi_port, "hotline") for node in cluster.nodes]:
            phones.wait_registered(s.ari, 40)  # every node reaches every phone through the proxy
        serve.start().wait_ready(30)
        c = ClusterStack(cluster, serve, phones, dsn, artifacts)
        wait_for(lambda: all(c.nodes_ready().values()) and len(c.nodes_ready()) == 2, 30, "both nodes ready")
        wait_for(lambda: all(a["phone"] == "registered" for a in agents_state(serve.http).values()), 30,
                 "the service to see the phones registered")
        return c
    except BaseException:
        if serve is not None:
            serve.stop()
        phones.stop()
        cluster.stop()
        _keep_logs(cluster, artifacts)
        cluster.remove()
        raise


def _keep_logs(cluster: Cluster, artifacts: Path) -> None:
    for node in cluster.nodes:
        if node.log_dir.exists():
            shutil.copytree(node.log_dir, artifacts / "asterisk" / node.system_name, dirs_exist_ok=True)


def stop_cluster_stack(c: ClusterStack, artifacts: Path) -> None:
    try:
        for stack in c.stacks():
            if stack.asterisk.running():
                assert_no_leaks(stack, 15)
        log = c.serve.log_text()
        assert "loop_unhandled_exception" not in log and "call_flow_failed" not in log
    finally:
        c.serve.stop()
        c.phones.stop()
        c.cluster.stop()
        _keep_logs(c.cluster, artifacts)
        c.cluster.remove()
