"""Fuzzing the FastAGI server over real sockets: garbage headers, garbage replies to its commands,
slow and truncated clients, many connections at once.

Properties of every case: the server closes each connection within CLOSE_BOUND; it finishes with
every connection (served or rejected, never a route that raised); no connection task is left; no
exception reaches its event loop; every refusal is logged with its reason; and Asterisk's good
request that follows still gets exactly the right commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tests.fuzz.agi_clients import REPLY, Client, bad_client, chunked, route_request, run_client
from tests.fuzz.agi_harness import CLOSE_BOUND, GOOD_COMMANDS, GOOD_HEADER, Outcome, ServerThread, good_request
from tests.fuzz.profile import case, fuzz_settings, target_timeout
from tests.harness.wait import until

CI_CASES = 150
REFUSALS = ("agi_bad_request", "agi_unknown_route")


class Fuzzed:
    """The server under fuzzing and the log lines it wrote."""

    def __init__(self, server: ServerThread, logs: list[MutableMapping[str, Any]]) -> None:
        self.server = server
        self.logs = logs

    def events(self, *names: str) -> list[MutableMapping[str, Any]]:
        return [entry for entry in list(self.logs) if entry.get("event") in names]

    async def play(self, clients: list[Client]) -> list[Outcome]:
        """Run ``clients`` at once, then check every property; returns their outcomes."""
        server = self.server
        accounted, refusals = server.accounted(), len(self.events(*REFUSALS))
        rejected = server.server.rejected
        outcomes = await asyncio.gather(*(run_client(server.port, client) for client in clients))
        for client, outcome in zip(clients, outcomes, strict=True):
            assert outcome.closed_by_server, f"a connection still open after {CLOSE_BOUND} s: {client.describe()}"
        await until(lambda: server.accounted() == accounted + len(clients),
                    f"the server to finish with all {len(clients)} connections", timeout=CLOSE_BOUND)
        await until(lambda: server.tasks() == 0, "no connection task left", timeout=CLOSE_BOUND)
        assert not server.loop_errors, f"an exception reached the server's loop: {server.loop_errors[:3]}"
        assert not self.events("agi_route_failed"), f"a route raised: {self.events('agi_route_failed')[:3]}"
        new_refusals = self.events(*REFUSALS)[refusals:]
        assert len(new_refusals) == server.server.rejected - rejected, "a refusal was not logged"
        for entry in new_refusals:
            assert entry.get("detail") or entry.get("script") is not None, f"a refusal without its reason: {entry}"
        good = await good_request(server.port)
        assert good.commands == GOOD_COMMANDS, f"after {[c.describe() for c in clients]}: {good.commands}"
        assert good.closed_by_server
        return list(outcomes)


def timeouts(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """The log entries of connections dropped for missing a deadline (header, or a command's reply)."""
    return [entry for entry in logs
            if (entry.get("event") == "agi_bad_request" and entry.get("error") == "TimeoutError")
            or (entry.get("event") == "agi_channel_hung_up" and "no reply within" in str(entry.get("detail")))]


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Fuzzed]:
    server = ServerThread()
    with capture_logs() as logs:
        yield Fuzzed(server, logs)
    server.stop()


def run(fuzzed: Fuzzed, target: str, clients: list[Client],
        check: Callable[[list[Outcome]], None] = lambda _outcomes: None) -> None:
    """One case of ``target``: play the clients, check the server's properties and then ``check``."""
    with case(target, " | ".join(c.describe() for c in clients)):
        check(asyncio.run(fuzzed.play(clients)))


@pytest.mark.timeout(target_timeout(CI_CASES, 2.0))
def test_garbage_headers(fuzzed: Fuzzed) -> None:
    """One to four clients at once send header blocks with garbage lines, binary, GBK, NULs, huge lines,
    unknown scripts, no blank line; then wait, close, half-close or reset."""

    @fuzz_settings(CI_CASES)
    @given(clients=st.lists(bad_client(), min_size=1, max_size=4))
    def fuzz(clients: list[Client]) -> None:
        run(fuzzed, "agi:headers", clients)

    fuzz()


@pytest.mark.timeout(target_timeout(CI_CASES, 2.0))
def test_garbage_replies(fuzzed: Fuzzed) -> None:
    """A good header for a real route with odd arguments; the client answers its commands with nonsense,
    stalls, hangs up or resets. The route runs (served), never raises, and the connection ends."""

    @fuzz_settings(CI_CASES)
    @given(header=route_request(), replies=st.lists(REPLY, max_size=8))
    def fuzz(header: bytes, replies: list[bytes]) -> None:
        served = fuzzed.server.server.served

        def check(_outcomes: list[Outcome]) -> None:  # this request and the good one that followed both ran
            assert fuzzed.server.server.served == served + 2, f"{header[:200]!r} was not served"

        run(fuzzed, "agi:replies", [Client([header], replies=replies)], check)

    fuzz()


@pytest.mark.timeout(target_timeout(CI_CASES, 2.0))
def test_slow_and_truncated_clients(fuzzed: Fuzzed) -> None:
    """Asterisk's good header byte by byte or in pieces, at a slow pace, maybe cut short, then any ending.
    The answer is all of the right commands or none (a refusal): never a wrong one."""

    @st.composite
    def slow_client(draw: st.DrawFn) -> Client:
        data = GOOD_HEADER[: draw(st.integers(0, len(GOOD_HEADER)))] if draw(st.booleans()) else GOOD_HEADER
        chunks = draw(chunked(data, len(GOOD_HEADER)))
        pause = draw(st.sampled_from((0.0, 0.0, 0.001, 0.01, 0.05)))
        return Client(chunks, pause if len(chunks) <= 20 else 0.0, draw(st.sampled_from(("wait", "wait", "close",
                                                                                         "shutdown", "reset"))))

    @fuzz_settings(CI_CASES)
    @given(clients=st.lists(slow_client(), min_size=1, max_size=3))
    def fuzz(clients: list[Client]) -> None:
        def check(outcomes: list[Outcome]) -> None:
            for client, outcome in zip(clients, outcomes, strict=True):
                got = outcome.commands
                assert got == GOOD_COMMANDS[: len(got)], f"{client.describe()} got wrong commands: {got}"
                if client.sent != GOOD_HEADER:
                    assert got == [], f"a truncated header was served: {client.describe()}"
                elif client.then == "wait":  # a client that answers gets all of the answer, or none (too slow)
                    assert got in ([], GOOD_COMMANDS), f"{client.describe()} got {got}"

        run(fuzzed, "agi:slow", clients, check)

    fuzz()


@pytest.mark.timeout(target_timeout(CI_CASES, 3.0))
def test_many_connections_at_once(fuzzed: Fuzzed) -> None:
    """Five to thirty connections at once, good and bad mixed: every good one gets exactly its answer."""

    @fuzz_settings(CI_CASES // 3)
    @given(good=st.integers(1, 10), bad=st.lists(bad_client(), min_size=4, max_size=20))
    def fuzz(good: int, bad: list[Client]) -> None:
        mark = len(fuzzed.logs)

        def check(outcomes: list[Outcome]) -> None:
            answers = [outcome.commands for outcome in outcomes[:good]]
            assert all(got == GOOD_COMMANDS[: len(got)] for got in answers), f"a wrong command: {answers}"
            # On a loaded machine a good client may miss the fuzzing's short deadlines (0.2 s for the
            # header, 0.5 s a reply): each shortfall must then be a logged timeout, never anything else.
            short = sum(1 for got in answers if got != GOOD_COMMANDS)
            assert short <= len(timeouts(fuzzed.logs[mark:])), f"{short} good clients cut short: {answers}"

        run(fuzzed, "agi:concurrent", [Client([GOOD_HEADER]) for _ in range(good)] + bad, check)

    fuzz()
