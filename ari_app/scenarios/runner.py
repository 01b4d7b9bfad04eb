"""Run scenarios against a target: peers up, the caller's call, what was observed, peers down, checked.

Scenarios without peers run side by side (``jobs`` at a time); those with agents or a department
run alone afterwards, so that no other caller waiting in the queue takes their agent.
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
from datetime import date
from pathlib import Path

import asyncpg
import structlog

from ari_app.scenarios import qualify, sipp
from ari_app.scenarios.checker import Observation, check
from ari_app.scenarios.model import Scenario
from ari_app.scenarios.records import closed_call
from ari_app.scenarios.rtp import RtpSink

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

    def one(scenario: Scenario) -> None:
        results[scenario.name] = run_one(scenario, config)
        progress(results[scenario.name])

    with ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
        list(pool.map(one, shared))
    for scenario in alone:
        one(scenario)
    return [results[s.name] for s in scenarios]


def run_one(scenario: Scenario, config: RunConfig) -> Result:
    folder = config.artifacts / scenario.name
    shutil.rmtree(folder, ignore_errors=True)
    started = time.monotonic()
    log.debug("scenario_started", scenario=scenario.name, target=f"{config.target[0]}:{config.target[1]}")
    try:
        failures = _run(scenario, config, folder)
    except (OSError, RuntimeError) as exc:  # SIPp missing, a port taken: say it, go on with the next
        failures = [f"could not run: {exc}"]
    seconds = time.monotonic() - started
    kept = folder if failures else None
    if not failures:
        shutil.rmtree(folder, ignore_errors=True)
    log.debug("scenario_finished", scenario=scenario.name, passed=not failures, seconds=round(seconds, 1))
    return Result(scenario.name, scenario.description, not failures, seconds, failures, kept)


def _run(scenario: Scenario, config: RunConfig, folder: Path) -> list[str]:
    expect = scenario.expect_on(config.today)
    local = sipp.local_address(*config.target)
    caller_id = f"139{next(_callers) % 10**8:08d}"
    seen = Observation(target=f"{config.target[0]}:{config.target[1]}", sipp_exit=None)
    with ExitStack() as peers:
        phones: dict[str, sipp.Sipp] = {}
        if scenario.department is not None:
            dept = sipp.uas(Path(scenario.department.phone), address=config.department_address,
                            folder=folder / "department", hold_ms=scenario.department.hold_ms)
            peers.callback(dept.stop)
            phones["department"] = dept
            error = _qualified(dept, config.department_address, scenario.department.line or expect.dial)
            if error:
                return [error]
        accounts = {}
        for agent in scenario.agents:
            password = config.agent_passwords.get(agent.id)
            if password is None:
                return [f"no SIP password for agent {agent.id} (HOTLINE_AGENT_{agent.id}_PASSWORD in --secrets)"]
            accounts[agent.id] = sipp.Account(f"agent-{agent.id}", password, config.target, local)
            phone = sipp.phone(Path(agent.phone), config.peers / "register.xml", account=accounts[agent.id],
                               folder=folder / f"agent-{agent.id}", hold_ms=agent.hold_ms, values=dict(agent.values))
            peers.callback(phone.stop)
            phones[f"agent {agent.id}"] = phone
        for agent_id, account in accounts.items():
            error = _log_in(phones[f"agent {agent_id}"], account, config, folder)
            if error:
                return [error]
            peers.callback(_feature, account, "*73", config, folder / f"agent-{agent_id}-logout")
        sink = RtpSink(local).start()
        peers.callback(sink.stop)
        call = sipp.caller(scenario.caller, target=config.target, local=local, number=expect.dial, caller_id=caller_id,
                           rtp_port=sink.port, folder=folder / "caller", listen_ms=expect.listen_ms,
                           timeout_s=expect.listen_ms // 1000 + 30, values=dict(scenario.values))
        seen.sipp_exit = call.wait_heard(8, expect.listen_ms / 1000 + 40)
        seen.sipp_tail = call.output[-2000:]
        seen.invite_responses = call.invite_responses()
        seen.voiced_seconds, seen.rtp_packets = sink.voiced_seconds, sink.packets
    seen.peer_rings = {name: p.invites_received() for name, p in phones.items()}
    if config.dsn and seen.invite_responses:
        try:
            found = closed_call(config.dsn, caller_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return [f"cannot read call records (--dsn): {type(exc).__name__}: {exc}"]
        if found is not None:
            seen.record, seen.events, seen.prompts_completed = found.record, found.events, found.prompts_completed
    rings: dict[str, int | None] = {f"agent {a.id}": a.rings for a in scenario.agents}
    if scenario.department is not None:
        rings["department"] = scenario.department.rings
    return check(expect, seen, rings, database=bool(config.dsn))


def _qualified(uas: sipp.Sipp, address: tuple[str, int], line: str, timeout: float = 40) -> str:
    """Until the target has found ``line`` reachable at the peer (see ari_app.scenarios.qualify);
    an error sentence when the peer does not listen or the target does not qualify the line."""
    deadline = time.monotonic() + timeout
    while uas.process.poll() is None and sipp.port_free(address):
        if time.monotonic() > deadline:
            return f"the department peer did not listen on {address[0]}:{address[1]} (--department)"
        time.sleep(0.05)  # polling until SIPp has bound its port
    listening = time.time()
    while uas.process.poll() is None:
        if qualify.qualified(qualify.options_times(uas.messages(), line), listening):
            return ""
        if time.monotonic() > deadline:
            return (f"the target did not qualify department line {line} at {address[0]}:{address[1]} within "
                    f"{timeout:g} s: is that where its department lines point (--department), with qualify on?")
        time.sleep(0.2)  # polling the peer's trace until a deadline
    return f"the department peer on {address[0]}:{address[1]} ended: {uas.wait(5)} (port taken?)"


def _registered(phone: sipp.Sipp) -> bool:
    return any(b for b in phone.messages().split("-" * 20) if "SIP/2.0 200" in b and "REGISTER" in b)


def _log_in(phone: sipp.Sipp, account: sipp.Account, config: RunConfig, folder: Path) -> str:
    """Wait for the phone's registration (200 to its REGISTER), then dial *72; an error sentence or ""."""
    deadline = time.monotonic() + 10
    while not _registered(phone):
        if phone.process.poll() is not None or time.monotonic() > deadline:
            return (f"{account.user} could not register at {config.target[0]}:{config.target[1]} "
                    f"(wrong password in --secrets, or no such endpoint on the target)")
        time.sleep(0.1)  # polling the phone's trace until a deadline
    code = _feature(account, "*72", config, folder / f"{account.user}-login")
    return "" if code == 0 else f"{account.user} dialing *72 (log in) failed: SIPp exit {code}"


def _feature(account: sipp.Account, code: str, config: RunConfig, folder: Path) -> int | None:
    call = sipp.dial_code(config.peers / "dial-with-auth.xml", account=account, code=code, folder=folder)
    return call.wait(40)
