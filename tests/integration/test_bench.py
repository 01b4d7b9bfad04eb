"""scripts/bench end to end at one tiny rate: both paths run on one sandbox, every call reaches an
agent, the results are written, and nothing the bench started is left running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.services import REPO

pytestmark = pytest.mark.integration


def _processes_mentioning(*needles: str) -> list[str]:
    """Command lines of the processes whose command line or environment holds one of ``needles``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if any(n in cmdline or n in environ for n in needles):
            found.append(cmdline)
    return found


def test_a_tiny_bench_run_measures_both_paths_and_stops_everything(tmp_path: Path) -> None:
    out = tmp_path / "results"
    bench = subprocess.Popen(
        [sys.executable, "-m", "ari_app.bench", "--rates", "2", "--duration", "2", "--talk", "0.5",
         "--agents", "2", "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _, stderr = bench.communicate(timeout=110)
    finally:
        bench.kill()
    assert bench.returncode == 0, stderr[-3000:]
    results = json.loads((out / "latest" / "results.json").read_text())
    assert [(s["path"], s["rate"]) for s in results["steps"]] == [("stasis", 2.0), ("queue", 2.0)]
    for step in results["steps"]:
        assert (step["attempted"], step["answered"], step["failed"], step["lost"]) == (4, 4, 0, 0), step
        assert step["invite_to_200_ms"]["p99"] is not None
        assert step["queue_wait_ms"]["p50"] is not None
        assert step["cpu_s_per_1000_calls"]["asterisk"] > 0
    assert results["steps"][0]["serve_peak_rss_mib"] > 10
    assert set(results["highest_clean_rate"]) == {"stasis", "queue"}
    assert "| (b) app_queue | 2 |" in (out / "latest" / "table.md").read_text()
    # SIPp and hotline serve have the results folder in their command line or environment, Asterisk
    # its sandbox (named after the bench's pid); PostgreSQL ran in a temporary directory, now gone.
    assert not _processes_mentioning(str(out), f"/bench-{bench.pid}/")
    assert not list(out.rglob("agents.csv"))  # the phones' SIP passwords are not left in the results
