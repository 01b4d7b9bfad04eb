"""Per-install state for ``scripts/up``: generated credentials and the local PostgreSQL's place.

``<state dir>/secrets.env`` (mode 0600) is written once per install with fresh random passwords;
``hotline serve`` and ``hotline calls`` read it when the matching ``HOTLINE_*`` variable is unset.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ari_app.sandbox.proc import free_port, new_password
from ari_app.settings import read_secrets_file


def load_or_create(state_dir: Path) -> dict[str, str]:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "secrets.env"
    values = read_secrets_file(path)
    changed = False
    for key in ("HOTLINE_ARI_PASSWORD", "HOTLINE_AMI_PASSWORD"):
        if not values.get(key):
            values[key] = new_password()
            changed = True
    if not values.get("HOTLINE_PG_PORT"):
        values["HOTLINE_PG_PORT"] = str(free_port())
        changed = True
    if changed:
        save(state_dir, values)
    return values


def save(state_dir: Path, values: dict[str, str]) -> None:
    path = state_dir / "secrets.env"
    tmp = path.with_suffix(".tmp")
    body = "# Generated per install by scripts/up. Keep private.\n" + "".join(
        f"{k}={v}\n" for k, v in sorted(values.items())
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body)
    tmp.replace(path)


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
