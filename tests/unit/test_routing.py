"""ari_app.registry.routing: what a call to each number does on a given day (no Asterisk)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from agi.routes import outcome_of_unowned_call
from ari_app.registry.loader import load_registry, parse_registry
from ari_app.registry.model import AfterCancel, Mode, Registry
from ari_app.registry.render import render_numbers
from ari_app.registry.routing import Route, Then, decide, static_decision
from ari_app.settings import REPO_ROOT

IN_TRANSITION = date(2021, 12, 1)
AFTER_TRANSITION = date(2022, 4, 1)
REGISTRY_FILE = REPO_ROOT / "config" / "hotlines.yaml"
KEPT_SEAT_NUMBERS = ["12333", "12319", "12348", "12315", "12329", "12366", "12313", "12305"]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY_FILE)


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
        assert d.group == line.department  # intake after the notice: the seconded staff first


def test_every_cancelled_number_goes_on_to_intake(registry: Registry) -> None:
    """The plan forwards all eleven numbers to 12345, 12317 included: no line hangs up."""
    transition = [h for h in registry.hotlines.values() if h.mode is Mode.WHOLE_MERGE_TRANSITION]
    assert {decide(registry, h.number, AFTER_TRANSITION).then for h in transition} == {Then.CONTINUE}
    assert decide(registry, "12317", AFTER_TRANSITION).route is Route.INTERCEPT


def test_after_cancel_hangup_is_still_supported() -> None:
    """A registry may still have a cancelled number hang up after its notice (none does today)."""
    text = REGISTRY_FILE.read_text(encoding="utf-8")
    block = 'number: "12317"'
    start = text.index(block)
    end = text.index("    after_cancel: intake\n", start)
    edited = text[:end] + "    after_cancel: hangup\n" + text[end + len("    after_cancel: intake\n"):]
    custom = parse_registry(edited, "hotlines-hangup.yaml")
    assert custom.hotlines["12317"].after_cancel is AfterCancel.HANGUP
    d = decide(custom, "12317", AFTER_TRANSITION)
    assert (d.route, d.prompt, d.then) == (Route.INTERCEPT, "intercept-12317", Then.HANGUP)
    assert decide(custom, "12317", IN_TRANSITION).then is Then.CONTINUE  # the notice comes only after
    assert decide(custom, "12349", AFTER_TRANSITION).then is Then.CONTINUE  # other lines unchanged


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
    # On overflow 12345 intake takes the call as any other: the department seconds nobody to prefer.
    assert d.group == ""


@pytest.mark.parametrize(
    ("number", "group"),
    [("12345", ""), ("12349", "civil-affairs"), ("12318", "culture-tourism"), ("12358", "market-regulation"),
     ("12328", "transport-experts"), *((n, "") for n in KEPT_SEAT_NUMBERS)],
)
def test_preferred_group_per_number(registry: Registry, number: str, group: str) -> None:
    """Merged lines prefer their department's seconded staff, 12328 its experts, nothing else a group."""
    for day in (IN_TRANSITION, AFTER_TRANSITION):
        assert decide(registry, number, day).group == group
    line = registry.hotline(number)
    if line is not None:
        assert static_decision(registry, line).group == group


def test_rendered_defaults_set_no_group_for_kept_seat_lines(registry: Registry) -> None:
    """hotline-numbers.conf (the routes without FastAGI) agrees with decide() on the group."""
    blocks = render_numbers(registry).split("\nexten => ")
    groups = {}
    for block in blocks[1:]:
        number = block.split(",", 1)[0]
        groups[number] = block.split("Set(HOTLINE_GROUP=", 1)[1].split(")", 1)[0]
    for number in KEPT_SEAT_NUMBERS:
        assert groups[number] == "", number
    assert groups["12349"] == "civil-affairs" and groups["12328"] == "transport-experts"
    assert groups["12345"] == ""


def test_a_number_is_fixed_to_the_app_only_when_every_date_sends_it_there_the_same_way(registry: Registry) -> None:
    """HOTLINE_FIXED=1 (the dialplan then skips the FastAGI route) exactly for 12345 and the numbers
    whose decision is the same on every date (checked over a span of dates around every transition)
    and goes to the Stasis app (intake or expert), with the very route the FastAGI route would set."""
    blocks = render_numbers(registry).split("\nexten => ")
    fixed = {b.split(",", 1)[0]: b.split("Set(HOTLINE_FIXED=", 1)[1].split(")", 1)[0] for b in blocks[1:]}
    assert fixed.pop("12345") == "1"
    days = [date(2020, 1, 1), IN_TRANSITION, AFTER_TRANSITION, date(2030, 1, 1)]
    days += [d for line in registry.hotlines.values() if line.transition is not None
             for d in (line.transition.end, date.fromordinal(line.transition.end.toordinal() + 1))]
    expected = {}
    for number, line in registry.hotlines.items():
        decisions = {decide(registry, number, day) for day in days}
        to_app = all(d.route in (Route.INTAKE, Route.EXPERT) for d in decisions)
        expected[number] = "1" if len(decisions) == 1 and to_app else "0"
        if expected[number] == "1":  # what the dialplan sets is what the FastAGI route would decide
            assert decisions == {static_decision(registry, line)}, number
    assert fixed == expected
    assert sorted(n for n, f in fixed.items() if f == "1") == sorted(
        n for n, line in registry.hotlines.items() if line.mode in (Mode.WHOLE_MERGE_CANCELLED, Mode.DUAL_MERGED_SEATS))
    assert fixed["12336"] == "1" and fixed["12328"] == "1" and fixed["12333"] == "0" and fixed["12366"] == "0"


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
     ("unknown", "", "", "unknown_number"), ("degraded", "", "CONNECTED", "degraded_answered"),
     ("degraded", "", "", "degraded_abandoned"),
     ("degraded", "", "TIMEOUT", "degraded_timeout"), ("intake", "", "", "ended_outside_app")],
)
def test_outcome_of_calls_outside_the_app(route: str, dial: str, queue: str, outcome: str) -> None:
    assert outcome_of_unowned_call(route, dial, queue) == outcome


def test_dialplan_overflow_clears_the_group() -> None:
    """Whatever HOTLINE_GROUP an older rendered file or FastAGI set, overflow reaches plain intake."""
    lines = (REPO_ROOT / "dialplan" / "hotline.conf").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "n(overflow)," in line)
    end = next(i for i in range(start, len(lines)) if "Goto(app)" in lines[i])
    assert " same => n,Set(HOTLINE_GROUP=)" in lines[start:end]
