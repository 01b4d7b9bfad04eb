"""Every test under tests/fuzz carries the ``fuzz`` marker; the session ends with each target's figures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz.profile import REPORT_ENV, TARGETS, summary_lines, write_report

FUZZ_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if FUZZ_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.fuzz)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TARGETS:
        terminalreporter.section("fuzz targets")
        for line in summary_lines():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    report = os.environ.get(REPORT_ENV)
    if report and TARGETS:
        write_report(Path(report))
