"""``hotline serve``: the Stasis app, the FastAGI server and the HTTP server on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web

from agi.routes import AgiRoutes
from agi.server import FastAgiServer
from ari_app import logs
from ari_app.acd import figures
from ari_app.acd.engine import Acd
from ari_app.acd.figures import CallOutcome
from ari_app.acd.model import AgentState
from ari_app.acd.store import AcdStore
from ari_app.api.health import build_app
from ari_app.ari.errors import AriError
from ari_app.ari.events import Channel, DeviceStateChanged, Event
from ari_app.ari.rest import AriRest
from ari_app.ari.stream import AriEventStream, backoff_delay
from ari_app.calls.dispatcher import CallDispatcher
from ari_app.calls.session import CallSession, EscalateRequest, PartyRequest
from ari_app.clock import clock_from_setting
from ari_app.flows.common import FlowContext
from ari_app.flows.intake import intake_flow
from ari_app.registry.holder import RegistryHolder
from ari_app.registry.loader import RegistryError
from ari_app.registry.model import Department
from ari_app.seats.loader import load_seats
from ari_app.seats.model import agent_seats
from ari_app.settings import Settings
from ari_app.store.calls import CallStore
from ari_app.store.db import connect_pool

log = logs.get_logger("service")
PJSIP_DEVICE = "PJSIP/"
UNREACHABLE_DEVICE = ("UNAVAILABLE", "INVALID")  # device states of a phone that is not registered or not answering
T = TypeVar("T")


class ServiceError(RuntimeError):
    """The service cannot start (a port is taken, ...); the message says what to change."""


def _load(what: str, path: Path, loader: Callable[[Path], T]) -> T:
    """Load a configuration file at start-up; a problem stops the service with a clear message."""
    try:
        return loader(path)
    except RegistryError as exc:
        raise ServiceError(f"the {what} has problems:\n{exc}") from None
    except OSError as exc:
        raise ServiceError(f"cannot read the {what} {path}: {exc.strerror}") from None


class HotlineService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ari = AriRest(settings.ari_url, settings.ari_user, settings.ari_password)
        self.registry = _load("registry", settings.registry_path, RegistryHolder)
        self.seats = _load("seats file", settings.seats_path, load_seats)
        self.acd: Acd | None = None
        self.acd_store: AcdStore | None = None
        self.agi_routes = AgiRoutes(
            self.registry, clock_from_setting(settings.today), lambda: self.calls, lambda: self.acd
        )
        self.agi = FastAgiServer(self.agi_routes.table(), header_timeout=settings.agi_header_timeout)
        self.pool: asyncpg.Pool | None = None
        self.calls: CallStore | None = None
        self.dispatcher: CallDispatcher | None = None
        self.stream: AriEventStream | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        try:
            await self.agi.start(s.agi_host, s.agi_port)
        except OSError as exc:
            raise ServiceError(f"cannot listen for FastAGI on {s.agi_host}:{s.agi_port}: {exc.strerror}") from None
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, s.http_host, s.http_port).start()
        except OSError as exc:
            await self.agi.stop()
            raise ServiceError(f"cannot listen for HTTP on {s.http_host}:{s.http_port}: {exc.strerror}") from None
        log.info("http_listening", host=s.http_host, port=s.http_port)
        self._tasks.append(asyncio.create_task(self._connect_then_stream(), name="db-then-ari"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.dispatcher is not None:
            await self.dispatcher.shutdown()
        await self.agi.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.ari.close()
        if self.pool is not None:
            await self.pool.close()
        log.info("service_stopped")

    async def _connect_then_stream(self) -> None:
        """Connect the database (retrying), then register the Stasis app with Asterisk.

        The app registers only once records can be written; until then ``Stasis()`` fails fast
        and the dialplan's degraded path serves callers.
        """
        attempt = 0
        while self.pool is None:
            try:
                self.pool = await connect_pool(self.settings.dsn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.error("database_unreachable", error=type(exc).__name__, detail=logs.redact(str(exc))[:200])
                await asyncio.sleep(backoff_delay(attempt, 0.5, self.settings.ari_backoff_max))
                attempt += 1
        self.calls = CallStore(self.pool, self.settings.node)
        self.acd_store = AcdStore(self.pool, self.settings.node)
        self.acd = Acd(agent_seats(self.seats), self.seats.policy, self.acd_store)
        await self.acd.load()
        self._tasks.append(asyncio.create_task(self.acd.run(), name="acd"))
        self.dispatcher = CallDispatcher(self._flow, on_orphan=self._hangup_quietly)
        self.stream = AriEventStream(
            self.ari,
            self.settings.ari_app,
            self._on_event,
            self.reconcile,
            backoff_initial=self.settings.ari_backoff_initial,
            backoff_max=self.settings.ari_backoff_max,
            heartbeat=self.settings.ari_heartbeat,
        )
        await self.stream.run()

    def _on_event(self, event: Event) -> None:
        """Phone states go to the ACD; everything else to the call that owns the channel."""
        if isinstance(event, DeviceStateChanged):
            if self.acd is not None and event.device.startswith(PJSIP_DEVICE):
                self.acd.phone_state(event.device.removeprefix(PJSIP_DEVICE), event.state not in UNREACHABLE_DEVICE)
            return
        if self.dispatcher is not None:
            self.dispatcher.on_event(event)

    async def _watch_phones(self) -> None:
        """Follow the agents' phones: device-state events from now on, and their state right now."""
        assert self.acd is not None
        agents = list(self.acd.agents.values())
        if not agents:
            return
        await self.ari.subscribe(self.settings.ari_app, [f"deviceState:{PJSIP_DEVICE}{a.endpoint}" for a in agents])
        online = {str(e.get("resource")) for e in await self.ari.endpoints("PJSIP") if e.get("state") == "online"}
        for agent in agents:
            self.acd.phone_state(agent.endpoint, agent.endpoint in online)

    async def _flow(self, session: CallSession) -> None:
        assert self.calls is not None and self.acd is not None and self.dispatcher is not None
        context = FlowContext(
            self.ari, self.calls, self.acd, self.settings.ari_app, self.dispatcher.attach, lambda: self.registry.current
        )
        await intake_flow(context, session)

    # -- reconcile -----------------------------------------------------------------------------
    async def reconcile(self) -> None:
        """Bring our view in line with Asterisk after a (re)connect.

        Callers in the app that no task owns are adopted: a caller who was waiting goes back into
        line at the old place, a caller who was talking to an agent is left talking. Agent legs
        nobody owns are hung up. Records of calls that ended while we were away are closed.
        """
        assert self.calls is not None and self.dispatcher is not None and self.acd is not None
        assert self.acd_store is not None
        await self._watch_phones()
        open_before = await self.calls.open_call_ids()  # read first: calls opened later are live
        live = {c.call.channel_id: c for c in await self.acd_store.live_calls()}
        application = await self.ari.application(self.settings.ari_app)
        channels = {c["id"]: c for c in await self.ari.channels()}
        in_app = [cid for cid in application.get("channel_ids", []) if cid in channels]
        agent_legs = {c.agent_channel for c in live.values() if c.status == "talking"}
        adopted = orphans = 0
        for channel_id in sorted(in_app, key=lambda cid: live[cid].call.seq if cid in live else 0):
            if self.dispatcher.session_for(channel_id) is not None:
                continue
            if channel_id.startswith("agent-"):
                if channel_id not in agent_legs:
                    await self._hangup_quietly(channel_id)
                    orphans += 1
                continue
            channel = Channel.from_json(channels[channel_id])
            stored = live.get(channel_id)
            if stored is not None and stored.status == "talking" and stored.agent_channel not in channels:
                await self._hangup_quietly(channel_id)  # the agent left while we were away
                continue
            route = await self._channel_var(channel_id, "HOTLINE_ROUTE") or "intake"
            tag = await self._channel_var(channel_id, "HOTLINE_TAG") or channel.exten
            group = await self._channel_var(channel_id, "HOTLINE_GROUP")
            session = self.dispatcher.start(channel, args=(route, tag, "", group), adopted=True)
            if session is None:
                continue
            adopted += 1
            if stored is not None:
                session.resume, session.live, session.queued = stored.status, stored, stored.call
                if stored.status == "talking":
                    await self.acd.adopt_talking(stored.call.call_id, stored.agent_id)
        closed = 0
        for call_id in open_before:
            if call_id not in channels and self.dispatcher.session_for(call_id) is None:
                if await self.calls.close(call_id, "ended_while_disconnected"):
                    await self.calls.event(call_id, "closed_by_reconcile")
                    closed += 1
        for stored in live.values():
            if stored.call.channel_id not in channels:
                await self.acd.ended_while_away(stored.call.call_id, stored.agent_id, stored.status)
        log.info("reconciled", adopted=adopted, closed=closed, orphan_agent_legs=orphans, channels=len(channels))

    async def _hangup_quietly(self, channel_id: str) -> None:
        try:
            await self.ari.hangup(channel_id)
        except AriError:
            pass

    async def _channel_var(self, channel_id: str, name: str) -> str:
        try:
            return await self.ari.get_variable(channel_id, name)
        except AriError:
            return ""

    # -- probes (HTTP) -------------------------------------------------------------------------
    async def readiness(self) -> dict[str, object]:
        db_ok = False
        if self.pool is not None:
            try:
                db_ok = await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2.0) == 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                db_ok = False
        ari_ok = self.stream is not None and self.stream.ready
        return {
            "ready": bool(db_ok and ari_ok),
            "database": db_ok,
            "ari": ari_ok,
            "ari_error": self.stream.last_error if self.stream else "waiting for the database",
            "active_calls": self.dispatcher.active_calls if self.dispatcher else 0,
        }

    def reload_registry(self) -> list[str]:
        """Reload config/hotlines.yaml; problems (if any) are returned and the old registry stays."""
        return [str(p) for p in self.registry.reload()]

    def registry_summary(self) -> dict[str, object]:
        current = self.registry.current
        return {
            "file": str(self.registry.path),
            "platform": current.platform.number,
            "hotlines": len(current.hotlines),
            "modes": {mode.value: count for mode, count in current.count_by_mode().items()},
            "reloads": self.registry.reloads,
            "degraded_calls": self.agi_routes.degraded_calls,
        }

    async def queue_figures(self) -> dict[str, object]:
        """Live and historical (last 24 hours) figures per hotline and per queue, agent state counts."""
        assert self.acd is not None and self.acd_store is not None
        now = self.acd.now()
        rows = await self.acd_store.outcomes(since=now - 86400)
        outcomes = [
            CallOutcome(r["hotline"], r["queue"], r["enqueued_at"], r["answered_at"], r["ended_at"],
                        r["status"] == "abandoned")
            for r in rows
        ]
        waiting = self.acd.waiting()
        threshold = float(self.acd.policy.service_level_seconds)
        return {
            "now": now,
            "service_level_seconds": threshold,
            "total": asdict(figures.compute(outcomes, waiting, now, threshold)),
            "by_hotline": {k: asdict(v) for k, v in figures.by_hotline(outcomes, waiting, now, threshold).items()},
            "by_queue": {k: asdict(v) for k, v in figures.by_queue(outcomes, waiting, now, threshold).items()},
            "agents": figures.agent_state_counts(self.acd.agents.values()),
        }

    def escalate(self, call_id: str, group: str) -> bool:
        """Ask a call's task to take the caller from the agent to ``group`` (see intake flow)."""
        if self.dispatcher is None:
            return False
        session = self.dispatcher.session_for(call_id)
        if session is None or self.acd is None:
            return False
        if not any(a.call_id == call_id and a.state is AgentState.BUSY for a in self.acd.agents.values()):
            return False
        session.deliver(EscalateRequest(group))
        return True

    def party(self, call_id: str, action: str, target: str) -> bool:
        """Hand a department request (add, drop, leave, transfers) to the call's task."""
        session = self.dispatcher.session_for(call_id) if self.dispatcher else None
        if session is None or session.talk is None:
            return False
        session.deliver(PartyRequest(action, target))
        return True

    def department(self, target: str) -> Department | None:
        """A department by two-digit short code (departments with seats), id, or hotline number."""
        registry = self.registry.current
        for department in registry.departments.values():
            if department.line is not None and department.line.short_code == target:
                return department
        if target in registry.departments:
            return registry.departments[target]
        line = registry.hotline(target)
        return registry.departments.get(line.department) if line is not None else None

    def departments(self) -> list[Department]:
        return list(self.registry.current.departments.values())

    async def request_work_order(self, call_id: str, department: Department, note: str) -> bool:
        """Record that the agent dispatches a work order to a department for this call (False: no
        such call). The work order itself (deadlines, return visit) is the back-office's; this keeps
        the request."""
        if self.calls is None or not await self.calls.exists(call_id):
            return False
        await self.calls.event(call_id, "work_order_requested", department=department.id, note=note)
        return True

    def call_state(self, call_id: str) -> dict[str, object] | None:
        """Who is on a live call now, and the last department failure the agent should know of."""
        session = self.dispatcher.session_for(call_id) if self.dispatcher else None
        if session is None:
            return None
        talk = session.talk
        state: dict[str, object] = {"call_id": call_id, "hotline": session.hotline, "route": session.route,
                                    "talking": talk is not None}
        if talk is not None:
            party = talk.party
            state.update(
                agent=talk.agent_id if talk.agent_present else None,
                caller_on_hold=bool(talk.holding),
                department=(
                    {"id": party.department.id, "mode": party.mode, "joined": party.joined} if party else None
                ),
                last_failure=talk.last_failure or None,
            )
        return state

    async def latest_calls(self, limit: int) -> list[dict[str, object]] | None:
        if self.calls is None:
            return None
        try:
            return [r.to_json() for r in await self.calls.latest(limit)]
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return None


def _log_unhandled(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """A task died with nobody awaiting it: say so loudly (the test harness fails on this)."""
    exc = context.get("exception")
    log.error(
        "loop_unhandled_exception",
        message=str(context.get("message", "")),
        error=f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else "",
    )


async def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    logs.register_secret(settings.ari_password)
    logs.register_secret(urlsplit(settings.dsn).password or "")
    service = HotlineService(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, service.reload_registry)
    loop.set_exception_handler(_log_unhandled)
    await service.start()
    log.info("service_started", node=settings.node, ari_url=settings.ari_url, app=settings.ari_app)
    try:
        await stop.wait()
    finally:
        await service.stop()
