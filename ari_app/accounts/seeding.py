"""Accounts that scripts/up and the tests need: created once, left alone afterwards."""

from __future__ import annotations

from ari_app.accounts.model import Account
from ari_app.accounts.store import AccountExists, AccountStore


async def ensure_account(store: AccountStore, account: Account, password: str) -> bool:
    """Create ``account`` with ``password`` if there is no account of that name; whether it was created.

    An existing account is left as it is (its password, role and state included), so running this
    again is harmless and never resets a password someone changed.
    """
    if await store.get(account.name) is not None:
        return False
    try:
        await store.add(account, password)
    except AccountExists:  # created meanwhile by another process
        return False
    return True
