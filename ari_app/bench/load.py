"""One step of load: SIPp callers at a rate for a while, then the step's figures.

Every call takes a line of an injection file: the number it dials (alternating over the bench's
numbers; ``aq-`` in front on the app_queue path) and a caller number unique in the run
(``1`` + step + call), by which the agent who answered is found in the agents' logs.
"""

from __future__ import annotations

import math
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.bench.cpu import CpuMeter, per_thousand_calls, vm_hwm_kib
from ari_app.bench.parse import merge_agent_logs, parse_caller_log, parse_stat_csv, stat_count, step_calls
from ari_app.bench.stack import PORTS, QUEUE_PREFIX, SCENARIOS, BenchStack
from ari_app.bench.stats import Buckets, bucket_delta, bucket_percentile, summary, verdict
from tests.harness.sipp import SippCall, sipp_binary, with_timing

PCMU_SILENCE = b"\xff"  # one sample


@dataclass(frozen=True)
class StepPlan:
    number: int  # 1, 2, ... in the run (part of every caller number)
    path: str  # stasis | queue
    rate: float  # calls per second
    duration_s: float
    talk_s: float
    patience_s: float  # how long after the greeting a caller waits for an agent before hanging up
    greeting_s: float
    caller_audio_s: float = 0.5  # seconds of audio a caller sends once answered; below 0: the whole call

    @property
    def calls(self) -> int:
        return max(1, math.ceil(self.rate * self.duration_s))

    def caller(self, index: int) -> str:
        return f"1{self.number:03d}{index:06d}"

    @property
    def patience_ms(self) -> int:
        """The caller's wait for the far end's BYE, from its 200 OK: greeting, queue, talk."""
        return int((self.greeting_s + self.patience_s + self.talk_s) * 1000)

    @property
    def longest_s(self) -> float:
        """How long the step may take when callers wait to the end of their patience (the time budget
        keeps room for that): new calls, then the last caller's greeting, wait and talk, then clearing."""
        return self.duration_s + self.patience_ms / 1000 + 10


def injection_file(plan: StepPlan, numbers: tuple[str, ...], dest: Path) -> Path:
    prefix = QUEUE_PREFIX if plan.path == "queue" else ""
    lines = ["SEQUENTIAL"]
    lines += [f"{prefix}{numbers[i % len(numbers)]};{plan.caller(i)};" for i in range(plan.calls)]
    dest.write_text("\n".join(lines) + "\n", encoding="ascii")
    return dest


def start_callers(stack: BenchStack, plan: StepPlan, numbers: tuple[str, ...], out: Path) -> SippCall:
    out.mkdir(parents=True, exist_ok=True)
    audio, loops = out / "audio.ulaw", 1
    if plan.caller_audio_s < 0:
        audio.write_bytes(PCMU_SILENCE * 8000)  # a second, looped until the call ends
        loops = -1
    else:
        audio.write_bytes(PCMU_SILENCE * max(160, int(plan.caller_audio_s * 8000)))
    scenario = with_timing(SCENARIOS / "caller.xml", out, patience_ms=plan.patience_ms, sink_port=stack.sink_port,
                           audio_file=str(audio), audio_loops=loops)
    limit = max(100, math.ceil(plan.rate * (plan.patience_ms / 1000 + 30)))
    cmd = [
        sipp_binary(), f"127.0.0.1:{stack.sip_port}", "-sf", str(scenario),
        "-inf", str(injection_file(plan, numbers, out / "calls.csv")),
        "-i", "127.0.0.1", "-p", str(PORTS.sip()), "-mp", str(PORTS.media()),
        "-r", f"{plan.rate:g}", "-rp", "1000", "-m", str(plan.calls), "-l", str(limit),
        "-timeout", f"{int(plan.duration_s + plan.patience_ms / 1000 + 60)}s",
        "-nostdin", "-trace_logs", "-log_file", str(out / "caller.log"),
        "-trace_stat", "-stf", str(out / "stat.csv"), "-fd", "1",
        "-trace_err", "-error_file", str(out / "errors.log"),
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, errors="replace", cwd=out)
    return SippCall(process, out)


HOLDING_ENTRY = "hotline_holding_entry_seconds"  # hotline serve's histogram (ari_app.metrics.instruments)


def holding_buckets(serve_http: str) -> dict[float, float]:
    """hotline serve's StasisStart -> holding bridge histogram from its /metrics (open on this host);
    {} when it cannot be read."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(serve_http + "/metrics", timeout=5) as response:  # noqa: S310 (our http URL)
            text = response.read().decode()
    except OSError:
        return {}
    return {float(sample.labels["le"]): sample.value for family in text_string_to_metric_families(text)
            if family.name == HOLDING_ENTRY for sample in family.samples if sample.name.endswith("_bucket")}


def holding_entry_ms(before: Buckets, after: Buckets) -> dict[str, float | None]:
    """p50/p99 (ms, linear within a bucket) and count of the callers queued between two readings."""
    step = bucket_delta(before, after)
    out: dict[str, float | None] = {}
    for p in (50, 99):
        value = bucket_percentile(step, p)
        out[f"p{p}"] = None if value is None else round(value * 1000, 1)
    out["count"] = max(step.values()) if step else None
    return out


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def run_step(stack: BenchStack, plan: StepPlan, numbers: tuple[str, ...], out: Path) -> dict[str, Any]:
    """Place the step's calls on ``plan.path``, wait for every call to end, return its figures."""
    stack.use_path(plan.path)
    leftover_before = stack.drain(30)
    assert stack.serve is not None
    queued_before = holding_buckets(stack.serve.http)
    meter = CpuMeter(stack.pids)
    meter.start()
    began = time.monotonic()
    callers = start_callers(stack, plan, numbers, out)
    try:
        result = callers.wait(timeout=plan.duration_s + plan.patience_ms / 1000 + 90)
    finally:
        callers.kill()  # interrupted: no caller left behind
    leftover = stack.drain(30)
    wall = time.monotonic() - began
    measured = meter.seconds()
    machine = meter.machine_busy_cores()
    queued = holding_entry_ms(queued_before, holding_buckets(stack.serve.http)) if plan.path == "stasis" else None
    cpu = {name: measured[name] for name in ("asterisk", "serve", "postgres")}
    generators = max(0.0, measured["bench"] - measured["asterisk"] - measured["serve"])  # SIPp and the bench

    calls = step_calls(
        parse_caller_log(_read(out / "caller.log")),
        {c: at for c, at in merge_agent_logs(stack.agent_logs()).items() if c.startswith(plan.caller(0)[:4])},
        plan.calls,
        stat_count(parse_stat_csv(_read(out / "stat.csv")), "FailedCall(C)"),
        plan.greeting_s,
    )
    setup = summary(calls.invite_to_200_ms)
    waits = summary(calls.queue_wait_ms, (50, 99))
    judged = verdict(calls.attempted, calls.failed, calls.lost, setup["p99"], wait_p99_ms=waits["p99"])
    per_1000 = {name: per_thousand_calls(seconds, calls.attempted) for name, seconds in cpu.items()}
    per_1000["total"] = per_thousand_calls(sum(cpu.values()), calls.attempted)
    serve_pid = stack.pids()["serve"]
    hwm = vm_hwm_kib(serve_pid) if serve_pid else None
    return {
        "path": plan.path,
        "rate": plan.rate,
        "duration_s": plan.duration_s,
        "attempted": calls.attempted,
        "answered": calls.answered,
        "failed": calls.failed,
        "lost": calls.lost,
        "invite_to_200_ms": setup,
        "queue_wait_ms": waits,
        "holding_entry_ms": queued,
        "cpu_s": {name: round(seconds, 2) for name, seconds in cpu.items()},
        "cpu_s_per_1000_calls": per_1000,
        "serve_peak_rss_mib": round(hwm / 1024, 1) if hwm else None,
        "load_generators_cores": round(generators / wall, 2),
        "machine_busy_cores": machine,
        "others_busy_cores": round(max(0.0, machine - (sum(cpu.values()) + generators) / wall), 2),
        "clean": judged.clean,
        "why_not_clean": judged.why,
        "wall_s": round(wall, 1),
        "sipp_exit": result.returncode,
        "channels_left": leftover_before + leftover,
    }
