"""What the SIPp processes wrote, read back (pure): the callers' and agents' log lines
(``ari_app/bench/sipp/*.xml``) and SIPp's statistics CSV (``-trace_stat``).

Times in the logs come from SIPp's ``gettimeofday`` action, written as two numbers (seconds,
microseconds, each printed as a float); every process on the machine shares that clock, so a
caller's times and an agent's times can be subtracted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field


def _time(seconds: str, micros: str) -> float:
    return float(seconds) + float(micros) / 1e6


@dataclass
class CallerCall:
    """One caller's call as its SIPp log tells it (times in epoch seconds)."""

    invite_at: float | None = None
    answered_at: float | None = None  # 200 OK to the INVITE
    far_end_bye_at: float | None = None  # the agent (or Asterisk) hung up
    gave_up_at: float | None = None  # the caller hung up: nobody talked in time

    @property
    def invite_to_200_ms(self) -> float | None:
        if self.invite_at is None or self.answered_at is None:
            return None
        return (self.answered_at - self.invite_at) * 1000


def parse_caller_log(text: str) -> dict[str, CallerCall]:
    """Caller number -> its call, from lines ``ans C S0 U0 S1 U1``, ``bye C S U``, ``lost C S U``."""
    calls: dict[str, CallerCall] = {}
    for line in text.splitlines():
        parts = line.split()
        try:
            if len(parts) == 6 and parts[0] == "ans":
                call = calls.setdefault(parts[1], CallerCall())
                call.invite_at, call.answered_at = _time(parts[2], parts[3]), _time(parts[4], parts[5])
            elif len(parts) == 4 and parts[0] == "bye":
                calls.setdefault(parts[1], CallerCall()).far_end_bye_at = _time(parts[2], parts[3])
            elif len(parts) == 4 and parts[0] == "lost":
                calls.setdefault(parts[1], CallerCall()).gave_up_at = _time(parts[2], parts[3])
        except ValueError:
            continue  # a torn line (the process was killed while writing)
    return calls


def parse_agent_log(text: str) -> dict[str, float]:
    """Caller number -> when an agent's phone got (and answered) the call, from lines
    ``inv sip:CALLER@ S U``. A caller offered twice keeps the first answer."""
    answered: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[0] != "inv" or not parts[1].startswith("sip:"):
            continue
        caller = parts[1].removeprefix("sip:").removesuffix("@")
        try:
            at = _time(parts[2], parts[3])
        except ValueError:
            continue
        if caller and caller not in answered:
            answered[caller] = at
    return answered


def merge_agent_logs(texts: Iterable[str]) -> dict[str, float]:
    """Every agent phone's answers together (the earliest when two phones name one caller)."""
    merged: dict[str, float] = {}
    for text in texts:
        for caller, at in parse_agent_log(text).items():
            if caller not in merged or at < merged[caller]:
                merged[caller] = at
    return merged


def parse_stat_csv(text: str) -> dict[str, str]:
    """The last row of SIPp's ``-trace_stat`` file (``;``-separated, a header row first) by column
    name; cumulative counters end in ``(C)``. Empty when the file has no data row."""
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=";") if row]
    if len(rows) < 2:
        return {}
    header, last = rows[0], rows[-1]
    return {name: value for name, value in zip(header, last, strict=False) if name}


def stat_count(stats: dict[str, str], name: str) -> int | None:
    raw = stats.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


@dataclass
class StepCalls:
    """One step's calls, counted and timed."""

    attempted: int
    answered: int  # an agent answered
    failed: int  # SIPp failed the call: no 200 OK, an error response, a timeout, an unexpected message
    lost: int  # answered by Asterisk, then nobody talked to the caller in time; the caller hung up
    invite_to_200_ms: list[float] = field(default_factory=list)
    queue_wait_ms: list[float] = field(default_factory=list)


def step_calls(
    callers: dict[str, CallerCall],
    agents: dict[str, float],
    attempted: int,
    sipp_failed: int | None,
    greeting_s: float,
) -> StepCalls:
    """Count and time one step's calls.

    The queue wait of a call is the agent's answer minus the moment the caller entered the queue,
    which both paths put right after the greeting: the caller's 200 OK plus ``greeting_s``. A caller
    logged as answered by an agent is answered even if it then gave up during the talk.
    ``sipp_failed`` is SIPp's own count (its statistics file); without it, a call is failed when
    it got no 200 OK.
    """
    answered = lost = 0
    setup: list[float] = []
    waits: list[float] = []
    for caller, call in callers.items():
        ms = call.invite_to_200_ms
        if ms is not None:
            setup.append(ms)
        agent_at = agents.get(caller)
        if agent_at is not None:
            answered += 1
            if call.answered_at is not None:
                waits.append((agent_at - call.answered_at - greeting_s) * 1000)
        elif call.gave_up_at is not None:
            lost += 1
    failed = sipp_failed if sipp_failed is not None else max(0, attempted - len(setup))
    return StepCalls(attempted, answered, failed, lost, setup, waits)
