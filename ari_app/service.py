"""``hotline serve``: the wiring. The Stasis app, the FastAGI server and the HTTP server on one
event loop; each domain (ACD, calls, registry) brings its own logic and routes, this module
starts them in order and stops them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web

from agi.routes import AgiRoutes
from agi.server import FastAgiServer
from ari_app import logs
from ari_app.accounts.store import AccountStore
from ari_app.accounts.throttle import LoginThrottle, ThrottlePolicy
from ari_app.acd.engine import Acd
from ari_app.acd.phones import on_device_state, watch_phones
from ari_app.acd.report import load_window, queue_report
from ari_app.acd.store import AcdStore
from ari_app.acd.window import OutcomeWindow
from ari_app.ami.client import AmiTarget
from ari_app.ami.security import SecurityWatch
from ari_app.api.app import build_app
from ari_app.ari.cluster import AriNode, AriNodes
from ari_app.ari.errors import AriError
from ari_app.ari.events import DeviceStateChanged, Event
from ari_app.ari.stream import AriEventStream, backoff_delay
from ari_app.callbacks.call import CallbackLine, call_back
from ari_app.callbacks.desk import CallbackDesk
from ari_app.calls.control import CallControl
from ari_app.calls.dispatcher import CallDispatcher
from ari_app.calls.reconcile import Reconciler
from ari_app.calls.session import CallSession
from ari_app.clock import clock_from_setting
from ari_app.configcheck.problems import ConfigError
from ari_app.console.sources import ConsoleSources
from ari_app.flows.common import FlowContext
from ari_app.flows.intake import intake_flow
from ari_app.knowledge.desk import KnowledgeDesk
from ari_app.knowledge.store import KnowledgeStore
from ari_app.knowledge.terms import JiebaTerms
from ari_app.registry.holder import RegistryHolder, ReloadOutcome
from ari_app.reports.queries import staffing_now
from ari_app.reports.service_loop import LoopFigures
from ari_app.seats.loader import load_seats
from ari_app.seats.model import agent_seats
from ari_app.settings import Settings
from ari_app.store.calls import CallStore
from ari_app.store.db import connect_pool
from ari_app.store.journal import WriteJournal, write_figures
from ari_app.store.spool import CallSpool
from ari_app.visits.call import VisitLine, place_visit
from ari_app.visits.desk import ReturnVisits
from ari_app.visits.dialer import OrderSide, VisitDialer
from ari_app.visits.policy import load_visit_policy
from ari_app.visits.store import VisitStore
from ari_app.workorders.calendar import load_calendar
from ari_app.workorders.deadlines import check_config, load_limits
from ari_app.workorders.desk import Filing, WorkOrderDesk
from ari_app.workorders.lifecycle import Actor, Role
from ari_app.workorders.store import WorkOrderStore

log = logs.get_logger("service")
T = TypeVar("T")
Line = TypeVar("Line", CallbackLine, VisitLine)
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
DEFAULT_CATEGORY = "request"  # an order filed from a call without a category (求助)


def _now() -> datetime:
    return datetime.now(UTC)


class ServiceError(RuntimeError):
    """The service cannot start (a port is taken, ...); the message says what to change."""


def _load(what: str, path: Path, loader: Callable[[Path], T]) -> T:
    """Load a configuration file at start-up; a problem stops the service with a clear message."""
    try:
        return loader(path)
    except ConfigError as exc:
        raise ServiceError(f"the {what} has problems:\n{exc}") from None
    except OSError as exc:
        raise ServiceError(f"cannot read the {what} {path}: {exc.strerror}") from None


class HotlineService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.nodes = AriNodes(settings.nodes(), settings.ari_user, settings.ari_password)
        self.registry = _load("registry", settings.registry_path, RegistryHolder)
        self.seats = _load("seats file", settings.seats_path, load_seats)
        self.calendar = _load("working-day calendar", settings.calendar_path, load_calendar)
        self.limits = _load("work-order time limits", settings.workorders_path, load_limits)
        self.visit_policy = _load("return-visit settings", settings.return_visits_path, load_visit_policy)
        self.visits: ReturnVisits | None = None
        self.callbacks: CallbackDesk | None = None
        self.loop_figures: LoopFigures | None = None  # ratings and return visits in GET /queues
        for problem in check_config(self.calendar, self.limits, datetime.now(self.limits.zone).date()):
            log.warning("calendar_ends_soon", problem=problem)  # orders whose deadline it cannot reach are refused
        self.pool: asyncpg.Pool | None = None
        self.calls: CallStore | None = None
        self.acd: Acd | None = None
        self.acd_store: AcdStore | None = None
        # The last 24 hours of queue outcomes for GET /queues, fed by every write of a queued call.
        self.queue_window = OutcomeWindow(float(self.seats.policy.service_level_seconds))
        self.dispatcher: CallDispatcher | None = None
        self.desk: WorkOrderDesk | None = None
        self.knowledge: KnowledgeDesk | None = None
        self.accounts: AccountStore | None = None
        self.control = CallControl(self.registry, lambda: self.dispatcher, lambda: self.acd, lambda: self.calls,
                                   lambda: self._file_order if self.desk is not None else None)
        self.agi_routes = AgiRoutes(
            self.registry, clock_from_setting(settings.today), lambda: self.calls, lambda: self.acd
        )
        self.agi = FastAgiServer(self.agi_routes.table(), header_timeout=settings.agi_header_timeout)
        self.security = SecurityWatch(AmiTarget(settings.ami_host, settings.ami_port, settings.ami_user,
                                                settings.ami_secret) if settings.ami_secret else None)
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        try:
            await self.agi.start(s.agi_host, s.agi_port)
        except OSError as exc:
            raise ServiceError(f"cannot listen for FastAGI on {s.agi_host}:{s.agi_port}: {exc.strerror}") from None
        self._runner = web.AppRunner(
            build_app(self, self.control, lambda: self.acd, self._queue_report, lambda: self.desk,
                      lambda: self.knowledge, lambda: self.accounts, s.session_hours,
                      throttle=LoginThrottle(ThrottlePolicy(s.login_failures, s.login_address_failures)),
                      visits=lambda: self.visits, callbacks=lambda: self.callbacks, console=self._console()),
            access_log=None
        )
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, s.http_host, s.http_port).start()
        except OSError as exc:
            await self.agi.stop()
            raise ServiceError(f"cannot listen for HTTP on {s.http_host}:{s.http_port}: {exc.strerror}") from None
        log.info("http_listening", host=s.http_host, port=s.http_port)
        self.security.start()
        self._tasks.append(asyncio.create_task(self._connect_then_stream(), name="db-then-ari"))

    def _console(self) -> ConsoleSources:
        async def staffing() -> dict[str, Any]:
            if self.pool is None:
                return {}
            return await staffing_now(self.pool, self.registry.current, self.seats)

        return ConsoleSources(
            registry=lambda: self.registry.current, acd=lambda: self.acd, screen=self.control.screen,
            queue_figures=self._queue_report, pool=lambda: self.pool, zone=self.limits.zone,
            now=lambda: datetime.now(UTC), desk=lambda: self.desk, knowledge=lambda: self.knowledge, staffing=staffing)

    async def stop(self) -> None:
        self.security.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.callbacks is not None:
            await self.callbacks.stop()
        if self.dispatcher is not None:
            await self.dispatcher.shutdown()
        await self.agi.stop()
        await self.agi_routes.drain()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.nodes.close()
        if self.calls is not None:
            if self.calls.journal is not None:
                await self.calls.journal.close()
            await self.calls.events_behind.close()
        if self.pool is not None:
            await self.pool.close()
        log.info("service_stopped")

    async def _connect_then_stream(self) -> None:
        """Connect the database (retrying), then register the Stasis app with Asterisk.

        The app registers only once records can be written; until then ``Stasis()`` fails fast
        and the dialplan's degraded path serves callers.
        """
        terms = JiebaTerms()  # the knowledge search's dictionary, loaded in a thread while the database connects
        loading = asyncio.create_task(asyncio.to_thread(terms.load), name="knowledge-terms")
        attempt = 0
        while self.pool is None:
            try:
                self.pool = await connect_pool(self.settings.dsn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.error("database_unreachable", error=type(exc).__name__, detail=logs.redact(str(exc))[:200])
                await asyncio.sleep(backoff_delay(attempt, 0.5, self.settings.ari_backoff_max))
                attempt += 1
        # Call records, queue and agent states: written behind the calls, in order per call and agent,
        # many per round trip, kept through an outage.
        journal = WriteJournal.on_pool(self.pool)
        self.calls = CallStore(self.pool, self.settings.node, journal)
        for name, path in self.settings.spools():  # calls served while the service was down get their records
            spool = CallSpool(path, self.pool, name)
            self._tasks.append(asyncio.create_task(spool.run(self.settings.call_spool_every), name=f"spool-{name}"))
        self.acd_store = AcdStore(self.pool, self.settings.node, on_outcome=self.queue_window.put, journal=journal)
        self.accounts = AccountStore(self.pool)
        self.desk = WorkOrderDesk(WorkOrderStore(self.pool), lambda: self.registry.current, self.calendar, self.limits)
        knowledge = KnowledgeDesk(KnowledgeStore(self.pool), lambda: self.registry.current,
                                  self.settings.knowledge_path, terms)
        await knowledge.start()  # imports config/knowledge.yaml into an empty knowledge base
        await asyncio.gather(loading, return_exceptions=True)  # a failure: warm() below tries again, logs it
        await knowledge.warm()  # the search index built before calls arrive
        self.knowledge = knowledge
        self.acd = Acd(agent_seats(self.seats), self.seats.policy, self.acd_store)
        await self.acd.load()
        await load_window(self.acd_store, self.queue_window, self.acd.now())  # before any call is queued
        self._tasks.append(asyncio.create_task(self.acd.run(), name="acd"))
        self.dispatcher = CallDispatcher(self._flow, on_orphan=self._hang_up_quietly)
        self._start_return_visits()
        await self._start_callbacks()
        s = self.settings
        for node in self.nodes.nodes:
            node.stream = AriEventStream(
                node.rest, s.ari_app, functools.partial(self._on_event, node=node.name),
                functools.partial(self.reconcile, node), backoff_initial=s.ari_backoff_initial,
                backoff_max=s.ari_backoff_max, heartbeat=s.ari_heartbeat, rest_over_websocket=s.ari_transport == "auto")
        runs = [node.stream.run() for node in self.nodes.nodes if node.stream is not None]
        if self.nodes.several:  # a node down past the grace period: its calls are lost, the others go on
            runs.append(self.nodes.watch(s.node_grace, self._node_lost))
        await asyncio.gather(*runs)

    @property
    def stream(self) -> AriEventStream | None:
        """The first node's events stream (the only one's, with one node)."""
        return self.nodes.first.stream

    def _on_event(self, event: Event, node: str = "") -> None:
        """Phone states go to the ACD; everything else to the call that owns the channel."""
        if isinstance(event, DeviceStateChanged):
            if self.acd is not None:
                on_device_state(self.acd, event)
        elif self.dispatcher is not None:
            self.dispatcher.on_event(event, node)

    async def _node_lost(self, node: AriNode) -> None:
        """Its calls are gone: each flow closes its record (node_lost) and frees its agent."""
        if self.dispatcher is not None:
            gone = self.dispatcher.vanished((), node.session_nodes, lost=node.name)
            log.warning("node_calls_lost", node=node.name, channels=len(gone))

    def _context(self, node: str = "") -> FlowContext:
        assert self.calls is not None and self.acd is not None and self.dispatcher is not None
        return FlowContext(
            self.nodes.get(node).rest, self.calls, self.acd, self.settings.ari_app, self.dispatcher.attach,
            lambda: self.registry.current, rated=self.desk.call_rated if self.desk is not None else None,
            callbacks=self.callbacks,
        )

    async def _flow(self, session: CallSession) -> None:
        await intake_flow(self._context(session.node), session)

    async def _start_callbacks(self) -> None:
        """Queue callbacks (ari_app.callbacks): the stored ones back in line before calls come."""
        assert self.acd is not None and self.acd_store is not None and self.dispatcher is not None
        policy = self.visit_policy  # the same outbound trunk and caller id as the return visits
        line = CallbackLine(self._context(), policy.trunk, policy.caller_id, policy.ring_seconds,
                            self.dispatcher.detach)
        self.callbacks = CallbackDesk(self.acd, self.acd_store, lambda entry, number, offer: call_back(
            self._outbound(line), entry, number, offer))
        await self.callbacks.start()

    def _start_return_visits(self) -> None:
        """The return-visit dialler: orders replied to are called back (ari_app.visits)."""
        assert self.pool is not None and self.desk is not None and self.dispatcher is not None
        desk, policy = self.desk, self.visit_policy
        line = VisitLine(self._context(), policy, self.dispatcher.detach)
        store = VisitStore(self.pool, self.settings.node)
        dialer = VisitDialer(store, policy, lambda visit: place_visit(self._outbound(line), visit),
                             OrderSide(desk.wants_visit, desk.visit_rated), _now, ready=self.nodes.any_ready)
        self.visits = ReturnVisits(store, dialer, policy, _now, desk.get)
        desk.on_replied = self.visits.replied
        self._tasks.append(asyncio.create_task(dialer.run(), name="return-visits"))

    def _outbound(self, line: Line) -> Line:
        """A call the service places itself goes through a live node (in turn), named in its ids."""
        node = self.nodes.outbound()
        return replace(line, ctx=self._context(node.name), node=node.name)

    async def reconcile(self, node: AriNode) -> None:
        """On every (re)connect of a node: the phones' states, then its calls (see ari_app.calls.reconcile)."""
        assert self.calls is not None and self.dispatcher is not None and self.acd is not None
        assert self.acd_store is not None
        await watch_phones(node.rest, self.settings.ari_app, self.acd)
        await Reconciler(node.rest, self.settings.ari_app, self.dispatcher, self.acd, self.acd_store, self.calls,
                         node=node.name, mine=lambda call_id: self.nodes.of_call(call_id) == node.name,
                         nodes=node.session_nodes).run()

    async def _hang_up_quietly(self, channel_id: str) -> None:
        """A leg nobody's call holds: hung up on whichever node has it."""
        for node in self.nodes.nodes:
            try:
                await node.rest.hangup(channel_id)
                return
            except AriError:
                continue

    async def _file_order(self, call_id: str, department: str, note: str, agent: str) -> str:
        """A work order from a live or finished call, dispatched to ``department`` (POST /calls/{id}/work-order)."""
        assert self.desk is not None
        content = note or "（见通话记录）"
        filing = Filing(category=DEFAULT_CATEGORY, content=content, call_id=call_id, department=department)
        order = await self.desk.file(filing, Actor(agent or "agent", Role.AGENT))
        return order.number

    async def _queue_report(self, acd: Acd) -> str:
        if self.loop_figures is None and self.pool is not None:
            self.loop_figures = LoopFigures(self.pool, lambda: self.visits.figures() if self.visits else None)
        more = await self.loop_figures.members() if self.loop_figures is not None else []
        return queue_report(acd, self.queue_window, more)

    # -- probes (HTTP) -------------------------------------------------------------------------
    async def readiness(self) -> dict[str, object]:
        db_ok = False
        if self.pool is not None:
            try:
                db_ok = await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2.0) == 1
            except DATABASE_ERRORS:
                db_ok = False
        ari_ok = self.nodes.any_ready()  # with several nodes: calls are served while one is
        return {
            "ready": bool(db_ok and ari_ok),
            "database": db_ok,
            "ari": ari_ok,
            "ari_error": self.stream.last_error if self.stream else "waiting for the database",
            "ari_connects": self.stream.connects if self.stream else 0,
            **({"nodes": [n.summary() for n in self.nodes.nodes]} if self.nodes.several else {}),
            "active_calls": self.dispatcher.active_calls if self.dispatcher else 0,
            "failed_flows": self.dispatcher.failed_flows if self.dispatcher else 0,  # call flows that raised
            **write_figures(self.calls.journal if self.calls else None),
            "events_behind": self.calls.events_behind.pending if self.calls else 0,  # call events not stored yet
        }

    def reload_registry(self, force: bool = False, dry_run: bool = False) -> ReloadOutcome:
        """Reload config/hotlines.yaml; on problems, or numbers removed without ``force``, the old one stays."""
        return self.registry.reload(force, dry_run)

    def security_summary(self) -> dict[str, object]:
        return self.security.summary()

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
