"""ari_app.ari.stream.backoff_delay: exponential, capped, jittered into [half, full]."""

from __future__ import annotations

import math

import pytest

from ari_app.ari.stream import backoff_delay


def _full() -> float:
    return 1.0


def _zero() -> float:
    return 0.0


def test_grows_exponentially_before_the_cap() -> None:
    delays = [backoff_delay(n, 0.5, 1000.0, rand=_full) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]


def test_is_capped() -> None:
    assert backoff_delay(5, 0.5, 10.0, rand=_full) == 10.0  # 0.5 * 32 = 16 > 10
    assert backoff_delay(50, 0.5, 10.0, rand=_full) == 10.0


def test_minimum_jitter_is_half_of_the_capped_value() -> None:
    assert backoff_delay(0, 0.5, 10.0, rand=_zero) == 0.25
    assert backoff_delay(3, 0.5, 10.0, rand=_zero) == 2.0
    assert backoff_delay(20, 0.5, 10.0, rand=_zero) == 5.0


@pytest.mark.parametrize("r", [0.0, 0.001, 0.25, 0.5, 0.75, 0.999999])
@pytest.mark.parametrize("attempt", [0, 1, 4, 5, 9, 100])
def test_jitter_stays_within_half_and_full(attempt: int, r: float) -> None:
    initial, cap = 0.5, 10.0
    ceiling = min(cap, initial * 2**attempt)
    delay = backoff_delay(attempt, initial, cap, rand=lambda: r)
    assert ceiling / 2 <= delay <= ceiling
    assert delay == pytest.approx(ceiling * (0.5 + 0.5 * r))


def test_default_rand_stays_within_bounds() -> None:
    for attempt in range(40):
        ceiling = min(10.0, 0.5 * 2**attempt)
        delay = backoff_delay(attempt, 0.5, 10.0)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("attempt", [1_000, 10**6, 10**100])
def test_huge_attempt_does_not_overflow(attempt: int) -> None:
    delay = backoff_delay(attempt, 0.5, 10.0, rand=_full)
    assert delay == 10.0
    assert math.isfinite(delay)


def test_huge_attempt_with_large_initial_is_still_capped() -> None:
    delay = backoff_delay(10**9, 1e300, 30.0, rand=_zero)
    assert delay == 15.0
