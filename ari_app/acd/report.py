"""The queue figures served at ``GET /queues``: live and last-24-hours, in total, per hotline and per queue.

The last 24 hours come from an :class:`OutcomeWindow` in memory, loaded from PostgreSQL once when
the ACD starts (:func:`load_window`) and kept up to date by :class:`AcdStore` as it writes each
queued call, so a request costs a pass over the groups and the callers waiting, not over a day of
rows. The response is written as JSON text here: the same object ``json.dumps`` makes of
``{"now", "service_level_seconds", "total": asdict(Figures), "by_hotline": {...}, "by_queue": {...},
"agents"}``, with each group's ``abandoned_waits`` taken as the window keeps it, already as JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import fields

from ari_app.acd import figures
from ari_app.acd.engine import Acd
from ari_app.acd.figures import Figures
from ari_app.acd.store import AcdStore
from ari_app.acd.window import Group, OutcomeWindow

FIGURES = tuple(f.name for f in fields(Figures))


def _number(value: float | None) -> str:
    """A count, a float or None as ``json.dumps`` writes it (without its per-call set-up)."""
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    return repr(value)


def _object(members: Iterable[tuple[str, str]]) -> str:
    """A JSON object from (name, value already as JSON) pairs, in order."""
    return "{" + ", ".join(f"{json.dumps(name)}: {value}" for name, value in members) + "}"


_MEMBERS = tuple((name, json.dumps(name) + ": ") for name in FIGURES)


def group_json(group: Group) -> str:
    """One group's figures as JSON: ``json.dumps(dataclasses.asdict(group.figures))``."""
    values = group.figures
    return "{" + ", ".join(
        prefix + (group.waits_json if name == "abandoned_waits" else _number(getattr(values, name)))
        for name, prefix in _MEMBERS
    ) + "}"


async def load_window(store: AcdStore, window: OutcomeWindow, now: float) -> None:
    """The window from this node's stored outcomes of the last ``window.span`` seconds."""
    window.load(await store.outcomes(since=now - window.span))


def queue_report(acd: Acd, window: OutcomeWindow, more: Iterable[tuple[str, str]] = ()) -> str:
    """The body of ``GET /queues`` (JSON); ``more``: further members, (name, value as JSON)."""
    now = acd.now()
    threshold = float(acd.policy.service_level_seconds)
    total, by_hotline, by_queue = window.figures(now, acd.waiting(), threshold)
    return _object([
        ("now", _number(now)),
        ("service_level_seconds", _number(threshold)),
        ("total", group_json(total)),
        ("by_hotline", _object((key, group_json(group)) for key, group in by_hotline.items())),
        ("by_queue", _object((key, group_json(group)) for key, group in by_queue.items())),
        ("agents", json.dumps(figures.agent_state_counts(acd.agents.values()))),
        *more,
    ])
