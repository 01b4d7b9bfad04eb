"""Percentiles, one step's verdict, the ramp's decision and the ratio of the two paths (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

P99_LIMIT_MS = 200.0  # a rate is clean when INVITE->200 p99 stays under this and no call failed or was lost ...
# ... and the wait after the greeting stays under this at p99. The bench's agents are more than the calls
# need, so a longer wait is the path falling behind (the dialplan answers and greets on both paths: the
# app's delays show here, not in INVITE->200). app_queue's waits include ~0.1 s of Asterisk's strict RTP.
WAIT_P99_LIMIT_MS = 500.0


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0-100) by linear interpolation between the closest ranks (numpy's
    default); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0-100")
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float | None]:
    """``{"p50": ..., "p95": ..., "p99": ..., "max": ...}`` rounded to 0.1 (None when there are no values)."""
    out: dict[str, float | None] = {}
    for p in points:
        value = percentile(values, p)
        out[f"p{p}"] = None if value is None else round(value, 1)
    out["max"] = round(max(values), 1) if values else None
    return out


@dataclass(frozen=True)
class Verdict:
    clean: bool
    why: str  # "" when clean


def verdict(attempted: int, failed: int, lost: int, p99_ms: float | None, limit_ms: float = P99_LIMIT_MS,
            wait_p99_ms: float | None = None, wait_limit_ms: float = WAIT_P99_LIMIT_MS) -> Verdict:
    """Whether a step is clean: calls were placed, none failed or was lost, INVITE->200 p99 < limit,
    and the wait after the greeting p99 < its limit (when measured: no agent answered, nothing to judge)."""
    reasons = []
    if attempted <= 0:
        reasons.append("no call placed")
    if failed:
        reasons.append(f"{failed} failed")
    if lost:
        reasons.append(f"{lost} lost")
    if p99_ms is None:
        reasons.append("no INVITE->200 measured")
    elif p99_ms >= limit_ms:
        reasons.append(f"INVITE->200 p99 {p99_ms:g} ms >= {limit_ms:g} ms")
    if wait_p99_ms is not None and wait_p99_ms >= wait_limit_ms:
        reasons.append(f"wait after the greeting p99 {wait_p99_ms:g} ms >= {wait_limit_ms:g} ms")
    return Verdict(not reasons, ", ".join(reasons))


def highest_clean_rate(steps: Iterable[tuple[float, bool]]) -> float | None:
    """The ramp's answer for one path: the highest rate up to which every rate tried was clean.

    ``steps`` are (rate, clean) pairs in any order. A clean rate above a failed one does not count:
    a ramp stops at the first rate that fails. None when the lowest rate already failed.
    """
    best: float | None = None
    for rate, clean in sorted(steps):
        if not clean:
            break
        best = rate
    return best


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b rounded to 0.01; None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def ratios(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> dict[str, float | None]:
    """The ratio (a)/(b) of every figure both have."""
    return {key: ratio(a[key], b[key]) for key in a if key in b}


Buckets = Mapping[float, float]  # a Prometheus histogram: upper bound (le) -> cumulative count


def bucket_delta(before: Buckets, after: Buckets) -> dict[float, float]:
    """The observations made between two readings of one histogram (cumulative counts per bound)."""
    return {le: after[le] - before.get(le, 0.0) for le in after}


def bucket_percentile(buckets: Buckets, p: float) -> float | None:
    """The ``p``-th percentile of a histogram's observations, linear within the bucket it falls in
    (as Prometheus's histogram_quantile); None for no observations. Beyond the last finite bound the
    answer is that bound (the figure is then "at least")."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank = total * p / 100
    low_bound, low_count = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                return low_bound
            if count == low_count:
                return le
            return low_bound + (le - low_bound) * (rank - low_count) / (count - low_count)
        low_bound, low_count = le, count
    return low_bound
