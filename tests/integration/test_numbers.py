"""One real SIP call per registry number (and one unknown number), all at once, on a day inside
the transition: each gets the route, the prompts and the hotline tag the plan says. No agent is
logged in: intake callers hear their prompts, wait in the queue and hang up (abandoned)."""

from __future__ import annotations

import itertools
import os
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from ari_app.registry.loader import load_registry
from ari_app.registry.routing import Decision, Route, decide
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port_both
from ari_app.settings import REPO_ROOT
from tests.harness.records import call_events, closed_call_from
from tests.harness.rtp import RtpSink
from tests.harness.services import ServeProcess, Stack, registry_copy, start_asterisk
from tests.harness.sipp import SippResult, place_call, start_peer
from tests.harness.wait import wait_for

TODAY = date(2021, 12, 1)  # inside the half-year transition of the whole-merge lines
REGISTRY = load_registry(REPO_ROOT / "config" / "hotlines.yaml")
UNKNOWN = "12399"
NUMBERS = [REGISTRY.platform.number, *REGISTRY.hotlines, UNKNOWN]
SOUNDS = REPO_ROOT / "sounds" / "zh"
_callers = itertools.count(100)


def prompt_seconds(name: str) -> float:
    with wave.open(str(SOUNDS / f"{name}.wav")) as w:
        return w.getnframes() / w.getframerate()


@dataclass
class Placed:
    caller: str
    decision: Decision
    result: SippResult
    sink: RtpSink


@dataclass
class NumbersRun:
    stack: Stack
    serve: ServeProcess
    calls: dict[str, Placed]


def department_endpoints() -> list[str]:
    return [d.line.endpoint for d in REGISTRY.departments.values() if d.line is not None]


def wait_lines_reachable(stack: Stack, endpoints: list[str]) -> None:
    """Department contacts are qualified (OPTIONS) before calls go to them."""
    def online() -> bool:
        return all(stack.ari.get(f"/endpoints/PJSIP/{e}")["state"] == "online" for e in endpoints)

    wait_for(online, 20, "department lines to be qualified online")


@pytest.fixture(scope="module")
def numbers_run(postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NumbersRun]:
    base = tmp_path_factory.mktemp("numbers")
    department_port = free_port_both()
    department = start_peer("answer-then-bye", port=department_port, trace_dir=base / "department", hold_ms=2000)
    registry = registry_copy(base / "hotlines.yaml", {e: department_port for e in department_endpoints()})
    stack = start_asterisk(f"n{os.getpid()}", registry_path=registry)
    serve = ServeProcess(
        stack, postgres.dsn, base / "serve.log",
        extra_env={"HOTLINE_REGISTRY": str(registry), "HOTLINE_TODAY": TODAY.isoformat()},
    ).start()
    try:
        serve.wait_ready(20)
        wait_lines_reachable(stack, department_endpoints())
        started = {}
        for number in NUMBERS:
            caller = f"1350{os.getpid() % 10000:04d}{next(_callers):03d}"
            sink = RtpSink().start()
            decision = decide(REGISTRY, number, TODAY)
            prompts = [p for p in ("greeting", decision.prompt) if p]
            call = place_call(
                "greeting-12345", target_port=stack.asterisk.sip_port, caller=caller, service=number,
                trace_dir=base / f"call-{number}", rtp_port=sink.port,
                listen_ms=int((sum(prompt_seconds(p) for p in prompts) + 4) * 1000),
            )
            started[number] = (caller, sink, call)
        calls = {}
        for number, (caller, sink, call) in started.items():
            result = call.wait(90)
            sink.stop()
            calls[number] = Placed(caller, decide(REGISTRY, number, TODAY), result, sink)
        yield NumbersRun(stack, serve, calls)
        wait_for(lambda: not stack.ari.channels(), 10, "no channel left")
        assert not stack.ari.call_bridges()
        assert "loop_unhandled_exception" not in serve.log_text()
    finally:
        serve.stop()
        department.stop()
        stack.asterisk.stop()
        stack.asterisk.remove()


def test_every_plan_number_is_covered() -> None:
    assert len(REGISTRY.hotlines) == 24 and len(NUMBERS) == 26
    routes = {decide(REGISTRY, n, TODAY).route for n in NUMBERS}
    assert routes == {Route.INTAKE, Route.EXPERT, Route.DEPARTMENT, Route.SUBCENTER, Route.UNKNOWN}


@pytest.mark.parametrize("number", NUMBERS)
def test_number(number: str, numbers_run: NumbersRun, postgres: PostgresCluster) -> None:
    placed = numbers_run.calls[number]
    decision = placed.decision
    assert placed.result.returncode == 0, placed.result.output[-1500:] + placed.result.message_log()[-2500:]
    record: dict[str, Any] = wait_for(lambda: closed_call_from(postgres.dsn, placed.caller), 10, "the call record")
    assert record["hotline"] == number, "the dialed number is the call's hotline tag"
    assert record["route"] == decision.route.value
    kinds = call_events(postgres.dsn, record["call_id"])

    if decision.route in (Route.INTAKE, Route.EXPERT):
        expected = [p for p in ("greeting", decision.prompt) if p]  # the greeting, then the number's notice
        played = [e["detail"] for e in kinds if e["kind"] == "prompt"]
        assert played == [{"name": p, "completed": True} for p in expected], played
        assert record["outcome"] == "abandoned"  # nobody logged in: the caller waited, then hung up
        queued = [e["detail"] for e in kinds if e["kind"] == "queued"]
        assert len(queued) == 1 and queued[0]["group"] == decision.group, queued
        heard = sum(prompt_seconds(p) for p in expected)
        assert placed.sink.voiced_seconds >= 0.6 * heard, (placed.sink.voiced_seconds, heard)
    elif decision.route in (Route.DEPARTMENT, Route.SUBCENTER):
        assert record["outcome"] == f"{decision.route.value}_answered"
        assert record["started_at"] <= record["answered_at"] <= record["ended_at"], record
    else:
        assert decision.route is Route.UNKNOWN
        assert record["outcome"] == "unknown_number"
        assert record["started_at"] <= record["answered_at"] <= record["ended_at"], record
        assert placed.sink.voiced_seconds >= 0.6 * prompt_seconds("unknown-number")
