"""Synchronous ARI look-ups for assertions (channels, bridges, applications)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from ari_app.calls.legs import HOLDING_BRIDGE


class AriProbe:
    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url.rstrip("/") + "/ari"
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}

    def get(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers=self._headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or b"null")

    def delete(self, path: str) -> None:
        request = urllib.request.Request(self.url + path, headers=self._headers, method="DELETE")
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except urllib.error.HTTPError:
            pass

    def channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/channels")
        return result

    def bridges(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/bridges")
        return result

    def answered_caller(self, caller: str) -> dict[str, Any] | None:
        """The channel of a call from ``caller`` once Asterisk has answered it (the dialplan answers
        and greets before the app has the call), else None."""
        return next((c for c in self.channels() if c["caller"]["number"] == caller and c["state"] == "Up"), None)

    def call_bridges(self) -> list[dict[str, Any]]:
        """Bridges that belong to calls: every bridge but the app's shared holding bridge while it is
        empty (it is made once and kept; ari_app.flows.holding)."""
        return [b for b in self.bridges() if b["id"] != HOLDING_BRIDGE or b.get("channels")]

    def clear(self) -> None:
        """Hang up every channel and destroy every bridge (used after a failed test)."""
        for channel in self.channels():
            self.delete(f"/channels/{channel['id']}")
        for bridge in self.bridges():
            self.delete(f"/bridges/{bridge['id']}")
