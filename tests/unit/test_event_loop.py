"""The service's event loop choice (ari_app.event_loop)."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from ari_app import event_loop
from ari_app.settings import SettingsError


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_uvloop_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_EVENT_LOOP", raising=False)
    assert event_loop.run(_loop_type()) is uvloop.Loop


def test_the_standard_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_EVENT_LOOP", " asyncio ")
    assert not issubclass(event_loop.run(_loop_type()), uvloop.Loop)
    assert event_loop.run(_loop_type(), "uvloop") is uvloop.Loop  # an explicit choice wins over the setting


def test_an_unknown_loop_is_a_settings_error_naming_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_EVENT_LOOP", "tokio")
    with pytest.raises(SettingsError, match=r"HOTLINE_EVENT_LOOP must be one of uvloop, asyncio, not 'tokio'"):
        event_loop.loop_factory()
    coroutine = _loop_type()
    with pytest.raises(SettingsError):
        event_loop.run(coroutine)
    coroutine.close()
