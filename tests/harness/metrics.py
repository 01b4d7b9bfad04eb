"""The service's answer-latency histogram (``GET /metrics``), read before and after a load phase
to tell that phase's answer latencies apart (pure parsing and estimating, one HTTP read)."""

from __future__ import annotations

import math
import re
import urllib.request

NAME = "hotline_answer_latency_seconds"
_BUCKET = re.compile(NAME + r'_bucket\{le="([^"]+)"\} ([0-9.e+]+)')


def parse_buckets(text: str) -> dict[float, float]:
    """Upper bound (seconds; ``+Inf`` as infinity) -> cumulative count, from Prometheus text."""
    return {float(le): float(count) for le, count in _BUCKET.findall(text)}


def histogram_buckets(http: str) -> dict[float, float]:
    with urllib.request.urlopen(f"{http}/metrics", timeout=10) as response:
        return parse_buckets(response.read().decode())


def bucket_quantiles(cumulative: dict[float, float], points: tuple[int, ...] = (50, 95, 99)) -> dict[str, float | None]:
    """``{"count": n, "p50": ms, ...}``: each percentile as the upper bound (ms) of the first bucket
    whose cumulative count reaches it; None when there is no observation or it lies beyond the last
    finite bound."""
    bounds = sorted(cumulative)
    total = cumulative[bounds[-1]] if bounds else 0.0
    out: dict[str, float | None] = {"count": total}
    for p in points:
        value: float | None = None
        if total > 0:
            wanted = total * p / 100
            bound = next(b for b in bounds if cumulative[b] >= wanted)
            value = None if math.isinf(bound) else round(bound * 1000, 1)
        out[f"p{p}"] = value
    return out


def answer_latency_ms(before: dict[float, float], after: dict[float, float]) -> dict[str, float | None]:
    """The answers between two readings: how many, and p50/p95/p99 by bucket upper bound (ms)."""
    return bucket_quantiles({le: after.get(le, 0.0) - before.get(le, 0.0) for le in after})
