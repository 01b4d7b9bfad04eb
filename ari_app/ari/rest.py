"""ARI REST calls: over the events websocket when Asterisk takes them there (ari_app.ari.wsrest),
else over one aiohttp session.

Authentication goes in a Basic ``Authorization`` header, never in the URL, so no URL that ends
up in an exception or a log line carries the password.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from ari_app import codec
from ari_app.ari import endpoints as ep
from ari_app.ari.errors import AriError, AriNotFound, AriTimeout, AriUnauthorized
from ari_app.ari.wsrest import WsClosed, WsRestTransport, request_uri

Json = dict[str, Any]
Params = dict[str, str | int]


class AriRest:
    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/") + "/ari"
        self._auth = aiohttp.BasicAuth(user, password)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._request_timeout = timeout
        self.ws = WsRestTransport()  # attached by the events stream when Asterisk takes REST over it

    @property
    def auth(self) -> aiohttp.BasicAuth:
        return self._auth

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auth=self._auth, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        endpoint: ep.Endpoint,
        path_params: dict[str, str] | None = None,
        params: Params | None = None,
        body: Json | None = None,
    ) -> Any:
        path = endpoint.format(**(path_params or {}))
        operation = f"{endpoint.method} {endpoint.path}"
        query = {k: str(v) for k, v in (params or {}).items()}
        try:
            if self.ws.attached:
                answer = await self.ws.send(endpoint.method, request_uri(path, query), body, self._request_timeout)
                return _result(operation, answer.status, answer.text)
            async with self.session().request(
                endpoint.method, self.base_url + path, params=query, json=body
            ) as response:
                return _result(operation, response.status, await response.text())
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # WsClosed is a ConnectionError
            name = "ARI websocket closed" if isinstance(exc, WsClosed) else type(exc).__name__ + _short(exc)
            if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ConnectionTimeoutError):
                raise AriTimeout(operation, 0, name) from None  # sent, not answered in time
            raise AriError(operation, 0, name) from None

    # -- applications -------------------------------------------------------------------------
    async def application(self, name: str) -> Json:
        result: Json = await self.request(ep.APPLICATION_GET, {"applicationName": name})
        return result

    async def subscribe(self, name: str, event_sources: list[str]) -> None:
        """Have the application receive the events of ``event_sources`` (e.g. ``deviceState:PJSIP/agent-1001``)."""
        await self.request(
            ep.APPLICATION_SUBSCRIBE, {"applicationName": name}, {"eventSource": ",".join(event_sources)}
        )

    async def filter_events(self, name: str, allowed: tuple[str, ...]) -> Json:
        """Have Asterisk send the application only events of these types (the application's state)."""
        result: Json = await self.request(
            ep.APPLICATION_EVENT_FILTER, {"applicationName": name}, body={"allowed": [{"type": t} for t in allowed]}
        )
        return result

    # -- endpoints -----------------------------------------------------------------------------
    async def endpoints(self, tech: str) -> list[Json]:
        """Every endpoint of a technology with its state (``online``, ``offline``, ``unknown``)."""
        result: list[Json] = await self.request(ep.ENDPOINTS_BY_TECH, {"tech": tech})
        return result

    # -- channels ------------------------------------------------------------------------------
    async def channels(self) -> list[Json]:
        result: list[Json] = await self.request(ep.CHANNELS_LIST)
        return result

    async def answer(self, channel_id: str) -> None:
        await self.request(ep.CHANNEL_ANSWER, {"channelId": channel_id})

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request(ep.CHANNEL_HANGUP, {"channelId": channel_id}, {"reason": reason})

    async def play(self, channel_id: str, media: str, playback_id: str, lang: str = "zh") -> Json:
        result: Json = await self.request(
            ep.CHANNEL_PLAY,
            {"channelId": channel_id},
            {"media": media, "playbackId": playback_id, "lang": lang},
        )
        return result

    async def stop_playback(self, playback_id: str) -> None:
        await self.request(ep.PLAYBACK_STOP, {"playbackId": playback_id})

    async def get_variable(self, channel_id: str, name: str) -> str:
        result: Json = await self.request(ep.CHANNEL_VARIABLE_GET, {"channelId": channel_id}, {"variable": name})
        return str(result.get("value", ""))

    async def originate(
        self,
        endpoint: str,
        *,
        app: str,
        app_args: str = "",
        channel_id: str | None = None,
        caller_id: str | None = None,
        timeout: int = 30,
        variables: dict[str, str] | None = None,
    ) -> Json:
        params: Params = {"endpoint": endpoint, "app": app, "appArgs": app_args, "timeout": timeout}
        if channel_id:
            params["channelId"] = channel_id
        if caller_id:
            params["callerId"] = caller_id
        body = {"variables": variables} if variables else None
        result: Json = await self.request(ep.CHANNEL_ORIGINATE, None, params, body)
        return result

    # -- bridges -------------------------------------------------------------------------------
    async def bridges(self) -> list[Json]:
        result: list[Json] = await self.request(ep.BRIDGES_LIST)
        return result

    async def create_bridge(self, bridge_type: str, bridge_id: str, name: str = "") -> Json:
        params: Params = {"type": bridge_type, "bridgeId": bridge_id}
        if name:
            params["name"] = name
        result: Json = await self.request(ep.BRIDGE_CREATE, None, params)
        return result

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request(ep.BRIDGE_DESTROY, {"bridgeId": bridge_id})

    async def add_to_bridge(self, bridge_id: str, channel_id: str, role: str = "") -> None:
        params: Params = {"channel": channel_id}
        if role:
            params["role"] = role
        await self.request(ep.BRIDGE_ADD_CHANNEL, {"bridgeId": bridge_id}, params)

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self.request(ep.BRIDGE_REMOVE_CHANNEL, {"bridgeId": bridge_id}, {"channel": channel_id})

    async def record_bridge(self, bridge_id: str, name: str) -> Json:
        """Record the bridge's mix to ``<spool>/recording/<name>.wav`` until the bridge goes."""
        result: Json = await self.request(
            ep.BRIDGE_RECORD, {"bridgeId": bridge_id},
            {"name": name, "format": "wav", "ifExists": "overwrite", "terminateOn": "none"},
        )
        return result

    async def bridge_moh_start(self, bridge_id: str, moh_class: str = "default") -> None:
        await self.request(ep.BRIDGE_MOH_START, {"bridgeId": bridge_id}, {"mohClass": moh_class})


def _result(operation: str, status: int, text: str) -> Any:
    """The decoded answer of a request, or the AriError its status says."""
    if status == 401:
        raise AriUnauthorized(operation, 401, "the ARI user or password was refused")
    if status == 404 or (status in (400, 422) and _gone(text)) or (status == 409 and _left_stasis(text)):
        raise AriNotFound(operation, status, _message(text))
    if status >= 400 or status == 0:
        raise AriError(operation, status, _message(text))
    if not text:
        return None
    return codec.loads(text)


def _message(text: str) -> str:
    try:
        data = codec.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])
    return text[:200]


def _gone(text: str) -> bool:
    """ARI answers 400/422 (not 404) when a channel named in the query has gone or left Stasis."""
    message = _message(text).lower()
    return "not found" in message or "not in stasis" in message


def _left_stasis(text: str) -> bool:
    """409 on a channel leaving the app as it hangs up (a prompt played at that moment): the caller is gone."""
    return "channel not in stasis" in _message(text).lower()


def _short(exc: BaseException) -> str:
    # aiohttp connection errors name host and port only; keep them, drop anything long.
    text = str(exc)
    return f": {text[:160]}" if text else ""
