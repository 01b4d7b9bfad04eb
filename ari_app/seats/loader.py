"""Load config/seats.yaml, reporting problems with file, line and field path like the registry.

Any problem raises :class:`~ari_app.configcheck.problems.ConfigError`, which lists them all.
"""

from __future__ import annotations

import re
from pathlib import Path

from ari_app.acd.model import QueuePolicy
from ari_app.configcheck.problems import ConfigError
from ari_app.configcheck.reader import DIGITS, SLUG, Fields, Keys, Reader, Unique
from ari_app.configcheck.yamlnodes import read_utf8
from ari_app.seats.model import Agent, Seats

TOP = Keys(("agents",), ("queue",))
POLICY_INTS = {  # key -> (lowest, highest)
    "ring_timeout": (5, 120),
    "wrap_up": (0, 600),
    "widen_after": (0, 3600),
    "announce_every": (10, 600),
    "repeat_caller_priority": (0, 100),
    "escalation_priority": (0, 100),
    "service_level_seconds": (5, 300),
    "callback_after": (0, 3600),
}
POLICY = Keys((), (*POLICY_INTS, "hotline_priority", "rating_after_call"))
AGENT = Keys(("id", "name", "endpoint"), ("groups", "seconded_by", "skills"))
EXPECTED = "the agents"  # what an empty file lacks
_ENDPOINT = re.compile(r"[a-z0-9][a-z0-9-]*")


def parse_seats(text: str, source: str) -> Seats:
    r = Reader(source)
    root = r.document(text, EXPECTED)
    agents: list[Agent] = []
    top = r.mapping(root, "", TOP) if root is not None else None
    if top is not None:
        ids, endpoints = Unique("agent id"), Unique("endpoint")
        for node, path in top.sequence("agents"):
            f = r.mapping(node, path, AGENT)
            if f is None:
                continue
            agent_id = f.matching("id", DIGITS, "digits (quote it)")
            endpoint = f.matching("endpoint", _ENDPOINT, "a PJSIP endpoint name of a-z, 0-9 and -")
            name = f.text("name")
            ids.check(f, "id", agent_id)
            endpoints.check(f, "endpoint", endpoint)
            read_groups = (r.matching(item, at, SLUG, "a group slug") for item, at in f.sequence("groups"))
            groups = tuple(g for g in read_groups if g is not None)
            seconded = f.matching("seconded_by", SLUG, "a department id") if f.has("seconded_by") else None
            skills: dict[str, int] = {}
            for skill, _key, value in f.get("skills", r.entries) or []:
                level = r.integer(value, f"{path}.skills.{skill}", 1, 5)
                if level is not None:
                    skills[skill] = level
            if agent_id and endpoint and name:
                agents.append(Agent(agent_id, name, endpoint, groups, seconded, skills))
    policy = QueuePolicy()
    if top is not None and top.has("queue"):
        policy = _policy(r, top) or policy
    if r.problems:
        raise ConfigError(r.problems)
    return Seats(tuple(agents), source, policy)


def _policy(r: Reader, top: Fields) -> QueuePolicy | None:
    f = top.mapping("queue", POLICY)
    if f is None:
        return None
    values: dict[str, int] = {}
    for key, (low, high) in POLICY_INTS.items():
        if f.has(key):
            value = f.integer(key, low, high)
            if value is not None:
                values[key] = value
    priorities: dict[str, int] = {}
    for number, _key, node in f.get("hotline_priority", r.entries) or []:
        level = r.integer(node, f"queue.hotline_priority.{number}", 0, 100)
        if level is not None:
            priorities[number] = level
    rating = f.boolean("rating_after_call") if f.has("rating_after_call") else None
    return QueuePolicy(**values, hotline_priority=priorities,
                       rating_after_call=QueuePolicy.rating_after_call if rating is None else rating)


def load_seats(path: Path) -> Seats:
    """The seats of ``path``; ConfigError lists every problem (a file that is not UTF-8 is one),
    OSError (missing, unreadable) propagates."""
    return parse_seats(read_utf8(path), str(path))
