"""The hold run (``scripts/bench --hold N``): N callers dial in at a rate, nobody answers them, and
each waits with audio both ways (the caller sends audio for the whole call, Asterisk plays the
greeting and then music) for ``hold_s`` seconds after the greeting, then hangs up. The question is
whether the Stasis path carries that many waiting callers at once and loses none.

A caller who reaches the end of its wait and hangs up itself was **held**; one whom the far end
hung up on before that was **dropped**; one SIPp failed (no 200 OK, an error, a timeout) **failed**.
Figures: the most calls up at once (SIPp's own count, sampled every second), INVITE->200, and the
CPU of Asterisk, ``hotline serve`` and PostgreSQL per call and per second of call.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.bench.cpu import CpuMeter, vm_hwm_kib
from ari_app.bench.load import StepPlan, holding_buckets, holding_entry_ms, start_callers
from ari_app.bench.parse import CallerCall, parse_caller_log, parse_stat_csv, stat_count
from ari_app.bench.stack import BenchStack
from ari_app.bench.stats import summary


@dataclass(frozen=True)
class HoldCounts:
    placed: int
    held: int  # waited to the end and hung up itself
    dropped: int  # the far end hung up first
    failed: int  # SIPp failed the call
    call_seconds: float  # from each 200 OK to the call's end, summed


def hold_counts(callers: dict[str, CallerCall], placed: int, sipp_failed: int | None) -> HoldCounts:
    """Count a hold run's calls from the callers' log (pure). Without SIPp's own failure count, a call
    with no 200 OK is failed."""
    held = dropped = 0
    seconds = 0.0
    answered = 0
    for call in callers.values():
        if call.answered_at is None:
            continue
        answered += 1
        ended = call.gave_up_at if call.gave_up_at is not None else call.far_end_bye_at
        if call.far_end_bye_at is not None:
            dropped += 1
        elif call.gave_up_at is not None:
            held += 1
        if ended is not None:
            seconds += max(0.0, ended - call.answered_at)
    failed = sipp_failed if sipp_failed is not None else max(0, placed - answered)
    return HoldCounts(placed, held, dropped, failed, round(seconds, 1))


def peak_current_calls(stat_csv: str) -> int | None:
    """The highest ``CurrentCall`` over the rows of SIPp's statistics file (pure)."""
    rows = [row for row in csv.reader(io.StringIO(stat_csv), delimiter=";") if row]
    if len(rows) < 2 or "CurrentCall" not in rows[0]:
        return None
    column = rows[0].index("CurrentCall")
    values = [int(row[column]) for row in rows[1:] if len(row) > column and row[column].strip().isdigit()]
    return max(values) if values else None


def run_hold(stack: BenchStack, callers: int, rate: float, hold_s: float, greeting_s: float,
             numbers: tuple[str, ...], out: Path) -> dict[str, Any]:
    """Place ``callers`` calls at ``rate`` on the Stasis path with every agent logged out; each caller
    waits ``hold_s`` after the greeting with audio both ways. Returns the run's figures."""
    stack.use_path("queue")  # every agent logged out of the ACD: nobody is offered a caller ...
    stack.path = "hold"  # ... and the callers dial the project's numbers, not app_queue's
    plan = StepPlan(number=900, path="stasis", rate=rate, duration_s=callers / rate, talk_s=0.0,
                    patience_s=hold_s, greeting_s=greeting_s, caller_audio_s=-1.0)
    leftover_before = stack.drain(30)
    assert stack.serve is not None
    queued_before = holding_buckets(stack.serve.http)
    meter = CpuMeter(stack.pids)
    meter.start()
    began = time.monotonic()
    sipp = start_callers(stack, plan, numbers, out)
    try:
        result = sipp.wait(timeout=plan.duration_s + plan.patience_ms / 1000 + 120)
    finally:
        sipp.kill()
    leftover = stack.drain(30)
    wall = time.monotonic() - began
    measured = meter.seconds()
    queued = holding_entry_ms(queued_before, holding_buckets(stack.serve.http))
    stat_text = (out / "stat.csv").read_text(errors="replace") if (out / "stat.csv").exists() else ""
    log_text = (out / "caller.log").read_text(errors="replace") if (out / "caller.log").exists() else ""
    parsed = parse_caller_log(log_text)
    counts = hold_counts(parsed, plan.calls, stat_count(parse_stat_csv(stat_text), "FailedCall(C)"))
    cpu = {name: measured[name] for name in ("asterisk", "serve", "postgres")}
    serve_pid = stack.pids()["serve"]
    hwm = vm_hwm_kib(serve_pid) if serve_pid else None
    setup = [ms for call in parsed.values() if (ms := call.invite_to_200_ms) is not None]
    return {
        "callers": plan.calls,
        "rate": rate,
        "hold_s": hold_s,
        "placed": counts.placed,
        "held": counts.held,
        "dropped": counts.dropped,
        "failed": counts.failed,
        "peak_concurrent": peak_current_calls(stat_text),
        "invite_to_200_ms": summary(setup),
        "holding_entry_ms": queued,
        "call_seconds": counts.call_seconds,
        "cpu_s": {name: round(seconds, 2) for name, seconds in cpu.items()},
        "cpu_ms_per_call": {name: round(1000 * s / counts.placed, 1) if counts.placed else None
                            for name, s in cpu.items()},
        "cpu_ms_per_call_second": {name: round(1000 * s / counts.call_seconds, 2) if counts.call_seconds else None
                                   for name, s in cpu.items()},
        "serve_peak_rss_mib": round(hwm / 1024, 1) if hwm else None,
        "machine_busy_cores": meter.machine_busy_cores(),
        "wall_s": round(wall, 1),
        "sipp_exit": result.returncode,
        "channels_left": leftover_before + leftover,
        "none_lost": counts.dropped == 0 and counts.failed == 0 and counts.held == counts.placed,
    }


def hold_line(hold: dict[str, Any]) -> str:
    cpu = hold["cpu_ms_per_call_second"]
    return (f"{hold['placed']} callers at {hold['rate']:g}/s, held {hold['hold_s']:g} s: {hold['held']} held, "
            f"{hold['dropped']} dropped, {hold['failed']} failed; at most {hold['peak_concurrent']} at once; "
            f"INVITE->200 p99 {hold['invite_to_200_ms']['p99']} ms; StasisStart->holding bridge p99 "
            f"{(hold.get('holding_entry_ms') or {}).get('p99')} ms; CPU ms per second of call asterisk "
            f"{cpu['asterisk']} serve {cpu['serve']} postgres {cpu['postgres']}; "
            f"serve peak {hold['serve_peak_rss_mib']} MiB")
