"""ari_app.ari.events.parse_event on ARI event JSON as Asterisk 22 sends it."""

from __future__ import annotations

import copy
import json
from typing import Any

from ari_app.ari.events import (
    BridgeEvent,
    ChannelBridgeEvent,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEvent,
    ChannelHangupRequest,
    ChannelStateChange,
    DeviceStateChanged,
    Event,
    PlaybackEvent,
    StasisEnd,
    StasisStart,
    parse_event,
)

ASTERISK_ID = "02:42:ac:11:00:02"
CALLER_CHANNEL_ID = "1732068903.17"
AGENT_CHANNEL_ID = "1732068905.18"


def _channel(channel_id: str = CALLER_CHANNEL_ID, state: str = "Ring") -> dict[str, Any]:
    return {
        "id": channel_id,
        "name": "PJSIP/trunk-00000008",
        "state": state,
        "protocol_id": "3d2c1b7a-5f1e-4a0e-9a55-1f0c2f8b6e21",
        "caller": {"name": "张三", "number": "13800138000"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "hotline-inbound",
            "exten": "12345",
            "priority": 3,
            "app_name": "Stasis",
            "app_data": "hotline,inbound,12345",
        },
        "creationtime": "2024-11-20T10:15:03.100+0800",
        "language": "zh",
    }


def _bridge() -> dict[str, Any]:
    return {
        "id": "c6a3a0e4-1b7f-4d0b-8d53-0f5b8c6f9e11",
        "technology": "simple_bridge",
        "bridge_type": "mixing",
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": "call-c6a3a0e4",
        "channels": [CALLER_CHANNEL_ID, AGENT_CHANNEL_ID],
        "creationtime": "2024-11-20T10:15:05.000+0800",
        "video_mode": "talker",
    }


def _envelope(kind: str, **fields: Any) -> dict[str, Any]:
    # Round-trip through JSON so the test sees exactly what the websocket reader hands over.
    data = {"type": kind, "timestamp": "2024-11-20T10:15:03.123+0800", **fields,
            "asterisk_id": ASTERISK_ID, "application": "hotline"}
    decoded: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False))
    return decoded


def test_stasis_start_lifts_args_and_channel_fields() -> None:
    data = _envelope("StasisStart", args=["inbound", "12345"], channel=_channel())
    event = parse_event(data)

    assert isinstance(event, StasisStart)
    assert event.type == "StasisStart"
    assert event.application == "hotline"
    assert event.timestamp == "2024-11-20T10:15:03.123+0800"
    assert event.args == ("inbound", "12345")
    assert event.replace_channel_id is None
    assert event.channel_id == CALLER_CHANNEL_ID
    ch = event.channel
    assert ch.id == CALLER_CHANNEL_ID
    assert ch.name == "PJSIP/trunk-00000008"
    assert ch.state == "Ring"
    assert ch.caller_number == "13800138000"
    assert ch.caller_name == "张三"
    assert ch.exten == "12345"
    assert ch.context == "hotline-inbound"
    assert ch.language == "zh"
    assert event.raw is data


def test_stasis_start_without_args_and_with_replace_channel() -> None:
    data = _envelope(
        "StasisStart", args=[], channel=_channel(), replace_channel=_channel("1732068900.9", state="Up")
    )
    event = parse_event(data)
    assert isinstance(event, StasisStart)
    assert event.args == ()
    assert event.replace_channel_id == "1732068900.9"


def test_stasis_end() -> None:
    event = parse_event(_envelope("StasisEnd", channel=_channel(state="Up")))
    assert type(event) is StasisEnd
    assert event.channel_id == CALLER_CHANNEL_ID
    assert event.channel.state == "Up"


def test_channel_destroyed_carries_cause() -> None:
    data = _envelope("ChannelDestroyed", cause=16, cause_txt="Normal Clearing", channel=_channel(state="Up"))
    event = parse_event(data)
    assert isinstance(event, ChannelDestroyed)
    assert event.cause == 16
    assert event.cause_txt == "Normal Clearing"
    assert event.channel_id == CALLER_CHANNEL_ID


def test_channel_hangup_request_and_state_change() -> None:
    hangup = parse_event(_envelope("ChannelHangupRequest", cause=16, soft=False, channel=_channel()))
    assert isinstance(hangup, ChannelHangupRequest)
    assert hangup.cause == 16
    change = parse_event(_envelope("ChannelStateChange", channel=_channel(state="Up")))
    assert type(change) is ChannelStateChange
    assert change.channel.state == "Up"


def test_dtmf_digit() -> None:
    data = _envelope("ChannelDtmfReceived", digit="#", duration_ms=120, channel=_channel(state="Up"))
    event = parse_event(data)
    assert isinstance(event, ChannelDtmfReceived)
    assert event.digit == "#"
    assert event.duration_ms == 120
    assert event.channel_id == CALLER_CHANNEL_ID


def _playback(target_uri: str, state: str = "done") -> dict[str, Any]:
    return {
        "id": "5f1c7d1e-8e8a-4b1e-bf51-6a0b7f3e2d10",
        "media_uri": "sound:hotline/greeting",
        "next_media_uri": "sound:hotline/please-hold",
        "target_uri": target_uri,
        "language": "zh",
        "state": state,
    }


def test_playback_finished_is_routed_to_its_channel() -> None:
    event = parse_event(_envelope("PlaybackFinished", playback=_playback(f"channel:{CALLER_CHANNEL_ID}")))
    assert isinstance(event, PlaybackEvent)
    assert event.type == "PlaybackFinished"
    assert event.playback_id == "5f1c7d1e-8e8a-4b1e-bf51-6a0b7f3e2d10"
    assert event.state == "done"
    assert event.target_uri == f"channel:{CALLER_CHANNEL_ID}"
    assert event.channel_id == CALLER_CHANNEL_ID


def test_playback_on_a_bridge_has_no_channel() -> None:
    event = parse_event(_envelope("PlaybackStarted", playback=_playback("bridge:c6a3a0e4", state="playing")))
    assert isinstance(event, PlaybackEvent)
    assert event.state == "playing"
    assert event.channel_id is None


def test_channel_entered_bridge() -> None:
    data = _envelope("ChannelEnteredBridge", bridge=_bridge(), channel=_channel(AGENT_CHANNEL_ID, state="Up"))
    event = parse_event(data)
    assert isinstance(event, ChannelBridgeEvent)
    assert event.bridge_id == "c6a3a0e4-1b7f-4d0b-8d53-0f5b8c6f9e11"
    assert event.bridge_channels == (CALLER_CHANNEL_ID, AGENT_CHANNEL_ID)
    assert event.channel_id == AGENT_CHANNEL_ID


def test_bridge_only_event() -> None:
    event = parse_event(_envelope("BridgeDestroyed", bridge=_bridge()))
    assert type(event) is BridgeEvent
    assert event.bridge_id == "c6a3a0e4-1b7f-4d0b-8d53-0f5b8c6f9e11"
    assert event.channel_id is None


def test_unknown_event_type_is_a_plain_event() -> None:
    data = _envelope("EndpointStateChange", endpoint={"technology": "PJSIP", "resource": "agent-1001"})
    event = parse_event(data)
    assert type(event) is Event
    assert event.type == "EndpointStateChange"
    assert event.channel_id is None
    assert event.raw["endpoint"]["resource"] == "agent-1001"


def test_device_state_changed_names_device_and_state() -> None:
    data = _envelope("DeviceStateChanged", device_state={"name": "PJSIP/agent-1001", "state": "UNAVAILABLE"})
    event = parse_event(data)
    assert isinstance(event, DeviceStateChanged)
    assert (event.device, event.state) == ("PJSIP/agent-1001", "UNAVAILABLE")
    assert event.channel_id is None


def test_device_state_changed_without_its_object_is_a_plain_event() -> None:
    event = parse_event(_envelope("DeviceStateChanged", device_state="garbage"))
    assert type(event) is Event


def test_unknown_event_type_with_a_channel_keeps_the_channel() -> None:
    data = _envelope("ChannelVarset", variable="HOTLINE_ROUTE", value="intake", channel=_channel())
    event = parse_event(data)
    assert type(event) is ChannelEvent
    assert event.channel_id == CALLER_CHANNEL_ID


def test_parse_does_not_modify_its_input() -> None:
    data = _envelope("StasisStart", args=["inbound"], channel=_channel())
    before = copy.deepcopy(data)
    parse_event(data)
    assert data == before
