"""ARI REST requests over the events websocket (Asterisk 20.14, 21.9, 22.4 and later).

A request is one JSON message (``RESTRequest``: method, uri with its query, JSON body as a string)
on the socket the app already reads its events from; the answer comes back on it as a
``RESTResponse`` event carrying our ``request_id``. That spares an HTTP request per operation
(headers, connection pool, parsing): the largest part of the app's CPU per call.

The events stream attaches the socket once Asterisk has answered a probe over it (an older Asterisk
never does, and the HTTP transport is kept), and detaches it when the socket closes: requests in
flight then fail as a broken HTTP connection would (status 0), and new ones go over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from ari_app import codec
from ari_app.logs import get_logger

log = get_logger("ari.wsrest")

PROBE_URI = "asterisk/ping"


@dataclass(frozen=True)
class WsAnswer:
    status: int
    text: str  # the response body as HTTP would have carried it ("" when none)


class WsClosed(ConnectionError):
    """The websocket closed before the answer came."""


def request_uri(path: str, query: Mapping[str, str]) -> str:
    """The ``uri`` of a RESTRequest: the ARI path without its leading slash, percent-encoded as
    the HTTP transport sends it, with the query string."""
    return str(URL.build(path=path, query=dict(query)))[1:]


def answer_of(event: Mapping[str, Any]) -> WsAnswer:
    body = event.get("message_body")
    if body is None:
        text = ""
    elif isinstance(body, str):
        text = body
    else:  # a decoded body (some versions may send JSON, not a string)
        text = codec.dumps(body)
    status = event.get("status_code")
    return WsAnswer(status if isinstance(status, int) else 0, text)


class WsRestTransport:
    def __init__(self) -> None:
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[WsAnswer]] = {}
        self._ids = itertools.count(1)

    @property
    def attached(self) -> bool:
        return self._ws is not None and not self._ws.closed

    def attach(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    def detach(self) -> None:
        """The socket closed: fail every request still waiting."""
        self._ws = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WsClosed("ARI websocket closed"))

    def on_response(self, event: Mapping[str, Any]) -> None:
        """A RESTResponse read from the socket: wake the request it answers (late ones are dropped)."""
        future = self._pending.pop(str(event.get("request_id", "")), None)
        if future is not None and not future.done():
            future.set_result(answer_of(event))

    async def probe(self, ws: aiohttp.ClientWebSocketResponse, timeout: float) -> bool:
        """Whether Asterisk answers REST over this socket (the reader must be running)."""
        self._ws = ws
        try:
            answer = await self.send("GET", PROBE_URI, None, timeout)
        except (WsClosed, TimeoutError, aiohttp.ClientError, OSError):
            self._ws = None
            return False
        if answer.status != 200:
            self._ws = None
        return answer.status == 200

    async def send(self, method: str, uri: str, body: Any, timeout: float) -> WsAnswer:
        ws = self._ws
        if ws is None or ws.closed:
            raise WsClosed("ARI websocket not connected")
        request_id = str(next(self._ids))
        message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id, "method": method, "uri": uri}
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = codec.dumps(body)
        future: asyncio.Future[WsAnswer] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send_str(codec.dumps(message))
            async with asyncio.timeout(timeout):  # not wait_for: less work per request on Python 3.11
                return await future
        finally:
            self._pending.pop(request_id, None)
