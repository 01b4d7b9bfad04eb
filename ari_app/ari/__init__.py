"""A small ARI client on aiohttp: REST calls, typed events, a reconnecting events websocket."""

from ari_app.ari.errors import AriError, AriNotFound, AriUnauthorized
from ari_app.ari.events import Event
from ari_app.ari.rest import AriRest

__all__ = ["AriError", "AriNotFound", "AriRest", "AriUnauthorized", "Event"]
