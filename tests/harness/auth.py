"""Logging the tests in: accounts made with `hotline user add`, bearer tokens from POST /login.

Every `hotline serve` a test starts gets an admin account; its token is registered for the
service's base URL and urllib sends it with every request to that URL (unless a request carries
its own Authorization header), so tests speak to the API as a logged-in admin by default and
as any other account when they say so.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

ADMIN = "test-admin"
_tokens: dict[str, str] = {}  # base URL -> bearer token


class _BearerForServices(urllib.request.BaseHandler):
    def _add(self, request: urllib.request.Request) -> urllib.request.Request:
        url = request.full_url
        for base, token in _tokens.items():
            if url.startswith(base + "/") and not request.has_header("Authorization"):
                request.add_unredirected_header("Authorization", f"Bearer {token}")
        return request

    http_request = _add


urllib.request.install_opener(urllib.request.build_opener(_BearerForServices()))


async def _ensure(dsn: str, name: str, role: str, password: str, department: str, agent: str) -> None:
    import asyncpg

    from ari_app.accounts.model import Account, AccountRole
    from ari_app.accounts.seeding import ensure_account
    from ari_app.accounts.store import AccountStore

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        account = Account(name, name, AccountRole(role), department=department, agent_id=agent)
        await ensure_account(AccountStore(pool), account, password)
    finally:
        await pool.close()


def ensure_account(dsn: str, name: str, role: str, password: str, department: str = "", agent: str = "") -> None:
    """An account in the service's database (its migrations applied), made as `hotline user add` makes it."""
    asyncio.run(_ensure(dsn, name, role, password, department, agent))


def login(base: str, name: str, password: str) -> str:
    request = urllib.request.Request(f"{base}/login", method="POST",
                                     data=json.dumps({"name": name, "password": password}).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": "none"})
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["token"]
        return token


def use_token(base: str, token: str) -> None:
    """From now on, requests to ``base`` carry this token unless they carry their own."""
    _tokens[base] = token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
