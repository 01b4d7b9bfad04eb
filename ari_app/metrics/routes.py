"""``GET /metrics``: the Prometheus text format.

Who may read it: Prometheus scrapers do not log in, so /metrics is outside the login (see
ari_app.accounts.routes.OPEN_PATHS) and guarded here instead: a client on this host (127.0.0.1,
::1) reads it freely; any other needs ``Authorization: Bearer <HOTLINE_METRICS_TOKEN>``, and with no
token set, nobody off the host does (403).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from ari_app.acd.engine import Acd
from ari_app.logs import observe, register_secret
from ari_app.metrics.instruments import REGISTRY, on_log_event
from ari_app.metrics.live import LiveCollector, snapshot
from ari_app.settings import default_state_dir, read_secrets_file
from ari_app.web.inputs import InputError

# The text format every Prometheus reads (the names here are plain ASCII, as 0.0.4 wants them).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def metrics_token(env: Mapping[str, str] | None = None) -> str:
    """HOTLINE_METRICS_TOKEN from the environment or the state directory's secrets.env ("" = none)."""
    env = os.environ if env is None else env
    return env.get("HOTLINE_METRICS_TOKEN") or read_secrets_file(default_state_dir(env) / "secrets.env").get(
        "HOTLINE_METRICS_TOKEN", "")


def allowed(remote: str | None, authorization: str, token: str) -> bool:
    if remote in LOOPBACK:
        return True
    scheme, _, given = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def exposition(acd: Acd | None, readiness: Mapping[str, object]) -> bytes:
    """The counters of this process and a snapshot of the live figures, in the text format."""
    registry = CollectorRegistry()
    registry.register(LiveCollector(snapshot(acd, readiness)))
    return generate_latest(REGISTRY) + generate_latest(registry)


def add_metrics_routes(
    app: web.Application, acd: Callable[[], Acd | None],
    readiness: Callable[[], Awaitable[dict[str, object]]], token: str | None = None,
) -> None:
    """``token``: the bearer token for scrapers off this host (default: :func:`metrics_token`)."""
    secret = metrics_token() if token is None else token
    register_secret(secret)
    observe(on_log_event)

    async def metrics(request: web.Request) -> web.Response:
        if not allowed(request.remote, request.headers.get("Authorization", ""), secret):
            raise InputError(403, "/metrics is open on this host only; elsewhere send "
                             "Authorization: Bearer <HOTLINE_METRICS_TOKEN>")
        body = exposition(acd(), await readiness())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
