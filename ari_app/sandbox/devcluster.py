"""``hotline up --nodes N``: Kamailio and N Asterisk nodes, PostgreSQL and one ``hotline serve``
driving every node, in the foreground (ari_app.sandbox.cluster). Ctrl-C stops them all.

Callers and agent phones use Kamailio's port (``HOTLINE_SIP_PORT``, default 5060) on 127.0.0.1;
each node has its own SIP, ARI and AMI ports. What ``hotline reload``, ``doctor`` and ``calls``
need is noted in the state directory's secrets.env, as ``hotline up`` does for one node.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from ari_app import event_loop, logs
from ari_app.sandbox import state as install_state
from ari_app.sandbox.asterisk import SandboxError
from ari_app.sandbox.cluster import make_cluster
from ari_app.sandbox.devstack import _check_free, _ensure_accounts, _port, _say, banner, newcomer_passwords
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.seats.loader import load_seats
from ari_app.seats.phones import agent_passwords
from ari_app.service import serve
from ari_app.settings import Settings, default_state_dir

MAX_NODES = 8


def up_nodes(count: int) -> int:
    """``hotline up`` (one node, ari_app.sandbox.devstack) or ``hotline up --nodes N``."""
    if count == 1:
        from ari_app.sandbox.devstack import up

        return up()
    return up_cluster(count)


def up_cluster(count: int) -> int:
    if not 2 <= count <= MAX_NODES:
        raise SandboxError(f"--nodes must be between 2 and {MAX_NODES} (1: plain hotline up), got {count}")
    if (os.environ.get("HOTLINE_SIP_HOST") or "127.0.0.1") != "127.0.0.1":
        raise SandboxError("hotline up --nodes runs on 127.0.0.1 only; unset HOTLINE_SIP_HOST")
    state_dir = default_state_dir(os.environ)
    values = install_state.load_or_create(state_dir)
    sip_port = _port("HOTLINE_SIP_PORT", 5060)
    http_port = _port("HOTLINE_HTTP_PORT", 8080)
    agi_port = _port("HOTLINE_AGI_PORT", 4573)
    _check_free(sip_port, socket.SOCK_DGRAM, "HOTLINE_SIP_PORT")
    _check_free(http_port, socket.SOCK_STREAM, "HOTLINE_HTTP_PORT")
    _check_free(agi_port, socket.SOCK_STREAM, "HOTLINE_AGI_PORT")
    seats_path = Path(os.environ.get("HOTLINE_SEATS") or Settings.seats_path).resolve()

    pg: PostgresCluster | None = None
    dsn = os.environ.get("HOTLINE_DSN", "")
    if not dsn:
        pg = PostgresCluster(install_state.pg_data_dir(state_dir), int(values["HOTLINE_PG_PORT"]))
        _say(f"starting PostgreSQL in {pg.data_dir} on 127.0.0.1:{pg.port}")
        pg.start()
        dsn = pg.dsn
        values["HOTLINE_DSN"] = dsn
    cluster = make_cluster(install_state.sandbox_name(state_dir), count, run_dir=state_dir / "cluster",
                           state_dir=state_dir, seats_path=seats_path, agi_port=agi_port,
                           ari_password=values["HOTLINE_ARI_PASSWORD"], ami_password=values["HOTLINE_AMI_PASSWORD"],
                           proxy_port=sip_port,
                           rtp_start=_port("HOTLINE_RTP_START", 20000))
    first = cluster.nodes[0]
    values.update(
        HOTLINE_SIP_HOST="127.0.0.1", HOTLINE_SIP_PORT=str(sip_port), HOTLINE_HTTP_PORT=str(http_port),
        HOTLINE_AGI_PORT=str(agi_port), HOTLINE_ARI_URL=first.ari_url, HOTLINE_AMI_PORT=str(first.ami_port),
        HOTLINE_ASTERISK_INCLUDE_DIR=str(first.run_dir / "etc"), HOTLINE_ARI_NODES=cluster.ari_nodes(),
        HOTLINE_AMI_NODES=cluster.ami_nodes(), HOTLINE_SIP_PROXY=cluster.proxy.address,
    )
    install_state.save(state_dir, values)
    try:
        _say(f"starting Kamailio on 127.0.0.1:{sip_port} and {count} Asterisk nodes")
        cluster.start()
        settings = Settings.from_env({
            **os.environ, "HOTLINE_ARI_URL": first.ari_url, "HOTLINE_ARI_NODES": cluster.ari_nodes(),
            "HOTLINE_CALL_SPOOLS": cluster.call_spools(),
            "HOTLINE_ARI_PASSWORD": values["HOTLINE_ARI_PASSWORD"], "HOTLINE_DSN": dsn,
            "HOTLINE_HTTP_PORT": str(http_port), "HOTLINE_AGI_PORT": str(agi_port),
            "HOTLINE_SEATS": str(seats_path)})
        seats = load_seats(settings.seats_path)
        logins = newcomer_passwords(state_dir, seats, settings.registry_path)
        asyncio.run(_ensure_accounts(dsn, logins))
        accounts = {**agent_passwords(state_dir, seats), "test-caller": first.test_caller_password(), **logins}
        nodes = ", ".join(f"{n.system_name} SIP {n.sip_port} ARI {n.http_port}" for n in cluster.nodes)
        _say(banner("127.0.0.1", sip_port, http_port, ("127.0.0.1",), accounts, first.name, first.log_dir)
             + f"  Nodes:   {nodes}; Kamailio {cluster.proxy.address} (log {cluster.proxy.log_path})\n"
             "           Agents and the test caller register and call through Kamailio.\n")
        logs.configure(settings.log_level)
        event_loop.run(serve(settings))
    finally:
        _say("stopping the nodes and Kamailio")
        cluster.stop()
        if pg is not None:
            _say("stopping PostgreSQL")
            pg.stop()
    return 0
