"""Password hashing with argon2id (argon2-cffi), and generated passwords.

The hasher uses argon2-cffi's defaults (RFC 9106 low-memory profile: time cost 3, 64 MiB of memory,
parallelism 4, 16-byte salt, 32-byte hash): some 50 ms a hash on a current CPU. ``needs_rehash``
tells when a stored hash was made with other parameters, so a login can upgrade it.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # no megabyte "passwords" fed to the hasher
GENERATED_LENGTH = 16

_HASHER = PasswordHasher()


class PasswordError(ValueError):
    """A password that is refused before it is hashed (too short, too long)."""


def check_password(password: str) -> None:
    """PasswordError when a new password is too short or too long; says the rule, never the password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string with its salt and parameters) of an acceptable password."""
    check_password(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False, never an exception, on a mismatch or a bad hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):  # VerifyMismatchError is a VerificationError
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with parameters other than the current ones (or is unreadable)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return True


def new_password() -> str:
    """A generated password: 16 URL-safe characters (96 bits) from the secrets module."""
    return secrets.token_urlsafe(12)  # 12 bytes -> exactly 16 base64url characters


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def burn_verification(password: str) -> None:
    """Spend the time of a verification when there is no account, so an unknown name answers as slowly."""
    verify_password(_dummy_hash(), password)
