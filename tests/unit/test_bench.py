"""scripts/bench's pure parts: percentiles, a step's verdict and the ramp's decision, what SIPp
wrote (caller and agent logs, the statistics CSV), CPU accounting from /proc, and the bench-only
Asterisk configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.bench.__main__ import MAX_AGENTS, auto_agents
from ari_app.bench.cpu import (
    ProcStat,
    busy_cores,
    parse_cpu_line,
    parse_stat,
    parse_vm_hwm,
    per_thousand_calls,
    tree_ticks,
)
from ari_app.bench.load import StepPlan, injection_file
from ari_app.bench.output import table
from ari_app.bench.parse import (
    merge_agent_logs,
    parse_agent_log,
    parse_caller_log,
    parse_stat_csv,
    stat_count,
    step_calls,
)
from ari_app.bench.run import compare
from ari_app.bench.stack import agent_credentials, bench_dialplan, bench_queue, write_bench_seats
from ari_app.bench.stats import highest_clean_rate, percentile, ratio, summary, verdict
from ari_app.seats.loader import load_seats
from tests.harness.sipp import Account

# -- percentiles ------------------------------------------------------------------------------


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5  # order does not matter
    assert percentile(range(1, 101), 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    assert percentile([1, 2, 3], 0) == 1 and percentile([1, 2, 3], 100) == 3


def test_p99_of_a_hundred_calls_sees_the_one_slow_call() -> None:
    values = [5.0] * 99 + [900.0]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 99) == pytest.approx(5.0 + 0.01 * 895.0)
    assert summary(values)["max"] == 900.0


def test_percentile_of_nothing_is_none_and_of_nonsense_an_error() -> None:
    assert percentile([], 50) is None
    assert summary([]) == {"p50": None, "p95": None, "p99": None, "max": None}
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# -- a step's verdict and the ramp ------------------------------------------------------------


def test_a_clean_step_has_no_failed_or_lost_call_and_p99_under_200_ms() -> None:
    assert verdict(300, 0, 0, 199.9).clean
    slow = verdict(300, 0, 0, 200.0)
    assert not slow.clean and "p99 200 ms >= 200 ms" in slow.why
    assert verdict(300, 1, 0, 10).why == "1 failed"
    assert verdict(300, 0, 2, 10).why == "2 lost"
    assert not verdict(0, 0, 0, None).clean


def test_a_clean_step_keeps_the_wait_after_the_greeting_under_half_a_second() -> None:
    # The dialplan answers and greets on both paths: an app that falls behind shows in the wait.
    assert verdict(300, 0, 0, 10, wait_p99_ms=499.9).clean
    behind = verdict(300, 0, 0, 10, wait_p99_ms=2131.1)
    assert not behind.clean and behind.why == "wait after the greeting p99 2131.1 ms >= 500 ms"
    assert verdict(300, 0, 0, 10, wait_p99_ms=None).clean  # no agent answered: nothing to judge


def test_highest_clean_rate_stops_at_the_first_failed_rate() -> None:
    assert highest_clean_rate([(30, False), (10, True), (20, True), (40, True)]) == 20
    assert highest_clean_rate([(10, True), (20, True)]) == 20
    assert highest_clean_rate([(10, False), (20, True)]) is None
    assert highest_clean_rate([]) is None


def test_ratio_of_the_two_paths() -> None:
    assert ratio(30.0, 10.0) == 3.0
    assert ratio(1.0, 3.0) == 0.33
    assert ratio(None, 1.0) is None and ratio(1.0, 0.0) is None


def _step(path: str, rate: float, p99: float, cpu_total: float) -> dict[str, object]:
    figures = {"p50": p99 / 2, "p95": p99, "p99": p99, "max": p99}
    return {"path": path, "rate": rate, "attempted": 10, "answered": 10, "failed": 0, "lost": 0,
            "invite_to_200_ms": figures, "queue_wait_ms": {"p50": 1.0, "p99": 2.0, "max": 2.0},
            "cpu_s_per_1000_calls": {"asterisk": 1.0, "serve": 2.0, "postgres": 3.0, "total": cpu_total},
            "serve_peak_rss_mib": 100.0, "load_generators_cores": 0.4, "others_busy_cores": 0.1,
            "clean": p99 < 200, "why_not_clean": ""}


def test_compare_gives_a_over_b_at_rates_both_paths_ran() -> None:
    steps = [_step("stasis", 10, 30, 60), _step("queue", 10, 10, 20), _step("stasis", 20, 300, 60)]
    [only] = compare(steps)
    assert only["rate"] == 10
    assert only["invite_to_200_ms"] == {"p50": 3.0, "p95": 3.0, "p99": 3.0}
    assert only["cpu_s_per_1000_calls"]["total"] == 3.0


def test_table_has_a_row_per_step_and_the_verdict() -> None:
    steps = [_step("stasis", 10, 30, 60), _step("queue", 10, 10, 20)]
    results = {"steps": steps, "ratios": compare(steps), "highest_clean_rate": {"stasis": 10.0, "queue": None},
               "skipped": [{"path": "queue", "rate": 20.0, "why": "time budget"}]}
    text = table(results)
    assert "| (a) Stasis app | 10 | 10 | 10 | 0 | 0 | 15 / 30 / 30 |" in text
    assert "Highest clean rate, (a) Stasis app: 10 calls/s" in text
    assert "Highest clean rate, (b) app_queue: none of the rates tried" in text
    assert "Not run: (b) app_queue at 20 calls/s (time budget)" in text


def test_a_hold_run_alone_shows_no_empty_ramp() -> None:
    hold = {"placed": 500, "rate": 25.0, "hold_s": 60.0, "held": 500, "dropped": 0, "failed": 0,
            "peak_concurrent": 500, "invite_to_200_ms": {"p99": 11.0}, "holding_entry_ms": {"p99": 44.0},
            "cpu_ms_per_call_second": {"asterisk": 2.39, "serve": 0.11, "postgres": 0.04}, "serve_peak_rss_mib": 193.8}
    results = {"steps": [], "ratios": [], "highest_clean_rate": {"stasis": None, "queue": None}, "skipped": [],
               "hold": hold}
    text = table(results)
    assert text == ("- Hold run, Stasis path: 500 callers at 25/s, held 60 s: 500 held, 0 dropped, 0 failed; at most "
                    "500 at once; INVITE->200 p99 11.0 ms; StasisStart->holding bridge p99 44.0 ms; CPU ms per second "
                    "of call asterisk 2.39 serve 0.11 postgres 0.04; serve peak 193.8 MiB\n")


# -- what SIPp wrote --------------------------------------------------------------------------

CALLER_LOG = """\
ans 1001000000 1796044095.000000 306048.000000 1796044095.000000 316814.000000
ans 1001000001 1796044095.000000 506494.000000 1796044096.000000 6494.000000
bye 1001000000 1796044105.000000 400000.000000
ans 1001000002 1796044095.000000 900000.000000 1796044095.000000 910000.000000
lost 1001000002 1796044125.000000 0.000000
ans 1001000003 179604
"""
AGENT_LOGS = [
    "inv sip:1001000000@ 1796044103.000000 416814.000000\n",
    "inv sip:1001000001@ 1796044104.000000 6494.000000\ninv sip:9999@ 1.000000 0.000000\n",
]


def test_caller_log_gives_invite_to_200_per_call() -> None:
    calls = parse_caller_log(CALLER_LOG)
    assert calls["1001000000"].invite_to_200_ms == pytest.approx(10.766, abs=1e-3)
    assert calls["1001000001"].invite_to_200_ms == pytest.approx(500.0, abs=1e-3)  # across a second boundary
    assert calls["1001000000"].far_end_bye_at == pytest.approx(1796044105.4)
    assert calls["1001000002"].gave_up_at == 1796044125.0
    assert "1001000003" not in calls  # a torn last line is skipped


def test_agent_logs_map_callers_to_the_first_answer() -> None:
    assert parse_agent_log("inv sip:123@ 10.000000 500000.000000\ninv sip:123@ 20.000000 0.000000\n") == {
        "123": 10.5}
    merged = merge_agent_logs(["inv sip:5@ 3.000000 0.000000\n", "inv sip:5@ 2.000000 0.000000\n"])
    assert merged == {"5": 2.0}
    assert parse_agent_log("garbage\ninv x 1 2\n") == {}


def test_step_calls_counts_answered_lost_failed_and_times_the_wait_after_the_greeting() -> None:
    calls = step_calls(parse_caller_log(CALLER_LOG), merge_agent_logs(AGENT_LOGS), attempted=5,
                       sipp_failed=None, greeting_s=8.0)
    assert (calls.attempted, calls.answered, calls.lost) == (5, 2, 1)
    assert calls.failed == 2  # five placed, three got a 200 OK
    assert len(calls.invite_to_200_ms) == 3
    # agent at +8.1 s and +8.0 s after the 200 OK, less the 8 s greeting
    assert sorted(calls.queue_wait_ms) == pytest.approx([0.0, 100.0], abs=1e-3)
    assert step_calls({}, {}, attempted=5, sipp_failed=1, greeting_s=8.0).failed == 1  # SIPp's own count wins


STAT_CSV = (
    "StartTime;CurrentTime;OutgoingCall(C);SuccessfulCall(C);FailedCall(C);ResponseTime1(C);\n"
    "2026-11-30\t13:08:15.1 1.1;2026-11-30\t13:08:16.1 2.1;50;40;0;00:00:00:009000;\n"
    "2026-11-30\t13:08:15.1 1.1;2026-11-30\t13:08:37.3 3.3;100;97;3;00:00:00:009000;\n"
)


def test_stat_csv_last_row_by_column() -> None:
    stats = parse_stat_csv(STAT_CSV)
    assert stat_count(stats, "OutgoingCall(C)") == 100
    assert stat_count(stats, "FailedCall(C)") == 3
    assert stat_count(stats, "ResponseTime1(C)") is None  # not a count
    assert stat_count(stats, "NoSuchColumn") is None
    assert parse_stat_csv(STAT_CSV.splitlines()[0]) == {}


# -- CPU accounting ---------------------------------------------------------------------------


def _stat_line(pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int = 0, cstime: int = 0) -> str:
    fields = ["S", str(ppid), *["0"] * 9, str(utime), str(stime), str(cutime), str(cstime), "20", "0"]
    return f"{pid} ({comm}) {' '.join(fields)}\n"


def test_parse_stat_counts_fields_after_the_last_parenthesis() -> None:
    stat = parse_stat(_stat_line(42, "hotline (serve) x", 1, 100, 20, 3, 4))
    assert stat == ProcStat(42, 1, 127)


def test_a_tree_counts_live_descendants_and_reaped_children_once() -> None:
    stats = {
        10: ProcStat(10, 1, 50),  # the postmaster: 30 of its own + 20 of backends that exited
        11: ProcStat(11, 10, 7),  # a backend
        12: ProcStat(12, 11, 3),  # its child
        20: ProcStat(20, 1, 1000),  # someone else
    }
    assert tree_ticks(10, stats) == 60
    assert tree_ticks(11, stats) == 10
    assert tree_ticks(99, stats) == 0  # gone


def test_cpu_per_thousand_calls_is_milliseconds_per_call() -> None:
    assert per_thousand_calls(6.0, 300) == 20.0
    assert per_thousand_calls(1.0, 0) is None


def test_machine_busy_cores_and_peak_rss() -> None:
    before = parse_cpu_line("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
    after = parse_cpu_line("cpu  400 0 200 1000 100 0 0 0 0 0\n")
    assert before == (200, 1000) and after == (600, 1700)
    assert busy_cores(before, after, 2) == pytest.approx(400 / 700 * 2, abs=0.01)
    assert parse_vm_hwm("Name:\tpython\nVmHWM:\t  125440 kB\nVmRSS:\t 1 kB\n") == 125440
    assert parse_vm_hwm("Name:\tx\n") is None


# -- the bench's calls and configuration ------------------------------------------------------


def test_injection_file_alternates_numbers_with_unique_callers(tmp_path: Path) -> None:
    plan = StepPlan(number=7, path="queue", rate=2, duration_s=1.5, talk_s=1, patience_s=10, greeting_s=8)
    lines = injection_file(plan, ("12345", "12336"), tmp_path / "calls.csv").read_text().splitlines()
    assert lines == ["SEQUENTIAL", "aq-12345;1007000000;", "aq-12336;1007000001;", "aq-12345;1007000002;"]
    stasis = StepPlan(number=8, path="stasis", rate=1, duration_s=1, talk_s=1, patience_s=10, greeting_s=8)
    assert injection_file(stasis, ("12345",), tmp_path / "s.csv").read_text().splitlines()[1] == "12345;1008000000;"
    assert plan.patience_ms == 19000  # greeting + patience + talk


def test_bench_dialplan_and_queue() -> None:
    dialplan = bench_dialplan(("12345", "12336"), "greeting")
    assert "[hotline-inbound]" in dialplan
    assert "exten => aq-12336,1,Set(CHANNEL(language)=zh)" in dialplan
    assert dialplan.count(" same => n,Playback(greeting)") == 2
    assert dialplan.count(" same => n,Queue(bench-app-queue,t)") == 2
    queue = bench_queue(["agent-7001", "agent-7002"])
    assert "autofill = yes" in queue and "ringinuse = no" in queue
    assert queue.rstrip().endswith("member => PJSIP/agent-7001\nmember => PJSIP/agent-7002")


def test_auto_agents_cover_the_top_rate_within_the_service_limit() -> None:
    assert auto_agents(40, 1.5) == 90
    assert auto_agents(500, 2) == MAX_AGENTS


def test_bench_seats_end_the_call_with_the_agent_unless_rating_is_asked_for(tmp_path: Path) -> None:
    seats = load_seats(write_bench_seats(tmp_path / "seats.yaml", ["7001", "7002"], rating=False))
    assert seats.endpoints == ["agent-7001", "agent-7002"]
    assert seats.policy.wrap_up == 0
    assert getattr(seats.policy, "rating_after_call", False) is False


def test_the_agent_phones_credentials_give_one_line_per_agent_and_refuse_what_sipp_cannot_carry() -> None:
    accounts = [Account("agent-7001", "aB3-_x", 5060), Account("agent-7002", "Zz9", 5060)]
    assert agent_credentials(accounts).splitlines() == [
        "SEQUENTIAL",
        "agent-7001;[authentication username=agent-7001 password=aB3-_x]",
        "agent-7002;[authentication username=agent-7002 password=Zz9]",
    ]
    for password in ("a;b", "a]b", "a b"):
        with pytest.raises(ValueError, match="agent-7003"):
            agent_credentials([Account("agent-7003", password, 5060)])
