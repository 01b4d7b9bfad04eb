"""Several Asterisk nodes behind one Kamailio, on this machine: the scale-out sandbox.

Kamailio listens on the SIP port callers and agent phones use; every node has its own SIP, ARI
and AMI ports on 127.0.0.1 and its own ``systemname`` (``pbx1``, ``pbx2``...), so that channel
ids carry the node's name. One ``hotline serve`` drives every node's ARI (``HOTLINE_ARI_NODES``).
Used by ``hotline up --nodes N`` and by the integration tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ari_app.sandbox.asterisk import AsteriskSandbox
from ari_app.sandbox.confgen import TEST_CALLER, SipPeer
from ari_app.sandbox.kamailio import KamailioSandbox, ProxyConfig, module_dir
from ari_app.sandbox.proc import free_port, free_port_both
from ari_app.seats.loader import load_seats
from ari_app.seats.phones import agent_passwords

NODE_PREFIX = "pbx"


def node_names(count: int) -> list[str]:
    return [f"{NODE_PREFIX}{i}" for i in range(1, count + 1)]


@dataclass
class Cluster:
    proxy: KamailioSandbox
    nodes: list[AsteriskSandbox] = field(default_factory=list)

    @property
    def sip_port(self) -> int:
        """Where callers and agent phones send SIP: the proxy."""
        return self.proxy.config.port

    def ari_nodes(self) -> str:
        """The ``HOTLINE_ARI_NODES`` value for ``hotline serve``: name=ARI URL, comma-separated."""
        return ",".join(f"{n.system_name}={n.ari_url}" for n in self.nodes)

    def ami_nodes(self) -> str:
        """The ``HOTLINE_AMI_NODES`` value for ``hotline reload`` and ``doctor``: name=port=include dir."""
        return ",".join(f"{n.system_name}={n.ami_port}={n.run_dir / 'etc'}" for n in self.nodes)

    def call_spools(self) -> str:
        """The ``HOTLINE_CALL_SPOOLS`` value: name=the node's call spool (as this host sees it), comma-separated."""
        return ",".join(f"{n.system_name}={n.call_spool}" for n in self.nodes)

    def node(self, name: str) -> AsteriskSandbox:
        return next(n for n in self.nodes if n.system_name == name)

    def start(self) -> Cluster:
        """The proxy first (phones may register before the nodes are up), then every node."""
        self.proxy.start()
        try:
            for node in self.nodes:
                node.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.proxy.stop()

    def remove(self) -> None:
        for node in self.nodes:
            node.remove()


def make_cluster(
    name: str,
    count: int,
    *,
    run_dir: Path,
    state_dir: Path,
    seats_path: Path,
    agi_port: int,
    ari_password: str,
    ami_password: str,
    proxy_port: int | None = None,
    registry_path: Path | None = None,
    rtp_start: int = 20000,
    peers: tuple[SipPeer, ...] = (),
    create: Callable[..., AsteriskSandbox] = AsteriskSandbox.create,
) -> Cluster:
    """A proxy on ``proxy_port`` (default: a free one) and ``count`` nodes on free ports, not started.
    The agents' SIP passwords (``state_dir``'s secrets.env) go into the proxy's configuration;
    ``peers``: static SIP peers every node has (a return-visit trunk, say)."""
    seats = load_seats(seats_path)
    passwords = agent_passwords(state_dir, seats)
    port = proxy_port or free_port_both()
    nodes: list[AsteriskSandbox] = []
    for index, system_name in enumerate(node_names(count)):
        nodes.append(create(
            f"{name}-{system_name}",
            sip_port=free_port_both(), http_port=free_port(), ami_port=free_port(), agi_port=agi_port,
            ari_password=ari_password, ami_password=ami_password, rtp_start=rtp_start + index * 2000,
            state_dir=state_dir, seats_path=seats_path, system_name=system_name, agent_proxy=f"127.0.0.1:{port}",
            **({"registry_path": registry_path} if registry_path else {}), **({"peers": peers} if peers else {}),
        ))
    # The proxy checks the agents' phones and the test caller (one password for every node, from secrets.env).
    agents = {**{a.endpoint: passwords[a.id] for a in seats.agents}, TEST_CALLER: nodes[0].test_caller_password()}
    proxy = KamailioSandbox(ProxyConfig(port=port, run_dir=run_dir / "proxy", module_dir=module_dir(),
                                        nodes=tuple(f"127.0.0.1:{n.sip_port}" for n in nodes), agents=agents,
                                        carrier_user=TEST_CALLER))
    return Cluster(proxy, nodes)
