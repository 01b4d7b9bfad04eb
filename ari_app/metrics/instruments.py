"""The process's counters and histograms, in a registry of their own."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

CALLS = Counter("hotline_calls", "Calls recorded, by the number dialled and the route taken on arrival",
                ["hotline", "route"], registry=REGISTRY)
ANSWER_LATENCY = Histogram(
    "hotline_answer_latency_seconds", "From the caller's channel being created in Asterisk to its answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=REGISTRY)
HOLDING_ENTRY = Histogram(
    "hotline_holding_entry_seconds",
    "From the caller's StasisStart (Asterisk's timestamp) to the caller in the holding bridge, less the time "
    "the prompts played meanwhile (greeting, notice): the app's own time on the way into the queue",
    buckets=(0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03,
             0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0), registry=REGISTRY)
RATINGS = Counter("hotline_ratings", "Ratings given (after a call, or on a return visit)", ["source", "rating"],
                  registry=REGISTRY)
RETURN_VISITS = Counter("hotline_return_visit_attempts", "Return-visit calls placed, by whether they were answered",
                        ["answered"], registry=REGISTRY)
DATABASE_ERRORS = Counter("hotline_database_errors", "Database operations that failed, by the logged event",
                          ["event"], registry=REGISTRY)
ERRORS = Counter("hotline_errors", "Error lines in the log, by event", ["event"], registry=REGISTRY)

# Log events that mean PostgreSQL did not take or give what was asked.
DATABASE_EVENTS = frozenset({
    "database_unreachable", "http_database_error", "call_record_write_failed", "call_events_write_failed",
    "agi_record_failed",
})
MAX_LATENCY = 3600.0  # beyond this, a clock was off or the call was adopted after a restart: not counted


def call_recorded(hotline: str, route: str) -> None:
    CALLS.labels(hotline or "unknown", route or "unknown").inc()


def asterisk_time(text: str) -> float | None:
    """Epoch seconds of a time in ARI's format (``2026-11-30T16:03:22.123+0000``); None if unreadable."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def answered(creationtime: str, now: datetime) -> None:
    """Observe the answer latency of a channel created at ``creationtime`` (ARI's format); an
    unreadable or implausible time is skipped."""
    created = asterisk_time(creationtime)
    if created is None:
        return
    latency = now.timestamp() - created
    if 0 <= latency <= MAX_LATENCY:
        ANSWER_LATENCY.observe(latency)


def holding_entered(stasis_at: float, media_s: float, now: float | None = None) -> None:
    """Observe the app's time from StasisStart to the holding bridge (``media_s``: prompts playing meanwhile)."""
    spent = (time.time() if now is None else now) - stasis_at - media_s
    if -0.01 <= spent <= MAX_LATENCY:  # Asterisk's timestamp has millisecond resolution
        HOLDING_ENTRY.observe(max(0.0, spent))


def visit_attempt(answered: bool, rating: str | None) -> None:
    RETURN_VISITS.labels("true" if answered else "false").inc()
    if rating:
        RATINGS.labels("return_visit", rating).inc()


def on_log_event(level: str, event: Mapping[str, Any]) -> None:
    """Count error lines, and among them the database's failures (see ari_app.logs.observe): every
    failed database operation is already logged at error level, wherever it happened."""
    if level not in ("error", "critical", "exception"):
        return
    name = str(event.get("event", ""))
    ERRORS.labels(name).inc()
    if name in DATABASE_EVENTS:
        DATABASE_ERRORS.labels(name).inc()
