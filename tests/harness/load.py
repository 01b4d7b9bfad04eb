"""Callers at a rate for the load fault cases: one SIPp process placing ``calls`` calls at ``rate``
per second with the benchmark's caller (ari_app/bench/sipp/caller.xml: a short burst of silence once
answered, no media otherwise; Asterisk's audio goes to a socket nobody reads), each call with a
caller number of its own, logged when it was answered, hung up by the far end or gave up.

``LoadResult`` says per caller what happened, counted as the fault report counts: placed, answered
(200 OK), served (the far end, an agent, hung up: the call went its whole way), gave up (nobody
talked to the caller within its patience: dropped), failed (SIPp's own count of failed calls).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ari_app.bench.parse import CallerCall, parse_caller_log, parse_stat_csv, stat_count
from ari_app.bench.stack import PORTS, SCENARIOS
from ari_app.bench.stats import summary
from tests.harness.sipp import SippCall, sipp_binary, with_timing

_loads = itertools.count(1)
SILENCE = b"\xff"  # one PCMU sample


def caller_numbers(count: int) -> list[str]:
    """``count`` caller numbers unique in this machine's test runs (the pid and a per-process load number)."""
    prefix = f"15{os.getpid() % 10000:04d}{next(_loads) % 100:02d}"
    return [f"{prefix}{i:05d}" for i in range(count)]


@dataclass
class LoadResult:
    callers: list[str]
    calls: dict[str, CallerCall]
    failed: int  # SIPp's count (no 200 OK, an error answer, an unexpected message, a timeout)
    returncode: int
    output: str

    @property
    def placed(self) -> int:
        return sum(1 for c in self.callers if c in self.calls and self.calls[c].invite_at is not None)

    @property
    def answered(self) -> list[str]:
        return [c for c in self.callers if c in self.calls and self.calls[c].answered_at is not None]

    @property
    def served(self) -> list[str]:
        """Callers whose far end hung up: the call ran its course (an agent talked, then hung up)."""
        return [c for c in self.callers if c in self.calls and self.calls[c].far_end_bye_at is not None]

    @property
    def gave_up(self) -> list[str]:
        return [c for c in self.callers if c in self.calls and self.calls[c].gave_up_at is not None]

    def invite_to_200_ms(self) -> dict[str, float | None]:
        values = [ms for c in self.callers if (call := self.calls.get(c)) and (ms := call.invite_to_200_ms) is not None]
        return summary(values)


@dataclass
class CallerLoad:
    """A running load; :meth:`wait` collects it (and kills SIPp if it outlives ``timeout``)."""

    sipp: SippCall
    callers: list[str]
    out: Path
    sink: socket.socket
    _result: LoadResult | None = field(default=None, repr=False)

    def wait(self, timeout: float) -> LoadResult:
        if self._result is None:
            try:
                finished = self.sipp.wait(timeout)
            finally:
                self.sipp.kill()
                self.sink.close()
            log = self.out / "caller.log"
            stats = self.out / "stat.csv"
            self._result = LoadResult(
                self.callers,
                parse_caller_log(log.read_text(errors="replace") if log.exists() else ""),
                stat_count(parse_stat_csv(stats.read_text(errors="replace") if stats.exists() else ""),
                           "FailedCall(C)") or 0,
                finished.returncode, finished.output,
            )
        return self._result

    def stop(self) -> None:
        """End it now (a test that failed half-way): no caller left behind."""
        self.sipp.kill()
        self.sink.close()


def start_load(sip_port: int, out: Path, *, rate: float, calls: int, number: str = "12345",
               patience_s: float = 120.0, audio_s: float = 0.5) -> CallerLoad:
    """Start ``calls`` calls to ``number`` at ``rate`` per second. A caller waits ``patience_s`` after
    its answer for the far end to hang up, then gives up (logged as lost)."""
    out.mkdir(parents=True, exist_ok=True)
    callers = caller_numbers(calls)
    (out / "calls.csv").write_text("SEQUENTIAL\n" + "".join(f"{number};{c};\n" for c in callers), encoding="ascii")
    audio = out / "audio.ulaw"
    audio.write_bytes(SILENCE * max(160, int(audio_s * 8000)))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    scenario = with_timing(SCENARIOS / "caller.xml", out, patience_ms=int(patience_s * 1000),
                           sink_port=sink.getsockname()[1], audio_file=str(audio), audio_loops=1)
    cmd = [
        sipp_binary(), f"127.0.0.1:{sip_port}", "-sf", str(scenario), "-inf", str(out / "calls.csv"),
        "-i", "127.0.0.1", "-p", str(PORTS.sip()), "-mp", str(PORTS.media()),
        "-r", f"{rate:g}", "-rp", "1000", "-m", str(calls), "-l", str(calls),
        "-timeout", f"{int(calls / rate + patience_s + 60)}s",
        "-nostdin", "-trace_logs", "-log_file", str(out / "caller.log"),
        "-trace_stat", "-stf", str(out / "stat.csv"), "-fd", "1",
        "-trace_err", "-error_file", str(out / "errors.log"),
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, errors="replace", cwd=out)
    return CallerLoad(SippCall(process, out), callers, out, sink)
