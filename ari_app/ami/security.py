"""Failed SIP authentications, as Asterisk reports them over AMI (class ``security``), counted for
supervisors: ``GET /security`` (the last 24 hours by kind, by account, by address).

A REGISTER or INVITE with a wrong password is ``ChallengeResponseFailed`` (digest did not match);
an unknown user is ``InvalidAccountID``; a refused address ``FailedACL``. The AMI user needs
``read = security`` (manager.conf); it logs in asking for that class only, so no call event
reaches the service this way. The connection reconnects by itself (panoramisk); when AMI is
not configured the summary says so and counts nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from panoramisk import Manager

from ari_app.ami.client import AmiTarget
from ari_app.logs import get_logger

log = get_logger("ami.security")

FAILURES = ("ChallengeResponseFailed", "InvalidPassword", "InvalidAccountID", "FailedACL", "RequestNotAllowed",
            "AuthMethodNotAllowed", "UnexpectedAddress")
WINDOW = 24 * 3600.0


def address_of(remote: str) -> str:
    """``IPV4/UDP/198.18.77.9/5060`` -> ``198.18.77.9`` (as given if not in that form)."""
    parts = remote.split("/")
    return parts[2] if len(parts) >= 3 else remote


@dataclass
class SecurityFailures:
    """The failures of the last 24 hours (pure: the caller gives the times)."""

    window: float = WINDOW
    _seen: deque[tuple[float, str, str, str]] = field(default_factory=deque)  # (at, kind, account, address)
    total: int = 0  # since the service started

    def add(self, at: float, kind: str, account: str, address: str) -> None:
        self._seen.append((at, kind, account, address))
        self.total += 1
        self._prune(at)

    def _prune(self, now: float) -> None:
        while self._seen and self._seen[0][0] < now - self.window:
            self._seen.popleft()

    def summary(self, now: float) -> dict[str, Any]:
        self._prune(now)
        return {
            "last_24h": len(self._seen),
            "since_start": self.total,
            "by_kind": dict(Counter(kind for _, kind, _, _ in self._seen)),
            "by_account": dict(Counter(account for _, _, account, _ in self._seen if account)),
            "by_address": dict(Counter(address for _, _, _, address in self._seen if address)),
        }


class _Listener(Manager):  # type: ignore[misc]
    """panoramisk's reconnecting manager that stays closed once told."""

    closing = False
    pinger: Any

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.closing:
            return None
        return super().connect(*args, **kwargs)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closing:
            self._connected = False
            if self.pinger:
                self.pinger.cancel()
                self.pinger = None
            return
        super().connection_lost(exc)


class SecurityWatch:
    def __init__(self, target: AmiTarget | None) -> None:
        self.target = target
        self.failures = SecurityFailures()
        self._manager: _Listener | None = None

    def start(self) -> None:
        if self.target is None:
            log.info("security_watch_off", reason="no AMI secret (HOTLINE_AMI_SECRET)")
            return
        t = self.target
        self._manager = _Listener(host=t.host, port=t.port, username=t.user, secret=t.secret, events="security",
                                  ping_delay=10, reconnect_timeout=2, loop=asyncio.get_running_loop())
        for kind in FAILURES:
            self._manager.register_event(kind, self._on_failure)
        self._manager.connect()

    def _on_failure(self, _manager: Any, event: Any) -> None:
        kind = str(event.get("Event", ""))
        account = str(event.get("AccountID", ""))[:80]
        address = address_of(str(event.get("RemoteAddress", "")))[:80]
        self.failures.add(time.time(), kind, account, address)
        log.warning("sip_auth_failed", kind=kind, account=account, address=address,
                    service=str(event.get("Service", ""))[:20])

    def summary(self) -> dict[str, Any]:
        connected = bool(self._manager is not None and self._manager._connected)
        return {"watching": connected, **self.failures.summary(time.time())}

    def stop(self) -> None:
        if self._manager is not None:
            self._manager.closing = True
            self._manager.close()
