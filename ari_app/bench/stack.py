"""The bench's sandbox: PostgreSQL, Asterisk and ``hotline serve`` started as the tests start them
(``tests/harness``), plus the agents' registered phones (one SIPp for all), and the switch between the two paths.

Path ``stasis``: callers dial the number (12345, 12336 ...) through the project's dialplan and the
Stasis app; the agents are logged in and ready in the ACD (HTTP API). Path ``queue``: callers dial
``aq-<number>``, a bench-only extension written into this sandbox's dialplan (Answer, the same
greeting, ``Queue(bench-app-queue)``: the degraded queue's settings and members, the same agents'
phones, with autofill); the agents are logged out of the ACD meanwhile, so only app_queue rings them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from ari_app.acd.model import QueuePolicy
from ari_app.registry.render import queue_section
from ari_app.sandbox.asterisk import AsteriskSandbox
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.sandbox.proc import free_port, free_port_both, new_password
from ari_app.seats.loader import load_seats
from tests.harness.agents import AgentSpec, agent_action, agents_state, phone_passwords, write_seats
from tests.harness.ari import AriProbe
from tests.harness.services import ServeProcess, Stack, start_postgres
from tests.harness.sipp import Account, SippCall, sipp_binary, with_timing
from tests.harness.wait import wait_for

SCENARIOS = Path(__file__).resolve().parent / "sipp"
QUEUE_PREFIX = "aq-"  # the bench-only extensions of the app_queue path: aq-12345, aq-12336 ...
BENCH_DIALPLAN = "bench-app-queue.conf"
BENCH_QUEUES = "bench-queues.conf"
BENCH_QUEUE = "bench-app-queue"
PATHS = ("stasis", "queue")
FIRST_AGENT = 7001
CREDENTIALS = "agents.csv"  # the agent phones' injection file (endpoint names and SIP passwords)
RTP_START = 22000  # away from scripts/up (20000) and the tests (20000-29999 by pid, but rarely here)


def bench_queue(endpoints: list[str]) -> str:
    """The app_queue queue of the bench: the degraded queue's settings (with ``autofill = yes``:
    without it only the head of the line is connected at a time, and at 20 calls/s the median
    wait was 4 s with 40 agents free) and the same agents."""
    return "; Written by scripts/bench into its own sandbox only.\n" + queue_section(BENCH_QUEUE, endpoints)


def bench_dialplan(numbers: tuple[str, ...], greeting: str) -> str:
    """Extensions ``aq-<number>`` in the trunk's context: the pure-dialplan app_queue path."""
    lines = [
        "; Written by scripts/bench into its own sandbox only: the pure-dialplan app_queue path,",
        "; the same agents as the Stasis path, the same greeting.",
        "[hotline-inbound]",
    ]
    for number in numbers:
        lines += [
            f"exten => {QUEUE_PREFIX}{number},1,Set(CHANNEL(language)=zh)",
            f" same => n,Set(HOTLINE_TAG={number})",
            " same => n,Answer()",
            f" same => n,Playback({greeting})",
            f" same => n,Queue({BENCH_QUEUE},t)",
            " same => n,Hangup()",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class BenchAsterisk(AsteriskSandbox):
    """The project's sandbox Asterisk with the bench's app_queue extensions added to its dialplan."""

    bench_numbers: tuple[str, ...] = ("12345",)
    greeting: str = "greeting"

    def render(self) -> None:
        super().render()
        etc = self.run_dir / "etc"
        (etc / BENCH_DIALPLAN).write_text(bench_dialplan(self.bench_numbers, self.greeting), encoding="utf-8")
        (etc / BENCH_QUEUES).write_text(bench_queue(list(load_seats(self.seats_path).endpoints)), encoding="utf-8")
        for conf, include in (("extensions.conf", BENCH_DIALPLAN), ("queues.conf", BENCH_QUEUES)):
            with (etc / conf).open("a", encoding="utf-8") as out:
                out.write(f'#include "{include}"\n')


def write_bench_seats(dest: Path, agent_ids: list[str], rating: bool) -> Path:
    """The bench's seats: its agents, no wrap-up (app_queue's wrapuptime is 0 too) and, unless asked
    for, no rating question after the agent hangs up, so that on both paths the call ends with the agent."""
    seats = write_seats(dest, [AgentSpec(i) for i in agent_ids], wrap_up=0)  # ends with the queue: block
    if not rating and "rating_after_call" in {f.name for f in fields(QueuePolicy)}:
        with seats.open("a", encoding="utf-8") as out:
            out.write("  rating_after_call: false\n")
    return seats


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Ports:
    """Ports for the SIPp processes. A SIPp binds its media port and the one two above (video), which
    ``free_port_both`` does not know of: a media port takes a block of four, kept from everyone else."""

    taken: set[int] = field(default_factory=set)

    def sip(self) -> int:
        for _ in range(200):
            port = free_port_both()
            if port not in self.taken:
                self.taken.add(port)
                return port
        raise RuntimeError("no free SIP port")

    def media(self) -> int:
        for _ in range(200):
            port = free_port_both()
            block = set(range(port, port + 4))
            if not block & self.taken and all(_udp_free(p) for p in range(port + 1, port + 4)):
                self.taken |= block
                return port
        raise RuntimeError("no free media port block")


PORTS = Ports()


def agent_credentials(accounts: list[Account]) -> str:
    """SIPp's injection file (-inf) for the bench's register.xml: per line an endpoint and its
    credentials. A password SIPp could not carry there (a space, ``;`` or ``]``) is refused."""
    lines = ["SEQUENTIAL"]
    for account in accounts:
        if any(c in account.user + account.password for c in " ;]\n"):
            raise ValueError(f"{account.user}: a name or password SIPp cannot carry in its injection file")
        lines.append(f"{account.user};[authentication username={account.user} password={account.password}]")
    return "\n".join(lines) + "\n"


def start_agent_phones(accounts: list[Account], port: int, trace_dir: Path, talk_ms: int,
                       sink_port: int) -> SippCall:
    """Every agent's phone in one SIPp on ``port``: registers each account with digest auth
    (ari_app/bench/sipp/register.xml), answers every call with ari_app/bench/sipp/agent.xml,
    logging when it answered whom. The credentials file is SIPp's to read at its start; the stack
    deletes it once every phone has registered (or failed to)."""
    answer = with_timing(SCENARIOS / "agent.xml", trace_dir, talk_ms=talk_ms, sink_port=sink_port)
    register = with_timing(SCENARIOS / "register.xml", trace_dir, expires=3600, renew_ms=1_800_000)
    credentials = trace_dir / CREDENTIALS
    credentials.touch(mode=0o600)
    credentials.write_text(agent_credentials(accounts))
    count = str(len(accounts))
    cmd = [
        sipp_binary(), f"{accounts[0].host}:{accounts[0].registrar_port}", "-sf", str(register),
        "-inf", str(credentials), "-m", count, "-l", count, "-r", count,
        "-i", accounts[0].host, "-p", str(port), "-mp", str(PORTS.media()),
        "-oocsf", str(answer), "-aa", "-nostdin",
        "-trace_logs", "-log_file", str(trace_dir / "agent.log"),
        "-trace_err", "-error_file", str(trace_dir / "errors.log"),
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               text=True, errors="replace", cwd=trace_dir)
    return SippCall(process, trace_dir)


@dataclass
class BenchStack:
    """Everything the bench runs against. Build with :meth:`started` (a context manager that stops
    all of it however the block ends)."""

    work: Path
    agents: int
    talk_ms: int
    numbers: tuple[str, ...]
    rating: bool = False  # the app asks the caller to rate the call after the agent hangs up
    greeting: str = "greeting"
    pg: PostgresCluster | None = None
    asterisk: BenchAsterisk | None = None
    serve: ServeProcess | None = None
    sink: socket.socket | None = None  # where Asterisk's audio to every SIPp goes; never read
    phones: SippCall | None = None  # every agent's phone, one SIPp
    path: str = ""
    say: Callable[[str], None] = print

    @property
    def agent_ids(self) -> list[str]:
        return [str(FIRST_AGENT + i) for i in range(self.agents)]

    @property
    def sink_port(self) -> int:
        assert self.sink is not None
        port: int = self.sink.getsockname()[1]
        return port

    @property
    def ari(self) -> AriProbe:
        assert self.asterisk is not None
        return AriProbe(self.asterisk.ari_url, self.asterisk.ari_user, self.asterisk.ari_password)

    @property
    def sip_port(self) -> int:
        assert self.asterisk is not None
        return self.asterisk.sip_port

    def pids(self) -> dict[str, int | None]:
        """Root pid of each measured process: Asterisk, ``hotline serve``, the postmaster, and this
        process (whose tree holds Asterisk, ``hotline serve`` and every SIPp)."""
        asterisk = self.asterisk.process.pid if self.asterisk and self.asterisk.process else None
        serve = self.serve.process.pid if self.serve and self.serve.process else None
        postmaster = None
        if self.pg is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                postmaster = int((self.pg.data_dir / "postmaster.pid").read_text().split()[0])
        return {"asterisk": asterisk, "serve": serve, "postgres": postmaster, "bench": os.getpid()}

    @classmethod
    @contextlib.contextmanager
    def started(cls, work: Path, agents: int, talk_ms: int, numbers: tuple[str, ...], rating: bool = False,
                say: Callable[[str], None] = print) -> Iterator[BenchStack]:
        stack = cls(work, agents, talk_ms, numbers, rating, say=say)
        try:
            stack._start()
            yield stack
        finally:
            stack._stop()

    def _start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        state_dir = self.work / "state"
        seats = write_bench_seats(self.work / "seats.yaml", self.agent_ids, self.rating)
        self.say("starting PostgreSQL")
        self.pg = start_postgres()
        self.say("starting Asterisk")
        agi_port = free_port()
        asterisk = BenchAsterisk.create(
            f"bench-{os.getpid()}", sip_port=free_port_both(), http_port=free_port(), ami_port=free_port(),
            agi_port=agi_port, ari_password=new_password(), ami_password=new_password(), rtp_start=RTP_START,
            seats_path=seats, state_dir=state_dir, bench_numbers=self.numbers, greeting=self.greeting,
        )
        assert isinstance(asterisk, BenchAsterisk)
        self.asterisk = asterisk
        asterisk.start()
        self.say("starting hotline serve")
        self.serve = ServeProcess(
            Stack(asterisk, agi_port, "hotline"), self.pg.dsn, self.work / "serve.log",
            extra_env={"HOTLINE_SEATS": str(seats), "HOTLINE_LOG_LEVEL": "info"},
        ).start()
        self.serve.wait_ready(60)
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        self.say(f"starting {self.agents} agent phones (SIPp)")
        passwords = phone_passwords(state_dir)
        accounts = [Account(f"agent-{agent_id}", passwords[agent_id], self.sip_port) for agent_id in self.agent_ids]
        trace_dir = self.work / "agents"
        trace_dir.mkdir(parents=True, exist_ok=True)
        phones = self.phones = start_agent_phones(accounts, PORTS.sip(), trace_dir, self.talk_ms, self.sink_port)
        wanted = {account.user for account in accounts}

        def online() -> bool:
            if phones.process.poll() is not None:
                raise RuntimeError(f"the agent phones (SIPp) exited: see {phones.trace_dir}")
            return wanted <= {e["resource"] for e in self.ari.get("/endpoints/PJSIP") if e["state"] == "online"}

        try:
            wait_for(online, 60, f"{self.agents} agent phones registered", interval=0.2)
        finally:
            (trace_dir / CREDENTIALS).unlink(missing_ok=True)  # read by SIPp at its start

    def use_path(self, path: str) -> None:
        """Agents logged in and ready (``stasis``) or logged out of the ACD (``queue``)."""
        if path == self.path:
            return
        assert self.serve is not None
        http = self.serve.http
        action, want = ("login", "ready") if path == "stasis" else ("logout", "logged_out")
        def done(agent_id: str) -> bool:
            result = agent_action(http, agent_id, action)
            if result.get("status") == 409:  # still on a call the service is finishing (after an overloaded step)
                return False
            if "error" in result:
                raise RuntimeError(f"{action} agent {agent_id}: {result}")
            return True

        for agent_id in self.agent_ids:
            wait_for(functools.partial(done, agent_id), 60, f"{action} agent {agent_id}", interval=0.5)

        def settled() -> bool:
            agents = agents_state(http)
            return all(agents[i]["state"] == want and agents[i]["phone"] == "registered" for i in self.agent_ids)

        wait_for(settled, 30, f"every agent {want} with a registered phone", interval=0.2)
        self.path = path

    def agent_logs(self) -> list[str]:
        log = self.phones.trace_dir / "agent.log" if self.phones is not None else None
        return [log.read_text(errors="replace")] if log is not None and log.exists() else []

    def drain(self, timeout: float) -> int:
        """Wait until Asterisk has no channel left; hang up (and return the count of) any left then."""
        try:
            wait_for(lambda: not self.ari.channels(), timeout, "no channels left in Asterisk", interval=0.25)
            return 0
        except AssertionError:
            left = len(self.ari.channels())
            self.ari.clear()
            return left

    def _stop(self) -> None:
        # A second Ctrl-C must not cut the clean-up short.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        if self.phones is not None:
            with contextlib.suppress(Exception):
                self.phones.stop()
        if self.serve is not None:
            self.say("stopping hotline serve")
            self.serve.stop()
        if self.asterisk is not None:
            self.say("stopping Asterisk")
            self.asterisk.stop()
            with contextlib.suppress(OSError):
                shutil.copy2(self.asterisk.log_dir / "messages.log", self.work / "asterisk-messages.log")
            if not self.asterisk.running():
                self.asterisk.remove()
        if self.pg is not None:
            self.say("stopping PostgreSQL")
            self.pg.destroy()
            shutil.rmtree(self.pg.data_dir.parent, ignore_errors=True)  # the temporary dir start_postgres made
        if self.sink is not None:
            self.sink.close()
        shutil.rmtree(self.work / "state", ignore_errors=True)  # the throwaway sandbox's SIP passwords
