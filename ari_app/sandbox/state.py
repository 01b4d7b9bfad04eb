"""Per-install state for ``scripts/up``: generated credentials and the local PostgreSQL's place.

``<state dir>/secrets.env`` (mode 0600) is written once per install with fresh random passwords;
``hotline serve`` and ``hotline calls`` read it when the matching ``HOTLINE_*`` variable is unset.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ari_app.sandbox.proc import free_port, new_password
from ari_app.secrets_store import ensure_secrets, secrets_path, update_secrets
from ari_app.settings import read_secrets_file


def load_or_create(state_dir: Path) -> dict[str, str]:
    """This install's secrets, with the ARI and AMI passwords and the PostgreSQL port created on first use."""
    ensure_secrets(state_dir, ("HOTLINE_ARI_PASSWORD", "HOTLINE_AMI_PASSWORD"), new_password)
    ensure_secrets(state_dir, ("HOTLINE_PG_PORT",), lambda: str(free_port()))
    return read_secrets_file(secrets_path(state_dir))


def save(state_dir: Path, values: dict[str, str]) -> None:
    """Record ``values`` (ports, DSN, include dir) beside the other secrets, keeping the rest."""
    update_secrets(state_dir, values)


def _install_key(state_dir: Path) -> str:
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]


def sandbox_name(state_dir: Path) -> str:
    """The Asterisk sandbox name of this install, so that two checkouts never share a run dir."""
    return f"up-{_install_key(state_dir)[:8]}"


def pg_data_dir(state_dir: Path) -> Path:
    """Where this install's PostgreSQL cluster lives.

    Not inside the work tree: as root the server runs as ``postgres``, which must be able to
    reach the directory, and a checkout under /root is not reachable for it.
    """
    key = _install_key(state_dir)
    return Path("/var/tmp") / f"hotline-{os.geteuid()}" / f"pg-{key}"  # noqa: S108 - per-uid, made by us
