"""The survey's keys and what a caller's answer means: a pure decision, no I/O.

The caller hears the question, presses 1 (满意, satisfied), 2 (基本满意, basically satisfied) or
3 (不满意, unsatisfied). No key in time, or another key, and the question is asked once more
(``attempts`` in all); then the caller hears goodbye and the call has no rating. The ratings are
the work orders' words (ari_app.workorders.states.Rating values).
"""

from __future__ import annotations

from dataclasses import dataclass

KEYS = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}
LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


@dataclass(frozen=True)
class SurveyPolicy:
    attempts: int = 2  # the question asked at most this often (the first time and one repeat)
    answer_seconds: float = 8.0  # how long after the question ends a key is waited for


@dataclass(frozen=True)
class Rated:
    rating: str  # a KEYS value


@dataclass(frozen=True)
class AskAgain:
    attempt: int  # the attempt about to be made (2 = the repeat)


@dataclass(frozen=True)
class NoRating:
    reason: str  # "no input" or "invalid key"


Step = Rated | AskAgain | NoRating


def after_answer(key: str | None, attempt: int, policy: SurveyPolicy) -> Step:
    """What follows attempt number ``attempt`` (1-based) answered with ``key`` (None: no key in time)."""
    if key is not None and key in KEYS:
        return Rated(KEYS[key])
    if attempt < policy.attempts:
        return AskAgain(attempt + 1)
    return NoRating("no input" if key is None else "invalid key")
