"""Observe a live deployment: Asterisk over AMI (CLI commands), ARI over HTTP, the FastAGI port,
PostgreSQL. Each function returns what it saw, or the error as text; nothing here judges."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import aiohttp
import asyncpg

from ari_app.ami.client import AmiError, AmiTarget, session
from ari_app.doctor.checks import pjsip_endpoints
from ari_app.doctor.service_checks import AriFacts

TIMEOUT = 5.0


@dataclass
class AsteriskFacts:
    """Outputs of the CLI commands the checks read, by what they are."""

    version: str = ""
    modules: str = ""
    contexts: dict[str, str] = field(default_factory=dict)  # context -> dialplan show output
    globals: str = ""
    endpoints: str = ""
    endpoint_details: dict[str, str] = field(default_factory=dict)  # endpoint -> pjsip show endpoint output
    pjsip_settings: str = ""
    contacts: str = ""
    moh_classes: str = ""
    moh_files: str = ""
    settings: str = ""
    sounds: dict[str, str] = field(default_factory=dict)  # prompt -> core show sound output
    epoch: str = ""  # Asterisk's clock, seconds since 1970


async def observe_asterisk(
    target: AmiTarget, contexts: Iterable[str], prompts: Iterable[str]
) -> tuple[AsteriskFacts | None, str]:
    """(facts, "") or (None, why AMI could not be used)."""
    facts = AsteriskFacts()
    try:
        async with session(target, TIMEOUT) as ami:
            async def out(command: str) -> str:
                return (await ami.command(command))[1]

            facts.version = await out("core show version")
            facts.modules = await out("module show")
            facts.contexts = {c: await out(f"dialplan show {c}") for c in contexts}
            facts.globals = await out("dialplan show globals")
            facts.endpoints = await out("pjsip show endpoints")
            facts.contacts = await out("pjsip show contacts")
            facts.endpoint_details = {e: await out(f"pjsip show endpoint {e}")
                                      for e in sorted(pjsip_endpoints(facts.endpoints))}
            facts.pjsip_settings = await out("pjsip show settings")
            facts.moh_classes = await out("moh show classes")
            facts.moh_files = await out("moh show files")
            facts.settings = await out("core show settings")
            facts.sounds = {p: await out(f"core show sound {p}") for p in prompts}
            facts.epoch = await ami.getvar("STRFTIME(,UTC,%s)")
    except AmiError as exc:
        return None, str(exc)
    except (OSError, TimeoutError) as exc:
        return None, f"AMI at {target.host}:{target.port}: {type(exc).__name__}"
    return facts, ""


async def observe_ari(url: str, user: str, password: str, app: str) -> AriFacts:
    """GET /ari/asterisk/info (credentials), then GET /ari/applications/{app} (registered)."""
    base = f"{url.rstrip('/')}/ari"
    auth = aiohttp.BasicAuth(user, password)
    try:
        async with aiohttp.ClientSession(auth=auth, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            async with http.get(f"{base}/asterisk/info") as response:
                info_status = response.status
            if info_status != 200:
                return AriFacts(url, user, app, info_status=info_status)
            async with http.get(f"{base}/applications/{quote(app, safe='')}") as response:
                return AriFacts(url, user, app, info_status=info_status, app_status=response.status)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return AriFacts(url, user, app, error=type(exc).__name__)


async def observe_port(host: str, port: int) -> str:
    """"" when something accepts a TCP connection at host:port, else why not."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return getattr(exc, "strerror", None) or type(exc).__name__
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ""


async def observe_http(url: str) -> tuple[int, str]:
    """(status, "") of GET ``url``, or (0, why not)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
            async with http.get(url) as response:
                return response.status, ""
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return 0, type(exc).__name__


def database_where(dsn: str) -> str:
    """host:port/database of a DSN, never its password."""
    parts = urlsplit(dsn)
    return f"{parts.hostname or 'local socket'}:{parts.port or 5432}{parts.path or ''}"


async def observe_database(dsn: str) -> tuple[set[int], str]:
    """(applied migration versions, "") or (empty, why not)."""
    try:
        conn = await asyncpg.connect(dsn, timeout=TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return set(), type(exc).__name__
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations")
        return {int(r["version"]) for r in rows}, ""
    except asyncpg.UndefinedTableError:
        return set(), ""
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return set(), type(exc).__name__
    finally:
        await conn.close()
