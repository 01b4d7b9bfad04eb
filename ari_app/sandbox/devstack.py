"""``hotline up``: a local Asterisk, PostgreSQL and ``hotline serve`` in the foreground.

Ctrl-C (or SIGTERM) stops the app, then Asterisk, then PostgreSQL, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import sys
from pathlib import Path

from ari_app import event_loop, logs
from ari_app.accounts.model import Account, AccountRole
from ari_app.accounts.seeding import ensure_account
from ari_app.accounts.store import AccountStore
from ari_app.configcheck.problems import ConfigError
from ari_app.registry.loader import load_registry
from ari_app.sandbox import state as install_state
from ari_app.sandbox.asterisk import AsteriskSandbox, SandboxError
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port, new_password
from ari_app.seats.loader import load_seats
from ari_app.seats.model import Seats
from ari_app.seats.phones import agent_passwords
from ari_app.secrets_store import ensure_secrets
from ari_app.service import serve
from ari_app.settings import Settings, default_state_dir
from ari_app.store.db import connect_pool


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.isdigit() else default


def _check_free(port: int, kind: int, what: str, host: str = "127.0.0.1") -> None:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise SandboxError(f"HOTLINE_SIP_HOST {host} is not an address of this machine") from None
            raise SandboxError(f"{what} port {port} on {host} is taken; set the variable to another port") from None


def _sip_host() -> str:
    host = os.environ.get("HOTLINE_SIP_HOST", "") or "127.0.0.1"
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        raise SandboxError(f"HOTLINE_SIP_HOST must be an IPv4 address of this machine, got {host!r}") from None


def _trunk_addresses(sip_host: str) -> tuple[str, ...]:
    """Who may call in unauthenticated, as the carrier trunk: HOTLINE_TRUNK_ADDRESSES (comma-separated
    addresses or networks) if set; else 127.0.0.1 when SIP is on loopback, and nobody off loopback."""
    raw = os.environ.get("HOTLINE_TRUNK_ADDRESSES", "")
    if raw.strip():
        items = [item.strip() for item in raw.split(",") if item.strip()]
        try:
            return tuple(str(ipaddress.ip_network(item, strict=False)) for item in items)
        except ValueError as exc:
            raise SandboxError(f"HOTLINE_TRUNK_ADDRESSES: {exc}") from None
    return ("127.0.0.1",) if ipaddress.IPv4Address(sip_host).is_loopback else ()


# The newcomer's console logins (made once; passwords kept in secrets.env): name -> account, secret.
NEWCOMER_ACCOUNTS = {
    "supervisor": (Account("supervisor", "值班长", AccountRole.SUPERVISOR), "HOTLINE_SUPERVISOR_PASSWORD"),
    "agent-1001": (Account("agent-1001", "座席1001", AccountRole.AGENT, agent_id="1001"),
                   "HOTLINE_CONSOLE_AGENT_PASSWORD"),
    "civil": (Account("civil", "市民政局承办人", AccountRole.DEPARTMENT, department="civil-affairs"),
              "HOTLINE_CONSOLE_DEPARTMENT_PASSWORD"),
}


async def _ensure_accounts(dsn: str, passwords: dict[str, str]) -> None:
    """The newcomer's logins of ``passwords`` (name -> password)."""
    pool = await connect_pool(dsn)
    try:
        for name, password in passwords.items():
            await ensure_account(AccountStore(pool), NEWCOMER_ACCOUNTS[name][0], password)
    finally:
        await pool.close()


def newcomer_passwords(state_dir: Path, seats: Seats, registry_path: Path) -> dict[str, str]:
    """Console logins for the seat and department that exist in this install's configuration (a
    broken registry is reported by the service itself: no department login then)."""
    wanted = {"supervisor"}
    if any(agent.id == "1001" for agent in seats.agents):
        wanted.add("agent-1001")
    try:
        if "civil-affairs" in load_registry(registry_path).departments:
            wanted.add("civil")
    except (ConfigError, OSError):
        pass
    secrets = ensure_secrets(state_dir, tuple(NEWCOMER_ACCOUNTS[n][1] for n in sorted(wanted)), new_password)
    return {name: secrets[NEWCOMER_ACCOUNTS[name][1]] for name in sorted(wanted)}


def banner(sip_host: str, sip_port: int, http_port: int, trunk: tuple[str, ...], accounts: dict[str, str],
           sandbox: str, log_dir: Path) -> str:
    """What ``scripts/up`` tells a newcomer: how to call in, how to be an agent, where to look."""
    server = f"{sip_host}:{sip_port}"
    lines = ["", "12345 hotline is up.", ""]
    if trunk:
        lines.append(f"  Call in (no account): from {', '.join(trunk)} call sip:12345@{server} (UDP)")
    lines += [
        f"  Call in as a citizen from any device: softphone account test-caller, password {accounts['test-caller']},",
        f"           server {server} (UDP); dial 12345 (or any hotline number, e.g. 12349, 12333).",
        "           Return visits (a department replied to your work order) ring this softphone, 08:30-20:00.",
        f"  Be agent 1001: register a softphone as user agent-1001, password {accounts.get('1001', '(not in seats)')},",
        f"           server {server} (UDP); dial *72 to log in (*74 pause, *75 ready, *73 log out).",
        "           A caller to 12345 then rings your phone. Every agent's account: .venv/bin/hotline seats",
        f"  Console: http://127.0.0.1:{http_port}/console in a browser; sign in as",
        f"           supervisor / {accounts['supervisor']} (wallboard)",
        *([f"           agent-1001 / {accounts['agent-1001']} (agent desk of seat 1001; not the SIP password)"]
          if "agent-1001" in accounts else []),
        *([f"           civil / {accounts['civil']} (department desk of 市民政局)"] if "civil" in accounts else []),
        f"  HTTP:    http://127.0.0.1:{http_port}/readyz (open); everything else after a login:",
        "           POST /login with one of the logins above gives a token;",
        "           send it as Authorization: Bearer <token> to /agents /queues /calls /work-orders /knowledge/search",
        f"           (the API: http://127.0.0.1:{http_port}/openapi.json; more accounts: .venv/bin/hotline user add)",
        f"  Asterisk CLI: scripts/asterisk-sandbox cli {sandbox} 'pjsip show contacts'",
        f"  Logs:    {log_dir}",
        "  Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def up() -> int:
    state_dir = default_state_dir(os.environ)
    values = install_state.load_or_create(state_dir)
    sip_host = _sip_host()
    trunk = _trunk_addresses(sip_host)
    sip_port = _port("HOTLINE_SIP_PORT", 5060)
    http_port = _port("HOTLINE_HTTP_PORT", 8080)
    agi_port = _port("HOTLINE_AGI_PORT", 4573)
    _check_free(sip_port, socket.SOCK_DGRAM, "HOTLINE_SIP_PORT", sip_host)
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
        state_dir=state_dir,
        sip_host=sip_host,
        trunk_match=trunk,
    )
    # What `hotline reload` and `hotline calls` need to find this stack.
    values.update(
        HOTLINE_AMI_PORT=str(asterisk.ami_port),
        HOTLINE_SIP_HOST=sip_host,
        HOTLINE_SIP_PORT=str(sip_port),
        HOTLINE_HTTP_PORT=str(http_port),
        HOTLINE_ASTERISK_INCLUDE_DIR=str(asterisk.run_dir / "etc"),
        HOTLINE_ARI_URL=asterisk.ari_url,  # and `hotline doctor`
        HOTLINE_AGI_PORT=str(agi_port),
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
                "HOTLINE_CALL_SPOOL": str(asterisk.call_spool),
            }
        )
        seats = load_seats(settings.seats_path)
        logins = newcomer_passwords(state_dir, seats, settings.registry_path)
        asyncio.run(_ensure_accounts(dsn, logins))
        accounts = {**agent_passwords(state_dir, seats), "test-caller": asterisk.test_caller_password(), **logins}
        _say(banner(sip_host, sip_port, http_port, trunk, accounts, asterisk.name, asterisk.log_dir))
        logs.configure(settings.log_level)
        event_loop.run(serve(settings))
    finally:
        _say("stopping Asterisk")
        asterisk.stop()
        if pg is not None:
            _say("stopping PostgreSQL")
            pg.stop()
    return 0
