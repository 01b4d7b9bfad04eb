"""ari_app.logs: registered secrets never reach stdout (structlog) or stderr (stdlib logging)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from ari_app import logs

SECRET = "s3cret-value"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure() and register_secret() change process-wide state; put it back afterwards."""
    saved_secrets = set(logs._secrets)
    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_level = root.level
    logs._secrets.clear()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()
    logs._secrets.clear()
    logs._secrets.update(saved_secrets)
    structlog.reset_defaults()
    structlog.configure(**saved_config)
    for handler in list(root.handlers):
        if any(isinstance(f, logs._StdlibRedactFilter) for f in handler.filters):
            root.removeHandler(handler)
    root.setLevel(saved_level)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_structlog_field_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logs.register_secret(SECRET)
    logs.configure()
    logs.get_logger("test").warning("ari_login", password=SECRET, user="hotline")

    out = capsys.readouterr().out
    assert SECRET not in out
    [line] = _json_lines(out)
    assert line["password"] == "***"
    assert line["user"] == "hotline"
    assert line["event"] == "ari_login"
    assert line["level"] == "warning"


def test_secret_inside_a_longer_value_and_in_context_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logs.register_secret(SECRET)
    logs.configure()
    structlog.contextvars.bind_contextvars(call_id="c-1", token=SECRET)
    logs.get_logger("test").error(f"connect postgresql://hotline:{SECRET}@127.0.0.1/hotline failed")

    out = capsys.readouterr().out
    assert SECRET not in out
    [line] = _json_lines(out)
    assert line["event"] == "connect postgresql://hotline:***@127.0.0.1/hotline failed"
    assert line["token"] == "***"
    assert line["call_id"] == "c-1"


def test_unregistered_values_pass_through(capsys: pytest.CaptureFixture[str]) -> None:
    logs.register_secret(SECRET)
    logs.register_secret("abc")  # too short to be registered: would redact ordinary words
    logs.configure()
    logs.get_logger("test").info("hello", note="abc not-a-secret")

    [line] = _json_lines(capsys.readouterr().out)
    assert line["note"] == "abc not-a-secret"


def test_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("warning")
    log = logs.get_logger("test")
    log.info("dropped")
    log.warning("kept")
    events = [line["event"] for line in _json_lines(capsys.readouterr().out)]
    assert events == ["kept"]


def test_stdlib_record_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logs.register_secret(SECRET)
    logs.configure()
    logging.getLogger("asyncpg.pool").warning("auth failed for dsn %s (retry %d)", f"u:{SECRET}@h", 3)

    captured = capsys.readouterr()
    assert SECRET not in captured.err
    assert "auth failed for dsn u:***@h (retry 3)" in captured.err
    assert "WARNING asyncpg.pool" in captured.err
    assert captured.out == ""


def test_stdlib_below_warning_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure()
    logging.getLogger("aiohttp.access").info("GET /health 200")
    assert "GET /health" not in capsys.readouterr().err


def test_stdlib_exception_text_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    logs.register_secret(SECRET)
    logs.configure()
    try:
        raise ConnectionError(f"cannot connect to postgresql://hotline:{SECRET}@127.0.0.1/hotline")
    except ConnectionError:
        logging.getLogger("asyncpg").exception("pool failed")
    err = capsys.readouterr().err
    assert "pool failed" in err
    assert SECRET not in err


def test_secret_with_json_escaped_characters_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    secret = 'pa"ss\\word'
    logs.register_secret(secret)
    logs.configure()
    logs.get_logger("test").warning("ari_login", password=secret)
    [line] = _json_lines(capsys.readouterr().out)
    assert line["password"] == "***"


def test_a_cached_logger_still_filters_redacts_and_carries_the_call(capsys: pytest.CaptureFixture[str]) -> None:
    """``hotline serve`` configures once with cache=True: a module's logger is made at its first use."""
    logs.register_secret(SECRET)
    logs.configure("info", cache=True)
    log = logs.get_logger("cached")
    for call in ("c-1", "c-2"):
        structlog.contextvars.bind_contextvars(call_id=call)
        log.debug("not_shown")
        log.info("call_started", token=SECRET)
    lines = _json_lines(capsys.readouterr().out)
    assert [(line["event"], line["call_id"], line["token"]) for line in lines] == [
        ("call_started", "c-1", "***"), ("call_started", "c-2", "***")]
