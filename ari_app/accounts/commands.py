"""``hotline user add|passwd|disable|enable|list``: accounts from the command line.

The command knows nothing of the registry or the seats: the caller passes how to check a
department and an agent id. Output never holds a password hash; a password appears only when it
was generated here, once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

import asyncpg

from ari_app.accounts.model import Account, parse_role, validate_name
from ari_app.accounts.passwords import check_password, new_password
from ari_app.accounts.store import AccountStore

ROLE_CHOICES = ("agent", "department", "supervisor", "admin")


class UserCommandError(RuntimeError):
    """One sentence for the operator; the command exits 1."""


@dataclass(frozen=True)
class References:
    """How ``user add`` checks what an account is tied to (each raises UserCommandError when it cannot)."""

    department: Callable[[str], str]  # a department as named -> its registry id; UserCommandError if unknown
    agent: Callable[[str], str]  # a seat id -> the same id; UserCommandError if not in the seats file


def add_user_arguments(user: argparse.ArgumentParser) -> None:
    """The ``user`` subcommands on an (already created) ``user`` parser."""
    sub = user.add_subparsers(dest="user_command", required=True)
    add = sub.add_parser("add", help="create an account (a password is generated unless --password-stdin)")
    add.add_argument("name", help="login: lowercase letters, digits, '-' or '_'")
    add.add_argument("--role", required=True, choices=ROLE_CHOICES)
    add.add_argument("--department", default="", help="for --role department: registry department id or code")
    add.add_argument("--agent", default="", help="for --role agent: the seat id in the seats file")
    add.add_argument("--display-name", default="", help="the person's name as shown (default: the login)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    passwd = sub.add_parser("passwd", help="set a new password (closes the account's sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for command, text in (("disable", "stop an account logging in; closes its sessions"),
                          ("enable", "let a disabled account log in again")):
        sub.add_parser(command, help=text).add_argument("name")
    listing = sub.add_parser("list", help="the accounts (never their passwords)")
    listing.add_argument("--json", action="store_true", help="JSON output")
    add.add_argument("--registry", help="registry file (default: HOTLINE_REGISTRY or config/hotlines.yaml)")
    add.add_argument("--seats", help="seats file (default: HOTLINE_SEATS or config/seats.yaml)")


def run_user_command(args: argparse.Namespace, dsn: Callable[[], str], refs: Callable[[], References],
                     stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """Run one ``hotline user`` subcommand; errors print one line to stderr and give 1."""
    stdin, out = stdin or sys.stdin, out or sys.stdout
    try:
        action = _prepare(args, refs, stdin)
        asyncio.run(_with_store(dsn(), action(out)))
    except (UserCommandError, ValueError) as exc:  # ValueError: AccountError, PasswordError
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    return 0


Action = Callable[[AccountStore], Awaitable[None]]


def _prepare(args: argparse.Namespace, refs: Callable[[], References], stdin: TextIO) -> Callable[[TextIO], Action]:
    """Check everything that needs no database, then give what to do with the store."""
    command: str = args.user_command
    if command == "list":
        return lambda out: _list(out, json_output=args.json)
    name = validate_name(args.name)
    if command == "add":
        account = _new_account(args, refs)
        password, generated = _password(args.password_stdin, stdin)
        return lambda out: _add(out, account, password, generated)
    if command == "passwd":
        password, generated = _password(args.password_stdin, stdin)
        return lambda out: _passwd(out, name, password, generated)
    return lambda out: _toggle(out, name, enable=command == "enable")


def _new_account(args: argparse.Namespace, refs: Callable[[], References]) -> Account:
    role = parse_role(args.role)
    department, agent = args.department.strip(), args.agent.strip()
    if department or agent:
        checks = refs()
        department = checks.department(department) if department else ""
        agent = checks.agent(agent) if agent else ""
    return Account(args.name, args.display_name.strip() or args.name, role, department, agent)


def _password(from_stdin: bool, stdin: TextIO) -> tuple[str, bool]:
    """(password, generated): read from stdin (one line, its line end dropped) or generated."""
    if not from_stdin:
        return new_password(), True
    line = stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise UserCommandError("--password-stdin: standard input holds no password")
    check_password(password)
    return password, False


async def _with_store(dsn: str, action: Action) -> None:
    from ari_app.store.db import connect_pool  # applies the migrations

    try:
        pool = await asyncio.wait_for(connect_pool(dsn), timeout=30)
    except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise UserCommandError(f"cannot reach the database (HOTLINE_DSN): {_reason(exc, dsn)}") from None
    try:
        await action(AccountStore(pool))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise UserCommandError(f"database error: {_reason(exc, dsn)}") from None
    finally:
        await pool.close()


def _reason(exc: BaseException, dsn: str) -> str:
    """The error in one line, with the DSN's password (should a driver ever quote it) blanked out."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    try:
        secret = urlsplit(dsn).password
    except ValueError:
        secret = None
    return text.replace(secret, "***") if secret else text


def _add(out: TextIO, account: Account, password: str, generated: bool) -> Action:
    async def run(store: AccountStore) -> None:
        await store.add(account, password)
        tied = f", department {account.department}" if account.department else ""
        tied += f", agent {account.agent_id}" if account.agent_id else ""
        print(f"account {account.name} added: role {account.role}{tied}", file=out)
        if generated:
            print(f"password (shown only this once): {password}", file=out)

    return run


def _passwd(out: TextIO, name: str, password: str, generated: bool) -> Action:
    async def run(store: AccountStore) -> None:
        await store.set_password(name, password)
        print(f"password of {name} changed; its sessions are closed", file=out)
        if generated:
            print(f"password (shown only this once): {password}", file=out)

    return run


def _toggle(out: TextIO, name: str, enable: bool) -> Action:
    async def run(store: AccountStore) -> None:
        if enable:
            await store.enable(name)
            print(f"account {name} enabled", file=out)
        else:
            await store.disable(name)
            print(f"account {name} disabled; its sessions are closed", file=out)

    return run


def _list(out: TextIO, json_output: bool) -> Action:
    async def run(store: AccountStore) -> None:
        accounts = await store.list()
        if json_output:
            print(json.dumps([a.to_json() for a in accounts], ensure_ascii=False, indent=2), file=out)
            return
        if not accounts:
            print("no accounts", file=out)
            return
        print(f"{'name':<20} {'role':<11} {'department':<16} {'agent':<7} {'state':<9} display name", file=out)
        for a in accounts:
            state = "disabled" if a.disabled else "active"
            print(f"{a.name:<20} {a.role.value:<11} {a.department or '-':<16} {a.agent_id or '-':<7} {state:<9} "
                  f"{a.display_name}", file=out)

    return run
