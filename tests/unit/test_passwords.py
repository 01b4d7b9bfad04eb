"""argon2id password hashes and generated passwords."""

from __future__ import annotations

import string

import pytest
from argon2 import PasswordHasher

from ari_app.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    PasswordError,
    check_password,
    hash_password,
    needs_rehash,
    new_password,
    verify_password,
)

PASSWORD = "correct horse 电池"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_the_hash_is_argon2id_salted_and_holds_no_password(stored: str) -> None:
    assert stored.startswith("$argon2id$v=19$")
    assert PASSWORD not in stored
    assert hash_password(PASSWORD) != stored  # a fresh salt each time


def test_verify_right_and_wrong(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is True
    assert verify_password(stored, PASSWORD + "x") is False
    assert verify_password(stored, "") is False
    assert verify_password(stored, "x" * 5000) is False


@pytest.mark.parametrize("bad", ["", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$broken", "$2b$12$" + "a" * 53])
def test_verify_never_raises_on_a_malformed_hash(bad: str) -> None:
    assert verify_password(bad, PASSWORD) is False


def test_needs_rehash(stored: str) -> None:
    assert needs_rehash(stored) is False
    cheaper = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert verify_password(cheaper, PASSWORD)  # old parameters still verify ...
    assert needs_rehash(cheaper) is True  # ... and are due for an upgrade
    assert needs_rehash("not a hash") is True


def test_length_rules() -> None:
    check_password("x" * MIN_PASSWORD_LENGTH)
    with pytest.raises(PasswordError, match="at least 10 characters") as caught:
        hash_password("short-pw1")
    assert "short-pw1" not in str(caught.value)
    with pytest.raises(PasswordError, match="too long"):
        check_password("x" * 1025)
    assert issubclass(PasswordError, ValueError)


def test_generated_passwords() -> None:
    alphabet = set(string.ascii_letters + string.digits + "-_")
    generated = {new_password() for _ in range(200)}
    assert len(generated) == 200
    for password in generated:
        assert len(password) == 16
        assert set(password) <= alphabet
        check_password(password)
    one = next(iter(generated))
    assert verify_password(hash_password(one), one)
