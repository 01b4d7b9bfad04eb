"""Accounts against a real PostgreSQL: store round trips, passwords, sessions, and `hotline user`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ari_app.accounts.model import Account, AccountError, AccountRole
from ari_app.accounts.passwords import PasswordError
from ari_app.accounts.routes import add_account_routes, auth_middleware
from ari_app.accounts.seeding import ensure_account
from ari_app.accounts.signin import SignIn
from ari_app.accounts.store import AccountExists, AccountStore, UnknownAccount
from ari_app.accounts.throttle import LoginThrottle, ThrottlePolicy
from ari_app.web.inputs import MAX_BODY, json_errors
from tests.harness.wait import until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "long enough password"
SUPERVISOR = Account("sup-zhao", "赵主任", AccountRole.SUPERVISOR)
HANDLER = Account("civil-li", "李", AccountRole.DEPARTMENT, department="civil-affairs")
AGENT = Account("agent-1001", "坐席一", AccountRole.AGENT, agent_id="1001")


DATABASE = "accounts"  # a database of its own; these tables are emptied before each test (see conftest.py)
TRUNCATE = "accounts"


@pytest.fixture
def store(pool: asyncpg.Pool) -> AccountStore:
    return AccountStore(pool)


async def test_round_trip(store: AccountStore) -> None:
    for account in (SUPERVISOR, HANDLER, AGENT):
        assert await store.add(account, PASSWORD) == account
    assert await store.get("civil-li") == HANDLER
    assert await store.get("nobody") is None
    assert [a.name for a in await store.list()] == ["agent-1001", "civil-li", "sup-zhao"]
    with pytest.raises(AccountExists, match="'sup-zhao' exists already"):
        await store.add(SUPERVISOR, PASSWORD)
    with pytest.raises(PasswordError, match="at least 10"):
        await store.add(Account("short", "", AccountRole.ADMIN), "123")
    assert await store.get("short") is None
    for call in (store.set_password("nobody", PASSWORD), store.disable("nobody"), store.enable("nobody")):
        with pytest.raises(UnknownAccount, match="no account 'nobody'"):
            await call


async def test_the_table_refuses_what_the_model_refuses(pool: asyncpg.Pool) -> None:
    insert = ("INSERT INTO accounts (name, role, department, agent_id, password_hash) VALUES ($1, $2, $3, $4, 'x')")
    for values in (("a", "boss", "", ""), ("b", "department", "", ""), ("c", "supervisor", "civil-affairs", ""),
                   ("d", "agent", "", ""), ("e", "admin", "", "1001"), ("Upper", "admin", "", "")):
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(insert, *values)


async def test_authenticate(store: AccountStore, pool: asyncpg.Pool) -> None:
    await store.add(HANDLER, PASSWORD)
    assert await store.authenticate("civil-li", PASSWORD) == HANDLER
    assert await store.authenticate("civil-li", PASSWORD + "!") is None
    assert await store.authenticate("nobody", PASSWORD) is None
    assert await store.authenticate("Not A Name", PASSWORD) is None
    stored = await pool.fetchval("SELECT password_hash FROM accounts WHERE name = 'civil-li'")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    await store.disable("civil-li")
    assert await store.authenticate("civil-li", PASSWORD) is None
    assert (await store.get("civil-li")).disabled  # type: ignore[union-attr]
    await store.enable("civil-li")
    assert await store.authenticate("civil-li", PASSWORD) == HANDLER
    await store.set_password("civil-li", "another long password")
    assert await store.authenticate("civil-li", PASSWORD) is None
    assert await store.authenticate("civil-li", "another long password") == HANDLER


async def test_login_guessing_is_locked_out_without_checking_the_password(
    store: AccountStore, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await store.add(SUPERVISOR, PASSWORD)
    now = [1000.0]
    app = web.Application(client_max_size=MAX_BODY, middlewares=[json_errors, auth_middleware(lambda: store)])
    policy = ThrottlePolicy(name_failures=3, address_failures=6, lockout_seconds=60)
    add_account_routes(app, SignIn(lambda: store, 1.0, LoginThrottle(policy), clock=lambda: now[0]))
    checked: list[str] = []
    authenticate = store.authenticate

    async def counting(name: str, password: str) -> Account | None:
        checked.append(name)
        return await authenticate(name, password)

    monkeypatch.setattr(store, "authenticate", counting)
    async with TestClient(TestServer(app)) as client:
        async def login(name: str, password: str) -> tuple[int, dict[str, object], str | None]:
            response = await client.post("/login", json={"name": name, "password": password})
            return response.status, await response.json(), response.headers.get("Retry-After")

        assert [(await login("sup-zhao", "guess-" + str(i)))[0] for i in range(2)] == [401, 401]
        status, body, retry = await login("sup-zhao", "guess-3")
        assert (status, body["retry_after"], retry) == (429, 60, "60") and "60 s" in str(body["error"])
        checked.clear()
        status, body, _ = await login("sup-zhao", PASSWORD)  # even the right password waits
        assert status == 429 and checked == [], "a locked-out login must not cost an argon2 check"
        now[0] += 61
        status, body, _ = await login("sup-zhao", PASSWORD)
        assert status == 200 and body["token"]
        # Spraying made-up names from one address locks the address for every name (once the first
        # failures above are out of the 5-minute window).
        now[0] += 301
        statuses = [(await login(f"made-up-{i}", "x" * 12))[0] for i in range(6)]
        assert statuses == [401] * 5 + [429]
        assert (await login("sup-zhao", PASSWORD))[0] == 429
        now[0] += 61
        assert (await login("sup-zhao", PASSWORD))[0] == 200
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 2


async def test_sessions(store: AccountStore, pool: asyncpg.Pool) -> None:
    await store.add(SUPERVISOR, PASSWORD)
    before = datetime.now(UTC)
    token, expires_at = await store.open_session("sup-zhao", 3600)
    assert len(token) >= 43
    assert before + timedelta(seconds=3590) < expires_at < before + timedelta(seconds=3610)
    assert await store.session(token) == SUPERVISOR
    assert await store.session(token + "x") is None
    assert await store.session("") is None
    rows = await pool.fetch("SELECT token_hash, account FROM sessions")
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert [dict(r) for r in rows] == [{"token_hash": digest, "account": "sup-zhao"}]
    everything = json.dumps([dict(r) for r in await pool.fetch("SELECT * FROM sessions")], default=str)
    assert token not in everything
    assert await store.close_session(token) is True
    assert await store.session(token) is None
    assert await store.close_session(token) is False
    with pytest.raises(UnknownAccount):
        await store.open_session("nobody", 60)
    with pytest.raises(ValueError, match="session lifetime"):
        await store.open_session("sup-zhao", 0)


async def test_sessions_expire_and_are_purged(store: AccountStore, pool: asyncpg.Pool) -> None:
    await store.add(SUPERVISOR, PASSWORD)
    short, _ = await store.open_session("sup-zhao", 1)
    backdated, _ = await store.open_session("sup-zhao", 3600)
    kept, _ = await store.open_session("sup-zhao", 3600)
    await pool.execute("UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE token_hash = $1",
                       hashlib.sha256(backdated.encode()).hexdigest())
    assert await store.session(short) == SUPERVISOR
    assert await store.session(backdated) is None
    async def expired() -> bool:  # its 1 s runs out (checked against the database's clock)
        return await store.session(short) is None

    await until(expired, "the 1-second session to expire", 5)
    assert await store.purge_expired() == 2
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 1
    assert await store.session(kept) == SUPERVISOR


async def test_disabling_closes_sessions_and_a_password_change_too(store: AccountStore, pool: asyncpg.Pool) -> None:
    await store.add(AGENT, PASSWORD)
    await store.add(SUPERVISOR, PASSWORD)
    first, _ = await store.open_session("agent-1001", 3600)
    other, _ = await store.open_session("sup-zhao", 3600)
    await store.disable("agent-1001")
    assert await store.session(first) is None
    assert await pool.fetchval("SELECT count(*) FROM sessions WHERE account = 'agent-1001'") == 0
    with pytest.raises(UnknownAccount):
        await store.open_session("agent-1001", 3600)
    await store.enable("agent-1001")
    assert await store.session(first) is None  # enabling again brings no old session back
    again, _ = await store.open_session("agent-1001", 3600)
    await store.set_password("agent-1001", "a new long password")
    assert await store.session(again) is None
    assert await store.session(other) == SUPERVISOR


async def test_ensure_account_is_idempotent(store: AccountStore) -> None:
    assert await ensure_account(store, SUPERVISOR, PASSWORD) is True
    assert await ensure_account(store, SUPERVISOR, "a different password") is False
    assert await store.authenticate("sup-zhao", PASSWORD) == SUPERVISOR
    with pytest.raises(AccountError):
        await ensure_account(store, Account("x", "", "boss"), PASSWORD)  # type: ignore[arg-type]


# ---- the command line ----


@pytest.fixture
def cli_env(dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return {**env, "HOTLINE_DSN": dsn, "HOTLINE_REGISTRY": str(REPO / "config" / "hotlines.yaml"),
            "HOTLINE_SEATS": str(REPO / "config" / "seats.yaml"), "HOTLINE_STATE_DIR": str(tmp_path / "state")}


def _user(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ari_app.cli", "user", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=60)


async def test_cli(cli_env: dict[str, str], store: AccountStore, pool: asyncpg.Pool) -> None:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return _user(cli_env, *args, stdin=stdin)

    added = await asyncio.to_thread(run, "add", "sup-zhao", "--role", "supervisor", "--display-name", "赵主任")
    assert added.returncode == 0, added.stderr
    generated = added.stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert len(generated) == 16
    assert await store.authenticate("sup-zhao", generated) == SUPERVISOR

    by_stdin = await asyncio.to_thread(run, "add", "civil-li", "--role", "department", "--department",
                                       "civil-affairs", "--password-stdin", stdin=PASSWORD + "\n")
    assert by_stdin.returncode == 0, by_stdin.stderr
    assert PASSWORD not in by_stdin.stdout and "password" not in by_stdin.stdout
    assert await store.authenticate("civil-li", PASSWORD) is not None
    by_code = await asyncio.to_thread(run, "add", "hr-wang", "--role", "department", "--department", "01",
                                      "--password-stdin", stdin=PASSWORD)
    assert by_code.returncode == 0, by_code.stderr
    assert (await store.get("hr-wang")).department == "human-resources"  # type: ignore[union-attr]
    agent = await asyncio.to_thread(run, "add", "agent-1001", "--role", "agent", "--agent", "1001",
                                    "--password-stdin", stdin=PASSWORD)
    assert agent.returncode == 0, agent.stderr

    listed = await asyncio.to_thread(run, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    accounts = {a["name"]: a for a in json.loads(listed.stdout)}
    assert sorted(accounts) == ["agent-1001", "civil-li", "hr-wang", "sup-zhao"]
    assert accounts["civil-li"] == {"name": "civil-li", "display_name": "civil-li", "role": "department",
                                    "department": "civil-affairs", "agent_id": "", "disabled": False}
    assert accounts["agent-1001"]["agent_id"] == "1001"
    hashes = [r["password_hash"] for r in await pool.fetch("SELECT password_hash FROM accounts")]
    table = await asyncio.to_thread(run, "list")
    for output in (listed.stdout, table.stdout):
        assert "argon2" not in output and not any(h in output for h in hashes)

    passwd = await asyncio.to_thread(run, "passwd", "civil-li", "--password-stdin", stdin="brand new password\n")
    assert passwd.returncode == 0, passwd.stderr
    assert await store.authenticate("civil-li", "brand new password") is not None
    assert (await asyncio.to_thread(run, "disable", "civil-li")).returncode == 0
    assert await store.authenticate("civil-li", "brand new password") is None
    assert "disabled" in (await asyncio.to_thread(run, "list")).stdout
    assert (await asyncio.to_thread(run, "enable", "civil-li")).returncode == 0
    assert await store.authenticate("civil-li", "brand new password") is not None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "x-dept", "--role", "department", "--department", "no-such-dept", "--password-stdin"), PASSWORD,
         "unknown department 'no-such-dept'"),
        (("add", "x-agent", "--role", "agent", "--agent", "9999", "--password-stdin"), PASSWORD,
         "unknown agent '9999'"),
        (("add", "x-dept", "--role", "department", "--password-stdin"), PASSWORD, "needs a department"),
        (("add", "x-sup", "--role", "supervisor", "--agent", "1001", "--password-stdin"), PASSWORD,
         "only the agent role has an agent id"),
        (("add", "X", "--role", "admin"), None, "bad account name 'X'"),
        (("add", "x-short", "--role", "admin", "--password-stdin"), "short\n", "at least 10 characters"),
        (("add", "x-empty", "--role", "admin", "--password-stdin"), "", "holds no password"),
        (("passwd", "nobody", "--password-stdin"), PASSWORD, "no account 'nobody'"),
        (("disable", "nobody"), None, "no account 'nobody'"),
    ],
)
def test_cli_refusals(cli_env: dict[str, str], args: tuple[str, ...], stdin: str | None, message: str) -> None:
    out = _user(cli_env, *args, stdin=stdin)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stdout == ""


def test_cli_database_unreachable_hides_the_dsn_password(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "HOTLINE_DSN": "postgresql://hotline:secret-here@127.0.0.1:1/hotline"}
    out = _user(env, "list")
    assert out.returncode == 1
    assert "cannot reach the database" in out.stderr and "secret-here" not in out.stderr + out.stdout
