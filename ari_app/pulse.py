"""A change counter that waiters sleep on: the owner of some state calls :meth:`Pulse.bump` after
each change, and a reader (a live page's event stream, say) waits for the next one instead of
polling. No I/O; one event loop."""

from __future__ import annotations

import asyncio
import contextlib


class Pulse:
    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def bump(self) -> None:
        """Something changed: wake every waiter."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, timeout: float) -> int:
        """The version once it is not ``seen`` any more, or after ``timeout`` seconds, whichever first."""
        if self.version != seen:
            return self.version
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self.version
