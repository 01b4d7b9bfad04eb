"""The ARI events websocket: connect, read, reconnect with capped exponential backoff.

One task reads the socket and hands every event to ``on_event`` synchronously; ``on_event`` must
only enqueue (call work runs in per-call tasks), so a slow handler never stalls the reader and
Asterisk's ``websocket_write_timeout`` never drops us. On every (re)connect ``on_connect`` runs as
a concurrent task (the reconcile step); :attr:`ready` is true once it has finished. Before it, the
socket is offered to the REST client (ari_app.ari.wsrest): if Asterisk answers a probe over it,
REST requests go over the socket until it closes; their answers are routed here, not parsed as
events.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import aiohttp

from ari_app import codec
from ari_app.ari import endpoints as ep
from ari_app.ari.errors import AriError
from ari_app.ari.events import HANDLED_TYPES, Event, parse_event
from ari_app.ari.rest import AriRest
from ari_app.logs import get_logger

log = get_logger("ari.stream")
REST_PROBE_TIMEOUT = 2.0  # seconds Asterisk has to answer REST over the websocket, else HTTP is kept


def backoff_delay(attempt: int, initial: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Delay before reconnect number ``attempt`` (0-based): exponential, capped, with jitter.

    The jitter takes the delay anywhere in [half, full] of the capped exponential, so that
    several app nodes restarted together do not hammer Asterisk in step.
    """
    ceiling: float = min(cap, initial * float(2 ** min(attempt, 30)))
    return ceiling * (0.5 + 0.5 * float(rand()))


class AriEventStream:
    def __init__(
        self,
        rest: AriRest,
        app: str,
        on_event: Callable[[Event], None],
        on_connect: Callable[[], Awaitable[None]],
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        heartbeat: float = 5.0,
        rest_over_websocket: bool = True,
    ) -> None:
        self._rest = rest
        self._app = app
        self._on_event = on_event
        self._on_connect = on_connect
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._heartbeat = heartbeat
        self._rest_over_websocket = rest_over_websocket
        self.connected = False
        self.reconciled = False
        self.last_error = "not connected yet"
        self.connects = 0

    @property
    def ready(self) -> bool:
        return self.connected and self.reconciled

    def _url(self) -> str:
        base = self._rest.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return base + ep.EVENTS_WEBSOCKET.path

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                if await self._session_once():
                    attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the reader alive whatever happens
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("ari_events_error", error=self.last_error)
            delay = backoff_delay(attempt, self._backoff_initial, self._backoff_max)
            attempt += 1
            log.info("ari_reconnect_scheduled", in_seconds=round(delay, 2), attempt=attempt)
            await asyncio.sleep(delay)

    async def _session_once(self) -> bool:
        """Connect, read until the socket closes. True if a connection was established."""
        params = {"app": self._app, "subscribeAll": "false"}
        try:
            ws = await self._rest.session().ws_connect(
                self._url(), params=params, heartbeat=self._heartbeat, autoping=True
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                self.last_error = "ARI refused the user or password (HTTP 401); check HOTLINE_ARI_USER/PASSWORD"
            else:
                self.last_error = f"ARI websocket handshake failed with HTTP {exc.status}"
            log.error("ari_connect_failed", error=self.last_error, status=exc.status)
            return False
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.last_error = f"Asterisk ARI unreachable: {type(exc).__name__}"
            log.warning("ari_connect_failed", error=self.last_error)
            return False

        self.connected = True
        self.connects += 1
        self.last_error = ""
        log.info("ari_connected", app=self._app, connects=self.connects)
        reconcile = asyncio.create_task(self._reconcile(ws), name="ari-reconcile")
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._dispatch(message.data)
                elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
        finally:
            self.connected = False
            self.reconciled = False
            self._rest.ws.detach()
            reconcile.cancel()
            await ws.close()
            self.last_error = "ARI websocket closed"
            log.warning("ari_disconnected", close_code=ws.close_code)
        return True

    async def _reconcile(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Offer the socket to the REST client, then run ``on_connect`` until it succeeds (the
        database may still be starting)."""
        over_ws = self._rest_over_websocket and await self._rest.ws.probe(ws, REST_PROBE_TIMEOUT)
        log.info("ari_rest_transport", transport="websocket" if over_ws else "http")
        try:
            await self._rest.filter_events(self._app, HANDLED_TYPES)
        except AriError as exc:  # an Asterisk without event filters sends everything: more work, same result
            log.warning("ari_event_filter_failed", error=str(exc))
        attempt = 0
        while True:
            try:
                await self._on_connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"reconcile failed: {type(exc).__name__}: {exc}"
                log.error("ari_reconcile_failed", error=self.last_error)
                await asyncio.sleep(backoff_delay(attempt, self._backoff_initial, self._backoff_max))
                attempt += 1
                continue
            self.reconciled = True
            self.last_error = ""
            log.info("ari_reconciled")
            return

    def _dispatch(self, text: str) -> None:
        try:
            data = codec.loads(text)
            if not isinstance(data, dict):
                raise ValueError("event is not a JSON object")
            if data.get("type") == "RESTResponse":
                self._rest.ws.on_response(data)
                return
            event = parse_event(data)
        except (ValueError, TypeError, KeyError) as exc:
            log.error("ari_event_unparsable", error=str(exc), sample=text[:200])
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("ari_event_handler_failed", event_type=event.type)
