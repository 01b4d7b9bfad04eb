"""Typed ARI events.

Only the fields the app uses are lifted into attributes; the whole JSON stays in ``raw``. An
event type we do not know parses as a plain :class:`Event`, never as an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    state: str
    caller_number: str
    caller_name: str
    exten: str
    context: str
    language: str
    creationtime: str = ""  # when Asterisk created the channel: 2026-11-30T16:03:22.123+0000

    @classmethod
    def from_json(cls, data: Json) -> Channel:
        caller = data.get("caller") or {}
        dialplan = data.get("dialplan") or {}
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            state=str(data.get("state", "")),
            caller_number=str(caller.get("number", "")),
            caller_name=str(caller.get("name", "")),
            exten=str(dialplan.get("exten", "")),
            context=str(dialplan.get("context", "")),
            language=str(data.get("language", "")),
            creationtime=str(data.get("creationtime", "")),
        )


@dataclass(frozen=True)
class Event:
    type: str
    application: str
    timestamp: str
    raw: Json = field(repr=False)

    @property
    def channel_id(self) -> str | None:
        """The channel this event concerns, used to hand it to the right call task."""
        return None


@dataclass(frozen=True)
class ChannelEvent(Event):
    channel: Channel

    @property
    def channel_id(self) -> str | None:
        return self.channel.id


@dataclass(frozen=True)
class StasisStart(ChannelEvent):
    args: tuple[str, ...]
    replace_channel_id: str | None


@dataclass(frozen=True)
class StasisEnd(ChannelEvent):
    pass


@dataclass(frozen=True)
class ChannelDestroyed(ChannelEvent):
    cause: int
    cause_txt: str


@dataclass(frozen=True)
class ChannelHangupRequest(ChannelEvent):
    cause: int


@dataclass(frozen=True)
class ChannelStateChange(ChannelEvent):
    pass


@dataclass(frozen=True)
class ChannelDtmfReceived(ChannelEvent):
    digit: str
    duration_ms: int


@dataclass(frozen=True)
class PlaybackEvent(Event):
    playback_id: str
    target_uri: str
    state: str

    @property
    def channel_id(self) -> str | None:
        kind, _, target = self.target_uri.partition(":")
        return target if kind == "channel" else None


@dataclass(frozen=True)
class DeviceStateChanged(Event):
    """A device's state changed, e.g. ``PJSIP/agent-1001`` to ``UNAVAILABLE`` (its phone is gone)."""

    device: str
    state: str


@dataclass(frozen=True)
class BridgeEvent(Event):
    bridge_id: str
    bridge_channels: tuple[str, ...]


@dataclass(frozen=True)
class ChannelBridgeEvent(BridgeEvent):
    channel: Channel

    @property
    def channel_id(self) -> str | None:
        return self.channel.id


# The event types the app acts on; Asterisk is asked to send no others (ChannelVarset, ChannelDialplan,
# ChannelStateChange, bridge and playback-start events would cost both sides CPU on every call for
# nothing). RESTResponse carries the answers of REST requests made over the websocket.
HANDLED_TYPES: tuple[str, ...] = (
    "StasisStart", "StasisEnd", "ChannelDestroyed", "ChannelDtmfReceived", "PlaybackFinished", "PlaybackFailed",
    "DeviceStateChanged", "ApplicationReplaced", "RESTResponse",
)

_CHANNEL_EVENTS: dict[str, type[ChannelEvent]] = {
    "StasisEnd": StasisEnd,
    "ChannelStateChange": ChannelStateChange,
}


def parse_event(data: Json) -> Event:
    """Build the typed event for one websocket message (a decoded JSON object)."""
    kind = str(data.get("type", ""))
    base: dict[str, Any] = {
        "type": kind,
        "application": str(data.get("application", "")),
        "timestamp": str(data.get("timestamp", "")),
        "raw": data,
    }
    channel_json = data.get("channel")
    channel = Channel.from_json(channel_json) if isinstance(channel_json, dict) else None
    if channel is not None:
        if kind == "StasisStart":
            replaced = data.get("replace_channel")
            return StasisStart(
                **base,
                channel=channel,
                args=tuple(str(a) for a in data.get("args", [])),
                replace_channel_id=str(replaced["id"]) if isinstance(replaced, dict) else None,
            )
        if kind == "ChannelDestroyed":
            return ChannelDestroyed(
                **base, channel=channel, cause=int(data.get("cause", 0)), cause_txt=str(data.get("cause_txt", ""))
            )
        if kind == "ChannelHangupRequest":
            return ChannelHangupRequest(**base, channel=channel, cause=int(data.get("cause", 0)))
        if kind == "ChannelDtmfReceived":
            return ChannelDtmfReceived(
                **base,
                channel=channel,
                digit=str(data.get("digit", "")),
                duration_ms=int(data.get("duration_ms", 0)),
            )
        if kind in ("ChannelEnteredBridge", "ChannelLeftBridge") and isinstance(data.get("bridge"), dict):
            bridge = data["bridge"]
            return ChannelBridgeEvent(
                **base,
                channel=channel,
                bridge_id=str(bridge.get("id", "")),
                bridge_channels=tuple(str(c) for c in bridge.get("channels", [])),
            )
        return _CHANNEL_EVENTS.get(kind, ChannelEvent)(**base, channel=channel)
    playback = data.get("playback")
    if isinstance(playback, dict):
        return PlaybackEvent(
            **base,
            playback_id=str(playback.get("id", "")),
            target_uri=str(playback.get("target_uri", "")),
            state=str(playback.get("state", "")),
        )
    device = data.get("device_state")
    if kind == "DeviceStateChanged" and isinstance(device, dict):
        return DeviceStateChanged(**base, device=str(device.get("name", "")), state=str(device.get("state", "")))
    bridge = data.get("bridge")
    if isinstance(bridge, dict):
        return BridgeEvent(
            **base,
            bridge_id=str(bridge.get("id", "")),
            bridge_channels=tuple(str(c) for c in bridge.get("channels", [])),
        )
    return Event(**base)
