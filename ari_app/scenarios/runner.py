"""Run scenarios against a target: peers up, the steps (by default only the caller's call), what was
observed, peers down, checked.

Scenarios without peers run side by side (``jobs`` at a time); those with agents, a department or a
citizen on the outbound trunk run alone afterwards, so that no other caller waiting in the queue
takes their agent and no other call reaches their peers.
"""

from __future__ import annotations

import itertools
import random
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import structlog

from ari_app.scenarios import peers, records, sipp
from ari_app.scenarios.api import Api
from ari_app.scenarios.checker import Observation, check
from ari_app.scenarios.model import Scenario
from ari_app.scenarios.rtp import RtpSink
from ari_app.scenarios.steps import StepContext, run_steps

log = structlog.get_logger("scenario")
_callers = itertools.count(random.randrange(10**6))


@dataclass(frozen=True)
class RunConfig:
    target: tuple[str, int]
    peers: Path  # shared SIPp files: agent phones, department seats, register.xml, dial-with-auth.xml
    artifacts: Path  # one folder per scenario; kept when it fails
    today: date
    department_address: tuple[str, int] = ("127.0.0.1", 5099)
    dsn: str = ""
    agent_passwords: dict[str, str] = field(default_factory=dict, repr=False)
    jobs: int = 4
    http: str = ""  # the target's HTTP API (base URL), for HTTP steps
    trunk: tuple[str, int] | None = None  # where the target's outbound trunk rings (the citizen's UAS)
    citizen_password: str = field(default="", repr=False)  # else the citizen registers as test-caller


@dataclass
class Result:
    name: str
    description: str
    passed: bool
    seconds: float
    failures: list[str]
    kept: Path | None  # the folder of SIPp traces, kept when it failed

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"


def run_all(scenarios: list[Scenario], config: RunConfig, progress: Callable[[Result], None]) -> list[Result]:
    """Every scenario's result, in the catalogue's order; ``progress`` hears of each as it ends."""
    shared = [s for s in scenarios if not s.exclusive]
    alone = [s for s in scenarios if s.exclusive]
    results: dict[str, Result] = {}
    api = Api(config.http, config.dsn) if config.http and config.dsn else None

    def one(scenario: Scenario) -> None:
        results[scenario.name] = run_one(scenario, config, api)
        progress(results[scenario.name])

    try:
        with ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
            list(pool.map(one, shared))
        for scenario in alone:
            one(scenario)
    finally:
        if api is not None:
            api.close()  # the run's accounts are disabled: nothing it made stays usable on the target
    return [results[s.name] for s in scenarios]


def run_one(scenario: Scenario, config: RunConfig, api: Api | None = None) -> Result:
    folder = config.artifacts / scenario.name
    shutil.rmtree(folder, ignore_errors=True)
    started = time.monotonic()
    log.debug("scenario_started", scenario=scenario.name, target=f"{config.target[0]}:{config.target[1]}")
    try:
        failures = _run(scenario, config, folder, api)
    except (OSError, RuntimeError) as exc:  # SIPp missing, a port taken: say it, go on with the next
        failures = [f"could not run: {exc}"]
    seconds = time.monotonic() - started
    if failures and scenario.needs:
        failures.append(f"this scenario needs: {scenario.needs}")
    kept = folder if failures else None
    if not failures:
        shutil.rmtree(folder, ignore_errors=True)
    log.debug("scenario_finished", scenario=scenario.name, passed=not failures, seconds=round(seconds, 1))
    return Result(scenario.name, scenario.description, not failures, seconds, failures, kept)


def _run(scenario: Scenario, config: RunConfig, folder: Path, api: Api | None) -> list[str]:
    expect = scenario.expect_on(config.today)
    local = sipp.local_address(*config.target)
    caller_id = f"139{next(_callers) % 10**8:08d}"
    seen = Observation(target=f"{config.target[0]}:{config.target[1]}", sipp_exit=None, called=scenario.calls)
    since = None
    if config.dsn:
        try:  # the caller's calls are those since now (less a margin for the service's clock)
            since = records.database_now(config.dsn) - timedelta(seconds=30)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return [f"cannot read call records (--dsn): {type(exc).__name__}: {exc}"]
    with ExitStack() as stack:
        phones: dict[str, sipp.Sipp] = {}
        lines = peers.Lines(config.target, local, config.peers, folder, stack)
        error = _start_peers(scenario, config, lines, phones, expect.dial)
        if error:
            return [error]
        sink = RtpSink(local).start()
        stack.callback(sink.stop)

        def call() -> bool:
            sipp_call = sipp.caller(scenario.caller, target=config.target, local=local, number=expect.dial,
                                    caller_id=caller_id, rtp_port=sink.port, folder=folder / "caller",
                                    listen_ms=expect.listen_ms, timeout_s=expect.listen_ms // 1000 + 30,
                                    values=dict(scenario.values))
            seen.sipp_exit = sipp_call.wait_heard(8, expect.listen_ms / 1000 + 40)
            seen.sipp_tail = sipp_call.output[-2000:]
            seen.invite_responses = sipp_call.invite_responses()
            seen.voiced_seconds, seen.rtp_packets = sink.voiced_seconds, sink.packets
            if config.dsn and seen.invite_responses:
                found = records.closed_call(config.dsn, caller_id, since)
                if found is not None:
                    seen.record, seen.events, seen.prompts_completed = (found.record, found.events,
                                                                        found.prompts_completed)
            # A call that went otherwise (no answer, another outcome) makes the steps after it moot.
            return not check(expect, seen, {}, database=bool(config.dsn))

        def log_in(agent_id: str) -> str:
            return lines.log_in(phones[f"agent {agent_id}"], agent_id)

        try:
            step_failures = run_steps(scenario.steps, StepContext(call, log_in, api, config.dsn, caller_id, since))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return [f"cannot read call records (--dsn): {type(exc).__name__}: {exc}"]
    seen.peer_rings = {name: p.invites_received() for name, p in phones.items()}
    rings: dict[str, int | None] = {f"agent {a.id}": a.rings for a in scenario.agents}
    if scenario.department is not None:
        rings["department"] = scenario.department.rings
    if scenario.citizen is not None:
        rings["citizen"] = scenario.citizen.rings
    # What went wrong first comes first: the call's own checks (SIP, audio, its record), then the
    # step that failed after it, then the peers' rings.
    own = check(expect, seen, {}, database=bool(config.dsn))
    rung = [f for f in check(expect, seen, rings, database=bool(config.dsn)) if f not in own]
    return [*own, *step_failures, *rung]


def _start_peers(scenario: Scenario, config: RunConfig, lines: peers.Lines, phones: dict[str, sipp.Sipp],
                 dial: str) -> str:
    """Department, citizen and agent phones up (agents logged in unless they wait for a step);
    an error sentence or ""."""
    if scenario.department is not None:
        phones["department"], error = lines.department(scenario.department, config.department_address,
                                                       scenario.department.line or dial)
        if error:
            return error
    if scenario.citizen is not None:
        citizen, error = lines.citizen(scenario.citizen, config.trunk, config.citizen_password)
        if citizen is not None:
            phones["citizen"] = citizen
        if error:
            return error
    for agent in scenario.agents:
        password = config.agent_passwords.get(agent.id)
        if password is None:
            return f"no SIP password for agent {agent.id} (HOTLINE_AGENT_{agent.id}_PASSWORD in --secrets)"
        phones[f"agent {agent.id}"] = lines.agent(agent, password)
    for agent in scenario.agents:
        error = lines.wait_registered(phones[f"agent {agent.id}"])
        if not error and agent.log_in_at_start:
            error = lines.log_in(phones[f"agent {agent.id}"], agent.id)
        if error:
            return error
    return ""


