"""number-route sets only what differs from the defaults the dialplan passed."""

from __future__ import annotations

from agi.routes import DECIDED, changed_variables

DECIDED_VALUES = dict(zip(DECIDED, ("intake", "12345", "", "continue", "", "20", ""), strict=True))


def test_nothing_is_set_when_the_defaults_stand() -> None:
    assert changed_variables(DECIDED_VALUES, list(DECIDED_VALUES.values())) == []


def test_only_the_differences_are_set() -> None:
    defaults = ["department", "12333", "", "continue", "PJSIP/dept-12333", "20", "seconded:hr"]
    assert changed_variables(DECIDED_VALUES, defaults) == [
        ("HOTLINE_ROUTE", "intake"), ("HOTLINE_TAG", "12345"), ("HOTLINE_DIAL", ""), ("HOTLINE_GROUP", ""),
    ]


def test_without_all_the_defaults_everything_is_set() -> None:
    assert changed_variables(DECIDED_VALUES, None) == list(DECIDED_VALUES.items())
    assert changed_variables(DECIDED_VALUES, ["intake", "12345"]) == list(DECIDED_VALUES.items())
