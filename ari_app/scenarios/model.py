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
    log_in_at_start: bool = True  # False: registers at the start, logs in at a ``log_in`` step


@dataclass(frozen=True)
class CitizenPeer:
    """The citizen's phone as the target calls it back over its outbound trunk (return visits,
    queue callbacks): a SIPp UAS on the trunk's address, or registered as the sandbox's test caller."""

    phone: str = "answer-then-bye.xml"
    hold_ms: int = 2000
    rings: int | None = None
    values: tuple[tuple[str, str], ...] = ()


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
class Login:
    """Who an HTTP step acts as: a role, with its department or seat. The runner makes the account
    (``scenario-<role>[-<department or seat>]``) with a new password on each run."""

    role: str  # agent, department, supervisor, admin
    department: str = ""
    agent: str = ""

    @property
    def name(self) -> str:
        return "-".join(p for p in ("scenario", self.role, self.department, self.agent) if p)


@dataclass(frozen=True)
class CallStep:
    """The caller's call (``dial``, ``caller``, ``values``, ``listen_ms``), until SIPp ends."""

    label: str = "call"


@dataclass(frozen=True)
class LogInStep:
    """An agent whose phone waited (``log_in: later``) dials *72 now."""

    agent: str
    label: str = ""


@dataclass(frozen=True)
class HttpStep:
    """A request to the target's HTTP API as ``login``; ``[keywords]`` are written into the path and
    the body's strings. ``keep``: answer fields kept as keywords; ``expect``: answer fields that must
    hold; ``until``: repeat the request until they do, at most that many seconds."""

    method: str
    path: str
    login: Login
    label: str
    body: object = None
    status: int | None = None  # None: any 2xx
    keep: tuple[tuple[str, str], ...] = ()  # keyword -> dotted path in the answer
    expect: tuple[tuple[str, str], ...] = ()  # dotted path -> value (compared as text)
    until: float | None = None


@dataclass(frozen=True)
class RecordStep:
    """Wait until the caller's number has a closed call record with these fields (and these events
    in this order): the calls the target places back to the citizen, say."""

    fields: tuple[tuple[str, str], ...]
    label: str
    events: tuple[str, ...] = ()
    within: float = 60.0


Step = CallStep | LogInStep | HttpStep | RecordStep


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
    citizen: CitizenPeer | None = None
    steps: tuple[Step, ...] = (CallStep(),)
    needs: str = ""  # what the target must be configured with (shown with a failure)

    @property
    def exclusive(self) -> bool:
        """Runs alone: its peers are shared (agents, the department address, the outbound trunk),
        or another caller waiting in the queue at the same time would take its agent."""
        return bool(self.agents) or self.department is not None or self.citizen is not None

    @property
    def calls(self) -> bool:
        """Whether the caller places a call (a return visit's scenario may only call the API)."""
        return any(isinstance(s, CallStep) for s in self.steps)

    def expect_on(self, today: date) -> Expect:
        """The expectations as of ``today``: the latest dated entry that has begun applies."""
        expect = self.expect
        for dated in sorted(self.dates, key=lambda d: d.start):
            if dated.start <= today:
                expect = replace(expect, **dated.changes)  # type: ignore[arg-type]
        return expect
