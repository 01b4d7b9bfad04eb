"""What the console reads from the rest of the service; the service fills it in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import asyncpg

from ari_app.acd.engine import Acd
from ari_app.knowledge.desk import KnowledgeDesk
from ari_app.registry.model import Registry
from ari_app.workorders.desk import WorkOrderDesk


@dataclass(frozen=True)
class ConsoleSources:
    registry: Callable[[], Registry]
    acd: Callable[[], Acd | None]
    screen: Callable[[str], dict[str, object] | None]  # a live call as an agent's screen shows it
    queue_figures: Callable[[Acd], Awaitable[str]]  # the body of GET /queues
    pool: Callable[[], asyncpg.Pool | None]
    zone: tzinfo  # the centre's time zone (days, "due today")
    now: Callable[[], datetime]
    desk: Callable[[], WorkOrderDesk | None] = lambda: None
    knowledge: Callable[[], KnowledgeDesk | None] = lambda: None
    staffing: Callable[[], Awaitable[dict[str, Any]]] | None = None  # the staffing report as JSON
