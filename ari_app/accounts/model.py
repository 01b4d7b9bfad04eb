"""An account: a login name, a role, and what the role is tied to (a department, a seat)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # the same rule as the accounts table's CHECK
MAX_DISPLAY_NAME = 100


class AccountError(ValueError):
    """An account that cannot be: a bad name, an unknown role, a role without its department or seat."""


class AccountRole(StrEnum):
    """The roles a person logs in with; the same values as the work orders' roles (minus the system's)."""

    AGENT = "agent"  # a 12345 agent, tied to a seat of seats.yaml
    DEPARTMENT = "department"  # a handler of one department
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


def validate_name(name: str) -> str:
    """The login name, or AccountError saying what a name may be."""
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError(
            f"bad account name {name!r}: 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def parse_role(text: str) -> AccountRole:
    try:
        return AccountRole(text)
    except ValueError:
        allowed = ", ".join(role.value for role in AccountRole)
        raise AccountError(f"unknown role {text!r}: one of {allowed}") from None


@dataclass(frozen=True)
class Account:
    """An account as stored (the password hash aside). Invalid combinations raise AccountError."""

    name: str
    display_name: str
    role: AccountRole
    department: str = ""  # a registry department id; only for the department role
    agent_id: str = ""  # the seat id in seats.yaml; only for the agent role
    disabled: bool = False

    def __post_init__(self) -> None:
        validate_name(self.name)
        if not isinstance(self.role, AccountRole):
            object.__setattr__(self, "role", parse_role(str(self.role)))
        if len(self.display_name) > MAX_DISPLAY_NAME:
            raise AccountError(f"display name of {self.name!r} is longer than {MAX_DISPLAY_NAME} characters")
        if any(not ch.isprintable() for ch in self.display_name):
            raise AccountError(f"display name of {self.name!r} holds control characters")
        self._check_pairing()

    def _check_pairing(self) -> None:
        if self.department != self.department.strip() or self.agent_id != self.agent_id.strip():
            raise AccountError(f"account {self.name!r}: department and agent id may not have surrounding spaces")
        if self.role is AccountRole.DEPARTMENT and not self.department:
            raise AccountError(f"account {self.name!r}: the department role needs a department")
        if self.role is not AccountRole.DEPARTMENT and self.department:
            raise AccountError(f"account {self.name!r}: only the department role has a department ({self.role} given)")
        if self.role is AccountRole.AGENT and not self.agent_id:
            raise AccountError(f"account {self.name!r}: the agent role needs an agent (seat) id")
        if self.role is not AccountRole.AGENT and self.agent_id:
            raise AccountError(f"account {self.name!r}: only the agent role has an agent id ({self.role} given)")

    def to_json(self) -> dict[str, object]:
        """The account for output: never any secret (there is none here to give)."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "role": self.role.value,
            "department": self.department,
            "agent_id": self.agent_id,
            "disabled": self.disabled,
        }
