"""Small process helpers shared by the sandbox pieces."""

from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Sequence


def is_root() -> bool:
    return os.geteuid() == 0


_PORT_LOW, _PORT_HIGH = 10000, 20000  # below sandbox RTP (20000+) and the ephemeral range (32768+)
PORTS_ENV = "HOTLINE_FREE_PORTS"  # LOW-HIGH: a narrower range, e.g. one per test process running side by side


def port_range() -> tuple[int, int]:
    """The range free ports are chosen from: ``HOTLINE_FREE_PORTS`` (``LOW-HIGH``, within 1024-32767)
    when set and sound, else 10000-20000."""
    raw = os.environ.get(PORTS_ENV, "")
    low, _, high = raw.partition("-")
    if low.isdigit() and high.isdigit() and 1024 <= int(low) < int(high) <= 32768:
        return int(low), int(high)
    return _PORT_LOW, _PORT_HIGH


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


_issued: set[int] = set()  # never hand out the same port twice in one process


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free right now on 127.0.0.1 for TCP (default) or UDP.

    Chosen below the kernel's ephemeral range: a port the kernel hands out with bind(0) can be
    taken a moment later as the local port of some outgoing connection, before our server binds it.
    A port is handed out once per process, so callers that bind later never collide.
    """
    rng = random.Random()
    low, high = port_range()
    for _ in range(500):
        port = rng.randrange(low, high)
        if port not in _issued and _bindable(port, kind):
            _issued.add(port)
            return port
    raise RuntimeError("no free port found")


def free_port_block(size: int, *avoid: int) -> int:
    """The first of ``size`` ports in a row, each free right now for UDP and none in ``avoid``; all of
    them are handed out (never again in this process), so a port chosen later cannot land inside the
    block (SIPp binds its ``-mp`` port and the three after it)."""
    for _ in range(200):
        port = free_port(socket.SOCK_DGRAM)
        block = range(port, port + size)
        if (block[-1] < port_range()[1] and not set(block) & (set(avoid) | _issued - {port})
                and all(_bindable(p, socket.SOCK_DGRAM) for p in block[1:])):
            _issued.update(block)
            return port
    raise RuntimeError(f"no {size} free ports in a row")


def free_port_both() -> int:
    """A port free for both TCP and UDP (SIP listens on one, tools may probe the other)."""
    for _ in range(50):
        port = free_port(socket.SOCK_DGRAM)
        if _bindable(port, socket.SOCK_STREAM):
            return port
    raise RuntimeError("no port free for both TCP and UDP")


def new_password() -> str:
    return secrets.token_urlsafe(24)


def run(
    cmd: Sequence[str], *, check: bool = True, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, timeout=timeout, text=True, capture_output=True, env=env)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
