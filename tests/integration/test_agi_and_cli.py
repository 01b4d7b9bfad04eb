"""FastAGI keeps serving real requests after garbage; `hotline calls` prints the records."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from ari_app.bench.run import greeting_seconds
from ari_app.sandbox.postgres import PostgresCluster
from tests.harness.records import call_events, calls_from, closed_call_from
from tests.harness.services import REPO, ServeProcess, Stack
from tests.harness.sipp import place_call
from tests.harness.wait import wait_for


def _send_and_close(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if payload:
            sock.sendall(payload)


def test_agi_survives_garbage_and_bare_connects(
    live: ServeProcess, stack: Stack, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    offset = len(live.log_events())
    port = stack.agi_port
    _send_and_close(port, b"")  # bare connect/close: froze panoramisk's header loop
    _send_and_close(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _send_and_close(port, os.urandom(4096))
    _send_and_close(port, b"agi_network_script: number-route\nagi_channel: PJSIP/x\n")  # half a header, EOF
    wait_for(
        lambda: sum(1 for e in live.log_events()[offset:] if e.get("event") == "agi_bad_request") >= 3,
        10,
        "the AGI server to reject the bad connections",
    )

    # A number whose route depends on the date (12345 itself goes to the app without asking the route):
    # 12349's transition ended in 2022, so the route intercepts with its notice and goes on to intake.
    result = place_call(
        "caller-hangs-up-during-greeting", target_port=stack.asterisk.sip_port, caller=caller_number,
        trace_dir=artifacts / "sipp", service="12349",
    ).wait(30)
    assert result.returncode == 0, result.output[-2000:]
    routed = [e for e in live.log_events()[offset:] if e.get("event") == "agi_number_route"]
    assert routed and routed[-1]["dialed"] == "12349" and routed[-1]["route"] == "intercept", routed
    wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "the call record")


def test_hotline_calls_cli_prints_latest_records(
    live: ServeProcess, stack: Stack, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    result = place_call(
        "caller-hangs-up-during-greeting", target_port=stack.asterisk.sip_port, caller=caller_number,
        trace_dir=artifacts / "sipp",
    ).wait(30)
    assert result.returncode == 0, result.output[-2000:]
    record = wait_for(lambda: closed_call_from(postgres.dsn, caller_number), 10, "the call record")

    env = {**os.environ, "HOTLINE_DSN": postgres.dsn, "HOTLINE_STATE_DIR": str(artifacts / "state")}
    out = subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "calls", "--last", "3", "--json", "--events"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=30, check=True,
    )
    rows = json.loads(out.stdout)
    assert len(rows) <= 3
    mine = [r for r in rows if r["call_id"] == record["call_id"]]
    assert mine, rows
    row = mine[0]
    assert row["hotline"] == "12345" and row["caller"] == caller_number and row["route"] == "intake"
    assert row["outcome"] == "caller_hangup" and row["started_at"] and row["answered_at"] and row["ended_at"]
    assert "answered" in [e["kind"] for e in row["events"]]
    assert postgres.password not in out.stdout + out.stderr

    table = subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "calls", "--last", "3"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=30, check=True,
    ).stdout
    assert record["call_id"] in table and "caller_hangup" in table

    # --events without --json: each call's events under its row.
    with_events = subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "calls", "--last", "3", "--events"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=30, check=True,
    ).stdout
    after = with_events.split(record["call_id"], 1)[1].split("\n")
    assert any(line.startswith("    ") and " answered" in line for line in after[1:]), with_events


def test_calls_cli_without_database_says_so(artifacts: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_STATE_DIR"] = str(artifacts / "empty-state")
    out = subprocess.run(
        [sys.executable, "-m", "ari_app.cli", "calls"], capture_output=True, text=True, env=env, cwd=REPO, timeout=30
    )
    assert out.returncode == 2 and "HOTLINE_DSN" in out.stderr, out


def test_repeat_caller_is_recognised(
    live: ServeProcess, stack: Stack, postgres: PostgresCluster, artifacts: Path, caller_number: str
) -> None:
    profiles = []
    for attempt in range(2):
        result = place_call(  # the app has the call after the greeting: it waits in line and hangs up
            "greeting-12345", target_port=stack.asterisk.sip_port, caller=caller_number,
            trace_dir=artifacts / f"sipp-{attempt}", listen_ms=int((greeting_seconds() + 3) * 1000),
        ).wait(30)
        assert result.returncode == 0, result.output[-2000:]
        wait_for(lambda n=attempt + 1: len(calls_from(postgres.dsn, caller_number)) == n
                 and calls_from(postgres.dsn, caller_number)[-1]["ended_at"], 10, "the call record")
        call_id = calls_from(postgres.dsn, caller_number)[-1]["call_id"]
        profiles += [e["detail"] for e in call_events(postgres.dsn, call_id) if e["kind"] == "caller_profile"]
    assert profiles == [{"repeat": False, "recent_calls": 0}, {"repeat": True, "recent_calls": 1}]
