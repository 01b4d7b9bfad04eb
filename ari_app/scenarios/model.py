"""What a scenario is: a SIPp caller, the peers it needs, and what the tester must observe."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class AgentPeer:
    """An agent's phone: registers as ``agent-<id>`` with the install's password, logs in with *72,
    answers with ``phone`` (a SIPp scenario of the peers folder) and logs out with *73 at the end."""

    id: str
    phone: str = "answer-then-bye.xml"
    hold_ms: int = 2000
    rings: int | None = None  # how many calls must reach the phone (None: not checked)
    values: tuple[tuple[str, str], ...] = ()  # more [keywords] written into the phone's scenario


@dataclass(frozen=True)
class DepartmentPeer:
    """The department or sub-center seats: a SIPp UAS on the department lines' address."""

    phone: str = "answer-then-bye.xml"
    hold_ms: int = 2000
    rings: int | None = None
    line: str = ""  # the department line (its hotline number) the call reaches; default: the number dialed


@dataclass(frozen=True)
class Expect:
    """What the tester must observe. ``None`` / empty: not checked."""

    dial: str
    listen_ms: int = 15000
    sipp_exit: int = 0
    answer: int = 200  # the final response the caller's INVITE must get
    min_voiced_seconds: float = 0.0
    max_voiced_seconds: float | None = None
    record: tuple[tuple[str, str], ...] = ()  # call record fields (with --dsn)
    events: tuple[str, ...] = ()  # event kinds on the call, in this order (with --dsn)
    prompts: tuple[str, ...] = ()  # prompts played to the end (with --dsn)


@dataclass(frozen=True)
class DatedExpect:
    """From ``start`` on (the target's date), these expectations replace the scenario's own."""

    start: date
    changes: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    folder: Path
    description: str
    caller: Path  # the caller's SIPp scenario (UAC)
    expect: Expect
    agents: tuple[AgentPeer, ...] = ()
    department: DepartmentPeer | None = None
    dates: tuple[DatedExpect, ...] = ()
    values: tuple[tuple[str, str], ...] = ()  # more [keywords] written into the caller's script

    @property
    def exclusive(self) -> bool:
        """Runs alone: its peers are shared (agents, the department address), or another caller
        waiting in the queue at the same time would take its agent."""
        return bool(self.agents) or self.department is not None

    def expect_on(self, today: date) -> Expect:
        """The expectations as of ``today``: the latest dated entry that has begun applies."""
        expect = self.expect
        for dated in sorted(self.dates, key=lambda d: d.start):
            if dated.start <= today:
                expect = replace(expect, **dated.changes)  # type: ignore[arg-type]
        return expect
