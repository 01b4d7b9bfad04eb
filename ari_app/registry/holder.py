"""The registry a running service uses, and its reload: a bad file is refused, the last good one stays."""

from __future__ import annotations

from pathlib import Path

from ari_app.configcheck.problems import DOCUMENT, ConfigError, Problem
from ari_app.logs import get_logger
from ari_app.registry.loader import load_registry
from ari_app.registry.model import Registry

log = get_logger("registry")


class RegistryHolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: Registry = load_registry(path)  # a bad file at start-up is an error to fix
        self.reloads = 0

    def reload(self) -> list[Problem]:
        """Load the file again; on problems keep the current registry and return them."""
        try:
            registry = load_registry(self.path)
        except ConfigError as exc:
            log.error("registry_reload_refused", file=str(self.path), problems=[str(p) for p in exc.problems])
            return list(exc.problems)
        except OSError as exc:
            problem = Problem(str(self.path), 0, DOCUMENT, f"cannot read the file: {exc.strerror}")
            log.error("registry_reload_refused", file=str(self.path), problems=[str(problem)])
            return [problem]
        self.current = registry
        self.reloads += 1
        log.info("registry_reloaded", file=str(self.path), hotlines=len(registry.hotlines))
        return []
