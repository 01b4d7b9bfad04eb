"""The fault suite's report (tests/harness/faults.py) and the answer-latency histogram reading
(tests/harness/metrics.py): pure parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import faults
from tests.harness.metrics import answer_latency_ms, bucket_quantiles, parse_buckets


def test_cases_are_appended_and_rendered_as_one_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "report.jsonl"
    monkeypatch.setenv(faults.REPORT_ENV, str(report))
    faults.record_fault("PostgreSQL stopped 30 s", placed=5, answered=5, dropped=0, records_lost=0, duplicates=0,
                        recovery_s=1.234, writes_dropped=0)
    faults.record_fault("fuzz: agi", crashes=0, cases=300)
    report.open("a").write("not json\n" + json.dumps({"case": "other session", "session": "x"}) + "\n")

    lines = faults.read_lines(report, faults.SESSION)
    assert [line["case"] for line in lines] == ["PostgreSQL stopped 30 s", "fuzz: agi"]
    assert lines[0]["recovery_s"] == 1.23 and lines[1]["placed"] is None
    table = faults.render(lines).splitlines()
    assert table[0] == "| case | placed | answered | dropped | records_lost | duplicates | recovery_s | figures |"
    assert table[2] == "| PostgreSQL stopped 30 s | 5 | 5 | 0 | 0 | 0 | 1.23 | writes_dropped 0 |"
    assert table[3] == "| fuzz: agi |  |  |  |  |  |  | crashes 0; cases 300 |"
    assert len(faults.read_lines(report)) == 3  # every session's lines, the torn one skipped


def test_nested_figures_and_pipes_stay_in_their_cell() -> None:
    line = {"case": "a|b", "figures": {"invite_to_200_ms": {"p50": 12.0, "p99": None}}}
    assert faults.render([line]).splitlines()[2] == "| a/b |  |  |  |  |  |  | invite_to_200_ms p50=12 p99= |"
    assert faults.render([]) == "no fault case recorded\n"


def test_profiles_are_chosen_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.PROFILE_ENV, raising=False)
    assert faults.profile().name == "ci"
    monkeypatch.setenv(faults.PROFILE_ENV, "long")
    assert faults.profile().calls > faults.PROFILES["ci"].calls
    monkeypatch.setenv(faults.PROFILE_ENV, "huge")
    with pytest.raises(ValueError, match="ci, long"):
        faults.profile()


def test_answer_latency_between_two_readings_of_the_histogram() -> None:
    text = "\n".join([
        "# TYPE hotline_answer_latency_seconds histogram",
        'hotline_answer_latency_seconds_bucket{le="0.01"} 2.0',
        'hotline_answer_latency_seconds_bucket{le="0.1"} 10.0',
        'hotline_answer_latency_seconds_bucket{le="1.0"} 20.0',
        'hotline_answer_latency_seconds_bucket{le="+Inf"} 21.0',
        "hotline_answer_latency_seconds_count 21.0",
    ])
    after = parse_buckets(text)
    assert after[float("inf")] == 21.0
    before = {0.01: 2.0, 0.1: 2.0, 1.0: 2.0, float("inf"): 2.0}
    # 0, 8, 18, 19 answers up to 10 ms, 100 ms, 1 s, beyond: the median in the 1 s bucket, p95 beyond it
    assert answer_latency_ms(before, after) == {"count": 19.0, "p50": 1000.0, "p95": None, "p99": None}
    assert bucket_quantiles({0.01: 0.0, float("inf"): 0.0}) == {"count": 0.0, "p50": None, "p95": None, "p99": None}
