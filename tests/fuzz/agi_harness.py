"""The real FastAGI server with the real routes, on 127.0.0.1 in an event loop of its own (a thread),
and the clients the fuzzing drives against it over real sockets.

The server's loop records every exception that reaches it (none may); ``tasks()`` counts the
connection tasks still alive (none may be left once every client is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from agi.routes import AgiRoutes
from agi.server import FastAgiServer
from ari_app.clock import FixedClock
from ari_app.registry.holder import RegistryHolder
from ari_app.settings import REPO_ROOT

T = TypeVar("T")

HEADER_TIMEOUT = 0.2  # s, the server's whole-header deadline in the fuzzing (production: 5 s)
REPLY_TIMEOUT = 0.5  # s, its per-command reply deadline (production: 10 s); room for a busy machine
CLOSE_BOUND = 5.0  # s: every connection is closed by the server within this (generous on a loaded 2-core box)

# What Asterisk 22 sends for AGI(agi://127.0.0.1:4573/number-route,12349), and what number-route
# must answer on 2021-12-01 (12349 in its transition: intake with the merge announcement).
GOOD_LINES = (
    "agi_network: yes", "agi_network_script: number-route", "agi_request: agi://127.0.0.1:4573/number-route",
    "agi_channel: PJSIP/trunk-00000008", "agi_language: zh", "agi_type: PJSIP", "agi_uniqueid: 1732068903.17",
    "agi_version: 22.1.0", "agi_callerid: 13800138000", "agi_calleridname: unknown", "agi_callingpres: 0",
    "agi_callingani2: 0", "agi_callington: 0", "agi_callingtns: 0", "agi_dnid: 12349", "agi_rdnis: unknown",
    "agi_context: hotline-inbound", "agi_extension: 12349", "agi_priority: 2", "agi_enhanced: 0.0",
    "agi_accountcode: ", "agi_threadid: 140245062608576", "agi_arg_1: 12349",
)
GOOD_HEADER = ("\n".join(GOOD_LINES) + "\n\n").encode()
GOOD_COMMANDS = [
    b'SET VARIABLE HOTLINE_ROUTE "intake"\n',
    b'SET VARIABLE HOTLINE_TAG "12349"\n',
    b'SET VARIABLE HOTLINE_PROMPT "merged-12349"\n',
    b'SET VARIABLE HOTLINE_THEN "continue"\n',
    b'SET VARIABLE HOTLINE_DIAL ""\n',
    b'SET VARIABLE HOTLINE_DIAL_TIMEOUT "0"\n',
    b'SET VARIABLE HOTLINE_GROUP "civil-affairs"\n',
]


class ServerThread:
    """FastAgiServer with AgiRoutes (shipped registry, 2021-12-01, no database) in its own loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop_errors: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.loop_errors.append(context))
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-agi", daemon=True)
        self._thread.start()
        routes = AgiRoutes(RegistryHolder(REPO_ROOT / "config" / "hotlines.yaml"), FixedClock(date(2021, 12, 1)),
                           lambda: None)
        self.routes = routes
        self.server = FastAgiServer(routes.table(), header_timeout=HEADER_TIMEOUT, reply_timeout=REPLY_TIMEOUT)
        self.port = self.call(self.server.start("127.0.0.1", 0))

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def tasks(self) -> int:
        async def count() -> int:
            me = asyncio.current_task()
            return sum(1 for task in asyncio.all_tasks() if task is not me and not task.done())
        return self.call(count())

    def accounted(self) -> int:
        """Connections the server has finished with: served (route ran) or rejected."""
        return self.server.served + self.server.rejected

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# -- clients -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    commands: list[bytes] = field(default_factory=list)  # command lines the server sent
    closed_by_server: bool = False  # EOF (or a reset) seen before the client's deadline


async def open_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close abortively: SO_LINGER 0 makes the kernel send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def finish(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


async def read_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replies: list[bytes],
                            outcome: Outcome, *, silent: bool = False) -> None:
    """Answer each command line with the next reply (then ``200 result=1``) until the server closes.

    A reply of ``b"<stall>"`` answers nothing more; ``b"<close>"`` / ``b"<reset>"`` end the client.
    ``silent``: answer nothing at all (the client has half-closed its side).
    """
    queue = list(replies)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_BOUND
    stalled = silent
    while True:
        try:
            line = await asyncio.wait_for(reader.readline(), max(deadline - loop.time(), 0.001))
        except TimeoutError:
            return
        except ConnectionError:
            outcome.closed_by_server = True
            return
        if not line.endswith(b"\n"):
            outcome.closed_by_server = True
            return
        outcome.commands.append(line)
        if stalled:
            continue
        reply = queue.pop(0) if queue else b"200 result=1\n"
        if reply == b"<stall>":
            stalled = True
            continue
        if reply in (b"<close>", b"<reset>"):
            outcome.closed_by_server = True  # the client ended it: nothing left to wait for
            reset(writer) if reply == b"<reset>" else await finish(writer)
            return
        writer.write(reply)
        with contextlib.suppress(ConnectionError):
            await writer.drain()


async def good_request(port: int) -> Outcome:
    """Asterisk's number-route request for 12349, every command answered ``200 result=1``."""
    reader, writer = await open_client(port)
    outcome = Outcome()
    try:
        writer.write(GOOD_HEADER)
        await writer.drain()
        await read_until_closed(reader, writer, [], outcome)
    finally:
        await finish(writer)
    return outcome
