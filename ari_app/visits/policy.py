"""How return visits are placed (config/return_visits.yaml), and the pure decisions on them: when a
visit may be dialled, what an attempt's result does to it. No I/O; times are aware datetimes.

A visit is dialled only within the allowed hours (local time of ``timezone``; a visit due outside
them waits for the next opening), at most ``max_channels`` at once on this node (inbound callers
keep the rest of the channels), oldest due first. Answered with a rating: done (the order closes,
or goes back for rework when unsatisfied). Answered without a rating, not answered, busy or
unreachable: another attempt after the next pause of ``retry_minutes``; when ``attempts`` are
spent, the visit goes to the supervisors' list for a manual call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ari_app.configcheck.problems import ConfigError
from ari_app.configcheck.reader import Keys, Reader
from ari_app.configcheck.yamlnodes import read_utf8

EXPECTED = "the return-visit settings"
TOP = Keys(("trunk", "caller_id", "timezone", "hours", "attempts", "retry_minutes", "ring_seconds", "max_channels"),
           ("enabled",))
_HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])")
_ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A citizen's number the trunk may be asked to dial: no international prefix ("00", "+"), nothing a
# PJSIP dial string reads as syntax ("/", "@", ",", ";", "&", "%", ...), at most 32 characters. The
# number comes from the caller's own From header (callbacks, orders filed from a call): a caller
# presenting 0088213... or "x@trunk/sip:...@elsewhere" must not be called back there.
_DIALABLE = re.compile(r"(?!00)[0-9A-Za-z][0-9A-Za-z_-]{0,31}")


def may_dial(number: str) -> bool:
    """Whether ``number`` may be dialled through the outbound trunk (``PJSIP/<number>@<trunk>``)."""
    return _DIALABLE.fullmatch(number) is not None


@dataclass(frozen=True)
class VisitPolicy:
    trunk: str  # the PJSIP endpoint outbound calls go through: PJSIP/<number>@<trunk>
    caller_id: str  # the number the citizen sees
    timezone: str
    opens: time
    closes: time
    attempts: int  # calls at most per visit
    retry_minutes: tuple[int, ...]  # pause before attempt 2, 3, ... (the last repeats)
    ring_seconds: int
    max_channels: int  # return-visit calls at once on this node, at most
    enabled: bool = True
    source: str = ""


def parse_visit_policy(text: str, source: str) -> VisitPolicy:
    r = Reader(source)
    root = r.document(text, EXPECTED)
    top = r.mapping(root, "", TOP) if root is not None else None
    if top is None:
        raise ConfigError(r.problems)
    trunk = top.matching("trunk", _ENDPOINT, "a PJSIP endpoint name")
    caller_id = top.digits("caller_id")
    timezone = top.timezone("timezone")
    hours = top.matching("hours", _HOURS, "opening hours HH:MM-HH:MM, e.g. 08:30-20:00")
    attempts = top.integer("attempts", 1, 10)
    ring = top.integer("ring_seconds", 10, 120)
    channels = top.integer("max_channels", 1, 500)
    enabled = top.boolean("enabled") if top.has("enabled") else True
    retries: list[int] = []
    for index, node in enumerate(top.get("retry_minutes", r.sequence) or []):
        value = r.integer(node, f"retry_minutes[{index}]", 1, 7 * 24 * 60)
        if value is not None:
            retries.append(value)
    if top.has("retry_minutes") and not retries and not r.problems:
        top.problem("retry_minutes", "give at least one pause in minutes, e.g. [30, 120]")
    opens = closes = None
    if hours is not None:
        match = _HOURS.fullmatch(hours)
        assert match is not None
        opens = time(int(match[1]), int(match[2]))
        end = (int(match[3]), int(match[4]))
        closes = time.max if end == (24, 0) else time(*end) if end[0] < 24 else time.min
        if closes <= opens:
            top.problem("hours", f"the hours must open before they close, got {hours}")
    if (r.problems or None in (trunk, caller_id, timezone, opens, closes, attempts, ring, channels)
            or enabled is None):
        raise ConfigError(r.problems)
    assert trunk and caller_id and timezone and opens and closes and attempts and ring and channels
    return VisitPolicy(trunk, caller_id, timezone, opens, closes, attempts, tuple(retries), ring, channels,
                       bool(enabled), source)


def load_visit_policy(path: Path) -> VisitPolicy:
    return parse_visit_policy(read_utf8(path), str(path))


def within_hours(policy: VisitPolicy, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(policy.timezone)).time()
    return policy.opens <= local < policy.closes


def next_opening(policy: VisitPolicy, now: datetime) -> datetime:
    """``now`` if the hours are open, else when they next open."""
    if within_hours(policy, now):
        return now
    zone = ZoneInfo(policy.timezone)
    local = now.astimezone(zone)
    day = local.date() if local.time() < policy.opens else local.date() + timedelta(days=1)
    return datetime.combine(day, policy.opens, tzinfo=zone)


@dataclass(frozen=True)
class AttemptResult:
    answered: bool
    rating: str | None  # satisfied | basically_satisfied | unsatisfied, or None
    reason: str = ""  # why there is no rating: "no answer", "busy", "unreachable", "no key", "hung up"


@dataclass(frozen=True)
class Next:
    state: str  # "done", "scheduled" (another attempt at ``at``) or "manual"
    at: datetime | None = None


def after_attempt(policy: VisitPolicy, attempts_made: int, result: AttemptResult, now: datetime) -> Next:
    """What becomes of a visit after its ``attempts_made``-th attempt ended with ``result``."""
    if result.rating is not None:
        return Next("done")
    if attempts_made >= policy.attempts:
        return Next("manual")
    pause = policy.retry_minutes[min(attempts_made - 1, len(policy.retry_minutes) - 1)]
    return Next("scheduled", next_opening(policy, now + timedelta(minutes=pause)))


def free_channels(policy: VisitPolicy, dialling: int) -> int:
    """How many more visits may be dialled now on this node."""
    return max(0, policy.max_channels - dialling)
