"""ari_app.bench.stats: percentiles read from a Prometheus histogram (the app's StasisStart -> holding bridge)."""

from __future__ import annotations

import pytest

from ari_app.bench.stats import bucket_delta, bucket_percentile


def test_a_histograms_percentiles_between_two_readings() -> None:
    inf = float("inf")
    before = {0.001: 10.0, 0.002: 10.0, 0.005: 10.0, 0.01: 10.0, inf: 10.0}
    after = {0.001: 10.0, 0.002: 60.0, 0.005: 108.0, 0.01: 110.0, inf: 110.0}
    step = bucket_delta(before, after)  # 100 new: 50 in (1, 2] ms, 48 in (2, 5], 2 in (5, 10]
    assert step == {0.001: 0.0, 0.002: 50.0, 0.005: 98.0, 0.01: 100.0, inf: 100.0}
    assert bucket_percentile(step, 50) == pytest.approx(0.002)
    assert bucket_percentile(step, 99) == pytest.approx(0.0075)  # halfway into (5, 10] ms
    assert bucket_percentile({0.001: 0.0, inf: 0.0}, 99) is None
    assert bucket_percentile({0.001: 0.0, 0.002: 1.0, inf: 2.0}, 99) == 0.002  # beyond the last bound: at least it
