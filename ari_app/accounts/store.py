"""Accounts and sessions in PostgreSQL (tables ``accounts`` and ``sessions``, migration 005).

Passwords are stored only as argon2id hashes and bearer tokens only as their sha256: a copy of the
database gives neither. Hashing and verifying run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ari_app.accounts.model import Account, AccountError, AccountRole, validate_name
from ari_app.accounts.passwords import burn_verification, hash_password, needs_rehash, verify_password
from ari_app.store.journal import OUTAGE

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
REMEMBERED_SESSIONS = 10_000
MAX_TOKEN_LENGTH = 200  # anything longer is no token of ours; not even hashed
MAX_TTL_SECONDS = 366 * 24 * 3600


class AccountExists(AccountError):
    def __init__(self, name: str) -> None:
        super().__init__(f"account {name!r} exists already")


class UnknownAccount(AccountError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no account {name!r}")


def token_hash(token: str) -> str:
    """What is stored of a bearer token: its sha256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(row: Mapping[str, Any]) -> Account:
    return Account(
        name=row["name"],
        display_name=row["display_name"],
        role=AccountRole(row["role"]),
        department=row["department"],
        agent_id=row["agent_id"],
        disabled=row["disabled"],
    )


class AccountStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._seen: dict[str, tuple[Account, datetime]] = {}  # token hash -> account, expiry (outages only)

    async def add(self, account: Account, password: str) -> Account:
        """Create the account with this password; AccountExists if the name is taken, PasswordError if weak."""
        hashed = await asyncio.to_thread(hash_password, password)
        try:
            row = await self._pool.fetchrow(
                "INSERT INTO accounts (name, display_name, role, department, agent_id, password_hash, disabled)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " RETURNING name, display_name, role, department, agent_id, disabled",
                account.name, account.display_name, account.role.value, account.department, account.agent_id,
                hashed, account.disabled,
            )
        except asyncpg.UniqueViolationError:
            raise AccountExists(account.name) from None
        assert row is not None
        return _account(row)

    async def set_password(self, name: str, password: str) -> None:
        """Replace the password; the account's open sessions are closed (whoever had them logs in again)."""
        hashed = await asyncio.to_thread(hash_password, password)
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "UPDATE accounts SET password_hash = $2, updated_at = now() WHERE name = $1 RETURNING name",
                name, hashed,
            )
            if done is None:
                raise UnknownAccount(name)
            await conn.execute("DELETE FROM sessions WHERE account = $1", name)

    async def disable(self, name: str) -> None:
        """The account can no longer log in, and its sessions are closed at once."""
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                "UPDATE accounts SET disabled = true, updated_at = now() WHERE name = $1 RETURNING name", name
            )
            if done is None:
                raise UnknownAccount(name)
            await conn.execute("DELETE FROM sessions WHERE account = $1", name)

    async def enable(self, name: str) -> None:
        done = await self._pool.fetchval(
            "UPDATE accounts SET disabled = false, updated_at = now() WHERE name = $1 RETURNING name", name
        )
        if done is None:
            raise UnknownAccount(name)

    async def get(self, name: str) -> Account | None:
        row = await self._pool.fetchrow(
            "SELECT name, display_name, role, department, agent_id, disabled FROM accounts WHERE name = $1", name
        )
        return _account(row) if row is not None else None

    async def list(self) -> list[Account]:
        rows = await self._pool.fetch(
            "SELECT name, display_name, role, department, agent_id, disabled FROM accounts ORDER BY name"
        )
        return [_account(row) for row in rows]

    async def authenticate(self, name: str, password: str) -> Account | None:
        """The account if the name and password match and it is not disabled; otherwise None.

        An unknown (or malformed) name costs a verification against a dummy hash, so the time of the
        answer does not tell which names exist. A hash made with old parameters is upgraded.
        """
        row = None
        try:
            validate_name(name)
        except AccountError:
            pass
        else:
            row = await self._pool.fetchrow(
                "SELECT name, display_name, role, department, agent_id, disabled, password_hash"
                " FROM accounts WHERE name = $1",
                name,
            )
        if row is None:
            await asyncio.to_thread(burn_verification, password)
            return None
        stored: str = row["password_hash"]
        if not await asyncio.to_thread(verify_password, stored, password):
            return None
        if row["disabled"]:
            return None
        if needs_rehash(stored):
            fresh = await asyncio.to_thread(hash_password, password)
            await self._pool.execute(
                "UPDATE accounts SET password_hash = $2, updated_at = now() WHERE name = $1 AND password_hash = $3",
                name, fresh, stored,
            )
        return _account(row)

    async def open_session(self, name: str, ttl_seconds: float) -> tuple[str, datetime]:
        """A new bearer token for an enabled account and when it expires; only its sha256 is stored."""
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise ValueError(f"session lifetime must be between 0 and {MAX_TTL_SECONDS} seconds, not {ttl_seconds}")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = await self._pool.fetchval(
            "INSERT INTO sessions (token_hash, account, expires_at)"
            " SELECT $1, name, now() + make_interval(secs => $3) FROM accounts WHERE name = $2 AND NOT disabled"
            " RETURNING expires_at",
            token_hash(token), name, float(ttl_seconds),
        )
        if expires_at is None:
            raise UnknownAccount(name)
        assert isinstance(expires_at, datetime)
        return token, expires_at

    async def session(self, token: str) -> Account | None:
        """The account of an unexpired session whose account is not disabled; None otherwise.

        Through a database outage a session seen valid before stays valid until its own expiry
        (remembered in memory, by hash), so agents keep working from the console while the calls
        go on; while the database answers, it always decides (a closed session ends at once)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        key = token_hash(token)
        try:
            row = await self._pool.fetchrow(
                "SELECT a.name, a.display_name, a.role, a.department, a.agent_id, a.disabled, s.expires_at"
                " FROM sessions s JOIN accounts a ON a.name = s.account"
                " WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT a.disabled",
                key,
            )
        except OUTAGE:
            remembered = self._seen.get(key)
            if remembered is None or remembered[1] <= datetime.now(UTC):
                raise
            return remembered[0]
        if row is None:
            self._seen.pop(key, None)
            return None
        account = _account(row)
        if len(self._seen) >= REMEMBERED_SESSIONS:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = (account, row["expires_at"])
        return account

    async def close_session(self, token: str) -> bool:
        """Log out: forget the session; whether there was one."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return False
        self._seen.pop(token_hash(token), None)
        done = await self._pool.fetchval(
            "DELETE FROM sessions WHERE token_hash = $1 RETURNING token_hash", token_hash(token)
        )
        return done is not None

    async def purge_expired(self) -> int:
        """Delete the expired sessions; how many."""
        status: str = await self._pool.execute("DELETE FROM sessions WHERE expires_at <= now()")
        return int(status.split()[-1])
