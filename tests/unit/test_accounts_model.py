"""Accounts: names, roles, and what each role is tied to."""

from __future__ import annotations

import pytest

from ari_app.accounts.model import Account, AccountError, AccountRole, parse_role, validate_name
from ari_app.workorders.states import Role


@pytest.mark.parametrize("name", ["a", "sup-zhao", "agent_1001", "1001", "x" * 64, "dept-12349"])
def test_good_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "Zhao", "-lead", "_lead", "a b", "zhao@example", "x" * 65, "张三", "a\n",
                                  "../etc"])
def test_bad_names_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(AccountError, match="lowercase letters, digits"):
        validate_name(name)


def test_roles_have_the_work_orders_values() -> None:
    assert {r.value for r in AccountRole} == {r.value for r in Role} - {"system"}
    assert parse_role("department") is AccountRole.DEPARTMENT
    with pytest.raises(AccountError, match="unknown role 'system': one of agent, department, supervisor, admin"):
        parse_role("system")


def test_each_role_with_its_tie() -> None:
    agent = Account("agent-1001", "坐席一", AccountRole.AGENT, agent_id="1001")
    handler = Account("civil-li", "李", AccountRole.DEPARTMENT, department="civil_affairs")
    boss = Account("sup-zhao", "赵", AccountRole.SUPERVISOR)
    root = Account("admin", "", AccountRole.ADMIN, disabled=True)
    assert (agent.agent_id, agent.department) == ("1001", "")
    assert (handler.department, handler.agent_id) == ("civil_affairs", "")
    assert boss.to_json() == {"name": "sup-zhao", "display_name": "赵", "role": "supervisor", "department": "",
                              "agent_id": "", "disabled": False}
    assert root.disabled


def test_a_role_given_as_text_becomes_the_enum() -> None:
    account = Account("sup-zhao", "赵", "supervisor")  # type: ignore[arg-type]
    assert account.role is AccountRole.SUPERVISOR
    with pytest.raises(AccountError, match="unknown role"):
        Account("sup-zhao", "赵", "boss")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "department", "agent_id", "message"),
    [
        (AccountRole.DEPARTMENT, "", "", "the department role needs a department"),
        (AccountRole.AGENT, "", "", "the agent role needs an agent"),
        (AccountRole.SUPERVISOR, "civil_affairs", "", "only the department role has a department"),
        (AccountRole.ADMIN, "", "1001", "only the agent role has an agent id"),
        (AccountRole.AGENT, "civil_affairs", "1001", "only the department role has a department"),
        (AccountRole.DEPARTMENT, "civil_affairs", "1001", "only the agent role has an agent id"),
        (AccountRole.DEPARTMENT, " civil_affairs", "", "surrounding spaces"),
    ],
)
def test_pairing_rules(role: AccountRole, department: str, agent_id: str, message: str) -> None:
    with pytest.raises(AccountError, match=message):
        Account("someone", "", role, department, agent_id)


def test_display_name_limits() -> None:
    with pytest.raises(AccountError, match="longer than 100"):
        Account("sup-zhao", "赵" * 101, AccountRole.SUPERVISOR)
    with pytest.raises(AccountError, match="control characters"):
        Account("sup-zhao", "赵\n主任", AccountRole.SUPERVISOR)


def test_accounts_are_frozen_and_errors_are_value_errors() -> None:
    account = Account("sup-zhao", "赵", AccountRole.SUPERVISOR)
    with pytest.raises(AttributeError):
        account.role = AccountRole.ADMIN  # type: ignore[misc]
    assert issubclass(AccountError, ValueError)
