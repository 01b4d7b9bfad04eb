"""When a waiting caller is offered to be called back."""

from __future__ import annotations

from ari_app.callbacks.desk import may_offer


def test_offered_once_the_wait_is_long_enough_and_there_is_a_number() -> None:
    assert may_offer(120, 120.0, "13900000000")
    assert not may_offer(120, 119.9, "13900000000")
    assert not may_offer(0, 9999.0, "13900000000"), "0 turns the callback off"
    assert not may_offer(120, 300.0, "") and not may_offer(120, 300.0, "unknown"), "no number to call back"
