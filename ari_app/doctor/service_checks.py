"""Checks of the hotline's connections: AMI, ARI and the Stasis app, FastAGI, PostgreSQL. Pure
functions of what the probe observed (a status code, an error text, a set of versions)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ari_app.doctor.model import Check, fail, ok, warn


@dataclass(frozen=True)
class AriFacts:
    url: str
    user: str
    app: str
    error: str = ""  # could not talk to ARI at all
    info_status: int = 0  # GET /ari/asterisk/info
    app_status: int = 0  # GET /ari/applications/{app}


def check_ami(error: str, where: str, user: str) -> Check:
    name = "ami"
    if error:
        return fail(name, error, "set HOTLINE_AMI_HOST/PORT/USER/SECRET to a manager.conf user (read: system, "
                    "write: system,command,config), with manager.conf `enabled = yes`")
    return ok(name, f"logged in as {user!r} at {where}")


def check_ari(facts: AriFacts) -> Check:
    name = "ari"
    where = f"{facts.url}/ari"
    if facts.error:
        return fail(name, f"cannot reach ARI at {where}: {facts.error}",
                    "set HOTLINE_ARI_URL to Asterisk's HTTP server; http.conf and ari.conf `enabled = yes`")
    if facts.info_status == 401:
        return fail(name, f"ARI refused user {facts.user!r} (401): wrong password or no such user",
                    f"set HOTLINE_ARI_USER/HOTLINE_ARI_PASSWORD to a [{facts.user}] user of ari.conf "
                    "(type = user), then restart hotline serve")
    if facts.info_status != 200:
        return fail(name, f"GET {where}/asterisk/info answered {facts.info_status}",
                    "load res_ari and res_ari_asterisk; check HOTLINE_ARI_URL")
    if facts.app_status == 404:
        return fail(name, f"the Stasis app {facts.app!r} is not registered: hotline serve is not running or not "
                    "connected", "start hotline serve (its GET /readyz says why ARI is not connected); "
                    "HOTLINE_ARI_APP must match the dialplan's HOTLINE_APP")
    if facts.app_status != 200:
        return fail(name, f"GET {where}/applications/{facts.app} answered {facts.app_status}",
                    "load res_ari_applications")
    return ok(name, f"{where} as {facts.user!r}; app {facts.app!r} registered")


def dialplan_globals(output: str) -> dict[str, str]:
    """``dialplan show globals`` -> name -> value."""
    return dict(re.findall(r"^\s*(\w+)=(.*?)\s*$", output, re.MULTILINE))


def check_globals(output: str, ari_app: str, agi_host: str, agi_port: int) -> Check:
    """The dialplan sends calls to this app name and to this FastAGI server."""
    name = "dialplan globals"
    values = dialplan_globals(output)
    problems = []
    if values.get("HOTLINE_APP") != ari_app:
        problems.append(f"HOTLINE_APP is {values.get('HOTLINE_APP')!r}, HOTLINE_ARI_APP is {ari_app!r}")
    agi = urlsplit(values.get("HOTLINE_AGI", ""))
    port_differs = agi.port != agi_port
    host_differs = agi_host not in ("", "0.0.0.0", "::") and agi.hostname != agi_host  # noqa: S104
    if agi.scheme != "agi" or port_differs or host_differs:
        problems.append(f"HOTLINE_AGI is {values.get('HOTLINE_AGI')!r}, the service listens on {agi_host}:{agi_port}")
    if problems:
        return fail(name, "; ".join(problems),
                    "set [globals] HOTLINE_APP and HOTLINE_AGI in extensions.conf to match HOTLINE_ARI_APP and "
                    "HOTLINE_AGI_HOST/PORT, then `asterisk -rx 'dialplan reload'`")
    return ok(name, f"HOTLINE_APP={ari_app}, HOTLINE_AGI={values['HOTLINE_AGI']}")


def check_fastagi(error: str, host: str, port: int) -> Check:
    name = "fastagi"
    if error:
        return fail(name, f"nothing answers at {host}:{port}: {error}",
                    "start hotline serve (it runs the FastAGI server); HOTLINE_AGI_HOST/PORT must match "
                    "the dialplan's HOTLINE_AGI")
    return ok(name, f"listening at {host}:{port}")


def check_service_http(status: int, error: str, url: str) -> Check:
    """``GET /healthz`` on hotline serve's HTTP port: where `hotline reload` reloads the running service."""
    name = "service http"
    if error or status != 200:
        found = error or f"HTTP {status}"
        return fail(name, f"hotline serve does not answer at {url}: {found}",
                    "start hotline serve; HOTLINE_HTTP_HOST/PORT in the environment file must be its address "
                    "(`hotline reload` reloads the service there)")
    return ok(name, f"{url} answers")


def check_database(error: str, applied: set[int], known: Sequence[tuple[int, str]], where: str) -> Check:
    """PostgreSQL reachable, and every migration this code ships applied."""
    name = "database"
    if error:
        return fail(name, f"cannot use PostgreSQL at {where}: {error}",
                    "check HOTLINE_DSN (postgresql://user:password@host:port/db) and that the server runs")
    missing = [f"{v:03d}_{n}" for v, n in known if v not in applied]
    newer = sorted(applied - {v for v, _ in known})
    if missing:
        return fail(name, f"migrations not applied: {', '.join(missing)}",
                    "start hotline serve once: it applies the migrations at start")
    if newer:
        return warn(name, f"the database has migrations this code does not know: {newer}",
                    "upgrade this installation to the version that wrote them")
    return ok(name, f"{where}: all {len(known)} migrations applied")
