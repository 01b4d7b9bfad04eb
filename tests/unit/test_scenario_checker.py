"""What a scenario run observed against what it expects (pure), and how results are reported."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ari_app.scenarios.checker import Observation, check, in_order
from ari_app.scenarios.model import Expect
from ari_app.scenarios.report import progress_line, summary_table, write_junit
from ari_app.scenarios.runner import Result

EXPECT = Expect(dial="12349", min_voiced_seconds=8.0, record=(("route", "intercept"), ("outcome", "abandoned")),
                events=("answered", "prompt", "queued"), prompts=("intercept-12349",))


def _seen(**changes: object) -> Observation:
    seen = Observation(target="127.0.0.1:5060", sipp_exit=0, invite_responses=[100, 200], voiced_seconds=15.0,
                       rtp_packets=900, record={"route": "intercept", "outcome": "abandoned"},
                       events=["answered", "caller_profile", "prompt", "prompt", "queued"],
                       prompts_completed=["greeting", "intercept-12349"])
    for key, value in changes.items():
        setattr(seen, key, value)
    return seen


def test_a_call_as_expected_passes() -> None:
    assert check(EXPECT, _seen(), {}, database=True) == []


def test_no_answer_from_the_target_says_where_it_called() -> None:
    failures = check(EXPECT, _seen(invite_responses=[], sipp_exit=None), {}, database=True)
    assert failures == ["no SIP response to the INVITE from 127.0.0.1:5060: is Asterisk listening there (--target)?"]


def test_a_404_says_the_dialplan_may_be_missing_and_nothing_else() -> None:
    failures = check(EXPECT, _seen(invite_responses=[100, 404], sipp_exit=1, record=None), {}, database=True)
    assert failures == ["INVITE to 12349 answered 404 Not Found, expected 200 OK: "
                        "is the hotline dialplan deployed on the target?"]


def test_audio_peers_and_record_are_each_reported() -> None:
    seen = _seen(voiced_seconds=2.0, peer_rings={"agent 1001": 0},
                 record={"route": "intake", "outcome": "abandoned"}, events=["answered", "queued", "prompt"],
                 prompts_completed=["greeting"])
    failures = check(EXPECT, seen, {"agent 1001": 1, "department": None}, database=True)
    assert failures == [
        "caller heard 2.0s of audio (900 RTP packets), expected at least 8s",
        "agent 1001 was rung 0 time(s), expected 1",
        "record.route is 'intake', expected 'intercept'",
        "events answered, queued, prompt lack answered, prompt, queued in this order",
        "prompt(s) intercept-12349 not played to the end (played: greeting)",
    ]


def test_without_a_database_records_are_not_checked_and_sipp_exit_is() -> None:
    assert check(EXPECT, _seen(record=None), {}, database=False) == []
    assert check(EXPECT, _seen(record=None), {}, database=True) == [
        "no closed call record for this caller in the database"]
    failures = check(EXPECT, _seen(sipp_exit=1, sipp_tail="stats\nAborting call on unexpected message\n"), {}, True)
    assert failures == ["SIPp exit 1, expected 0: Aborting call on unexpected message"]


def test_too_much_audio_fails_when_a_maximum_is_set() -> None:
    expect = Expect(dial="99999", max_voiced_seconds=10.0)
    assert check(expect, _seen(), {}, database=False) == [
        "caller heard 15.0s of audio (900 RTP packets), expected at most 10s"]


def test_in_order_allows_others_between() -> None:
    assert in_order(["a", "c"], ["a", "b", "c"]) and not in_order(["c", "a"], ["a", "b", "c"])


def test_summary_table_and_junit(tmp_path: Path) -> None:
    results = [Result("ok", "passes", True, 1.5, [], None),
               Result("bad", "fails", False, 8.0, ["INVITE to 12345 answered 404 Not Found", "second"], tmp_path)]
    table = summary_table(results)
    assert "\nok        PASS      1.5s  \n" in table
    assert "\nbad       FAIL      8.0s  INVITE to 12345 answered 404 Not Found (+1 more)" in table
    assert "1 passed, 1 failed, 2 scenarios" in table and f"SIPp traces of bad: {tmp_path}" in table
    assert progress_line(results[1], 2, 10) == "[ 2/10] FAIL bad (8.0s)  INVITE to 12345 answered 404 Not Found"
    write_junit(results, tmp_path / "junit.xml", "127.0.0.1:5060")
    suite = ET.parse(tmp_path / "junit.xml").getroot()  # noqa: S314 (our own file)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase[@name='bad']/failure")
    assert failure is not None and failure.get("message") == "INVITE to 12345 answered 404 Not Found"
    assert suite.find("testcase[@name='ok']/failure") is None
