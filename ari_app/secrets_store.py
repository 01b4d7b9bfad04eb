"""The per-install secrets file (``<state dir>/secrets.env``, mode 0600).

Generated credentials live here: ARI and AMI passwords written by ``scripts/up``, the SIP
password of every agent phone and of the test caller. A value is created once, on first use,
and kept; writers hold a lock so that two commands run at once never lose each other's values.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ari_app.settings import read_secrets_file

FILE_NAME = "secrets.env"


def secrets_path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


@contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / ".secrets.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_secrets(state_dir: Path, values: dict[str, str]) -> None:
    """Replace the file with ``values`` (atomically, mode 0600)."""
    path = secrets_path(state_dir)
    tmp = path.with_suffix(".tmp")
    body = "# Generated per install by the hotline. Keep private.\n" + "".join(
        f"{k}={v}\n" for k, v in sorted(values.items())
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body)
    tmp.replace(path)


def update_secrets(state_dir: Path, values: dict[str, str]) -> dict[str, str]:
    """Set ``values`` in the file, keeping every other entry; returns the whole file."""
    with _locked(state_dir):
        current = read_secrets_file(secrets_path(state_dir))
        if any(current.get(k) != v for k, v in values.items()):
            current.update(values)
            write_secrets(state_dir, current)
        return current


def ensure_secrets(state_dir: Path, keys: Iterable[str], make: Callable[[], str]) -> dict[str, str]:
    """The values of ``keys``, creating each missing one with ``make()`` and saving it."""
    wanted = list(keys)
    with _locked(state_dir):
        current = read_secrets_file(secrets_path(state_dir))
        missing = [k for k in wanted if not current.get(k)]
        if missing:
            for key in missing:
                current[key] = make()
            write_secrets(state_dir, current)
        return {k: current[k] for k in wanted}
