"""Every ARI REST operation the client uses, as data.

The contract test (tests/integration/test_ari_contract.py) checks each entry against the live
Asterisk's ``/ari/api-docs``, so a renamed path or a method Asterisk does not have fails there,
not in the middle of a call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # ARI path template as in api-docs, e.g. "/channels/{channelId}/answer"

    def format(self, **params: str) -> str:
        return self.path.format(**params)


APPLICATION_GET = Endpoint("GET", "/applications/{applicationName}")
APPLICATION_SUBSCRIBE = Endpoint("POST", "/applications/{applicationName}/subscription")
APPLICATION_EVENT_FILTER = Endpoint("PUT", "/applications/{applicationName}/eventFilter")
ENDPOINTS_BY_TECH = Endpoint("GET", "/endpoints/{tech}")
CHANNELS_LIST = Endpoint("GET", "/channels")
CHANNEL_ORIGINATE = Endpoint("POST", "/channels")
CHANNEL_HANGUP = Endpoint("DELETE", "/channels/{channelId}")
CHANNEL_ANSWER = Endpoint("POST", "/channels/{channelId}/answer")
CHANNEL_PLAY = Endpoint("POST", "/channels/{channelId}/play")
CHANNEL_VARIABLE_GET = Endpoint("GET", "/channels/{channelId}/variable")
PLAYBACK_STOP = Endpoint("DELETE", "/playbacks/{playbackId}")
BRIDGES_LIST = Endpoint("GET", "/bridges")
BRIDGE_CREATE = Endpoint("POST", "/bridges")
BRIDGE_DESTROY = Endpoint("DELETE", "/bridges/{bridgeId}")
BRIDGE_ADD_CHANNEL = Endpoint("POST", "/bridges/{bridgeId}/addChannel")
BRIDGE_REMOVE_CHANNEL = Endpoint("POST", "/bridges/{bridgeId}/removeChannel")
BRIDGE_MOH_START = Endpoint("POST", "/bridges/{bridgeId}/moh")
BRIDGE_RECORD = Endpoint("POST", "/bridges/{bridgeId}/record")
EVENTS_WEBSOCKET = Endpoint("GET", "/events")

ALL: tuple[Endpoint, ...] = tuple(v for v in globals().values() if isinstance(v, Endpoint))
