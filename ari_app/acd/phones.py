"""The agents' phones as Asterisk sees them: registered and answering qualify, or not.

The app subscribes to each agent endpoint's device state (``deviceState:PJSIP/agent-1001``: only
state changes, no channel events) and reads every endpoint's state on each (re)connect, so the
ACD never offers a call to a phone that is not there.
"""

from __future__ import annotations

from ari_app.acd.engine import Acd
from ari_app.ari.events import DeviceStateChanged
from ari_app.ari.rest import AriRest

PJSIP_DEVICE = "PJSIP/"
SUBSCRIBE_BATCH = 100  # event sources per subscription request (Asterisk refuses more than 128 in one)
UNREACHABLE = ("UNAVAILABLE", "INVALID")  # device states of a phone not registered, or not answering OPTIONS


def on_device_state(acd: Acd, event: DeviceStateChanged) -> None:
    if event.device.startswith(PJSIP_DEVICE):
        acd.phone_state(event.device.removeprefix(PJSIP_DEVICE), event.state not in UNREACHABLE)


async def watch_phones(ari: AriRest, app: str, acd: Acd) -> None:
    """Device-state events from now on, then every phone's state right now."""
    agents = list(acd.agents.values())
    if not agents:
        return
    sources = [f"deviceState:{PJSIP_DEVICE}{a.endpoint}" for a in agents]
    for start in range(0, len(sources), SUBSCRIBE_BATCH):
        await ari.subscribe(app, sources[start:start + SUBSCRIBE_BATCH])
    online = {str(e.get("resource")) for e in await ari.endpoints("PJSIP") if e.get("state") == "online"}
    for agent in agents:
        acd.phone_state(agent.endpoint, agent.endpoint in online)
