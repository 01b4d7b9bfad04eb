"""Toll fraud, statically: no context a call can enter from outside reaches a Dial() to a trunk.

Reads the dialplan as Asterisk would get it (dialplan/*.conf plus the registry's rendered
hotline-numbers.conf), follows every Goto, GotoIf, Gosub, include and hang-up handler from the
contexts the endpoints name (sandbox pjsip.conf, department lines, agents' phones), and checks
what can run there: the one Dial() dials HOTLINE_DIAL, which only the registry sets and only to a
department line; the one Queue() rings the agents' phones; nothing else places a call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import PurePosixPath

import pytest

from ari_app.registry.loader import load_registry
from ari_app.registry.model import Registry
from ari_app.registry.render import render_all
from ari_app.registry.routing import Route, decide
from ari_app.sandbox.confgen import RETURN_VISIT_TRUNK, AsteriskConfig, pjsip_conf
from ari_app.seats.loader import load_seats
from ari_app.settings import REPO_ROOT
from ari_app.visits.policy import load_visit_policy
from tests.harness.fraud import catalogue

# Applications that place or take over a call (or run a shell) other than the two audited below.
FORBIDDEN = {"originate", "page", "disa", "system", "trysystem", "chanspy", "extenspy", "followme", "macro",
             "exec", "tryexec", "dial", "queue", "transfer", "blindtransfer", "bridge",
             "pickup", "pickupchan", "directedpickup", "dictate", "confbridge", "meetme", "voicemail",
             "sendfax", "waitforsilence", "mixmonitor"}
ALLOWED_CALLS = {("dial", "${HOTLINE_DIAL},${HOTLINE_DIAL_TIMEOUT}"), ("queue", "${HOTLINE_DEGRADED_QUEUE},t")}


@dataclass(frozen=True)
class Step:
    context: str
    pattern: str
    app: str  # lower case
    args: str


def _parse(text: str) -> tuple[list[Step], dict[str, list[str]]]:
    steps: list[Step] = []
    includes: dict[str, list[str]] = {}
    context, pattern = "", ""
    for raw in text.splitlines():
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if match := re.fullmatch(r"\[([^\]]+)\](?:\(.*\))?", line):
            context = match.group(1)
            includes.setdefault(context, [])
            continue
        if match := re.fullmatch(r"include\s*=>\s*(\S+)", line):
            includes.setdefault(context, []).append(match.group(1))
            continue
        if match := re.fullmatch(r"exten\s*=>\s*([^,]+),[^,]+,(.*)", line):
            pattern, body = match.group(1), match.group(2)
        elif match := re.fullmatch(r"same\s*=>\s*[^,]+,(.*)", line):
            body = match.group(1)
        else:
            continue
        app, _, rest = body.partition("(")
        steps.append(Step(context, pattern, app.strip().lower(), rest[: rest.rfind(")")] if rest else ""))
    return steps, includes


def _strip_comment(line: str) -> str:
    """Drop a ; comment, but not a ; inside an application's argument (there is none today)."""
    depth = 0
    for i, ch in enumerate(line):
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0 and (i == 0 or line[i - 1] != "\\"):
            return line[:i]
    return line


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REPO_ROOT / "config" / "hotlines.yaml")


@pytest.fixture(scope="module")
def rendered(registry: Registry) -> dict[str, str]:
    seats = load_seats(REPO_ROOT / "config" / "seats.yaml")
    return render_all(registry, seats, {a.id: "x" * 20 for a in seats.agents})


@pytest.fixture(scope="module")
def dialplan(rendered: dict[str, str]) -> tuple[list[Step], dict[str, list[str]]]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO_ROOT / "dialplan").glob("*.conf")))
    return _parse(text + "\n" + rendered["hotline-numbers.conf"])


def _entry_contexts(rendered: dict[str, str]) -> set[str]:
    cfg = AsteriskConfig(base=PurePosixPath("/x"), module_dir="/m", sip_port=5060, http_port=8088, ami_port=5038,
                         agi_url="agi://127.0.0.1:4573", ari_user="a", ari_password="p", ami_user="a",
                         ami_password="p", rtp_start=20000, test_caller_password="t" * 20)
    texts = [pjsip_conf(cfg), rendered["hotline-pjsip.conf"], rendered["hotline-agents.conf"]]
    return {m for text in texts for m in re.findall(r"^context\s*=\s*(\S+)", text, flags=re.M)}


def _reachable(start: str, steps: list[Step], includes: dict[str, list[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        context = todo.pop()
        if context in seen:
            continue
        seen.add(context)
        todo += includes.get(context, [])
        for step in (s for s in steps if s.context == context):
            text = f"{step.app}({step.args})"
            todo += re.findall(r"(?:goto|gosub|gotoif[^?]*\?)[^(]*\(?\s*(hotline-[a-z-]+)\s*,", text)
            todo += re.findall(r"hangup_handler_push\)=\s*(hotline-[a-z-]+)", text)
    return seen


def test_entry_contexts_are_the_three_inbound_ones(rendered: dict[str, str]) -> None:
    assert _entry_contexts(rendered) == {"hotline-inbound", "hotline-agents", "hotline-department"}


def test_no_inbound_context_reaches_a_call_but_the_audited_two(
    rendered: dict[str, str], dialplan: tuple[list[Step], dict[str, list[str]]]
) -> None:
    steps, includes = dialplan
    assert _reachable("hotline-inbound", steps, includes) == {"hotline-inbound", "hotline-numbers", "hotline-hangup"}
    for entry in _entry_contexts(rendered):
        contexts = _reachable(entry, steps, includes)
        assert not any(includes.get(c) for c in contexts), "an include would add patterns nobody audited"
        for step in (s for s in steps if s.context in contexts):
            inner = re.findall(r"\?\s*([A-Za-z]+)\(", step.args) if step.app == "execif" else []
            for app in [step.app, *(a.lower() for a in inner)]:
                if app in FORBIDDEN:
                    assert (app, step.args) in ALLOWED_CALLS, (entry, step)
            assert not re.search(r"\b(PJSIP|SIP|IAX2|DAHDI|Local)/", step.args) or step.app == "set", (entry, step)
            if step.app in ("agi", "eagi"):  # only the service's own FastAGI routes
                assert step.args.startswith("${HOTLINE_AGI}/"), (entry, step)
        calls = {(s.app, s.args) for s in steps if s.context in contexts and (s.app, s.args) in ALLOWED_CALLS}
        # Only the carrier's inbound context dials at all: agents and department lines only hang up
        # or run a feature code.
        assert not calls if entry != "hotline-inbound" else calls == ALLOWED_CALLS, (entry, calls)


def test_only_the_registry_sets_the_dial_string_and_only_to_department_lines(
    registry: Registry, rendered: dict[str, str], dialplan: tuple[list[Step], dict[str, list[str]]]
) -> None:
    steps, _ = dialplan
    lines = {f"PJSIP/{d.line.endpoint}" for d in registry.departments.values() if d.line is not None}
    sets = [s for s in steps if s.app == "set" and s.args.startswith("HOTLINE_DIAL=")]
    assert sets and all(s.context == "hotline-numbers" for s in sets), sets
    assert {s.args.removeprefix("HOTLINE_DIAL=") for s in sets} - {""} <= lines
    # The FastAGI route decides the same on any day, and a department line is no trunk.
    trunks = {"trunk", RETURN_VISIT_TRUNK, load_visit_policy(REPO_ROOT / "config" / "return_visits.yaml").trunk}
    for day in (date(2021, 1, 1), date(2021, 12, 1), date(2022, 4, 1), date.today() + timedelta(days=3650)):
        for number in [registry.platform.number, *registry.hotlines]:
            dial = decide(registry, number, day).dial
            assert dial == "" or dial in lines, (number, day, dial)
    assert not {line.removeprefix("PJSIP/") for line in lines} & trunks
    members = set(re.findall(r"^member => (\S+)", rendered["hotline-queues.conf"], flags=re.M))
    assert members == {f"PJSIP/{a.endpoint}" for a in load_seats(REPO_ROOT / "config" / "seats.yaml").agents}


def test_every_fraud_number_is_unknown_to_the_number_route(registry: Registry) -> None:
    probes = catalogue()
    assert len(probes) >= 100
    for probe in probes:
        decision = decide(registry, probe.target, date.today())
        assert (decision.route, decision.dial) == (Route.UNKNOWN, ""), probe


def test_only_plain_digits_are_looked_up(dialplan: tuple[list[Step], dict[str, list[str]]]) -> None:
    """The inbound context checks the dialled string before DIALPLAN_EXISTS, Gosub or AGI see it."""
    steps, _ = dialplan
    inbound = [s for s in steps if s.context == "hotline-inbound"]
    assert {s.pattern for s in inbound} == {"_X."}
    guard = next(i for i, s in enumerate(inbound) if "REGEX" in s.args)
    assert '"^[0-9]{1,20}$" ${EXTEN}' in inbound[guard].args
    first_use = next(i for i, s in enumerate(inbound) if s.app in ("gotoif", "gosub", "agi") and "${EXTEN}" in s.args
                     and "REGEX" not in s.args)
    assert guard < first_use
