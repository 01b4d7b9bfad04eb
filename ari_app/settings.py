"""Service settings, read from ``HOTLINE_*`` environment variables.

Every listener binds to 127.0.0.1 unless told otherwise. Credentials have no default: they come
from the environment or from the per-install secrets file written by the sandbox (``secrets.env``
in the state directory), never from a constant in the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ari_app.ari.nodes import NodeSpec, parse_nodes, parse_spools

REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A HOTLINE_* variable has a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _date(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "")
    if raw:
        try:
            date.fromisoformat(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None
    return raw


def read_secrets_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (comments and blank lines ignored)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def default_state_dir(env: Mapping[str, str]) -> Path:
    raw = env.get("HOTLINE_STATE_DIR")
    return Path(raw) if raw else REPO_ROOT / ".hotline"


@dataclass(frozen=True)
class Settings:
    """What ``hotline serve`` needs to run. See README, "Configuration"."""

    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "hotline"
    ari_password: str = field(default="", repr=False)
    ari_app: str = "hotline"
    dsn: str = field(default="", repr=False)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agi_header_timeout: float = 5.0
    registry_path: Path = REPO_ROOT / "config" / "hotlines.yaml"
    seats_path: Path = REPO_ROOT / "config" / "seats.yaml"
    calendar_path: Path = REPO_ROOT / "config" / "calendar.yaml"
    workorders_path: Path = REPO_ROOT / "config" / "workorders.yaml"
    knowledge_path: Path = REPO_ROOT / "config" / "knowledge.yaml"  # seed of an empty knowledge base
    return_visits_path: Path = REPO_ROOT / "config" / "return_visits.yaml"
    session_hours: float = 12.0  # how long a login (bearer token) lasts: a shift
    login_failures: int = 5  # failed logins for one name in 5 minutes before it is locked out for a while
    login_address_failures: int = 30  # the same from one client address
    node: str = "node1"
    ari_backoff_initial: float = 0.5
    ari_backoff_max: float = 2.0  # Asterisk back after an outage is found within this (plus jitter)
    ari_heartbeat: float = 5.0
    ari_transport: str = "auto"  # REST over the events websocket when Asterisk takes it ("auto"), or "http"
    log_level: str = "info"
    today: str = ""  # YYYY-MM-DD pins the date for routing decisions (rehearsals, tests); "" = real date
    call_spool: Path | None = None  # the dialplan's call spool (HOTLINE_CALL_SPOOL as this host sees it)
    call_spool_every: float = 5.0  # seconds between imports of the call spool
    call_spools: tuple[tuple[str, Path], ...] = ()  # several nodes: each node's spool (HOTLINE_CALL_SPOOLS)
    ami_host: str = "127.0.0.1"  # AMI, for the security events (failed SIP authentications)
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = field(default="", repr=False)  # "" = no AMI: failed authentications are not counted
    ari_nodes: tuple[NodeSpec, ...] = ()  # several Asterisk nodes (HOTLINE_ARI_NODES); () = the one at ari_url
    node_grace: float = 5.0  # seconds a node's link may stay down before its calls are taken for lost

    def nodes(self) -> tuple[NodeSpec, ...]:
        """The Asterisk nodes to drive: those of HOTLINE_ARI_NODES, else the one of HOTLINE_ARI_URL."""
        return self.ari_nodes or (NodeSpec("", self.ari_url),)

    def spools(self) -> tuple[tuple[str, Path], ...]:
        """The call spools to import, each with the node its records are marked with: every node's
        (HOTLINE_CALL_SPOOLS), else the one of HOTLINE_CALL_SPOOL (marked HOTLINE_NODE), else none."""
        if self.call_spools:
            return self.call_spools
        return ((self.node, self.call_spool),) if self.call_spool is not None else ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        secrets = read_secrets_file(default_state_dir(env) / "secrets.env")
        password = env.get("HOTLINE_ARI_PASSWORD") or secrets.get("HOTLINE_ARI_PASSWORD", "")
        if not password:
            raise SettingsError(
                "HOTLINE_ARI_PASSWORD is not set and no secrets.env was found in the state directory "
                "(run scripts/up once, or set it to the password of the ARI user)"
            )
        dsn = env.get("HOTLINE_DSN") or secrets.get("HOTLINE_DSN", "")
        if not dsn:
            raise SettingsError("HOTLINE_DSN is not set (a PostgreSQL URL, e.g. postgresql://user@host/db)")
        try:
            ari_nodes = parse_nodes(env.get("HOTLINE_ARI_NODES", ""))
        except ValueError as exc:
            raise SettingsError(f"HOTLINE_ARI_NODES: {exc}") from None
        try:
            spools = parse_spools(env.get("HOTLINE_CALL_SPOOLS", ""), [n.name for n in ari_nodes])
        except ValueError as exc:
            raise SettingsError(f"HOTLINE_CALL_SPOOLS: {exc}") from None
        return cls(
            ari_nodes=ari_nodes,
            node_grace=_float(env, "HOTLINE_NODE_GRACE", cls.node_grace),
            ari_url=env.get("HOTLINE_ARI_URL", cls.ari_url).rstrip("/"),
            ari_user=env.get("HOTLINE_ARI_USER") or secrets.get("HOTLINE_ARI_USER", cls.ari_user),
            ari_password=password,
            ari_app=env.get("HOTLINE_ARI_APP", cls.ari_app),
            dsn=dsn,
            http_host=env.get("HOTLINE_HTTP_HOST") or cls.http_host,
            http_port=_int(env, "HOTLINE_HTTP_PORT", cls.http_port),
            agi_host=env.get("HOTLINE_AGI_HOST") or cls.agi_host,
            agi_port=_int(env, "HOTLINE_AGI_PORT", cls.agi_port),
            agi_header_timeout=_float(env, "HOTLINE_AGI_HEADER_TIMEOUT", cls.agi_header_timeout),
            registry_path=Path(env.get("HOTLINE_REGISTRY") or cls.registry_path),
            seats_path=Path(env.get("HOTLINE_SEATS") or cls.seats_path),
            calendar_path=Path(env.get("HOTLINE_CALENDAR") or cls.calendar_path),
            workorders_path=Path(env.get("HOTLINE_WORKORDERS") or cls.workorders_path),
            knowledge_path=Path(env.get("HOTLINE_KNOWLEDGE") or cls.knowledge_path),
            return_visits_path=Path(env.get("HOTLINE_RETURN_VISITS") or cls.return_visits_path),
            session_hours=_float(env, "HOTLINE_SESSION_HOURS", cls.session_hours),
            login_failures=_int(env, "HOTLINE_LOGIN_FAILURES", cls.login_failures),
            login_address_failures=_int(env, "HOTLINE_LOGIN_ADDRESS_FAILURES", cls.login_address_failures),
            node=env.get("HOTLINE_NODE", cls.node),
            ari_backoff_initial=_float(env, "HOTLINE_ARI_BACKOFF_INITIAL", cls.ari_backoff_initial),
            ari_backoff_max=_float(env, "HOTLINE_ARI_BACKOFF_MAX", cls.ari_backoff_max),
            ari_heartbeat=_float(env, "HOTLINE_ARI_HEARTBEAT", cls.ari_heartbeat),
            ari_transport=_choice(env, "HOTLINE_ARI_TRANSPORT", ("auto", "http"), cls.ari_transport),
            log_level=env.get("HOTLINE_LOG_LEVEL", cls.log_level).lower(),
            today=_date(env, "HOTLINE_TODAY"),
            call_spool=Path(env["HOTLINE_CALL_SPOOL"]) if env.get("HOTLINE_CALL_SPOOL") else None,
            call_spool_every=_float(env, "HOTLINE_CALL_SPOOL_EVERY", cls.call_spool_every),
            call_spools=tuple((name, Path(path)) for name, path in spools),
            ami_host=env.get("HOTLINE_AMI_HOST") or cls.ami_host,
            ami_port=_int({**secrets, **env}, "HOTLINE_AMI_PORT", cls.ami_port),
            ami_user=env.get("HOTLINE_AMI_USER") or secrets.get("HOTLINE_AMI_USER", cls.ami_user),
            ami_secret=(env.get("HOTLINE_AMI_SECRET") or env.get("HOTLINE_AMI_PASSWORD")
                        or secrets.get("HOTLINE_AMI_SECRET") or secrets.get("HOTLINE_AMI_PASSWORD", "")),
        )
