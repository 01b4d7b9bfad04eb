"""FastAGI routes the dialplan calls.

``number-route`` tells the dialplan what to do with a dialed number; the registry issue grows
it into the full number-lifecycle decision. The dialplan treats any AGI failure as "12345 intake".
"""

from __future__ import annotations

from agi.server import AgiRequest, Route
from ari_app.logs import get_logger

log = get_logger("agi.routes")

PLATFORM_NUMBER = "12345"


def decide_route(dialed: str) -> str:
    """The route for a dialed number: ``intake`` for the platform number, ``unknown`` otherwise."""
    return "intake" if dialed == PLATFORM_NUMBER else "unknown"


async def number_route(request: AgiRequest) -> None:
    dialed = request.arg(1) or request.headers.get("agi_extension", "")
    route = decide_route(dialed)
    log.info("agi_number_route", dialed=dialed, route=route, channel=request.headers.get("agi_channel", ""))
    await request.set_variable("HOTLINE_ROUTE", route)
    await request.set_variable("HOTLINE_TAG", dialed)


ROUTES: dict[str, Route] = {"number-route": number_route}
