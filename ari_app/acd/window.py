"""The last 24 hours of queue outcomes in memory, so the figures of ``GET /queues`` cost a pass over
the groups (the total, each hotline, each queue), not over a day of rows. No I/O; ``now`` passed in.

The window holds one :class:`CallOutcome` per call, replaced each time its ``queue_calls`` row is
written (:meth:`OutcomeWindow.put`), and per group the running tallies from which
:func:`ari_app.acd.figures.compute` (the reference) derives its figures: counts, and sums of waits
kept exactly, as integers in units of 2**-1074 (every finite float is a whole number of those), so
a mean is the correctly rounded sum divided by the count, as ``compute`` takes it, bit for bit,
whatever order calls came, changed and left in. A call leaves the window once its ``enqueued_at``
is more than ``span`` seconds before ``now`` (the reference reads rows with
``enqueued_at >= now - span``). Time only moves forward here: a call that left does not come back
if a later request passes an earlier ``now``.

``abandoned_waits`` lists the waits in the order the calls were abandoned (loaded ones: in the
order given), where the reference lists them in the order of its records. Each wait is also kept
as JSON text from the moment it is counted, so a response lists thousands of them by joining
strings instead of formatting floats again on every request (:attr:`Group.waits_json`).
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ari_app.acd.figures import DEFAULT_THRESHOLD, CallOutcome, Figures, queue_of
from ari_app.acd.model import QueuedCall

DAY = 86400.0
_UNIT_BITS = 1074  # 2**-1074 is the smallest positive float: every float is a whole number of them


def exact(value: float) -> int:
    """``value`` as a whole number of 2**-1074 (exact for every finite float)."""
    numerator, denominator = value.as_integer_ratio()  # denominator: a power of 2, at most 2**1074
    return numerator << (_UNIT_BITS + 1 - denominator.bit_length())


def exact_mean(total: int, count: int) -> float | None:
    """The mean of values whose exact sum is ``total`` (see :func:`exact`): the sum rounded once to
    a float, then divided by ``count``, as ``math.fsum(values) / len(values)``."""
    return total / (1 << _UNIT_BITS) / count if count else None


def wait_json(wait: float) -> str:
    """A wait as ``json.dumps`` writes it."""
    return repr(wait) if math.isfinite(wait) else json.dumps(wait)


@dataclass(frozen=True, slots=True)
class Part:
    """What one outcome adds to its groups (the definitions of :mod:`ari_app.acd.figures`)."""

    answer_wait: float | None = None  # answered calls
    handle_time: float | None = None  # answered calls that have ended
    abandoned: bool = False  # abandoned and never answered
    abandoned_wait: float | None = None  # of those, with a known end
    answer_units: int = 0  # answer_wait and handle_time as exact() gives them (0 for None)
    handle_units: int = 0


def part_of(outcome: CallOutcome) -> Part:
    if outcome.answered_at is not None:
        answer = max(outcome.answered_at - outcome.enqueued_at, 0.0)
        if outcome.ended_at is None:
            return Part(answer, answer_units=exact(answer))
        handle = max(outcome.ended_at - outcome.answered_at, 0.0)
        return Part(answer, handle, answer_units=exact(answer), handle_units=exact(handle))
    if outcome.abandoned:
        return Part(abandoned=True, abandoned_wait=(
            None if outcome.ended_at is None else max(outcome.ended_at - outcome.enqueued_at, 0.0)))
    return Part()


@dataclass(frozen=True, slots=True)
class Group:
    """The figures of one group, and its ``abandoned_waits`` as a JSON array."""

    figures: Figures
    waits_json: str


@dataclass
class Tally:
    """The running sums of one group."""

    offered: int = 0
    answered: int = 0
    within: int = 0  # answered with a wait <= the threshold
    answer_waits: int = 0  # exact sum (see exact())
    handled: int = 0
    handle_times: int = 0  # exact sum
    abandoned: int = 0
    abandoned_late: int = 0  # abandoned after the threshold
    abandoned_waits: dict[str, float] = field(default_factory=dict)  # call id -> wait
    wait_texts: dict[str, str] = field(default_factory=dict)  # call id -> the wait as JSON
    _waits: tuple[float, ...] | None = None  # abandoned_waits' values, until the next change
    _waits_json: str | None = None  # wait_texts' values as a JSON array, until the next change

    def count(self, call_id: str, part: Part, threshold: float, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) one call's part."""
        self.offered += sign
        if part.answer_wait is not None:
            self.answered += sign
            self.within += sign if part.answer_wait <= threshold else 0
            self.answer_waits += sign * part.answer_units
        if part.handle_time is not None:
            self.handled += sign
            self.handle_times += sign * part.handle_units
        if part.abandoned:
            self.abandoned += sign
        if part.abandoned_wait is not None:
            self.abandoned_late += sign if part.abandoned_wait > threshold else 0
            if sign > 0:
                self.abandoned_waits[call_id] = part.abandoned_wait
                self.wait_texts[call_id] = wait_json(part.abandoned_wait)
            else:
                del self.abandoned_waits[call_id], self.wait_texts[call_id]
            self._waits = self._waits_json = None

    def group(self, waiting: Sequence[QueuedCall], now: float) -> Group:
        if self._waits is None:
            self._waits = tuple(self.abandoned_waits.values())
        if self._waits_json is None:
            self._waits_json = "[" + ", ".join(self.wait_texts.values()) + "]"
        denominator = self.answered + self.abandoned_late
        return Group(Figures(
            waiting_now=len(waiting),
            longest_wait=max((max(now - c.enqueued_at, 0.0) for c in waiting), default=0.0),
            offered=self.offered,
            answered=self.answered,
            abandoned=self.abandoned,
            abandoned_waits=self._waits,
            service_level=self.within / denominator if denominator else None,
            average_wait_answered=exact_mean(self.answer_waits, self.answered),
            average_handle_time=exact_mean(self.handle_times, self.handled),
        ), self._waits_json)


def _split(
    tallies: dict[str, Tally], waiting: Sequence[QueuedCall], now: float, key: Callable[[QueuedCall], str]
) -> dict[str, Group]:
    grouped: dict[str, list[QueuedCall]] = {}
    for call in waiting:
        grouped.setdefault(key(call), []).append(call)
    empty = Tally()
    return {k: tallies.get(k, empty).group(grouped.get(k, []), now) for k in sorted(tallies.keys() | grouped.keys())}


class OutcomeWindow:
    """Outcomes of the last ``span`` seconds and their figures, kept up to date call by call."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, span: float = DAY) -> None:
        self.span = span
        self._threshold = threshold
        self._outcomes: dict[str, CallOutcome] = {}
        self._leaving: list[tuple[float, str]] = []  # heap of (enqueued_at, call id)
        self._total = Tally()
        self._hotlines: dict[str, Tally] = {}
        self._queues: dict[str, Tally] = {}

    def __len__(self) -> int:
        return len(self._outcomes)

    def load(self, outcomes: Iterable[tuple[str, CallOutcome]]) -> None:
        """Start over from stored outcomes (call id, outcome), e.g. the database's at start-up."""
        self._outcomes, self._leaving = {}, []
        self._total, self._hotlines, self._queues = Tally(), {}, {}
        for call_id, outcome in outcomes:
            self.put(call_id, outcome)

    def put(self, call_id: str, outcome: CallOutcome) -> None:
        """A call's outcome as now stored (new, or replacing what the call had)."""
        old = self._outcomes.get(call_id)
        if old is not None:
            self._count(call_id, old, -1)
        self._outcomes[call_id] = outcome
        self._count(call_id, outcome, 1)
        if old is None or old.enqueued_at != outcome.enqueued_at:
            heapq.heappush(self._leaving, (outcome.enqueued_at, call_id))

    def expire(self, now: float) -> None:
        """Let go of the calls that joined the queue before ``now - span``."""
        cutoff = now - self.span
        while self._leaving and self._leaving[0][0] < cutoff:
            enqueued_at, call_id = heapq.heappop(self._leaving)
            outcome = self._outcomes.get(call_id)
            if outcome is not None and outcome.enqueued_at == enqueued_at:  # else a stale heap entry
                del self._outcomes[call_id]
                self._count(call_id, outcome, -1)

    def figures(
        self, now: float, waiting: Sequence[QueuedCall], threshold: float
    ) -> tuple[Group, dict[str, Group], dict[str, Group]]:
        """In total, per hotline, per queue: as ``compute``, ``by_hotline`` and ``by_queue`` give
        them for the outcomes of the last ``span`` seconds and the callers ``waiting``."""
        self.expire(now)
        if threshold != self._threshold:
            self._threshold = threshold
            self.load(list(self._outcomes.items()))
        return (
            self._total.group(waiting, now),
            _split(self._hotlines, waiting, now, lambda c: c.hotline),
            _split(self._queues, waiting, now, lambda c: queue_of(c, now)),
        )

    def _count(self, call_id: str, outcome: CallOutcome, sign: int) -> None:
        part = part_of(outcome)
        self._total.count(call_id, part, self._threshold, sign)
        for tallies, key in ((self._hotlines, outcome.hotline), (self._queues, outcome.queue)):
            tally = tallies.setdefault(key, Tally())
            tally.count(call_id, part, self._threshold, sign)
            if tally.offered == 0:
                del tallies[key]
