"""Date-dependent and failure routes against the real Asterisk: a cancelled number after its
transition, department/sub-center lines that do not answer, are busy or unreachable, and the
FastAGI server being down."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port, free_port_both
from ari_app.settings import REPO_ROOT
from tests.harness.prompts import prompt_seconds
from tests.harness.records import call_events, closed_call_from
from tests.harness.rtp import RtpSink
from tests.harness.services import ServeProcess, Stack, registry_copy, start_asterisk
from tests.harness.sipp import SippCall, SippResult, place_call, start_peer
from tests.harness.wait import wait_for

AFTER_TRANSITION = "2022-04-01"  # the whole-merge lines' transition ended on 2022-03-31
RING_TIMEOUT = 5
_callers = itertools.count(500)


def _12317_hangs_up() -> dict[str, str]:
    """Every cancelled number goes on to 12345 intake in the shipped registry; after_cancel: hangup
    is still supported, so this run's registry has 12317 hang up after its notice, to cover that
    path. (Its WAV is rendered from the shipped registry, worded for intake: the path is tested.)"""
    text = (REPO_ROOT / "config" / "hotlines.yaml").read_text(encoding="utf-8")
    start = text.index('  - number: "12317"\n')
    end = text.index("    after_cancel: intake\n", start) + len("    after_cancel: intake\n")
    block = text[start:end]
    return {block: block.replace("after_cancel: intake", "after_cancel: hangup")}



@dataclass
class Call:
    caller: str
    sink: RtpSink
    sipp: SippCall
    result: SippResult | None = None


@dataclass
class Live:
    stack: Stack
    serve: ServeProcess
    base: Path
    calls: dict[str, Call]


def _dial(stack: Stack, number: str, base: Path, listen_s: float = 30) -> Call:
    caller = f"1360{os.getpid() % 10000:04d}{next(_callers):03d}"
    sink = RtpSink().start()
    sipp = place_call("greeting-12345", target_port=stack.asterisk.sip_port, caller=caller, service=number,
                      trace_dir=base / f"call-{number}-{caller}", rtp_port=sink.port, listen_ms=int(listen_s * 1000))
    return Call(caller, sink, sipp)


def _finish(call: Call) -> Call:
    call.result = call.sipp.wait(90)
    call.sink.stop()
    return call


@pytest.fixture(scope="module")
def live(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("routes")
    no_answer_port, busy_port = free_port_both(), free_port_both()
    peers = [
        start_peer("ring-no-answer", port=no_answer_port, trace_dir=base / "dept-no-answer"),
        start_peer("busy", port=busy_port, trace_dir=base / "dept-busy"),
    ]
    registry = registry_copy(
        base / "hotlines.yaml",
        # 12348 and the 12366 sub-center point at ports where nothing listens: unreachable.
        {"dept-12333": no_answer_port, "dept-12319": busy_port, "dept-12348": free_port_both(),
         "dept-12366": free_port_both()},
        # Both the default and 12333's own ring_timeout ("...ring_timeout: 20") become 5 s.
        replace={"ring_timeout: 20": f"ring_timeout: {RING_TIMEOUT}",
                 **_12317_hangs_up()},
    )
    stack = start_asterisk(f"l{os.getpid()}", registry_path=registry)
    serve = ServeProcess(
        stack, postgres.dsn, base / "serve.log",
        extra_env={"HOTLINE_REGISTRY": str(registry), "HOTLINE_TODAY": AFTER_TRANSITION},
    ).start()
    try:
        serve.wait_ready(20)
        state = {"dept-12333": "online", "dept-12319": "online", "dept-12348": "offline", "dept-12366": "offline"}
        wait_for(lambda: all(stack.ari.get(f"/endpoints/PJSIP/{e}")["state"] == s for e, s in state.items()),
                 20, "department lines qualified (two reachable, two not)")
        # Callers stay long enough for ring time, prompts and greeting, then hang up in the queue.
        listen = {"12349": prompt_seconds("greeting") + prompt_seconds("intercept-12349") + 4, "12317": 30}
        fallback = RING_TIMEOUT + prompt_seconds("greeting") + prompt_seconds("transfer-to-intake") + 4
        started = {n: _dial(stack, n, base, listen.get(n, fallback))
                   for n in ("12349", "12317", "12333", "12319", "12348", "12366")}
        calls = {n: _finish(c) for n, c in started.items()}
        yield Live(stack, serve, base, calls)
        wait_for(lambda: not stack.ari.channels(), 10, "no channel left")
        assert "loop_unhandled_exception" not in serve.log_text()
    finally:
        serve.stop()
        for peer in peers:
            peer.stop()
        stack.asterisk.stop()
        stack.asterisk.remove()


def _record(postgres: PostgresCluster, call: Call) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    assert call.result is not None and call.result.returncode == 0, (
        (call.result.output[-1500:] + call.result.message_log()[-2500:]) if call.result else "not run"
    )
    record: dict[str, Any] = wait_for(lambda: closed_call_from(postgres.dsn, call.caller), 10, "the call record")
    return record, call_events(postgres.dsn, record["call_id"])


def _prompts(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["name"] for e in events if e["kind"] == "prompt" and e["detail"]["completed"]]


def _queued_groups(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["group"] for e in events if e["kind"] == "queued"]


def test_cancelled_number_intercept_then_intake(live: Live, postgres: PostgresCluster) -> None:
    record, events = _record(postgres, live.calls["12349"])
    assert (record["hotline"], record["route"], record["outcome"]) == ("12349", "intercept", "abandoned")
    assert _prompts(events) == ["greeting", "intercept-12349"]
    heard = prompt_seconds("greeting") + prompt_seconds("intercept-12349")
    assert live.calls["12349"].sink.voiced_seconds >= 0.6 * heard
    assert _queued_groups(events) == ["civil-affairs"]  # 市民政局's seconded staff first


def test_cancelled_number_intercept_then_hangup(live: Live, postgres: PostgresCluster) -> None:
    record, _ = _record(postgres, live.calls["12317"])  # after_cancel: hangup in this run's registry
    assert (record["hotline"], record["route"], record["outcome"]) == ("12317", "intercept", "intercepted")
    assert live.calls["12317"].sink.voiced_seconds >= 0.6 * prompt_seconds("intercept-12317")


@pytest.mark.parametrize(
    ("number", "reason"),
    [("12333", "department:NOANSWER"), ("12319", "department:BUSY"), ("12348", "department:CHANUNAVAIL"),
     ("12366", "subcenter:CHANUNAVAIL")],
    ids=["department-no-answer", "department-busy", "department-unreachable", "subcenter-unreachable"],
)
def test_kept_seat_line_overflows_to_intake(live: Live, postgres: PostgresCluster, number: str, reason: str) -> None:
    record, events = _record(postgres, live.calls[number])
    assert (record["hotline"], record["route"], record["outcome"]) == (number, "fallback", "abandoned")
    assert {"kind": "overflow", "detail": {"reason": reason}} in events
    assert _prompts(events) == ["greeting", "transfer-to-intake"]
    assert _queued_groups(events) == [""]  # plain intake: the department seconds nobody to prefer
    waited = (record["answered_at"] - record["started_at"]).total_seconds()
    if reason.endswith("NOANSWER"):
        assert RING_TIMEOUT - 0.5 <= waited <= RING_TIMEOUT + 5, waited
    else:
        assert waited < RING_TIMEOUT, f"{reason} should overflow at once, took {waited:.1f}s"


def test_agi_down_calls_still_reach_intake(
    live: Live, postgres: PostgresCluster, tmp_path: Path
) -> None:
    """The FastAGI server is not where the dialplan looks: registry defaults route the call."""
    live.serve.stop()
    serve = ServeProcess(
        live.stack, postgres.dsn, tmp_path / "serve.log",
        extra_env={"HOTLINE_REGISTRY": live.serve.env()["HOTLINE_REGISTRY"], "HOTLINE_TODAY": AFTER_TRANSITION,
                   "HOTLINE_AGI_PORT": str(free_port())},
    ).start()
    try:
        serve.wait_ready(20)
        call = _finish(_dial(live.stack, "12349", tmp_path, prompt_seconds("greeting") + 3))
        record, events = _record(postgres, call)
        # Without FastAGI the date is unknown: no intercept notice, straight to intake, still tagged.
        assert (record["hotline"], record["route"], record["outcome"]) == ("12349", "intake", "abandoned")
        assert _prompts(events) == ["greeting"]
        messages = (live.stack.asterisk.log_dir / "messages.log").read_text(errors="replace")
        assert "hotline FastAGI unavailable" in messages
    finally:
        serve.stop()
        live.serve.start()
        live.serve.wait_ready(20)
