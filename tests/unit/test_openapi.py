"""The OpenAPI document names every route the app serves, and nothing it does not."""

from __future__ import annotations

import re
from typing import cast

from ari_app.acd.engine import Acd
from ari_app.acd.store import AcdPersistence
from ari_app.api.app import build_app
from ari_app.api.openapi import document
from ari_app.seats.model import agent_seats
from tests.unit.test_api_inputs import SEATS, FakeProbe  # a probe that answers like the service

METHODS = {"get", "post", "put", "patch", "delete"}
ALTERNATIVES = re.compile(r"\(\?P<(\w+)>([\w|]+)\)")  # aiohttp's {name:a|b|c} in a route's regex


def _served() -> set[tuple[str, str]]:
    """(method, path) of every route, with aiohttp's ``{x:a|b}`` alternatives spelled out."""
    probe = FakeProbe(Acd(agent_seats(SEATS), SEATS.policy, cast(AcdPersistence, object())))
    app = build_app(probe, probe, lambda: probe.acd, lambda _acd: probe.queue_figures())
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method.lower() not in METHODS or route.resource is None:
            continue
        info = route.resource.get_info()
        paths = [str(info.get("formatter") or info.get("path"))]
        pattern = info.get("pattern")
        for name, choices in ALTERNATIVES.findall(pattern.pattern if pattern is not None else ""):
            paths = [p.replace(f"{{{name}}}", choice) for p in paths for choice in choices.split("|")]
        found.update((route.method.lower(), p) for p in paths)
    return found


def _documented() -> set[tuple[str, str]]:
    return {(method, path) for path, ops in document("http://127.0.0.1:8080")["paths"].items()
            for method in ops if method in METHODS}


def test_every_route_is_documented_and_nothing_else() -> None:
    served = _served()
    assert ("post", "/agents/{agent_id}/pause") in served and ("post", "/work-orders/{number}/merge") in served
    assert served == _documented()
