"""FastAGI server on panoramisk, guarded against two defects measured in panoramisk 1.4.

1. Its header loop reads until a blank line and spins forever on EOF: a bare TCP connect/close
   or half a header freezes the event loop. Here the header is read with ``readuntil`` under a
   timeout and a size limit; EOF, garbage or silence closes that one connection only.
2. A command sent after the channel hung up gets an empty reply, which panoramisk turns into a
   ``ValueError``. Here that raises :class:`AgiHangup`, which routes may catch.

Panoramisk also waits for a command's reply without a deadline: a peer that stops answering would
hold its connection and task for ever. Here a reply must come within ``reply_timeout`` (Asterisk
answers the commands the routes send at once); silence past it is an :class:`AgiHangup` too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from panoramisk.fast_agi import Request as _PanoramiskRequest

from ari_app.logs import get_logger

log = get_logger("agi")

MAX_HEADER_BYTES = 16 * 1024


class AgiHangup(Exception):
    """The channel hung up while the route was still talking to it."""


class AgiRequest(_PanoramiskRequest):  # type: ignore[misc]
    headers: dict[str, str]

    async def send_command(self, command: str) -> dict[str, Any]:
        timeout = getattr(self.app, "reply_timeout", None)
        try:
            result: dict[str, Any] = await asyncio.wait_for(super().send_command(command), timeout)
        except TimeoutError as exc:
            raise AgiHangup(f"{command.split(' ', 1)[0]}: no reply within {timeout:g} s") from exc
        except (ValueError, ConnectionError, asyncio.IncompleteReadError) as exc:
            raise AgiHangup(command.split(" ", 1)[0]) from exc
        if result.get("error") == "AGIResultHangup":
            raise AgiHangup(command.split(" ", 1)[0])
        return result

    async def set_variable(self, name: str, value: str) -> None:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        await self.send_command(f'SET VARIABLE {name} "{escaped}"')

    @property
    def script(self) -> str:
        return self.headers.get("agi_network_script", "")

    def arg(self, index: int) -> str:
        return self.headers.get(f"agi_arg_{index}", "")


Route = Callable[[AgiRequest], Awaitable[None]]


def parse_headers(raw: bytes) -> dict[str, str]:
    """Parse the ``agi_*: value`` block Asterisk sends first; ValueError if it is not one."""
    text = raw.decode("utf-8", errors="replace")
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep or not key.startswith("agi_"):
            raise ValueError(f"not an AGI header line: {line[:60]!r}")
        headers[key] = value
    if "agi_network_script" not in headers:
        raise ValueError("no agi_network_script header")
    return headers


class FastAgiServer:
    def __init__(self, routes: dict[str, Route], *, header_timeout: float = 5.0, reply_timeout: float = 10.0) -> None:
        self._routes = dict(routes)
        self._header_timeout = header_timeout
        self.reply_timeout = reply_timeout  # read by AgiRequest.send_command
        self._server: asyncio.Server | None = None
        self.served = 0
        self.rejected = 0

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._handle, host, port, limit=MAX_HEADER_BYTES)
        bound: int = self._server.sockets[0].getsockname()[1]
        log.info("agi_listening", host=host, port=bound)
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _why(self, exc: Exception) -> str:
        """What was wrong with a refused header, in words (some of these exceptions carry none)."""
        if isinstance(exc, TimeoutError):
            return f"no complete header (a blank line ends it) within {self._header_timeout:g} s"
        if isinstance(exc, asyncio.IncompleteReadError):
            return f"the connection ended after {len(exc.partial)} bytes, before the header's blank line"
        return str(exc)[:120] or type(exc).__name__

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), self._header_timeout)
                headers = parse_headers(raw)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError,
                    ConnectionError) as exc:
                self.rejected += 1
                log.warning("agi_bad_request", peer=str(peer), error=type(exc).__name__, detail=self._why(exc))
                return
            script = headers["agi_network_script"]
            route = self._routes.get(script)
            if route is None:
                self.rejected += 1
                log.error("agi_unknown_route", script=script)
                return
            request = AgiRequest(app=self, headers=headers, reader=reader, writer=writer)
            try:
                await route(request)
                self.served += 1
            except AgiHangup as exc:
                self.served += 1
                log.info("agi_channel_hung_up", script=script, detail=str(exc))
            except Exception:
                log.exception("agi_route_failed", script=script)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
