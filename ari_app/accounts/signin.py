"""Signing in: a name and password checked against the accounts, slowed down by the login
throttle, giving a session token for the shift. Shared by ``POST /login`` (the API) and the
console's sign-in form, so both count failures in the same table."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime

from ari_app.accounts.model import Account
from ari_app.accounts.store import AccountStore
from ari_app.accounts.throttle import LoginThrottle
from ari_app.logs import get_logger
from ari_app.web.inputs import InputError, ready

log = get_logger("accounts")


def _locked_out(seconds: float) -> InputError:
    wait = max(1, math.ceil(seconds))
    return InputError(429, f"too many failed logins: try again in {wait} s", retry_after=wait)


class SignIn:
    def __init__(
        self, accounts: Callable[[], AccountStore | None], ttl_hours: float, throttle: LoginThrottle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``throttle`` (default: the standard policy) slows password guessing down."""
        self.accounts, self.ttl_seconds = accounts, int(ttl_hours * 3600)
        self._guard, self._clock = throttle or LoginThrottle(), clock

    async def __call__(self, name: str, password: str, address: str) -> tuple[Account, str, datetime]:
        """The account, its new session token and when it expires; InputError 401 or 429 (with
        ``retry_after``) otherwise. No password check is even made while the name is locked out."""
        store = ready(self.accounts())
        wait = self._guard.wait_seconds(name, address, self._clock())
        if wait > 0:
            raise _locked_out(wait)
        account = await store.authenticate(name, password)
        if account is None:
            locked = self._guard.failed(name, address, self._clock())
            log.warning("login_failed", name=name, address=address, locked_seconds=locked)
            if locked:
                raise _locked_out(locked)
            raise InputError(401, "wrong name or password, or the account is disabled")
        self._guard.succeeded(name)
        token, expires_at = await store.open_session(account.name, self.ttl_seconds)
        return account, token, expires_at
