"""Run SIPp scenarios against the sandbox Asterisk, keeping their traces."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ari_app.scenarios.sipp import media_port as media_port  # the runner's, shared
from ari_app.scenarios.sipp import sipp_binary as sipp_binary

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PEERS = Path(__file__).resolve().parent.parent / "sipp"


@dataclass
class SippResult:
    returncode: int
    output: str
    trace_dir: Path

    def message_log(self) -> str:
        path = self.trace_dir / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_lines(self) -> list[str]:
        """The first line of every SIP message sent or received, in order (without the copy SIPp
        logs again of a message it did not expect)."""
        log = re.sub(r"Unexpected UDP message received:\s*\n\s*SIP/2\.0 [^\n]*\n", "", self.message_log())
        return [line.rstrip("\r") for line in log.splitlines()
                if line.startswith("SIP/2.0 ") or re.match(r"[A-Z]+ sip:\S+ SIP/2\.0", line)]

    def responses(self) -> set[str]:
        return {line for line in self.start_lines() if line.startswith("SIP/2.0 ")}


@dataclass
class SippCall:
    """A SIPp process running one scenario; ``wait()`` collects the result."""

    process: subprocess.Popen[str]
    trace_dir: Path

    def wait(self, timeout: float = 60) -> SippResult:
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            output += "\n[harness] SIPp killed after timeout"
        (self.trace_dir / "stdout.log").write_text(output)
        return SippResult(self.process.returncode, output, self.trace_dir)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()

    def stop(self) -> SippResult:
        """End a peer that runs until told (a UAS); return what it printed."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.wait(10)


def _spawn(cmd: list[str], trace_dir: Path) -> SippCall:
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        errors="replace", cwd=trace_dir,
    )
    return SippCall(process, trace_dir)


def start_sipp(
    scenario: Path,
    *,
    target_port: int,
    local_port: int,
    service: str,
    trace_dir: Path,
    keys: dict[str, str] | None = None,
    calls: int = 1,
    rate: int = 10,
    timeout_s: int = 60,
    host: str = "127.0.0.1",
    media_port: int | None = None,
) -> SippCall:
    """Start SIPp as a UAC (or UAS when the scenario begins with a recv) toward the sandbox
    (``media_port``: SIPp's own RTP port, for scenarios that send media from it)."""
    trace_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sipp_binary(),
        f"{host}:{target_port}",
        "-sf", str(scenario),
        "-s", service,
        "-i", host,
        "-p", str(local_port),
        "-m", str(calls),
        "-r", str(rate),
        "-l", str(max(calls, 1)),
        "-timeout", f"{timeout_s}s",
        "-timeout_error",
        "-nostdin",
        *(["-mp", str(media_port)] if media_port else []),
        *_traces(trace_dir),
    ]
    for key, value in (keys or {}).items():
        cmd += ["-key", key, value]
    return _spawn(cmd, trace_dir)


def with_timing(scenario: Path, trace_dir: Path, **values: int | str) -> Path:
    """A copy of ``scenario`` with ``[name]`` timing keywords written in: SIPp substitutes
    keywords in messages but not in ``<pause>`` or a ``timeout`` attribute."""
    text = scenario.read_text()
    for name, value in values.items():
        text = text.replace(f"[{name}]", str(value))
    trace_dir.mkdir(parents=True, exist_ok=True)
    copy = trace_dir / scenario.name
    copy.write_text(text)
    return copy


def with_route_set(scenario: Path) -> Path:
    """``scenario`` (a copy in a trace directory) rewritten to send its in-dialog requests as a UA
    must behind a record-routing proxy: to the Contact of the 200 OK, with the Record-Route set as
    Route headers (SIPp's ``[next_url]`` and ``[routes]``), instead of to the request URI it dialled."""
    text = scenario.read_text()
    at = text.index('<recv response="200" rtd="true"')
    head, tail = text[:at], text[at:].replace('rtd="true"', 'rtd="true" rrs="true"', 1)
    for method in ("ACK", "BYE"):
        for user in ("[service]", "[field0]"):  # the number dialled: -s, or the injection file's (bench caller)
            tail = tail.replace(f"{method} sip:{user}@[remote_ip]:[remote_port] SIP/2.0",
                                f"{method} [next_url] SIP/2.0\n      [routes]")
    scenario.write_text(head + tail)
    return scenario


def answering_with_route_set(scenario: Path) -> Path:
    """An answering phone's ``scenario`` (a copy) rewritten to send its BYE along the Record-Route
    set of the INVITE it answered (behind a record-routing proxy)."""
    text = scenario.read_text().replace('<recv request="INVITE"', '<recv request="INVITE" rrs="true"', 1)
    scenario.write_text(text.replace("BYE [$contact] SIP/2.0", "BYE [$contact] SIP/2.0\n      [routes]"))
    return scenario


def place_call(
    scenario_name: str,
    *,
    target_port: int,
    caller: str,
    trace_dir: Path,
    service: str = "12345",
    rtp_port: int | None = None,
    listen_ms: int = 30000,
    host: str = "127.0.0.1",
    route_set: bool = False,
) -> SippCall:
    """Start one call from tests/scenarios/<scenario_name>/scenario.xml (``listen_ms``: how long a
    caller who is not hung up on stays before hanging up; ``host``: the sandbox's SIP address,
    also the caller's own; ``route_set``: through a record-routing proxy, see with_route_set)."""
    from ari_app.sandbox.proc import free_port, free_port_both

    scenario = with_timing(SCENARIOS / scenario_name / "scenario.xml", trace_dir, listen_ms=listen_ms)
    return start_sipp(
        with_route_set(scenario) if route_set else scenario,
        target_port=target_port,
        local_port=free_port_both(),
        service=service,
        trace_dir=trace_dir,
        keys={"caller": caller, "rtp_port": str(rtp_port or free_port())},
        host=host,
    )


def start_peer(
    name: str,
    *,
    port: int,
    trace_dir: Path,
    hold_ms: int = 2000,
    rtp_port: int | None = None,
    values: dict[str, str] | None = None,
) -> SippCall:
    """Run tests/sipp/<name>.xml as a UAS on ``port`` (a department line with a static contact) until stopped."""
    from ari_app.sandbox.proc import free_port

    trace_dir.mkdir(parents=True, exist_ok=True)
    scenario = with_timing(
        PEERS / f"{name}.xml", trace_dir, hold_ms=hold_ms, rtp_port=rtp_port or free_port(), **(values or {})
    )
    cmd = [
        sipp_binary(),
        "-sf", str(scenario),
        "-i", "127.0.0.1",
        "-p", str(port),
        "-mp", str(media_port(port)),
        "-aa",  # answer OPTIONS (qualify) with 200 OK
        "-nostdin",
        *_traces(trace_dir),
    ]
    return _spawn(cmd, trace_dir)


@dataclass(frozen=True)
class Account:
    """SIP credentials of a phone that registers (an agent) and where it registers."""

    user: str
    password: str
    registrar_port: int
    host: str = "127.0.0.1"


def start_phone(
    name: str,
    *,
    account: Account,
    port: int,
    trace_dir: Path,
    hold_ms: int = 2000,
    rtp_port: int | None = None,
    values: dict[str, str] | None = None,
    expires: int = 3600,
    route_set: bool = False,
) -> SippCall:
    """A phone that registers with digest auth (tests/sipp/register.xml) and answers every call to
    it with tests/sipp/<name>.xml (SIPp's out-of-call scenario), until stopped (``route_set``:
    registered at a record-routing proxy, see answering_with_route_set)."""
    from ari_app.sandbox.proc import free_port

    trace_dir.mkdir(parents=True, exist_ok=True)
    answer = with_timing(
        PEERS / f"{name}.xml", trace_dir, hold_ms=hold_ms, rtp_port=rtp_port or free_port(), **(values or {})
    )
    if route_set:
        answering_with_route_set(answer)
    register = with_timing(PEERS / "register.xml", trace_dir, expires=expires, renew_ms=expires * 500)
    cmd = [
        *_as_account(account, register, port),
        "-oocsf", str(answer),
        "-key", "user", account.user,
        "-mp", str(media_port(port)),
        "-l", "1000",
        "-aa",  # answer OPTIONS (qualify) with 200 OK
        *_traces(trace_dir),
    ]
    return _spawn(cmd, trace_dir)


def _as_account(account: Account, scenario: Path, port: int) -> list[str]:
    """SIPp running one ``scenario`` from ``port`` toward the sandbox with ``account``'s credentials."""
    return [
        sipp_binary(), f"{account.host}:{account.registrar_port}", "-sf", str(scenario),
        "-au", account.user, "-ap", account.password, "-i", account.host, "-p", str(port), "-m", "1", "-nostdin",
    ]


def _traces(trace_dir: Path) -> list[str]:
    return [
        "-trace_msg", "-message_file", str(trace_dir / "messages.log"),
        "-trace_err", "-error_file", str(trace_dir / "errors.log"),
    ]


def place_authenticated_call(
    account: Account,
    *,
    service: str,
    trace_dir: Path,
    listen_ms: int = 15000,
    rtp_port: int | None = None,
    route_set: bool = False,
) -> SippCall:
    """A call from a phone with an account (an agent's feature code, the test caller dialing 12345):
    challenged once, then sent with the digest of ``account`` (tests/sipp/dial-with-auth.xml;
    ``route_set``: through a record-routing proxy, see with_route_set)."""
    from ari_app.sandbox.proc import free_port, free_port_both

    trace_dir.mkdir(parents=True, exist_ok=True)
    scenario = with_timing(PEERS / "dial-with-auth.xml", trace_dir, listen_ms=listen_ms)
    if route_set:
        with_route_set(scenario)
    cmd = [
        *_as_account(account, scenario, free_port_both()),
        "-s", service,
        "-key", "caller", account.user,
        "-key", "rtp_port", str(rtp_port or free_port()),
        "-timeout", "60s",
        "-timeout_error",
        *_traces(trace_dir),
    ]
    return _spawn(cmd, trace_dir)
