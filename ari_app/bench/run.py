"""The ramp: at each rate, the Stasis path then the app_queue path on the same machine and sandbox;
a path that fails a rate (a failed or lost call, or INVITE->200 p99 >= 200 ms) is not tried higher."""

from __future__ import annotations

import os
import platform
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.bench.hold import hold_line, run_hold
from ari_app.bench.load import StepPlan, run_step
from ari_app.bench.stack import BenchStack
from ari_app.bench.stats import highest_clean_rate, ratios
from ari_app.settings import REPO_ROOT

COMPARED = ("p50", "p95", "p99")
DEFINITIONS = {
    "attempted": "calls SIPp placed",
    "answered": "calls an agent's phone answered (found in the agents' logs by the caller's number)",
    "failed": "calls SIPp failed: no 200 OK, an error response, a timeout or an unexpected message",
    "lost": "calls Asterisk answered that no agent answered before the caller gave up (patience after the greeting)",
    "invite_to_200_ms": "from the caller's INVITE to its 200 OK, per call, SIPp's gettimeofday",
    "queue_wait_ms": "the agent's answer minus (the caller's 200 OK + the greeting's length): the wait in the "
                     "queue plus whatever delayed the greeting's start (app_queue: Answer() waits about 0.1 s "
                     "for the caller's first audio; Stasis: the app's answer and play requests)",
    "holding_entry_ms": "Stasis path: from the caller's StasisStart (Asterisk's timestamp) to the caller in the "
                        "holding bridge by hotline serve's clock, less the time the greeting and notice played "
                        "meanwhile (serve's histogram hotline_holding_entry_seconds read from /metrics before and "
                        "after the step; p50/p99 linear within a bucket: 1 ms buckets up to 10 ms)",
    "cpu_s_per_1000_calls": "CPU seconds (user + system, /proc) of each process tree during the step, from the "
                            "first call to the last channel gone, per 1,000 calls placed; also ms per call",
    "serve_peak_rss_mib": "VmHWM of hotline serve at the end of the step (a peak since it started)",
    "load_generators_cores": "cores the SIPp callers and agents (and the bench itself) kept busy on average",
    "others_busy_cores": "cores busy with processes outside the bench on average (other work on the machine)",
    "clean": "no failed and no lost call, INVITE->200 p99 under 200 ms, wait after the greeting p99 under 500 ms",
    "hold": "the hold run: callers that wait (greeting, then music) with audio both ways and nobody answering; "
            "held = waited hold_s after the greeting and hung up themselves, dropped = the far end hung up first",
}


@dataclass(frozen=True)
class Options:
    rates: tuple[float, ...]
    talk_s: float
    duration_s: float
    agents: int
    paths: tuple[str, ...]
    numbers: tuple[str, ...]
    patience_s: float
    budget_s: float  # no step starts that would end after this many seconds of the run
    caller_audio_s: float = 0.5  # seconds of audio each caller sends once answered; below 0: the whole call
    rating: bool = False  # the Stasis path asks callers to rate the call after the agent hangs up
    hold_callers: int = 0  # above 0: the hold run instead of the ramp (callers waiting, nobody answering)
    hold_rate: float = 25.0
    hold_s: float = 60.0


def greeting_seconds(name: str = "greeting") -> float:
    with wave.open(str(REPO_ROOT / "sounds" / "zh" / f"{name}.wav")) as wav:
        return float(wav.getnframes()) / float(wav.getframerate())


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "python": platform.python_version(), "commit": _git("rev-parse", "--short", "HEAD"),
            "tree_modified": bool(_git("status", "--porcelain", "--untracked-files=no"))}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def run_ramp(options: Options, work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Start the sandbox, run the ramp, stop everything; the results as one JSON-able dict."""
    started = time.monotonic()
    greeting = greeting_seconds()
    steps: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    with BenchStack.started(work, options.agents, int(options.talk_s * 1000), options.numbers, options.rating,
                            say=say) as stack:
        assert stack.asterisk is not None
        info["asterisk"] = stack.asterisk.cli("core show version").strip()
        info["startup_s"] = round(time.monotonic() - started, 1)
        active = set(options.paths) if not options.hold_callers else set()
        number = 0
        if options.hold_callers:
            say(f"hold run: {options.hold_callers} callers at {options.hold_rate:g}/s, each waiting "
                f"{options.hold_s:g} s after the greeting with audio both ways, nobody answering")
            info["hold"] = run_hold(stack, options.hold_callers, options.hold_rate, options.hold_s, greeting,
                                    options.numbers, work / "hold")
            say("  " + hold_line(info["hold"]))
        for rate in options.rates if active else ():
            for path in options.paths:
                if path not in active:
                    continue
                number += 1
                plan = StepPlan(number, path, rate, options.duration_s, options.talk_s, options.patience_s, greeting,
                                options.caller_audio_s)
                if time.monotonic() - started + plan.longest_s > options.budget_s:
                    skipped.append({"path": path, "rate": rate, "why": "time budget"})
                    continue
                say(f"step {number}: {path} at {rate:g} calls/s for {options.duration_s:g} s "
                    f"({plan.calls} calls)")
                try:
                    step = run_step(stack, plan, options.numbers, work / f"step-{number:02d}-{path}-{rate:g}")
                except (AssertionError, RuntimeError) as exc:  # e.g. agents still held by an overloaded step
                    say(f"  step {number} not run, the ramp ends here: {exc}")
                    skipped.append({"path": path, "rate": rate, "why": f"could not be set up: {exc}"[:300]})
                    active.clear()
                    break
                steps.append(step)
                say("  " + step_line(step))
                if not step["clean"]:
                    active.discard(path)
            if not active:
                break
    hold = info.pop("hold", None)
    return {
        "machine": {**machine(), **info},
        "hold": hold,
        "options": {"rates": list(options.rates), "talk_s": options.talk_s, "duration_s": options.duration_s,
                    "agents": options.agents, "paths": list(options.paths), "numbers": list(options.numbers),
                    "patience_s": options.patience_s, "greeting_s": round(greeting, 2),
                    "caller_audio_s": options.caller_audio_s if options.caller_audio_s >= 0 else "whole call",
                    "rating": options.rating, "hold_callers": options.hold_callers,
                    "hold_rate": options.hold_rate, "hold_s": options.hold_s},
        "steps": steps,
        "skipped": skipped,
        "highest_clean_rate": {path: highest_clean_rate((s["rate"], s["clean"]) for s in steps if s["path"] == path)
                               for path in options.paths},
        "ratios": compare(steps),
        "elapsed_s": round(time.monotonic() - started, 1),
        "definitions": DEFINITIONS,
    }


def compare(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At each rate both paths ran: the ratio (a) stasis / (b) queue of each figure."""
    by = {(s["path"], s["rate"]): s for s in steps}
    out = []
    for rate in sorted({s["rate"] for s in steps}):
        a, b = by.get(("stasis", rate)), by.get(("queue", rate))
        if a is None or b is None:
            continue
        waits = ("p50", "p99")
        out.append({
            "rate": rate,
            "invite_to_200_ms": ratios(_pick(a["invite_to_200_ms"], COMPARED), _pick(b["invite_to_200_ms"], COMPARED)),
            "queue_wait_ms": ratios(_pick(a["queue_wait_ms"], waits), _pick(b["queue_wait_ms"], waits)),
            "cpu_s_per_1000_calls": ratios(a["cpu_s_per_1000_calls"], b["cpu_s_per_1000_calls"]),
        })
    return out


def _pick(figures: dict[str, float | None], keys: tuple[str, ...]) -> dict[str, float | None]:
    return {k: figures.get(k) for k in keys}


def step_line(step: dict[str, Any]) -> str:
    setup, wait, cpu = step["invite_to_200_ms"], step["queue_wait_ms"], step["cpu_s_per_1000_calls"]
    held = step.get("holding_entry_ms") or {}
    queued = f"StasisStart->holding p50/p99 {held.get('p50')}/{held.get('p99')} ms; " if held else ""
    verdict = "clean" if step["clean"] else f"NOT clean: {step['why_not_clean']}"
    return (f"{step['attempted']} placed, {step['answered']} answered, {step['failed']} failed, {step['lost']} lost; "
            f"INVITE->200 p50/p95/p99 {setup['p50']}/{setup['p95']}/{setup['p99']} ms; "
            f"wait p50/p99 {wait['p50']}/{wait['p99']} ms; {queued}CPU ms/call asterisk {cpu['asterisk']} "
            f"serve {cpu['serve']} postgres {cpu['postgres']}; other processes {step['others_busy_cores']} cores; "
            f"{verdict}")
