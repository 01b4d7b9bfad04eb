"""Every test under tests/fuzz carries the ``fuzz`` and ``faults`` markers; the session ends with each
target's figures, also in the fault suite's combined report (tests/harness/faults.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz.profile import REPORT_ENV, TARGETS, summary_lines, write_report
from tests.harness.faults import record_fault

FUZZ_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if FUZZ_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.fuzz)
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TARGETS:
        terminalreporter.section("fuzz targets")
        for line in summary_lines():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for t in TARGETS.values():
        record_fault(f"fuzz: {t.name}", cases=t.cases, crashes=t.failures, slowest_s=round(t.slowest_seconds, 3),
                     echo=False)
    report = os.environ.get(REPORT_ENV)
    if report and TARGETS:
        write_report(Path(report))
