"""Compare what the tester observed with what the scenario expects: pure, one sentence per failure.

The first failure is the one the summary table shows, so checks go from the root cause outward:
SIP first (a target that answers nothing, or 404, makes everything after it moot), then audio,
then the peers, then the call record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ari_app.scenarios.model import Expect

REASONS = {404: "Not Found", 403: "Forbidden", 401: "Unauthorized", 480: "Temporarily Unavailable",
           486: "Busy Here", 503: "Service Unavailable", 200: "OK"}
HINTS = {404: "is the hotline dialplan deployed on the target?",
         403: "is this machine's address a trunk of the target (HOTLINE_TRUNK_ADDRESSES)?",
         401: "the target wants an account from this caller: is this address a trunk of the target?"}


@dataclass
class Observation:
    """What a tester can see of one scenario run."""

    target: str
    sipp_exit: int | None  # None: SIPp did not run (or was killed)
    called: bool = True  # False: the scenario has no call of its caller (only HTTP steps, say)
    invite_responses: list[int] = field(default_factory=list)  # status codes of responses to the INVITE
    voiced_seconds: float = 0.0
    rtp_packets: int = 0
    peer_rings: dict[str, int] = field(default_factory=dict)  # peer name -> INVITEs it received
    peer_errors: list[str] = field(default_factory=list)  # a peer that could not do its part
    record: dict[str, Any] | None = None  # the call record (with a database), None if none was found
    events: list[str] = field(default_factory=list)
    prompts_completed: list[str] = field(default_factory=list)
    sipp_tail: str = ""  # the end of SIPp's output, for the report


def check(expect: Expect, seen: Observation, rings: dict[str, int | None], database: bool) -> list[str]:
    """Every way ``seen`` differs from ``expect``; empty: the scenario passed. ``rings``: how many
    calls each peer must receive (None: not checked); ``database``: whether records were read."""
    failures = [*seen.peer_errors, *(_sip(expect, seen) if seen.called else [])]
    if failures:
        return failures
    failures += _audio(expect, seen)
    for peer, wanted in rings.items():
        got = seen.peer_rings.get(peer, 0)
        if wanted is not None and got != wanted:
            failures.append(f"{peer} was rung {got} time(s), expected {wanted}")
    if database and seen.called:
        failures += _record(expect, seen)
    return failures


def _sip(expect: Expect, seen: Observation) -> list[str]:
    finals = [code for code in seen.invite_responses if code >= 200]
    if not seen.invite_responses:
        return [f"no SIP response to the INVITE from {seen.target}: is Asterisk listening there (--target)?"]
    if expect.answer not in finals:
        got = finals[0] if finals else None
        said = f"{got} {REASONS.get(got, '')}".strip() if got else f"only {', '.join(map(str, seen.invite_responses))}"
        hint = f": {HINTS[got]}" if got in HINTS else ""
        return [f"INVITE to {expect.dial} answered {said}, expected {expect.answer} {REASONS.get(expect.answer, '')}"
                .rstrip() + hint]
    if seen.sipp_exit != expect.sipp_exit:
        return [f"SIPp exit {seen.sipp_exit}, expected {expect.sipp_exit}: {_last_line(seen.sipp_tail)}"]
    return []


def _audio(expect: Expect, seen: Observation) -> list[str]:
    heard = f"caller heard {seen.voiced_seconds:.1f}s of audio ({seen.rtp_packets} RTP packets)"
    if seen.voiced_seconds < expect.min_voiced_seconds:
        return [f"{heard}, expected at least {expect.min_voiced_seconds:g}s"]
    if expect.max_voiced_seconds is not None and seen.voiced_seconds > expect.max_voiced_seconds:
        return [f"{heard}, expected at most {expect.max_voiced_seconds:g}s"]
    return []


def _record(expect: Expect, seen: Observation) -> list[str]:
    if seen.record is None:
        return ["no closed call record for this caller in the database"]
    failures = [f"record.{key} is {seen.record.get(key)!r}, expected {value!r}"
                for key, value in expect.record if str(seen.record.get(key)) != value]
    if not in_order(expect.events, seen.events):
        failures.append(f"events {', '.join(seen.events) or '(none)'} lack {', '.join(expect.events)} in this order")
    missing = [p for p in expect.prompts if p not in seen.prompts_completed]
    if missing:
        played = ", ".join(seen.prompts_completed) or "none"
        failures.append(f"prompt(s) {', '.join(missing)} not played to the end (played: {played})")
    return failures


def in_order(wanted: Iterable[str], seen: list[str]) -> bool:
    """Whether ``wanted`` appear in ``seen`` in this order (others may be between)."""
    it = iter(seen)
    return all(any(kind == w for kind in it) for w in wanted)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(no output)"
