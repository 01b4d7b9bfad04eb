"""The hold run's counting (pure): who waited to the end, who was hung up on, who failed; the peak
of calls up at once from SIPp's statistics file."""

from __future__ import annotations

from ari_app.bench.hold import hold_counts, peak_current_calls
from ari_app.bench.parse import parse_caller_log

LOG = """\
ans 13001 100 0 100 20000
lost 13001 170 20000
ans 13002 101 0 101 500000
bye 13002 140 500000
ans 13003 102 0 102 10000
"""


def test_held_dropped_and_failed_are_told_apart() -> None:
    counts = hold_counts(parse_caller_log(LOG), placed=4, sipp_failed=None)
    assert (counts.held, counts.dropped) == (1, 1)
    assert counts.failed == 1  # four placed, three answered: one never got its 200 OK
    assert counts.call_seconds == 70.0 + 39.0  # the third is still up: no end, no seconds


def test_sipps_own_failure_count_wins() -> None:
    assert hold_counts(parse_caller_log(LOG), placed=4, sipp_failed=0).failed == 0


def test_peak_of_current_calls() -> None:
    csv = "StartTime;CurrentCall;TotalCallCreated\n0;5;5\n1;480;500\n2;499;500\n3;12;500\n"
    assert peak_current_calls(csv) == 499
    assert peak_current_calls("StartTime;Other\n0;1\n") is None
    assert peak_current_calls("") is None
