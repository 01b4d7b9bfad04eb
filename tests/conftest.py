"""Fixtures: real PostgreSQL, Asterisk, `hotline serve`, SIPp; leak checks; artifacts on failure."""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import PORTS_ENV, port_range
from tests.harness import faults
from tests.harness.services import ServeProcess, Stack, assert_no_leaks, start_asterisk, start_postgres

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
_callers = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    """Test processes side by side (pytest-xdist) choose free ports from ranges of their own, and so
    do the services and tools they start (the variable is inherited): two processes never pick the
    same port for servers they bind a moment later."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 1:
        low, high = port_range()
        width = (high - low) // int(count)
        start = low + int(worker[2:]) * width
        os.environ[PORTS_ENV] = f"{start}-{start + width}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's combined report: the cases this session recorded (tests/harness/faults.py),
    printed and written as markdown beside the JSON lines (``fault-report.md``); by the controlling
    process only, when tests run in several (its workers have written their lines by then)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    path = faults.report_path()
    lines = faults.read_lines(path, faults.SESSION)
    if not lines:
        return
    table = faults.render(lines)
    path.with_suffix(".md").write_text(table, encoding="utf-8")
    terminalreporter.section("fault report")
    for row in table.splitlines():
        terminalreporter.write_line(row)
    terminalreporter.write_line(f"(lines in {path}, table in {path.with_suffix('.md')})")


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(request.node, f"rep_{when}", None) is not None and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A directory for this test's traces and logs; copied to test-artifacts/ if the test fails."""
    yield tmp_path
    if _failed(request):
        dest = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(tmp_path, dest, dirs_exist_ok=True)
        print(f"\n[harness] artifacts kept in {dest}")


@pytest.fixture
def caller_number() -> str:
    """A caller number unique in this test session, to find the call's record."""
    return f"1390{os.getpid() % 10000:04d}{next(_callers):03d}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = start_postgres()
    yield cluster
    cluster.destroy()
    shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared Asterisk for tests that do not stop it."""
    s = start_asterisk(f"t{os.getpid()}")
    yield s
    s.asterisk.stop()
    _keep_asterisk_logs(s, tmp_path_factory.getbasetemp() / "asterisk-shared")
    s.asterisk.remove()


def _keep_asterisk_logs(s: Stack, dest: Path) -> None:
    shutil.copytree(s.asterisk.log_dir, dest, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def serve(stack: Stack, postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """`hotline serve` connected to the shared Asterisk; ready before the first test uses it."""
    process = ServeProcess(stack, postgres.dsn, tmp_path_factory.mktemp("serve") / "serve.log").start()
    process.wait_ready(30)
    yield process
    process.stop()


@pytest.fixture
def live(serve: ServeProcess, stack: Stack, artifacts: Path) -> Iterator[ServeProcess]:
    """For integration tests on the shared stack: afterwards no channel and no bridge may be left,
    and the service must not have logged an unhandled exception. Logs are kept if the test fails."""
    log_offset = len(serve.log_text())
    serve.wait_ready(20)
    yield serve
    new_log = serve.log_text()[log_offset:]
    (artifacts / "serve.log").write_text(new_log)
    shutil.copytree(stack.asterisk.log_dir, artifacts / "asterisk", dirs_exist_ok=True)
    assert_no_leaks(stack)
    assert "loop_unhandled_exception" not in new_log, "the service's event loop recorded an unhandled exception"
    assert "call_flow_failed" not in new_log, "a call flow raised"


@pytest.fixture(autouse=True)
def _load_runs_alone(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """With tests in several processes (scripts/test: pytest-xdist), a test marked ``load`` (calls at
    a rate, to measure or to fault under load) runs alone: it takes a lock the others share, so the
    other process finishes its current test and waits. Unit tests take no lock."""
    load = request.node.get_closest_marker("load") is not None
    if os.environ.get("PYTEST_XDIST_WORKER") is None or not (load or request.node.get_closest_marker("integration")):
        yield
        return
    path = tmp_path_factory.getbasetemp().parent / "load-runs-alone.lock"  # shared by the processes of a run
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if load else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
