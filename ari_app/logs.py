"""structlog JSON logging with per-call context and secret redaction.

Call handlers bind ``call_id``, ``channel_id`` and ``hotline`` with
:func:`structlog.contextvars.bind_contextvars`; each call runs in its own task, so the binding
stays with that call. Every registered secret is replaced by ``***`` in every rendered line, as a
last line of defence: the code already never passes credentials to a logger.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

_secrets: set[str] = set()
_observers: list[Callable[[str, Mapping[str, Any]], None]] = []


def observe(callback: Callable[[str, Mapping[str, Any]], None]) -> None:
    """Call ``callback(level, event)`` for every line logged from now on (metrics count events)."""
    if callback not in _observers:
        _observers.append(callback)


def _notify(_logger: Any, name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for callback in _observers:
        try:
            callback(name, event_dict)
        except Exception:  # noqa: S110 - an observer never costs a log line
            pass
    return event_dict


def register_secret(value: str) -> None:
    """Make sure ``value`` never appears in a log line, raw or as JSON escapes it."""
    if value and len(value) >= 4:
        _secrets.add(value)
        _secrets.add(json.dumps(value, ensure_ascii=False)[1:-1])
        _secrets.add(json.dumps(value)[1:-1])


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "***")
    return text


_render = structlog.processors.JSONRenderer(ensure_ascii=False)


def _redact_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> str:
    return redact(str(_render(_logger, _name, event_dict)))


def configure(level: str = "info", cache: bool = False) -> None:
    """``cache``: each module's logger is made once, at its first use, instead of at every log call
    (debug calls filtered out included): for a process that configures logging once (``hotline serve``)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _notify,
            _redact_processor,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=cache,
    )
    # Libraries that use stdlib logging (panoramisk, asyncpg, aiohttp) go to stderr, also redacted.
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_StdlibRedactFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


class _StdlibRedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        # Tracebacks quote exception texts (a DSN in a connection error, say): redact them too.
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def get_logger(name: str) -> FilteringBoundLogger:
    logger: FilteringBoundLogger = structlog.get_logger(name)
    return logger
