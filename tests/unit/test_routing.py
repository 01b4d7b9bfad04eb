"""ari_app.registry.routing: what a call to each number does on a given day (no Asterisk)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from agi.routes import outcome_of_unowned_call
from ari_app.registry.loader import load_registry
from ari_app.registry.model import AfterCancel, Mode, Registry
from ari_app.registry.routing import Route, Then, decide, static_decision
from ari_app.settings import REPO_ROOT

IN_TRANSITION = date(2021, 12, 1)
AFTER_TRANSITION = date(2022, 4, 1)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REPO_ROOT / "config" / "hotlines.yaml")


def test_platform_number_is_intake_without_prompt(registry: Registry) -> None:
    d = decide(registry, "12345", IN_TRANSITION)
    assert (d.route, d.tag, d.prompt, d.then) == (Route.INTAKE, "12345", "", Then.CONTINUE)


@pytest.mark.parametrize("dialed", ["", "1234", "123456", "012345", "110", "12345 ", "１２３４５"])
def test_unknown_numbers_get_notice_and_hangup(registry: Registry, dialed: str) -> None:
    d = decide(registry, dialed, IN_TRANSITION)
    assert (d.route, d.prompt, d.then, d.dial) == (Route.UNKNOWN, "unknown-number", Then.HANGUP, "")


def test_whole_merge_in_transition_announces_then_intake(registry: Registry) -> None:
    lines = [h for h in registry.hotlines.values() if h.mode is Mode.WHOLE_MERGE_TRANSITION]
    assert len(lines) == 11
    for line in lines:
        d = decide(registry, line.number, IN_TRANSITION)
        assert (d.route, d.tag, d.prompt, d.then) == (Route.INTAKE, line.number, f"merged-{line.number}", Then.CONTINUE)
        assert d.group == line.department


def test_last_day_of_transition_still_announces(registry: Registry) -> None:
    line = registry.hotlines["12349"]
    assert line.transition is not None
    assert decide(registry, "12349", line.transition.end).route is Route.INTAKE
    assert decide(registry, "12349", date.fromordinal(line.transition.end.toordinal() + 1)).route is Route.INTERCEPT


def test_whole_merge_after_transition_intercepts_per_registry(registry: Registry) -> None:
    for line in (h for h in registry.hotlines.values() if h.mode is Mode.WHOLE_MERGE_TRANSITION):
        d = decide(registry, line.number, AFTER_TRANSITION)
        assert d.route is Route.INTERCEPT and d.prompt == f"intercept-{line.number}"
        expected = Then.HANGUP if line.after_cancel is AfterCancel.HANGUP else Then.CONTINUE
        assert d.then is expected, line.number
    assert decide(registry, "12317", AFTER_TRANSITION).then is Then.HANGUP


@pytest.mark.parametrize("number", ["12336", "12312", "12316", "12358"])
def test_cancelled_directly_goes_straight_to_intake(registry: Registry, number: str) -> None:
    for day in (IN_TRANSITION, AFTER_TRANSITION):
        d = decide(registry, number, day)
        assert (d.route, d.tag, d.prompt) == (Route.INTAKE, number, "")


def test_12328_prefers_transport_experts(registry: Registry) -> None:
    d = decide(registry, "12328", AFTER_TRANSITION)
    assert (d.route, d.group, d.prompt) == (Route.EXPERT, "transport-experts", "")


@pytest.mark.parametrize(
    ("number", "route"),
    [("12333", Route.DEPARTMENT), ("12319", Route.DEPARTMENT), ("12348", Route.DEPARTMENT),
     ("12315", Route.DEPARTMENT), ("12329", Route.DEPARTMENT),
     ("12366", Route.SUBCENTER), ("12313", Route.SUBCENTER), ("12305", Route.SUBCENTER)],
)
def test_kept_seat_lines_dial_their_department(registry: Registry, number: str, route: Route) -> None:
    d = decide(registry, number, AFTER_TRANSITION)
    department = registry.department_of(registry.hotlines[number])
    assert department.line is not None
    assert (d.route, d.dial) == (route, f"PJSIP/{department.line.endpoint}")
    assert d.dial_timeout == (registry.hotlines[number].ring_timeout or registry.department_ring_timeout)


def test_ring_timeout_per_line_overrides_default(registry: Registry) -> None:
    line = replace(registry.hotlines["12333"], ring_timeout=7)
    custom = replace(registry, hotlines={**registry.hotlines, "12333": line})
    assert decide(custom, "12333", IN_TRANSITION).dial_timeout == 7


def test_static_decision_never_announces_and_always_reaches_a_person(registry: Registry) -> None:
    for line in registry.hotlines.values():
        d = static_decision(registry, line)
        assert d.prompt == "" and d.then is Then.CONTINUE
        assert d.route in (Route.INTAKE, Route.EXPERT, Route.DEPARTMENT, Route.SUBCENTER)


@pytest.mark.parametrize(
    ("route", "dial", "queue", "outcome"),
    [("department", "ANSWER", "", "department_answered"), ("subcenter", "BUSY", "", "subcenter_busy"),
     ("department", "", "", "department_hangup"), ("intercept", "", "", "intercepted"),
     ("unknown", "", "", "unknown_number"), ("degraded", "", "", "degraded_answered"),
     ("degraded", "", "TIMEOUT", "degraded_timeout"), ("intake", "", "", "ended_outside_app")],
)
def test_outcome_of_calls_outside_the_app(route: str, dial: str, queue: str, outcome: str) -> None:
    assert outcome_of_unowned_call(route, dial, queue) == outcome
