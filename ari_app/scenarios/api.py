"""The target's HTTP API as the scenarios' HTTP steps use it: one account per role the steps name,
made in the target's database (``--dsn``) with a new password on each run, logged in once, and
disabled when the run ends (so a run against a deployment leaves no usable login behind)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

import asyncpg

from ari_app.accounts.model import Account, AccountError, AccountRole
from ari_app.accounts.passwords import new_password
from ari_app.accounts.store import AccountStore, UnknownAccount
from ari_app.logs import register_secret
from ari_app.scenarios.model import Login

TIMEOUT_S = 15.0


class ApiError(Exception):
    """A request that could not be made or an account that could not be had: one sentence."""


class Api:
    def __init__(self, base: str, dsn: str) -> None:
        self.base = base.rstrip("/")
        self.dsn = dsn
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def request(self, method: str, path: str, body: object, login: Login) -> tuple[int, Any]:
        """Status and answer (JSON, or the text when it is not JSON)."""
        return self._send(method, path, body, {"Authorization": f"Bearer {self._token(login)}"})

    def _token(self, login: Login) -> str:
        with self._lock:
            if login.name not in self._tokens:
                password = new_password()
                register_secret(password)
                try:
                    asyncio.run(_account(self.dsn, login, password))
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, AccountError) as exc:
                    said = f"{type(exc).__name__}: {exc}"
                    raise ApiError(f"cannot make the account {login.name} (--dsn): {said}") from exc
                status, answer = self._send("POST", "/login", {"name": login.name, "password": password}, {})
                if status != 200 or not isinstance(answer, dict) or "token" not in answer:
                    raise ApiError(f"POST /login as {login.name} answered {status}: {str(answer)[:160]}")
                token = str(answer["token"])
                register_secret(token)
                self._tokens[login.name] = token
            return self._tokens[login.name]

    def close(self) -> None:
        """Disable the accounts this run logged in with (their sessions end with them). A failure is
        said on stderr, not raised: the scenarios' results stand."""
        with self._lock:
            names, self._tokens = list(self._tokens), {}
        if not names:
            return
        try:
            asyncio.run(_disable(self.dsn, names))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            print(f"scenario: could not disable the accounts {', '.join(names)} (--dsn): "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)

    def _send(self, method: str, path: str, body: object, headers: dict[str, str]) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method,  # noqa: S310 (http URL given)
                                         headers={"Content-Type": "application/json", "Accept": "application/json",
                                                  **headers})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                return response.status, _decoded(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decoded(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"{method} {self.base}{path}: {getattr(exc, 'reason', exc)} (is --http the "
                           f"target's HTTP API?)") from exc


def _decoded(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _account(dsn: str, login: Login, password: str) -> None:
    """The login's account with ``password``: made if missing, its password set (and enabled) if not."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, timeout=10)
    try:
        store = AccountStore(pool)
        existing = await store.get(login.name)
        if existing is None:
            account = Account(login.name, f"scenario runner ({login.role})", AccountRole(login.role),
                              department=login.department, agent_id=login.agent)
            await store.add(account, password)
            return
        await store.set_password(login.name, password)
        if existing.disabled:
            await store.enable(login.name)
    finally:
        await pool.close()


async def _disable(dsn: str, names: list[str]) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, timeout=10)
    try:
        store = AccountStore(pool)
        for name in names:
            with contextlib.suppress(UnknownAccount):  # removed meanwhile: nothing to disable
                await store.disable(name)
    finally:
        await pool.close()
