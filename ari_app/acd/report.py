"""The queue figures served at ``GET /queues``: live and last-24-hours, in total, per hotline and per queue."""

from __future__ import annotations

from dataclasses import asdict

from ari_app.acd import figures
from ari_app.acd.engine import Acd
from ari_app.acd.figures import CallOutcome
from ari_app.acd.store import AcdStore

DAY = 86400.0


async def queue_report(acd: Acd, store: AcdStore) -> dict[str, object]:
    now = acd.now()
    outcomes = [
        CallOutcome(r["hotline"], r["queue"], r["enqueued_at"], r["answered_at"], r["ended_at"],
                    r["status"] == "abandoned")
        for r in await store.outcomes(since=now - DAY)
    ]
    waiting = acd.waiting()
    threshold = float(acd.policy.service_level_seconds)
    return {
        "now": now,
        "service_level_seconds": threshold,
        "total": asdict(figures.compute(outcomes, waiting, now, threshold)),
        "by_hotline": {k: asdict(v) for k, v in figures.by_hotline(outcomes, waiting, now, threshold).items()},
        "by_queue": {k: asdict(v) for k, v in figures.by_queue(outcomes, waiting, now, threshold).items()},
        "agents": figures.agent_state_counts(acd.agents.values()),
    }
