"""The event loop ``hotline serve`` runs on: uvloop (libuv), unless ``HOTLINE_EVENT_LOOP=asyncio``.

Measured with ``scripts/bench`` at 20 calls/s (alternating runs): the service's CPU per call fell by
about a tenth and StasisStart -> holding bridge p99 from 12-25 ms to under 9 ms; most of a call's
cost in the service is socket round trips (PostgreSQL, ARI) and loop wake-ups, which libuv does in C.
The standard loop stays one setting away, for a debugger or a platform without uvloop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ari_app.settings import SettingsError

T = TypeVar("T")
CHOICES = ("uvloop", "asyncio")


def loop_factory(choice: str | None = None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the loop ``choice`` names (default: ``HOTLINE_EVENT_LOOP``, else uvloop); None
    means asyncio's own. An unknown name is a clear error, not a silent fallback."""
    name = (choice if choice is not None else os.environ.get("HOTLINE_EVENT_LOOP", "")).strip() or "uvloop"
    if name not in CHOICES:
        raise SettingsError(f"HOTLINE_EVENT_LOOP must be one of {', '.join(CHOICES)}, not {name!r}")
    if name == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str | None = None) -> T:
    """Run ``main`` to the end on the chosen loop (as ``asyncio.run`` does)."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
