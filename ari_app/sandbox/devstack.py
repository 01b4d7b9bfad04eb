"""``hotline up``: a local Asterisk, PostgreSQL and ``hotline serve`` in the foreground.

Ctrl-C (or SIGTERM) stops the app, then Asterisk, then PostgreSQL, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from ari_app import logs
from ari_app.sandbox import state as install_state
from ari_app.sandbox.asterisk import AsteriskSandbox, SandboxError
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port
from ari_app.service import serve
from ari_app.settings import Settings, default_state_dir


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.isdigit() else default


def _check_free(port: int, kind: int, what: str) -> None:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise SandboxError(f"{what} port {port} on 127.0.0.1 is taken; set the variable to another port") from None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def up() -> int:
    state_dir = default_state_dir(os.environ)
    values = install_state.load_or_create(state_dir)
    sip_port = _port("HOTLINE_SIP_PORT", 5060)
    http_port = _port("HOTLINE_HTTP_PORT", 8080)
    agi_port = _port("HOTLINE_AGI_PORT", 4573)
    _check_free(sip_port, socket.SOCK_DGRAM, "HOTLINE_SIP_PORT")
    _check_free(http_port, socket.SOCK_STREAM, "HOTLINE_HTTP_PORT")
    _check_free(agi_port, socket.SOCK_STREAM, "HOTLINE_AGI_PORT")

    pg: PostgresCluster | None = None
    dsn = os.environ.get("HOTLINE_DSN", "")
    if not dsn:
        pg = PostgresCluster(install_state.pg_data_dir(state_dir), int(values["HOTLINE_PG_PORT"]))
        _say(f"starting PostgreSQL in {pg.data_dir} on 127.0.0.1:{pg.port}")
        pg.start()
        dsn = pg.dsn
        values["HOTLINE_DSN"] = dsn

    asterisk = AsteriskSandbox.create(
        install_state.sandbox_name(state_dir),
        sip_port=sip_port,
        http_port=_port("HOTLINE_ARI_PORT", free_port()),
        ami_port=_port("HOTLINE_AMI_PORT", free_port()),
        agi_port=agi_port,
        ari_password=values["HOTLINE_ARI_PASSWORD"],
        ami_password=values["HOTLINE_AMI_PASSWORD"],
        rtp_start=_port("HOTLINE_RTP_START", 20000),
    )
    # What `hotline reload` and `hotline calls` need to find this stack.
    values.update(
        HOTLINE_AMI_PORT=str(asterisk.ami_port),
        HOTLINE_HTTP_PORT=str(http_port),
        HOTLINE_ASTERISK_INCLUDE_DIR=str(asterisk.run_dir / "etc"),
    )
    install_state.save(state_dir, values)
    try:
        _say("starting Asterisk" + (f" (chroot {asterisk.chroot})" if asterisk.chroot else ""))
        asterisk.start()
        settings = Settings.from_env(
            {
                **os.environ,
                "HOTLINE_ARI_URL": asterisk.ari_url,
                "HOTLINE_ARI_PASSWORD": values["HOTLINE_ARI_PASSWORD"],
                "HOTLINE_DSN": dsn,
                "HOTLINE_HTTP_PORT": str(http_port),
                "HOTLINE_AGI_PORT": str(agi_port),
            }
        )
        _say(
            "\n12345 hotline is up.\n"
            f"  Dial in: point a SIP softphone at 127.0.0.1:{sip_port} (UDP), no registration, and call\n"
            f"           sip:12345@127.0.0.1:{sip_port}  (calls from 127.0.0.1 arrive as the trunk)\n"
            f"  HTTP:    http://127.0.0.1:{http_port}/readyz   http://127.0.0.1:{http_port}/calls\n"
            f"  Asterisk CLI: scripts/asterisk-sandbox cli {asterisk.name} 'core show channels'\n"
            f"  Logs:    {asterisk.log_dir}\n"
            "  Ctrl-C stops everything.\n"
        )
        logs.configure(settings.log_level)
        asyncio.run(serve(settings))
    finally:
        _say("stopping Asterisk")
        asterisk.stop()
        if pg is not None:
            _say("stopping PostgreSQL")
            pg.stop()
    return 0
