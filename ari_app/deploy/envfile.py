"""The environment file ``hotline serve``, ``hotline reload`` and ``hotline doctor`` share.

A server keeps its settings in one file (``/etc/hotline/hotline.env``, or ``HOTLINE_ENV_FILE``):
systemd hands it to ``hotline serve`` (``EnvironmentFile=``) and every ``hotline`` command reads it
too, so an operator's ``hotline reload`` or ``hotline doctor`` sees the service's ports, passwords
and paths. What the process environment sets wins over the file.

The format is the subset systemd and a shell agree on: ``KEY=value`` lines, ``#`` comments, blank
lines, a value optionally in single or double quotes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

DEFAULT_ENV_FILE = Path("/etc/hotline/hotline.env")


class EnvFileError(RuntimeError):
    """The named environment file cannot be read, or a line is not KEY=value."""


def parse_env(text: str, source: str = "environment file") -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise EnvFileError(f"{source}:{number}: not KEY=value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def env_file_path(env: Mapping[str, str]) -> Path | None:
    """The file named by HOTLINE_ENV_FILE ("" turns it off), else the default when it exists."""
    named = env.get("HOTLINE_ENV_FILE")
    if named is not None:
        return Path(named) if named else None
    return DEFAULT_ENV_FILE if DEFAULT_ENV_FILE.is_file() else None


def load_env_file(env: MutableMapping[str, str] | None = None) -> Path | None:
    """Add the file's variables to ``env`` (default: os.environ) where it does not set them yet.
    Returns the file read, or None. A file named by HOTLINE_ENV_FILE must exist."""
    target = os.environ if env is None else env
    path = env_file_path(target)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnvFileError(f"cannot read the environment file {path}: {exc.strerror or exc}") from None
    for key, value in parse_env(text, str(path)).items():
        if not target.get(key):
            target[key] = value
    return path
