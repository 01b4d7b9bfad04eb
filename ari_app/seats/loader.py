"""Load config/seats.yaml, reporting problems with file, line and field path like the registry."""

from __future__ import annotations

import re
from pathlib import Path

from ari_app.registry.loader import _DIGITS, _SLUG, Keys, Reader, RegistryError, Unique, _compose
from ari_app.seats.model import Agent, Seats

TOP = Keys(("agents",))
AGENT = Keys(("id", "name", "endpoint"), ("groups", "seconded_by", "skills"))
_ENDPOINT = re.compile(r"[a-z0-9][a-z0-9-]*")


def parse_seats(text: str, source: str) -> Seats:
    r = Reader(source)
    root = _compose(text, r)
    agents: list[Agent] = []
    top = r.mapping(root, "", TOP) if root is not None else None
    if top is not None:
        ids, endpoints = Unique("agent id"), Unique("endpoint")
        for node, path in top.sequence("agents"):
            f = r.mapping(node, path, AGENT)
            if f is None:
                continue
            agent_id = f.matching("id", _DIGITS, "digits (quote it)")
            endpoint = f.matching("endpoint", _ENDPOINT, "a PJSIP endpoint name of a-z, 0-9 and -")
            name = f.text("name")
            ids.check(f, "id", agent_id)
            endpoints.check(f, "endpoint", endpoint)
            read_groups = (r.matching(item, at, _SLUG, "a group slug") for item, at in f.sequence("groups"))
            groups = tuple(g for g in read_groups if g is not None)
            seconded = f.matching("seconded_by", _SLUG, "a department id") if f.has("seconded_by") else None
            skills: dict[str, int] = {}
            for skill, _key, value in f.get("skills", r.entries) or []:
                level = r.integer(value, f"{path}.skills.{skill}", 1, 5)
                if level is not None:
                    skills[skill] = level
            if agent_id and endpoint and name:
                agents.append(Agent(agent_id, name, endpoint, groups, seconded, skills))
    if r.problems:
        raise RegistryError(r.problems)
    return Seats(tuple(agents), source)


def load_seats(path: Path) -> Seats:
    return parse_seats(path.read_text(encoding="utf-8"), str(path))
