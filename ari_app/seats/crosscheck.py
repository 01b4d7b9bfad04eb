"""Cross-check config/seats.yaml against the registry, for ``hotline check-config``.

Pure: the registry and the seats file's text in, problems and warnings out.

- Problems (errors, ``FILE:LINE: field.path: message`` like the loaders'): the seats file's own
  problems, an agent ``seconded_by`` a department the registry does not have, an agent in a group
  that is not one of the registry's ``expert_groups``.
- Warnings: a department with fewer seconded agents than the ``seconded_staff`` of its lines add
  up to (the plan's 选派接听人员); the file is valid, the center is short of staff.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ari_app.configcheck.problems import ConfigError, Problem, did_you_mean
from ari_app.configcheck.reader import Reader
from ari_app.registry.model import Registry
from ari_app.seats.loader import AGENT, EXPECTED, TOP, parse_seats
from ari_app.seats.model import Seats


@dataclass(frozen=True)
class Shortfall:
    """A department seconds fewer agents than its lines require."""

    department: str  # the department's name (市民政局)
    required: int  # the sum of seconded_staff over its lines
    numbers: tuple[str, ...]  # those lines
    present: int  # agents seconded_by it in the seats file
    seats_file: str  # the seats file's name, for the message

    def __str__(self) -> str:
        return (
            f"{self.department}: {self.required} seconded staff required by the registry "
            f"({' '.join(self.numbers)}), {self.present} in {self.seats_file}"
        )


@dataclass(frozen=True)
class SeatsCheck:
    problems: tuple[Problem, ...]  # in line order; any problem fails the check
    warnings: tuple[Shortfall, ...]  # in the registry's department order
    seats: Seats | None  # None when the seats file itself has problems


def crosscheck(registry: Registry, text: str, source: str) -> SeatsCheck:
    """Read the seats file ``text`` (named ``source`` in problems) and check it against ``registry``."""
    try:
        seats = parse_seats(text, source)
    except ConfigError as exc:
        return SeatsCheck(tuple(exc.problems), (), None)
    problems = sorted(reference_problems(registry, text, source), key=lambda p: p.line)
    return SeatsCheck(tuple(problems), tuple(shortfalls(registry, seats, Path(source).name)), seats)


def reference_problems(registry: Registry, text: str, source: str) -> list[Problem]:
    """Agents' ``seconded_by`` and ``groups`` that name nothing in the registry, with their lines.

    ``text`` must be a seats file that parses (see :func:`parse_seats`): only its references are
    checked here.
    """
    reader = Reader(source)  # reads the nodes; the file is known to be valid
    root = reader.document(text, EXPECTED)
    top = reader.mapping(root, "", TOP) if root is not None else None
    if top is None:
        return []
    found = Reader(source)
    registry_name = Path(registry.source).name if registry.source else "the registry"
    for node, path in top.sequence("agents"):
        agent = reader.mapping(node, path, AGENT)
        if agent is None:
            continue
        department = agent.text("seconded_by") if agent.has("seconded_by") else None
        if department is not None and department not in registry.departments:
            hint = did_you_mean(department, registry.departments)
            found.problem(
                agent.values["seconded_by"],
                agent.at("seconded_by"),
                f"unknown department {department!r}{hint}: not a department of {registry_name}",
            )
        for item, at in agent.sequence("groups"):
            group = reader.text(item, at)
            if group is not None and group not in registry.expert_groups:
                hint = did_you_mean(group, registry.expert_groups)
                found.problem(
                    item, at, f"unknown expert group {group!r}{hint}: not one of the expert_groups of {registry_name}"
                )
    return found.problems


def required_staff(registry: Registry) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Department id -> (seconded staff its lines require in all, those lines), where any are required."""
    required: dict[str, tuple[int, tuple[str, ...]]] = {}
    for line in registry.hotlines.values():
        if line.seconded_staff > 0:
            total, numbers = required.get(line.department, (0, ()))
            required[line.department] = (total + line.seconded_staff, (*numbers, line.number))
    return required


def shortfalls(registry: Registry, seats: Seats, seats_file: str) -> list[Shortfall]:
    """Departments with fewer agents ``seconded_by`` them than their lines' ``seconded_staff``."""
    present = Counter(agent.seconded_by for agent in seats.agents if agent.seconded_by)
    required = required_staff(registry)
    out: list[Shortfall] = []
    for department in registry.departments.values():
        if department.id not in required:
            continue
        total, numbers = required[department.id]
        if present[department.id] < total:
            out.append(Shortfall(department.name, total, numbers, present[department.id], seats_file))
    return out


def describe_seats(seats: Seats) -> str:
    """One summary line: the file, its agents, how many of them seconded by how many departments."""
    seconded = [agent.seconded_by for agent in seats.agents if agent.seconded_by]
    where = f" ({seats.source})" if seats.source else ""
    return f"seats{where}: {len(seats.agents)} agents, {len(seconded)} seconded by {len(set(seconded))} departments"
