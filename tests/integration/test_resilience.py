"""The service survives Asterisk going away, its own restart, and a wrong ARI password."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port
from tests.harness.records import call_events, calls_from, closed_call_from
from tests.harness.services import ServeProcess, Stack, start_asterisk
from tests.harness.sipp import place_call
from tests.harness.wait import wait_for


@pytest.fixture
def own_stack(artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """An Asterisk of this test's own, which the test may kill."""
    stack = start_asterisk(f"r{abs(hash(request.node.nodeid)) % 10**6}")
    yield stack
    stack.asterisk.stop()
    shutil.copytree(stack.asterisk.log_dir, artifacts / "asterisk", dirs_exist_ok=True)
    stack.asterisk.remove()


@pytest.fixture
def own_serve(own_stack: Stack, postgres: PostgresCluster, artifacts: Path) -> Iterator[ServeProcess]:
    serve = ServeProcess(own_stack, postgres.dsn, artifacts / "serve.log").start()
    serve.wait_ready(20)
    yield serve
    serve.stop()
    assert "loop_unhandled_exception" not in serve.log_text()


def test_asterisk_killed_then_back_reconnects_without_restart(
    own_stack: Stack, own_serve: ServeProcess, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    pid = own_serve.process.pid if own_serve.process else None
    own_stack.asterisk.kill()
    wait_for(lambda: not own_serve.ready(), 10, "/readyz to report not ready")
    status, body = own_serve.get("/readyz")
    assert status == 503 and body["ari"] is False and body["ari_error"], body

    own_stack.asterisk.start()
    own_serve.wait_ready(20)
    assert own_serve.process is not None and own_serve.process.pid == pid and own_serve.process.poll() is None
    connects = [e for e in own_serve.log_events() if e.get("event") == "ari_connected"]
    assert len(connects) >= 2, connects

    # And it serves calls again.
    result = place_call(
        "greeting-12345", target_port=own_stack.asterisk.sip_port, caller=caller_number, trace_dir=artifacts / "sipp",
        listen_ms=10000,
    ).wait(60)
    assert result.returncode == 0, result.output[-2000:]
    record = wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "call record")
    assert record["outcome"] == "abandoned"  # greeted, queued with nobody logged in, hung up


def test_wrong_ari_password_retries_clearly_and_never_shows_it(
    stack: Stack, postgres: PostgresCluster, artifacts: Path
) -> None:
    wrong = "Wr0ng-Passw0rd-4-test-xyz"
    serve = ServeProcess(
        stack, postgres.dsn, artifacts / "serve.log", ari_password=wrong,
        extra_env={"HOTLINE_AGI_PORT": str(free_port()), "HOTLINE_ARI_APP": "hotline-wrong-password"},
    ).start()
    try:
        def refused_attempts() -> int:
            events = serve.log_events()
            return sum(1 for e in events if e.get("event") == "ari_connect_failed" and e.get("status") == 401)

        wait_for(lambda: refused_attempts() >= 3, 20, "three refused connection attempts")
        status, body = serve.get("/readyz")
        assert status == 503 and body["ari"] is False
        assert "401" in body["ari_error"] and "password" in body["ari_error"], body
        assert serve.process is not None and serve.process.poll() is None, "the service gave up"
    finally:
        serve.stop()
    output = serve.log_text()
    assert wrong not in output and wrong not in str(body)
    assert stack.asterisk.ari_password not in output


def test_call_that_ended_while_service_was_down_is_closed(
    own_stack: Stack, own_serve: ServeProcess, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    # The caller hears the greeting (7.2 s, played by the dialplan), waits in line, and hangs up at 12 s.
    call = place_call(
        "greeting-12345", target_port=own_stack.asterisk.sip_port, caller=caller_number, trace_dir=artifacts / "sipp",
        listen_ms=12000,
    )
    wait_for(lambda: calls_from(postgres.dsn, caller_number), 11, "the call record to open (after the greeting)")
    own_serve.kill()
    result = call.wait(30)  # the caller hangs up while the service is down
    assert result.returncode == 0, result.output[-2000:]
    wait_for(lambda: not own_stack.ari.channels(), 10, "the caller channel to be gone")
    assert calls_from(postgres.dsn, caller_number)[-1]["ended_at"] is None

    own_serve.start()
    own_serve.wait_ready(20)
    record = wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "reconcile to close the record")
    assert record["outcome"] == "ended_while_disconnected"
    wait_for(lambda: "closed_by_reconcile" in [e["kind"] for e in call_events(postgres.dsn, record["call_id"])], 10,
             "the reconcile's event (written behind the close)")


def test_call_in_progress_is_readopted_after_service_restart(
    own_stack: Stack, own_serve: ServeProcess, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    call = place_call(
        "greeting-12345", target_port=own_stack.asterisk.sip_port, caller=caller_number, trace_dir=artifacts / "sipp",
        listen_ms=20000,
    )
    wait_for(lambda: calls_from(postgres.dsn, caller_number), 10, "the call record to open")
    own_serve.kill()
    assert call.process.poll() is None, "the caller should still be on the line"
    own_serve.start()
    own_serve.wait_ready(20)
    result = call.wait(60)
    assert result.returncode == 0, result.output[-2000:]
    record = wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "the call record to close")
    assert record["outcome"] == "abandoned"  # re-adopted, queued, then the caller hung up
    kinds = [e["kind"] for e in call_events(postgres.dsn, record["call_id"])]
    assert "readopted" in kinds, kinds
    wait_for(lambda: not own_stack.ari.channels(), 10, "no channel left")
