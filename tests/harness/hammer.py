"""An HTTP hammer for the fault suite: GET requests at a fixed rate (open loop: a request starts every
1/rate s whether or not the ones before have been answered) against the service's API, logged in,
in a thread of its own, cycling over what consoles and wallboards read. Every request's status (or
its failure: no answer within ``timeout``, connection refused) and its time are kept."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import aiohttp

from ari_app.bench.stats import summary

PATHS = ("/agents", "/queues", "/calls?limit=20", "/readyz", "/work-orders?limit=20",
         "/knowledge/search?q=%E5%85%AC%E7%A7%AF%E9%87%91%E6%80%8E%E4%B9%88%E5%8F%96", "/me", "/metrics")
MAX_OUTSTANDING = 1000  # beyond this many unanswered requests the hammer waits (and says so)


@dataclass
class Hammer:
    base: str
    token: str
    rate: float  # requests per second
    timeout: float = 30.0
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    failures: list[str] = field(default_factory=list)  # requests that got no answer
    latencies_ms: list[float] = field(default_factory=list)
    by_path_ms: dict[str, list[float]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)  # "GET path -> 5xx"
    sent: int = 0
    held_back: int = 0  # times the outstanding limit delayed a request
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Hammer:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="hammer", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 10)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    def figures(self) -> dict[str, object]:
        return {"sent": self.sent, "answered": self.answered, "unanswered": len(self.failures),
                "5xx": len(self.server_errors), "statuses": dict(sorted(self.statuses.items())),
                "latency_ms": summary(self.latencies_ms),
                "p95_ms_by_path": {p.split("?")[0]: summary(v)["p95"] for p, v in self.by_path_ms.items()}}

    async def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        limit = aiohttp.TCPConnector(limit=200)
        async with aiohttp.ClientSession(headers=headers, connector=limit,
                                         timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            pending: set[asyncio.Task[None]] = set()
            started = time.monotonic()
            while not self._stop.is_set():
                due = started + self.sent / self.rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                if len(pending) >= MAX_OUTSTANDING:
                    self.held_back += 1
                    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(self._one(session, PATHS[self.sent % len(PATHS)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                self.sent += 1
            if pending:
                await asyncio.wait(pending)

    async def _one(self, session: aiohttp.ClientSession, path: str) -> None:
        began = time.monotonic()
        try:
            async with session.get(self.base + path) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failures.append(f"GET {path}: {type(exc).__name__}")
            return
        took = (time.monotonic() - began) * 1000
        self.latencies_ms.append(took)
        self.by_path_ms.setdefault(path, []).append(took)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status >= 500:
            self.server_errors.append(f"GET {path} -> {status}")
