"""agi.routes.decide_route: only the platform number goes to intake."""

from __future__ import annotations

import pytest

from agi.routes import PLATFORM_NUMBER, ROUTES, decide_route, number_route


def test_platform_number_goes_to_intake() -> None:
    assert PLATFORM_NUMBER == "12345"
    assert decide_route("12345") == "intake"


@pytest.mark.parametrize(
    "dialed",
    ["", "1234", "123456", "012345", "12345 ", " 12345", "+8612345", "12315", "110", "s", "１２３４５"],
)
def test_anything_else_is_unknown(dialed: str) -> None:
    assert decide_route(dialed) == "unknown"


def test_number_route_is_registered_under_its_script_name() -> None:
    assert ROUTES["number-route"] is number_route
