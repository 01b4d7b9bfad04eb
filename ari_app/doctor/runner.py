"""Run every check against a live deployment, with the settings ``hotline serve`` uses."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ari_app.ami.client import AmiTarget
from ari_app.ami.nodes import AmiNode, ami_nodes_setting
from ari_app.configcheck.problems import ConfigError
from ari_app.doctor import checks, deploy_checks, service_checks
from ari_app.doctor.model import Check, fail, ok, skip
from ari_app.doctor.probe import (
    AsteriskFacts,
    database_where,
    observe_ari,
    observe_asterisk,
    observe_database,
    observe_http,
    observe_port,
)
from ari_app.registry.loader import load_registry
from ari_app.registry.model import Mode, Registry
from ari_app.registry.routing import intercept_prompt, merged_prompt
from ari_app.sandbox.confgen import MODULES
from ari_app.seats.loader import load_seats
from ari_app.seats.model import Seats
from ari_app.settings import REPO_ROOT, Settings, SettingsError, default_state_dir, read_secrets_file
from ari_app.store.db import load_migrations

NUMBERS_CONTEXT = "hotline-numbers"  # rendered by `hotline reload` (ari_app.registry.render)
LANGUAGE = "zh"
PROMPTS_DIR = REPO_ROOT / "sounds" / LANGUAGE


@dataclass(frozen=True)
class DoctorConfig:
    settings: Settings
    ami: AmiTarget | None  # None: no AMI secret configured
    include_dir: Path | None = None  # HOTLINE_ASTERISK_INCLUDE_DIR: where `hotline reload` writes
    nodes: tuple[AmiNode, ...] = ()  # HOTLINE_AMI_NODES: several Asterisk nodes, each checked
    proxy: str = ""  # HOTLINE_SIP_PROXY: host:port of the SIP proxy in front of the nodes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DoctorConfig:
        """``hotline serve``'s settings, plus the AMI user ``hotline reload`` uses (HOTLINE_AMI_*). What
        the environment does not set is taken from the state directory's secrets.env, where
        ``scripts/up`` notes its ports: under ``scripts/up`` the doctor needs no variables."""
        given = dict(os.environ if env is None else env)
        secrets = read_secrets_file(default_state_dir(given) / "secrets.env")
        env = {**{k: v for k, v in secrets.items() if k.startswith("HOTLINE_")}, **given}

        def value(name: str, default: str = "") -> str:
            return env.get(name) or secrets.get(name, default)

        secret = value("HOTLINE_AMI_SECRET") or value("HOTLINE_AMI_PASSWORD")
        port = value("HOTLINE_AMI_PORT", "5038")
        if not port.isdigit():
            raise SettingsError(f"HOTLINE_AMI_PORT must be an integer, got {port!r}")
        target = AmiTarget(value("HOTLINE_AMI_HOST", "127.0.0.1"), int(port),
                           value("HOTLINE_AMI_USER", "hotline"), secret) if secret else None
        include = value("HOTLINE_ASTERISK_INCLUDE_DIR")
        return cls(Settings.from_env(env), target, Path(include) if include else None,
                   ami_nodes_setting(value("HOTLINE_AMI_NODES")), value("HOTLINE_SIP_PROXY"))


def dialplan_contexts(dialplan_dir: Path = REPO_ROOT / "dialplan") -> list[str]:
    """The contexts of the project's dialplan files, and the rendered numbers' context."""
    found = [m for p in sorted(dialplan_dir.glob("*.conf"))
             for m in re.findall(r"^\[([\w-]+)\]", p.read_text(encoding="utf-8"), re.MULTILINE)]
    return [*dict.fromkeys(found), NUMBERS_CONTEXT]


def required_prompts(registry: Registry | None, prompts_dir: Path = PROMPTS_DIR) -> list[str]:
    """Every prompt this project ships, and each transition line's announcement and intercept notice."""
    names = {p.stem for p in prompts_dir.glob("*.wav")}
    if registry is not None:
        for line in registry.hotlines.values():
            if line.mode is Mode.WHOLE_MERGE_TRANSITION:
                names |= {merged_prompt(line.number), intercept_prompt(line.number)}
    return sorted(names)


def _configuration(settings: Settings) -> tuple[Registry | None, Seats | None, Check]:
    name = "configuration"
    try:
        registry = load_registry(settings.registry_path)
        seats = load_seats(settings.seats_path)
    except ConfigError as exc:
        return None, None, fail(name, "; ".join(map(str, exc.problems[:3])), "run `hotline check-config`")
    except OSError as exc:
        return None, None, fail(name, f"cannot read {exc.filename}: {exc.strerror}",
                                "set HOTLINE_REGISTRY / HOTLINE_SEATS to the files")
    return registry, seats, ok(name, f"{settings.registry_path}: {len(registry.hotlines)} lines; "
                               f"{settings.seats_path}: {len(seats.agents)} agents")


def asterisk_checks(facts: AsteriskFacts | None, why: str, settings: Settings, registry: Registry | None,
                    seats: Seats | None, include_dir: Path | None = None) -> list[Check]:
    """The checks read from Asterisk's CLI; skipped (with the reason) when AMI could not be used."""
    names = ["asterisk version", "modules", "dialplan", "dialplan globals", "department lines", "agent phones",
             "endpoint options", "endpoint identification", "include files", f"prompts ({LANGUAGE})", "music on hold"]
    if facts is None:
        return [skip(n, why) for n in names]
    found = [
        checks.check_version(facts.version),
        checks.check_modules(facts.modules, MODULES),
        checks.check_dialplan(facts.contexts, NUMBERS_CONTEXT,
                              [registry.platform.number, *registry.hotlines] if registry else []),
        service_checks.check_globals(facts.globals, settings.ari_app, settings.agi_host, settings.agi_port),
        checks.check_departments(facts.endpoints, facts.contacts, registry) if registry else skip(
            "department lines", "the registry has problems"),
        checks.check_agents(facts.endpoints, facts.contacts, seats.endpoints) if seats else skip(
            "agent phones", "the seats file has problems"),
        deploy_checks.check_endpoint_media(facts.endpoint_details, seats.endpoints if seats else []),
        deploy_checks.check_identification(facts.pjsip_settings),
        deploy_checks.check_include_files(include_dir, REPO_ROOT / "dialplan",
                                          deploy_checks.asterisk_user(facts.settings)),
        checks.check_prompts(facts.sounds, LANGUAGE, checks.data_dir(facts.settings)),
        checks.check_moh(facts.moh_classes, facts.moh_files),
    ]
    return found


async def _node_checks(config: DoctorConfig, node: AmiNode, registry: Registry | None,
                       seats: Seats | None) -> list[Check]:
    """One of several nodes: AMI, what its CLI shows, its ARI; every check named after the node."""
    s = config.settings
    if config.ami is None:
        facts, why = None, "no AMI secret (HOTLINE_AMI_SECRET)"
        ami = fail("ami", "HOTLINE_AMI_SECRET is not set", "set HOTLINE_AMI_SECRET to a manager.conf user")
    else:
        target = AmiTarget(node.host, node.port, config.ami.user, config.ami.secret)
        facts, why = await observe_asterisk(target, dialplan_contexts(), required_prompts(registry))
        ami = service_checks.check_ami(why, f"{target.host}:{target.port}", target.user)
        why = why and "AMI login failed"
    url = next((n.ari_url for n in s.ari_nodes if n.name == node.name), "")
    ari = service_checks.check_ari(await observe_ari(url, s.ari_user, s.ari_password, s.ari_app)) if url else fail(
        "ari", f"node {node.name} is not in HOTLINE_ARI_NODES", "name every node in both HOTLINE_ARI_NODES "
        "and HOTLINE_AMI_NODES, with its systemname")
    found = asterisk_checks(facts, why, s, registry, seats, node.include_dir)
    return [replace(c, name=f"{node.name}: {c.name}") for c in [ami, *found[:2], ari, *found[2:]]]


def check_proxy(address: str) -> Check:
    """The SIP proxy in front of the nodes answers OPTIONS."""
    from ari_app.sandbox.kamailio import options_ping

    host, _, port = address.rpartition(":")
    if port.isdigit() and options_ping(host or "127.0.0.1", int(port), timeout=2.0):
        return ok("sip proxy", f"{address} answers OPTIONS")
    return fail("sip proxy", f"no SIP answer from {address}", "start Kamailio (hotline up --nodes N starts its own); "
                "check HOTLINE_SIP_PROXY")


async def run_doctor(config: DoctorConfig) -> list[Check]:
    s = config.settings
    registry, seats, configuration = _configuration(s)
    if config.nodes:
        return await _run_nodes(config, registry, seats, configuration)
    if config.ami is None:
        facts, why = None, "no AMI secret (HOTLINE_AMI_SECRET)"
        ami = fail("ami", "HOTLINE_AMI_SECRET is not set", "set HOTLINE_AMI_SECRET (and HOTLINE_AMI_USER/HOST/PORT) "
                   "to a manager.conf user")
    else:
        target = config.ami
        facts, why = await observe_asterisk(target, dialplan_contexts(), required_prompts(registry))
        ami = service_checks.check_ami(why, f"{target.host}:{target.port}", target.user)
        why = why and "AMI login failed"
    host = "127.0.0.1" if s.http_host in ("", "0.0.0.0", "::") else s.http_host  # noqa: S104 - a bind-all address
    health = f"http://{host}:{s.http_port}/healthz"
    ari, agi_error, (applied, db_error), (http_status, http_error) = await asyncio.gather(
        observe_ari(s.ari_url, s.ari_user, s.ari_password, s.ari_app),
        observe_port(s.agi_host, s.agi_port),
        observe_database(s.dsn),
        observe_http(health),
    )
    zone = registry.platform.timezone if registry else "Asia/Shanghai"
    known = [(m.version, m.name) for m in load_migrations()]
    from_asterisk = asterisk_checks(facts, why, s, registry, seats, config.include_dir)
    return [
        configuration,
        ami,
        *from_asterisk[:2],
        service_checks.check_ari(ari),
        *from_asterisk[2:],
        service_checks.check_fastagi(agi_error, s.agi_host, s.agi_port),
        service_checks.check_service_http(http_status, http_error, health),
        service_checks.check_database(db_error, applied, known, database_where(s.dsn)),
        checks.check_timezone(zone, facts.epoch if facts else "", time.time(), s.today),
    ]


async def _run_nodes(config: DoctorConfig, registry: Registry | None, seats: Seats | None,
                     configuration: Check) -> list[Check]:
    """Several nodes: each node's checks, then the proxy and what the one service shares."""
    s = config.settings
    per_node = [c for node in config.nodes for c in await _node_checks(config, node, registry, seats)]
    host = "127.0.0.1" if s.http_host in ("", "0.0.0.0", "::") else s.http_host  # noqa: S104 - a bind-all address
    health = f"http://{host}:{s.http_port}/healthz"
    agi_error, (applied, db_error), (http_status, http_error) = await asyncio.gather(
        observe_port(s.agi_host, s.agi_port), observe_database(s.dsn), observe_http(health))
    known = [(m.version, m.name) for m in load_migrations()]
    return [
        configuration,
        *per_node,
        *([check_proxy(config.proxy)] if config.proxy else []),
        service_checks.check_fastagi(agi_error, s.agi_host, s.agi_port),
        service_checks.check_service_http(http_status, http_error, health),
        service_checks.check_database(db_error, applied, known, database_where(s.dsn)),
    ]
