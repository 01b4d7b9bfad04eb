"""When a waiting caller is offered to be called back."""

from __future__ import annotations

from ari_app.callbacks.desk import may_offer


def test_offered_once_the_wait_is_long_enough_and_there_is_a_number() -> None:
    assert may_offer(120, 120.0, "13900000000")
    assert not may_offer(120, 119.9, "13900000000")
    assert not may_offer(0, 9999.0, "13900000000"), "0 turns the callback off"
    assert not may_offer(120, 300.0, "") and not may_offer(120, 300.0, "unknown"), "no number to call back"


def test_never_offered_to_a_number_the_trunk_must_not_dial() -> None:
    """The number is the caller's own From: an international or malformed one is not called back."""
    for number in ("0088213000001", "+88213000001", "001212555", "x@return-visit/sip:00881@198.51.100.7",
                   "139/sip:1@h", "139,1", "139;user=phone", "139%40h", "1" * 33):
        assert not may_offer(120, 300.0, number), number
    for number in ("13900000000", "053012345678", "6123456", "test-caller"):
        assert may_offer(120, 300.0, number), number
