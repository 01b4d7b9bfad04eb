"""What a call to a dialed number does today: the number-lifecycle decision.

A pure function of the registry, the dialed number and the date. The FastAGI route
``number-route`` hands its result to the dialplan; tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ari_app.registry.model import AfterCancel, Hotline, Mode, Registry


class Route(StrEnum):
    INTAKE = "intake"  # 12345 intake (queue)
    EXPERT = "expert"  # 12345 intake, an expert-seat group first
    DEPARTMENT = "department"  # the department's own seats
    SUBCENTER = "subcenter"  # a sub-center's own seats
    INTERCEPT = "intercept"  # the number is cancelled: notice, then intake or hang-up
    FALLBACK = "fallback"  # department/sub-center did not answer: 12345 intake
    UNKNOWN = "unknown"  # not a number of this hotline: notice and hang-up


class Then(StrEnum):
    """After the prompt: go on to the route's destination, or hang up."""

    CONTINUE = "continue"
    HANGUP = "hangup"


@dataclass(frozen=True)
class Decision:
    route: Route
    tag: str  # the dialed number: the call's hotline tag
    prompt: str = ""  # prompt id to play first ("" for none)
    then: Then = Then.CONTINUE
    dial: str = ""  # Asterisk dial string for DEPARTMENT / SUBCENTER
    dial_timeout: int = 0
    # Preferred agent group when 12345 intake takes the call: an expert group (12328), or the
    # department whose seconded staff answer first (merged lines). Empty for kept-seat lines: their
    # overflow is plain 12345 intake (the department seconds nobody), and for the platform number.
    group: str = ""


UNKNOWN_PROMPT = "unknown-number"


def merged_prompt(number: str) -> str:
    return f"merged-{number}"


def intercept_prompt(number: str) -> str:
    return f"intercept-{number}"


def decide(registry: Registry, dialed: str, today: date) -> Decision:
    if dialed == registry.platform.number:
        return Decision(Route.INTAKE, dialed)
    line = registry.hotline(dialed)
    if line is None:
        return Decision(Route.UNKNOWN, dialed, prompt=UNKNOWN_PROMPT, then=Then.HANGUP)
    return _decide_line(registry, line, today)


def _decide_line(registry: Registry, line: Hotline, today: date) -> Decision:
    number = line.number
    if line.mode is Mode.WHOLE_MERGE_TRANSITION:
        if line.transition is not None and today > line.transition.end:
            then = Then.HANGUP if line.after_cancel is AfterCancel.HANGUP else Then.CONTINUE
            return Decision(Route.INTERCEPT, number, prompt=intercept_prompt(number), then=then, group=line.department)
        return Decision(Route.INTAKE, number, prompt=merged_prompt(number), group=line.department)
    if line.mode is Mode.WHOLE_MERGE_CANCELLED:
        return Decision(Route.INTAKE, number, group=line.department)
    if line.mode is Mode.DUAL_MERGED_SEATS:
        return Decision(Route.EXPERT, number, group=line.expert_group or "")
    department = registry.department_of(line)
    assert department.line is not None  # the loader guarantees kept-seat lines have one
    route = Route.SUBCENTER if line.mode is Mode.SUBCENTER else Route.DEPARTMENT
    return Decision(
        route,
        number,
        dial=f"PJSIP/{department.line.endpoint}",
        dial_timeout=line.ring_timeout or registry.department_ring_timeout,
    )


# Modes whose calls always go to the Stasis app with the same route whatever the date: the dialplan
# takes them there without asking the FastAGI route (one connection and exchange less per call for
# Asterisk and the service; the app opens the record itself).
FIXED_TO_APP = (Mode.WHOLE_MERGE_CANCELLED, Mode.DUAL_MERGED_SEATS)


def fixed_to_app(line: Hotline) -> bool:
    """Whether the number's decision cannot change with the date and sends the call to the app."""
    return line.mode in FIXED_TO_APP


def static_decision(registry: Registry, line: Hotline) -> Decision:
    """The decision rendered into the dialplan for when the FastAGI server is unreachable.

    It cannot know the date, so it takes the choice that always reaches a person: 12345 intake
    for merged numbers (no announcement, the department's seconded staff preferred), the
    department's seats (with plain intake, no preferred group, as overflow) for kept-seat numbers.
    """
    decision = _decide_line(registry, line, date.min)
    if decision.route is Route.INTAKE:
        return Decision(Route.INTAKE, line.number, group=decision.group)
    return decision
