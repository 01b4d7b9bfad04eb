"""The registry a running service uses, and its reload: a bad file is refused, the last good one
stays; a valid file that removes numbers is refused unless forced (see :mod:`.diff`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ari_app.configcheck.problems import DOCUMENT, ConfigError, Problem
from ari_app.logs import get_logger
from ari_app.registry.diff import RegistryDiff, diff_registries
from ari_app.registry.loader import load_registry
from ari_app.registry.model import Registry

log = get_logger("registry")


@dataclass(frozen=True)
class ReloadOutcome:
    problems: list[Problem] = field(default_factory=list)  # the file is invalid: nothing changed
    changes: RegistryDiff | None = None  # what the file changes against the running registry
    applied: bool = False
    refused: str = ""  # why a valid file was not applied (it removes numbers and force was not given)


class RegistryHolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: Registry = load_registry(path)  # a bad file at start-up is an error to fix
        self.reloads = 0

    def reload(self, force: bool = False, dry_run: bool = False) -> ReloadOutcome:
        """Load the file again and compare it with the running registry. Apply it unless it has
        problems, ``dry_run`` is set, or it removes numbers and ``force`` is not set."""
        try:
            registry = load_registry(self.path)
        except ConfigError as exc:
            log.error("registry_reload_refused", file=str(self.path), problems=[str(p) for p in exc.problems])
            return ReloadOutcome(problems=list(exc.problems))
        except OSError as exc:
            problem = Problem(str(self.path), 0, DOCUMENT, f"cannot read the file: {exc.strerror}")
            log.error("registry_reload_refused", file=str(self.path), problems=[str(problem)])
            return ReloadOutcome(problems=[problem])
        changes = diff_registries(self.current, registry)
        if dry_run:
            return ReloadOutcome(changes=changes)
        if changes.removes_numbers and not force:
            refused = (f"the file removes {len(changes.removed)} number(s) citizens dial "
                       f"({', '.join(changes.removed)}); reload with force to remove them")
            log.error("registry_reload_refused", file=str(self.path), removed=list(changes.removed))
            return ReloadOutcome(changes=changes, refused=refused)
        self.current = registry
        self.reloads += 1
        log.info("registry_reloaded", file=str(self.path), hotlines=len(registry.hotlines), forced=force,
                 added=list(changes.added), removed=list(changes.removed), changes=len(changes.changes))
        return ReloadOutcome(changes=changes, applied=True)
