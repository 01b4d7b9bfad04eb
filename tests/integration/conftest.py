"""Fixtures for queue tests: an Asterisk with SIPp agent phones, a seats file, `hotline serve`
with a database of its own (so queue figures count only the test's calls); and for modules that
test a store on PostgreSQL alone: ``dsn`` (a database of the module's own, named by its
``DATABASE``) and ``pool`` (on it, the module's ``TRUNCATE`` tables emptied before each test)."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ari_app.sandbox.confgen import SipPeer
from ari_app.sandbox.postgres import PostgresCluster
from ari_app.store.db import connect_pool
from tests.harness.agents import AgentSpec, Phones, agent_action, agents_state, write_seats
from tests.harness.records import calls_from, closed_call_from, timed_events
from tests.harness.services import ServeProcess, Stack, assert_no_leaks, start_asterisk
from tests.harness.sipp import SippCall, place_call
from tests.harness.wait import wait_for

INTEGRATION_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration carries the ``integration`` marker (declared in setup.cfg),
    so ``-m "not integration"`` runs the unit tests alone. Other items are left as they are."""
    for item in items:
        if item.path.resolve().is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


# The rating after the call keeps a caller on the line for up to ~40 s when the agent hangs up
# first: off here, on in the tests of the rating itself (test_rating.py) and in config/seats.yaml.
POLICY = {"ring_timeout": 5, "wrap_up": 1, "widen_after": 4, "announce_every": 10, "rating_after_call": False}
_callers = itertools.count(700)
_databases = itertools.count(1)


@dataclass
class QueueStack:
    stack: Stack
    serve: ServeProcess
    phones: Phones
    dsn: str
    base: Path

    def call(
        self, number: str = "12345", listen_ms: int = 60000, rtp_port: int | None = None
    ) -> tuple[str, SippCall]:
        caller = f"1370{os.getpid() % 10000:04d}{next(_callers):03d}"
        sipp = place_call("greeting-12345", target_port=self.stack.asterisk.sip_port, caller=caller, service=number,
                          trace_dir=self.base / f"caller-{caller}", listen_ms=listen_ms, rtp_port=rtp_port)
        return caller, sipp

    def record(self, caller: str) -> dict[str, Any]:
        result: dict[str, Any] = wait_for(lambda: closed_call_from(self.dsn, caller), 15, f"record of {caller}")
        return result

    def events(self, caller: str) -> list[dict[str, Any]]:
        """The caller's last call's events, read once the service has stored every event and write made
        so far (they are written behind the call: up to ~100 ms later)."""
        def stored() -> bool:
            status, ready = self.serve.get("/readyz")
            return status == 200 and ready.get("events_behind") == 0 and ready.get("writes_behind") == 0

        with contextlib.suppress(AssertionError):  # a service kept busy by other calls: read what is there
            wait_for(stored, 5, "the writes behind the calls stored", interval=0.02)
        return timed_events(self.dsn, calls_from(self.dsn, caller)[-1]["call_id"])

    def wait_event(self, caller: str, kind: str, timeout: float = 30) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            rows = calls_from(self.dsn, caller)
            if not rows:
                return None
            return next((e for e in timed_events(self.dsn, rows[-1]["call_id"]) if e["kind"] == kind), None)

        return wait_for(found, timeout, f"{kind} on the call from {caller}")

    def login(self, *agent_ids: str) -> None:
        for agent_id in agent_ids:
            # Ready, or already offered a waiting call by the time the answer is written.
            assert agent_action(self.serve.http, agent_id, "login")["state"] in ("ready", "ringing", "busy")


@pytest.fixture(scope="module")
def dsn(request: pytest.FixtureRequest, postgres: PostgresCluster) -> str:
    """A database of the module's own, named by the module's ``DATABASE``."""
    return postgres.create_database(request.module.DATABASE)


@pytest.fixture
async def pool(request: pytest.FixtureRequest, dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the module's database, the tables named by its ``TRUNCATE`` emptied first."""
    pool = await connect_pool(dsn)
    await pool.execute(f"TRUNCATE {request.module.TRUNCATE} CASCADE")
    yield pool
    await pool.close()


@pytest.fixture
def queue_stack(postgres: PostgresCluster, artifacts: Path) -> Iterator[Callable[..., QueueStack]]:
    made: list[QueueStack] = []

    def make(agents: list[AgentSpec], registry: Path | None = None, peers: tuple[SipPeer, ...] = (),
             env: dict[str, str] | None = None, **policy: int) -> QueueStack:
        """``peers``: static SIP peers in Asterisk (a return-visit trunk, say); ``env``: more of the
        service's environment."""
        seats = write_seats(artifacts / "seats.yaml", agents, **{**POLICY, **policy})
        phones = Phones(agents, artifacts / "phones")
        try:
            return _make(agents, seats, phones, registry, peers, env or {})
        except BaseException:
            phones.stop()
            raise

    def _make(agents: list[AgentSpec], seats: Path, phones: Phones, registry: Path | None,
              peers: tuple[SipPeer, ...], more_env: dict[str, str]) -> QueueStack:
        # A database of its own: the queue figures count only this test's calls.
        dsn = postgres.create_database(f"q{os.getpid()}_{next(_databases)}")
        stack = start_asterisk(f"q{os.getpid() % 10000}{len(made)}", seats_path=seats, registry_path=registry,
                               state_dir=artifacts / "state", peers=peers)
        env = {"HOTLINE_SEATS": str(seats), **({"HOTLINE_REGISTRY": str(registry)} if registry else {}), **more_env}
        serve = ServeProcess(stack, dsn, artifacts / "serve.log", extra_env=env)
        try:
            phones.start(stack.asterisk.sip_port, stack.asterisk.state_dir).wait_registered(stack.ari)
            serve.start().wait_ready(20)
            wait_for(lambda: all(a["phone"] == "registered" for a in agents_state(serve.http).values()
                                 if a["id"] in phones.running), 10, "the service to see the phones registered")
        except BaseException:
            serve.stop()
            stack.asterisk.stop()
            stack.asterisk.remove()
            raise
        q = QueueStack(stack, serve, phones, dsn, artifacts)
        made.append(q)
        return q

    yield make
    for q in made:
        try:
            assert_no_leaks(q.stack, 15)
            log = q.serve.log_text()
            assert "loop_unhandled_exception" not in log and "call_flow_failed" not in log
        finally:
            q.serve.stop()
            q.phones.stop()
            q.stack.asterisk.stop()
            shutil.copytree(q.stack.asterisk.log_dir, artifacts / "asterisk", dirs_exist_ok=True)
            q.stack.asterisk.remove()
