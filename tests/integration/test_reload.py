"""`hotline reload`: a changed registry reaches Asterisk and the service without touching calls in
progress; a broken registry is refused with its line number and nothing changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import new_password
from tests.harness.auth import ensure_account
from tests.harness.records import call_events, closed_call_from
from tests.harness.services import REPO, ServeProcess, Stack, assert_no_leaks, registry_copy, start_asterisk
from tests.harness.sipp import SippResult, place_call
from tests.harness.wait import wait_for

REGISTRY_TEXT = (REPO / "config" / "hotlines.yaml").read_text(encoding="utf-8")
REMOVED = "12316"  # whole_merge_cancelled: 12345 intake today, unknown once its entry is gone


def _entry(number: str) -> str:
    """The registry's whole entry for one hotline number, up to the next entry."""
    start = REGISTRY_TEXT.index(f'  - number: "{number}"\n')
    end = REGISTRY_TEXT.index("  - number: ", start + 1)
    return REGISTRY_TEXT[start:end]


@dataclass
class ReloadStack:
    stack: Stack
    serve: ServeProcess
    registry: Path  # the file both Asterisk's render and the service were started from

    @property
    def numbers_conf(self) -> Path:
        return self.stack.asterisk.run_dir / "etc" / "hotline-numbers.conf"


@pytest.fixture
def reload_stack(
    postgres: PostgresCluster, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[ReloadStack]:
    registry = registry_copy(artifacts / "registry" / "hotlines.yaml", {})
    name = f"rl{os.getpid() % 10**5}{abs(hash(request.node.nodeid)) % 10**4}"
    stack = start_asterisk(name, registry_path=registry)
    serve = ServeProcess(stack, postgres.dsn, artifacts / "serve.log", extra_env={"HOTLINE_REGISTRY": str(registry)})
    try:
        serve.start()
        serve.wait_ready(20)
        yield ReloadStack(stack, serve, registry)
        assert_no_leaks(stack)
        log = serve.log_text()
        assert "loop_unhandled_exception" not in log
        assert "call_flow_failed" not in log
    finally:
        serve.stop()
        stack.asterisk.stop()
        shutil.copytree(stack.asterisk.log_dir, artifacts / "asterisk", dirs_exist_ok=True)
        stack.asterisk.remove()


RELOAD_PASSWORD = "reload-" + new_password()


def run_reload(rs: ReloadStack, artifacts: Path, *more: str) -> subprocess.CompletedProcess[str]:
    state = artifacts / "reload-state"
    state.mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")},
        "HOTLINE_AMI_PORT": str(rs.stack.asterisk.ami_port),
        "HOTLINE_AMI_SECRET": rs.stack.asterisk.ami_password,
        "HOTLINE_STATE_DIR": str(state),
        "HOTLINE_API_USER": "reload-sup",
        "HOTLINE_API_PASSWORD": RELOAD_PASSWORD,
    }
    ensure_account(rs.serve.dsn, "reload-sup", "supervisor", RELOAD_PASSWORD)
    cmd = [
        sys.executable, "-m", "ari_app.cli", "reload",
        "--out", str(rs.stack.asterisk.run_dir / "etc"),
        "--registry", str(rs.registry),
        "--service", rs.serve.http, *more,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=30)
    out = artifacts / f"reload{''.join(more)}.out"
    out.write_text(f"exit {result.returncode}\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


def post(serve: ServeProcess, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(serve.http + path, method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def call(rs: ReloadStack, scenario: str, number: str, caller: str, trace_dir: Path) -> SippResult:
    return place_call(
        scenario, target_port=rs.stack.asterisk.sip_port, caller=caller, service=number, trace_dir=trace_dir,
        listen_ms=10000,
    ).wait(40)


def closed(postgres: PostgresCluster, caller: str) -> dict[str, Any]:
    record: dict[str, Any] = wait_for(lambda: closed_call_from(postgres.dsn, caller), 10, f"the record of {caller}")
    return record


def test_reload_applies_changed_registry_and_spares_call_in_progress(
    reload_stack: ReloadStack, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    rs = reload_stack
    before_caller, during_caller, after_caller = (caller_number + s for s in ("1", "2", "3"))

    # Before: 12316 is ours (whole merge, cancelled): 12345 intake takes it.
    result = call(rs, "caller-hangs-up-during-greeting", REMOVED, before_caller, artifacts / "before")
    assert result.returncode == 0, result.output[-2000:]
    record = closed(postgres, before_caller)
    assert (record["hotline"], record["route"]) == (REMOVED, "intake"), record

    # A call to 12345 that is hearing the greeting (the dialplan's, 8 s) while the reload runs; it
    # then waits in line (nobody is logged in) and hangs up.
    in_progress = place_call(
        "greeting-12345", target_port=rs.stack.asterisk.sip_port, caller=during_caller,
        trace_dir=artifacts / "during", listen_ms=15000,
    )
    wait_for(lambda: rs.stack.ari.answered_caller(during_caller), 10, "the call in progress to be answered",
             interval=0.05)

    registry_copy(rs.registry, {}, replace={_entry(REMOVED): ""})
    numbers_before = rs.numbers_conf.read_text(encoding="utf-8")
    assert f"exten => {REMOVED}," in numbers_before
    # Removing a number is shown, and refused without --force: nothing is written or reloaded.
    for refused in (run_reload(rs, artifacts, "--dry-run"), run_reload(rs, artifacts)):
        assert f"- {REMOVED} whole_merge_cancelled" in refused.stdout, refused.stdout + refused.stderr
        assert "rendered" not in refused.stdout and "asterisk:" not in refused.stdout, refused.stdout
    assert refused.returncode == 1 and "--force" in refused.stderr, refused.stderr
    assert rs.numbers_conf.read_text(encoding="utf-8") == numbers_before
    assert rs.serve.get("/registry")[1]["hotlines"] == 24
    reload = run_reload(rs, artifacts, "--force")
    still_on_the_line = in_progress.process.poll() is None
    assert reload.returncode == 0, reload.stdout + reload.stderr
    assert "service: registry reloaded (23 hotlines)" in reload.stdout, reload.stdout
    assert f"exten => {REMOVED}," not in rs.numbers_conf.read_text(encoding="utf-8")
    assert still_on_the_line, "the call ended before the reload was done: it did not span the reload"

    # The call in progress finishes normally: whole greeting, then the hotline hangs up.
    result = in_progress.wait(30)
    assert result.returncode == 0, result.output[-2000:] + result.message_log()[-3000:]
    record = closed(postgres, during_caller)
    assert record["outcome"] == "abandoned", record  # greeted, queued (nobody logged in), hung up
    prompts = [e["detail"] for e in call_events(postgres.dsn, record["call_id"]) if e["kind"] == "prompt"]
    assert prompts == [{"name": "greeting", "completed": True}], prompts

    # After: 12316 is no longer ours, in the dialplan and in the service alike.
    result = call(rs, "greeting-12345", REMOVED, after_caller, artifacts / "after")
    assert result.returncode == 0, result.output[-2000:] + result.message_log()[-3000:]
    record = closed(postgres, after_caller)
    assert (record["hotline"], record["route"], record["outcome"]) == (REMOVED, "unknown", "unknown_number"), record

    status, summary = rs.serve.get("/registry")
    assert status == 200, summary
    assert summary["reloads"] == 1 and summary["hotlines"] == 23, summary


def test_broken_registry_is_refused_and_nothing_changes(
    reload_stack: ReloadStack, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    rs = reload_stack
    good, bad = "department: tax\n    mode: subcenter\n", "department: tax\n    mode: sub-centre\n"
    registry_copy(rs.registry, {}, replace={good: bad})
    lines = rs.registry.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "mode: sub-centre" in text)
    where = f"{rs.registry}:{line}: "
    numbers_before = rs.numbers_conf.read_bytes()
    stat_before = rs.numbers_conf.stat()

    reload = run_reload(rs, artifacts)
    assert reload.returncode == 1, reload.stdout + reload.stderr
    assert where in reload.stderr and "sub-centre" in reload.stderr, reload.stderr
    assert "asterisk:" not in reload.stdout and "rendered" not in reload.stdout, reload.stdout
    # Asterisk's include files are untouched: same bytes, same file (a render replaces it).
    assert rs.numbers_conf.read_bytes() == numbers_before
    stat_after = rs.numbers_conf.stat()
    assert (stat_after.st_ino, stat_after.st_mtime_ns) == (stat_before.st_ino, stat_before.st_mtime_ns)

    status, body = post(rs.serve, "/registry/reload")
    assert status == 422, body
    assert body["reloaded"] is False
    assert any(where in problem and "sub-centre" in problem for problem in body["problems"]), body

    # The service keeps the last good registry and keeps serving.
    status, summary = rs.serve.get("/registry")
    assert status == 200 and summary["reloads"] == 0 and summary["hotlines"] == 24, summary
    result = call(rs, "greeting-12345", "12345", caller_number, artifacts / "after")
    assert result.returncode == 0, result.output[-2000:] + result.message_log()[-3000:]
    record = closed(postgres, caller_number)
    assert (record["route"], record["outcome"]) == ("intake", "abandoned"), record
